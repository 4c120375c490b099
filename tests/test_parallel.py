"""Reports spread over threads (each with its own extraction process) or a 2-worker Dask
LocalCluster publish the same bytes as one report after another."""

from __future__ import annotations

import pytest
from test_determinism import _db_contents, _registry

from hotline_budgets.flows.nightly import run_pipeline
from hotline_budgets.flows.parallel import RunnerSettings, in_order


def _parquet(wh) -> dict[str, bytes]:
    return {p.relative_to(wh).as_posix(): p.read_bytes() for p in sorted(wh.glob("20*/*.parquet"))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from hotline_budgets.prefect_env import configure_prefect

    configure_prefect()
    from hotline_budgets.flows.pipeline import pipeline_flow

    registry = _registry(tmp_path_factory.mktemp("inputs"))
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1764547200")
    out = {}
    try:
        out["serial"] = tmp_path_factory.mktemp("serial")
        run_pipeline(registry, out["serial"])
        for runner in ("thread", "dask"):
            out[runner] = tmp_path_factory.mktemp(runner)
            summary = pipeline_flow(registry=registry, warehouse=out[runner], runner=runner, workers=2)
            assert summary.exit_code == 0, [(o.entry.report_id, o.reason) for o in summary.outcomes]
    finally:
        mp.undo()
    return out


@pytest.mark.parametrize("runner", ["thread", "dask"])
def test_parallel_runs_publish_the_same_bytes_as_a_serial_run(runs, runner):
    serial, parallel = _parquet(runs["serial"]), _parquet(runs[runner])
    assert len(serial) >= 2 * 12
    assert parallel == serial
    assert _db_contents(runs[runner] / "hotline_budgets.duckdb") == \
        _db_contents(runs["serial"] / "hotline_budgets.duckdb")


def test_in_order_keeps_registry_order_and_bounds_the_window():
    in_flight, most = [], [0]

    class Done:
        def __init__(self, value):
            self.value = value
            in_flight.append(value)
            most[0] = max(most[0], len(in_flight))

        def result(self):
            in_flight.remove(self.value)
            return self.value

    assert list(in_order(Done, range(10), 3)) == list(range(10))
    assert most[0] == 3


def test_runner_settings_refuse_unknown_runners(monkeypatch):
    monkeypatch.setenv("HOTLINE_RUNNER", "spark")
    with pytest.raises(ValueError, match="unknown runner 'spark'"):
        RunnerSettings.from_env()
    assert RunnerSettings.from_env("dask", 2, "tcp://h:8786").dask_address == "tcp://h:8786"


def test_reports_in_flight_share_at_most_slots_extraction_workers(tmp_path):
    """A wide thread pool with 2 × workers reports in flight starts no more extraction
    processes than there are workers (memory stays that of N workers)."""
    import threading
    import time

    from hotline_budgets.flows.nightly import RunContext
    from hotline_budgets.transform.catalog import load_catalog

    ctx = RunContext(tmp_path, load_catalog(), {}, slots=2)
    busy, peak, lock = [0], [0], threading.Lock()

    def one_report():
        with ctx.borrowed_extractor():
            with lock:
                busy[0] += 1
                peak[0] = max(peak[0], busy[0])
            time.sleep(0.05)
            with lock:
                busy[0] -= 1

    threads = [threading.Thread(target=one_report) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2 and len(ctx._made) == 2, (peak, len(ctx._made))
    ctx.close()
