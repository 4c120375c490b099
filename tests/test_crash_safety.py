"""SIGKILL while publishing (real subprocesses) leaves the previous warehouse complete and
readable, the next run completes, and readers holding files open never make publishing fail."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import PROJECT_ROOT, SAMPLES

from hotline_budgets.flows.nightly import run_pipeline

RID = "haikou-12345-2024-final_accounts"
NEW = "liuzhou-12345-2024-final_accounts"
RUN = ("import sys; from pathlib import Path; from hotline_budgets.flows.nightly import run_pipeline;"
       " run_pipeline(Path(sys.argv[1]), Path(sys.argv[2]))")


def make_registry(folder) -> None:
    shutil.copy(SAMPLES / f"{RID}.pdf", folder / "report.pdf")
    (folder / "registry.yaml").write_text(
        "reports:\n"
        f"  - {{report_id: {RID}, entity_name: 海口市热线中心, region_code: '460100', fiscal_year: 2024,"
        " report_kind: final_accounts, scope: unit, url: report.pdf}\n", encoding="utf-8")


def snapshot(wh) -> tuple:
    """What a reader sees: the year's reports and line items, and the all-years database's."""
    year = (wh / "2024").resolve()
    reports = pq.read_table(year / "reports.parquet").column("source_sha256").to_pylist()
    items = pq.read_table(year / "line_items.parquet").num_rows
    con = duckdb.connect(str(wh / "hotline_budgets.duckdb"), read_only=True)
    try:
        db = con.execute("SELECT (SELECT count(*) FROM line_items), (SELECT min(source_sha256)"
                         " FROM reports)").fetchone()
        year_db = duckdb.connect(str(year / "hotline_budgets_2024.duckdb"), read_only=True)
        year_items = year_db.execute("SELECT count(*) FROM line_items").fetchone()[0]
        year_db.close()
    finally:
        con.close()
    return reports[0], items, db, year_items


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("crash")
    make_registry(tmp_path)
    wh = tmp_path / "warehouse"
    run_pipeline(tmp_path / "registry.yaml", wh)
    return tmp_path, wh


def _kill_when(wh, registry, appears) -> bool:
    env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(registry), str(wh)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    hit = False
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                seen = appears(wh)
            except FileNotFoundError:  # the folder being looked into was renamed meanwhile
                seen = False
            if seen:
                proc.send_signal(signal.SIGKILL)
                hit = True
                break
            time.sleep(0.002)
    finally:
        if proc.poll() is None and not hit:
            proc.kill()  # never leave a run holding the warehouse's lock for the next test
        proc.wait()
    return hit


MOMENTS = {  # in the order a run reaches them
    "year folder half written": lambda wh: any((wh / ".versions" / "2024").glob(".*.partial/*.parquet")),
    "year database being written": lambda wh: any((wh / ".versions" / "2024").glob(".*.partial/*.duckdb")),
    "all-years database being written": lambda wh: any(wh.glob(".hotline_budgets.duckdb.*.tmp")),
}


def test_sigkill_at_any_moment_of_publishing_keeps_the_previous_warehouse(published):
    folder, wh = published
    before = snapshot(wh)
    shutil.copy(SAMPLES / f"{NEW}.pdf", folder / "report.pdf")  # tonight: new bytes to publish
    for moment, appears in MOMENTS.items():
        assert _kill_when(wh, folder / "registry.yaml", appears), f"never saw: {moment}"
        after_kill = snapshot(wh)
        if moment == "all-years database being written":
            # the year was already switched whole; the all-years database is the old one, complete
            assert after_kill[3] != before[3] and after_kill[2] == before[2], moment
        else:
            assert after_kill == before, f"{moment}: the previous version is complete and readable"
    summary = run_pipeline(folder / "registry.yaml", wh)  # the next run completes
    assert summary.outcomes[0].status == "published"
    final = snapshot(wh)
    assert final[0] != before[0] and final[2][0] == final[1], "the new version, consistent"
    leftovers = [p for p in wh.rglob("*") if p.name.endswith((".tmp", ".partial", ".link"))]
    assert leftovers == []


def test_readers_holding_files_open_do_not_stop_publishing(published):
    folder, wh = published
    before = snapshot(wh)
    year = (wh / "2024").resolve()
    shutil.copy(SAMPLES / f"{RID}.pdf", folder / "report.pdf")  # and back: a new version again
    reader = duckdb.connect(str(wh / "hotline_budgets.duckdb"), read_only=True)
    year_reader = duckdb.connect(str(wh / "2024" / "hotline_budgets_2024.duckdb"), read_only=True)
    parquet = (year / "line_items.parquet").open("rb")
    try:
        summary = run_pipeline(folder / "registry.yaml", wh)
        assert [y.action for y in summary.years] == ["rewritten"]
        assert reader.execute("SELECT count(*) FROM line_items").fetchone()[0] == before[2][0]
        assert year_reader.execute("SELECT count(*) FROM line_items").fetchone()[0] == before[3]
        assert pq.read_table(parquet).num_rows == before[1], "an open file stays readable"
    finally:
        reader.close()
        year_reader.close()
        parquet.close()
    assert snapshot(wh)[0] != before[0]


FULL_DISK = ("import resource, signal, sys; from pathlib import Path;"
             " signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
             " resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, resource.RLIM_INFINITY));"
             " from hotline_budgets.flows.nightly import run_pipeline;"
             " s = run_pipeline(Path(sys.argv[1]), Path(sys.argv[2]));"
             " print(s.outcomes[0].status, '|', s.outcomes[0].reason, '|', s.problems);"
             " sys.exit(s.exit_code)")


def test_a_year_that_cannot_be_written_keeps_its_previous_version(published):
    """Files cannot grow past 400 kB (as on a full disk): the year and the all-years database
    fail to write, the report says so as stale, the run completes with exit 3."""
    folder, wh = published
    before = snapshot(wh)
    # bytes never published before (a comment after %%EOF): a year version that must be written
    (folder / "report.pdf").write_bytes((SAMPLES / f"{NEW}.pdf").read_bytes() + b"\n% night 3\n")
    env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(folder / "registry.yaml"), str(wh)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 3, proc.stderr[-2000:]
    status, reason, problems = proc.stdout.strip().split(" | ")
    assert status == "stale" and "publishing 2024 failed" in reason, proc.stdout
    assert "all-years database not rewritten" in problems
    assert snapshot(wh) == before, "the previous version is complete and readable"
