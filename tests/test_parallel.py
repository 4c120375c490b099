"""Reports spread over threads (each with its own extraction process) or, as Prefect task runs
of prefect-dask's DaskTaskRunner, over a 2-worker Dask LocalCluster publish the same bytes as one
report after another."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_determinism import REPORTS, _db_contents, _registry

from hotline_budgets.flows.nightly import run_pipeline
from hotline_budgets.flows.parallel import RunnerSettings, as_finished


def _parquet(wh) -> dict[str, bytes]:
    return {p.relative_to(wh).as_posix(): p.read_bytes() for p in sorted(wh.glob("20*/*.parquet"))}


def recording_local_cluster(clusters: list) -> type:
    """A LocalCluster class whose scheduler records which worker runs each task; each cluster
    made appends (cluster, its worker addresses, its workers' environments) to ``clusters``."""
    from distributed import LocalCluster
    from distributed.diagnostics.task_stream import TaskStreamPlugin

    class RecordingLocalCluster(LocalCluster):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.scheduler.add_plugin(TaskStreamPlugin(self.scheduler))
            clusters.append((self, set(self.scheduler.workers),
                             [nanny.env for nanny in self.workers.values()]))
    return RecordingLocalCluster


def _finished_tasks(cluster) -> list[tuple[str, str]]:
    """(task name, worker address) of each task the cluster's scheduler saw finish."""
    from dask.utils import key_split

    return [(key_split(r["key"]), r["worker"])
            for r in cluster.scheduler.plugins["task-stream"].buffer if r["status"] == "OK"]


def _task_runs(warehouse, since: datetime) -> list:
    """The Prefect task runs of the flow run (since ``since``) that published ``warehouse``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterStartTime,
    )

    with get_client(sync_client=True) as client:
        flow_runs = [r for r in client.read_flow_runs(flow_run_filter=FlowRunFilter(
                         start_time=FlowRunFilterStartTime(after_=since)))
                     if r.parameters.get("warehouse") == str(warehouse)]
        assert len(flow_runs) == 1, flow_runs
        return client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[flow_runs[0].id])))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from hotline_budgets.prefect_env import configure_prefect

    configure_prefect()
    from hotline_budgets.flows.pipeline import run_pipeline_flow

    registry = _registry(tmp_path_factory.mktemp("inputs"))
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1764547200")
    out = {"since": datetime.now(UTC), "dask_clusters": []}
    mp.setattr("distributed.LocalCluster", recording_local_cluster(out["dask_clusters"]))
    try:
        out["serial"] = tmp_path_factory.mktemp("serial")
        run_pipeline(registry, out["serial"])
        for runner in ("thread", "dask", "batched"):
            out[runner] = tmp_path_factory.mktemp(runner)
            if runner == "batched":  # the thread runner, reports two to a task run
                mp.setenv("HOTLINE_BATCH", "2")
            summary = run_pipeline_flow(registry=registry, warehouse=out[runner],
                                        runner="dask" if runner == "dask" else "thread", workers=2)
            assert summary.exit_code == 0, [(o.entry.report_id, o.reason) for o in summary.outcomes]
            assert [o.entry.report_id for o in summary.outcomes] == list(REPORTS), "registry order"
    finally:
        mp.undo()
    return out


@pytest.mark.parametrize("runner", ["thread", "dask", "batched"])
def test_parallel_runs_publish_the_same_bytes_as_a_serial_run(runs, runner):
    serial, parallel = _parquet(runs["serial"]), _parquet(runs[runner])
    assert len(serial) >= 2 * 12
    assert parallel == serial
    assert _db_contents(runs[runner] / "hotline_budgets.duckdb") == \
        _db_contents(runs["serial"] / "hotline_budgets.duckdb")


def test_reports_run_as_prefect_task_runs_on_the_dask_workers(runs):
    """Each report was a Prefect task run of the flow's run, executed by one of the 2 workers of
    the LocalCluster started for it, and those workers were pointed at this process's Prefect
    API (no server of their own)."""
    from prefect.client.orchestration import get_client

    (cluster, workers, worker_env), = runs["dask_clusters"]
    assert len(workers) == 2
    ran = _finished_tasks(cluster)
    assert sorted(name for name, _ in ran) == ["report_task"] * len(REPORTS), ran
    assert {worker for _, worker in ran} <= workers
    reports = [t for t in _task_runs(runs["dask"], runs["since"]) if t.name.startswith("report-")]
    assert len(reports) == len(REPORTS) and {t.state_name for t in reports} == {"Completed"}
    with get_client(sync_client=True) as client:
        api_url = str(client.api_url)
    assert [env.get("PREFECT_API_URL") for env in worker_env] == [api_url] * 2


def test_as_finished_yields_what_is_done_first_and_bounds_the_window():
    """A slow report does not hold the next ones back, and at most ``window`` are unfinished."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    lock, in_flight, most = threading.Lock(), [0], [0]

    def work(n: int) -> int:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.5 if n == 0 else 0.01)
        with lock:
            in_flight[0] -= 1
        return n

    with ThreadPoolExecutor(8) as pool:  # wider than the window: the window bounds it
        got = list(as_finished(lambda n: pool.submit(work, n), range(10), 3))
    assert sorted(got) == list(range(10))
    assert got[0] != 0 and got.index(0) > 0, got  # the slow first one came in later
    assert most[0] <= 3


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


def test_pipeline_flow_asked_for_dask_runs_itself_on_a_dask_task_runner(tmp_path, monkeypatch):
    """A deployment (or a direct call) starts ``pipeline_flow`` on its default task runner:
    asked for Dask (here by HOTLINE_RUNNER), it runs itself again as a subflow on Dask."""
    import shutil

    from conftest import SAMPLES

    from hotline_budgets.prefect_env import configure_prefect

    configure_prefect()
    from hotline_budgets.flows.pipeline import pipeline_flow

    rid = "haikou-12345-2026-budget"
    shutil.copy(SAMPLES / f"{rid}.pdf", tmp_path / f"{rid}.pdf")
    (tmp_path / "registry.yaml").write_text(
        f"reports:\n  - {{report_id: {rid}, entity_name: 测试中心, region_code: '460100',"
        f" fiscal_year: 2026, report_kind: budget, scope: unit, url: {rid}.pdf}}\n", encoding="utf-8")
    clusters: list = []
    monkeypatch.setattr("distributed.LocalCluster", recording_local_cluster(clusters))
    monkeypatch.setenv("HOTLINE_RUNNER", "dask")
    summary = pipeline_flow(registry=tmp_path / "registry.yaml", warehouse=tmp_path / "wh", workers=1)
    assert summary.exit_code == 0, [(o.entry.report_id, o.reason) for o in summary.outcomes]
    (cluster, workers, _), = clusters
    assert _finished_tasks(cluster) == [("report_task", *workers)]


def test_large_registries_go_in_batches_of_reports(monkeypatch):
    """One report per task run until a registry is large; then up to 16 (Prefect's cost is per
    task run); HOTLINE_BATCH sets it."""
    from hotline_budgets.flows.parallel import batch_size, batches

    monkeypatch.delenv("HOTLINE_BATCH", raising=False)
    two = RunnerSettings("thread", 2)
    assert batch_size(two, 32) == 1 and batch_size(two, 300) == 2 and batch_size(two, 5000) == 16
    monkeypatch.setenv("HOTLINE_BATCH", "3")
    assert batch_size(two, 32) == 3
    assert batches(list("abcdefg"), 3) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
