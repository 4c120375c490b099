"""Night after night on one warehouse: unchanged nights rewrite nothing, a bad night keeps the
last good version (stale), a url serving new bytes is detected and its history kept."""

from __future__ import annotations

import json
import os
import shutil

import duckdb
import pytest
from conftest import SAMPLES

from hotline_budgets.flows.nightly import quick_noop_check, run_pipeline

A = "haikou-12345-2024-final_accounts"
B = "haikou-12345-2026-budget"
OTHER_2024 = "liuzhou-12345-2024-final_accounts"


def write_registry(folder, files: dict[str, str]) -> None:
    lines = ["reports:"]
    for rid, (year, kind) in {A: (2024, "final_accounts"), B: (2026, "budget")}.items():
        lines.append(f"  - {{report_id: {rid}, entity_name: 海口市热线中心, region_code: '460100',"
                     f" fiscal_year: {year}, report_kind: {kind}, scope: unit, url: {files[rid]}}}")
    (folder / "registry.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def query(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Four nights: first, unchanged, error page in place of A, then new bytes behind A's url."""
    folder = tmp_path_factory.mktemp("nights")
    for rid in (A, B):
        shutil.copy(SAMPLES / f"{rid}.pdf", folder / f"{rid}.pdf")
    write_registry(folder, {A: f"{A}.pdf", B: f"{B}.pdf"})
    wh = folder / "warehouse"
    registry = folder / "registry.yaml"
    out = {"first": run_pipeline(registry, wh)}
    out["links"] = {y: (wh / y).resolve() for y in ("2024", "2026")}
    out["mtimes"] = {y: (wh / y / f"hotline_budgets_{y}.duckdb").stat().st_mtime_ns for y in ("2024", "2026")}
    out["items_a"] = query(wh / "hotline_budgets.duckdb",
                           f"SELECT count(*) FROM line_items WHERE report_id = '{A}'")[0][0]
    out["noop"] = quick_noop_check(registry, wh, None)
    out["unchanged"] = run_pipeline(registry, wh)
    out["mtimes_after"] = {y: (wh / y / f"hotline_budgets_{y}.duckdb").stat().st_mtime_ns
                           for y in ("2024", "2026")}
    old_bytes = (folder / f"{A}.pdf").read_bytes()
    (folder / f"{A}.pdf").write_text("<html><body>系统维护</body></html>", encoding="utf-8")
    out["bad"] = run_pipeline(registry, wh)
    out["bad_items_a"] = query(wh / "hotline_budgets.duckdb",
                               f"SELECT count(*) FROM line_items WHERE report_id = '{A}'")[0][0]
    out["bad_status"] = query(wh / "hotline_budgets.duckdb",
                              f"SELECT status, status_reason FROM reports WHERE report_id = '{A}'")[0]
    shutil.copy(SAMPLES / f"{OTHER_2024}.pdf", folder / f"{A}.pdf")  # the site replaced the file
    out["changed"] = run_pipeline(registry, wh)
    out["old_bytes"] = old_bytes
    return wh, out


def test_an_unchanged_night_is_decided_without_work_and_rewrites_nothing(nights):
    wh, out = nights
    assert out["noop"] is not None and out["noop"].noop
    assert all(o.reused for o in out["unchanged"].outcomes)
    assert [y.action for y in out["unchanged"].years] == ["unchanged", "unchanged"]
    assert out["mtimes_after"] == out["mtimes"], "no year file was rewritten"
    assert [p.name for p in out["unchanged"].written] == ["run_summary.json"]


def test_a_bad_night_keeps_the_last_good_version_as_stale(nights):
    _, out = nights
    o = next(o for o in out["bad"].outcomes if o.entry.report_id == A)
    assert o.status == "stale" and o.stage == "fetch"
    assert "not a PDF: an HTML page" in o.reason and "last good version stays published" in o.reason
    assert out["bad_items_a"] == out["items_a"] > 0, "the published rows stay"
    assert out["bad_status"][0] == "stale"
    assert out["bad"].exit_code == 3
    years = {y.year: y.action for y in out["bad"].years}
    assert years == {2024: "rewritten", 2026: "unchanged"}


def test_new_bytes_behind_a_url_are_detected_processed_and_the_old_kept(nights):
    wh, out = nights
    o = next(o for o in out["changed"].outcomes if o.entry.report_id == A)
    assert o.status == "published" and o.change and o.change.startswith("bytes changed:")
    summary = json.loads((wh / "run_summary.json").read_text(encoding="utf-8"))
    assert any(c.startswith(A) for c in summary["changes"])
    rows = query(wh / "hotline_budgets.duckdb",
                 "SELECT source_sha256, superseded_at IS NULL, size_bytes FROM report_versions"
                 f" WHERE report_id = '{A}' ORDER BY first_seen_at, superseded_at NULLS LAST")
    assert len(rows) == 2 and [r[1] for r in rows] == [False, True]
    import hashlib

    old_sha = hashlib.sha256(out["old_bytes"]).hexdigest()
    assert rows[0][0] == old_sha and (wh / "raw" / old_sha[:2] / f"{old_sha}.pdf").exists()
    items = query(wh / "hotline_budgets.duckdb", f"SELECT count(*) FROM line_items WHERE report_id = '{A}'")
    assert items[0][0] != out["items_a"], "the new bytes' rows are published"


def test_years_are_versioned_folders_behind_a_link(nights):
    wh, out = nights
    for year in ("2024", "2026"):
        assert (wh / year).is_symlink()
        assert (wh / year / "manifest.json").exists()
    assert (wh / "2026").resolve() == out["links"]["2026"], "2026 never changed"
    assert not [p for p in wh.rglob("*") if p.name.endswith((".tmp", ".partial", ".link"))]
    assert os.readlink(wh / "2024").startswith(".versions/2024/")


def test_a_run_holds_no_report_rows_once_spooled(nights):
    """Streaming: after the run every published outcome has dropped its rows (the cache holds
    them) and its tables (the spool did, and is gone); asked for, the rows come back intact."""
    wh, out = nights
    first = out["first"]
    assert all(o._result is None and o._checks is None and o.tables is None
               for o in first.outcomes), "rows stayed in memory after the run"
    for o in out["changed"].outcomes:  # the last night: its rows are still in the cache
        assert o.result.line_items and len(o.result.line_items) == o.counts.line_items
        assert o.result.report is o.report, "the report row is the one the run updated"
    pruned = next(o for o in first.outcomes if o.entry.report_id == A)  # A's bytes changed since
    with pytest.raises(LookupError, match="no longer in"):
        _ = pruned.result
    assert not list(wh.glob(".spool-*")), "the run's spool is removed"
    db = wh / "hotline_budgets.duckdb"
    assert query(db, f"SELECT count(*) FROM line_items WHERE report_id = '{A}'")[0][0] \
        == next(o.counts.line_items for o in out["changed"].outcomes if o.entry.report_id == A)


def test_an_unchanged_night_reads_only_the_heads_of_the_cached_rows(nights):
    """The no-op decision reads each report's head (report row + counts), not its rows."""
    _, out = nights
    noop = out["noop"]
    assert all(o._result is None for o in noop.outcomes), "rows were loaded for a no-op night"
    first = {o.entry.report_id: o.counts for o in out["first"].outcomes}
    assert {o.entry.report_id: o.counts for o in noop.outcomes} == first


def test_a_spool_left_by_a_killed_run_is_removed_by_the_next(tmp_path):
    import pyarrow as pa

    from hotline_budgets.load.spool import RowSpool, read_spooled, remove_stale_spools

    spool = RowSpool(tmp_path)
    where = spool.put({"t": pa.table({"x": [1, 2]})}, 2024)
    spool.finish()
    assert read_spooled([where])["t"].column("x").to_pylist() == [1, 2]
    assert remove_stale_spools(tmp_path) == [spool.root] and not spool.root.exists()


def test_the_spool_gives_each_year_its_reports_in_the_order_asked(tmp_path):
    """Reports of a year share one file per table; reading back follows the given order, a
    report without rows of a table adds none, and each year keeps its own files."""
    import pyarrow as pa

    from hotline_budgets.load.spool import RowSpool, read_spooled

    def rows(*xs):
        return {"t": pa.table({"x": pa.array(xs, pa.int64())})}

    with RowSpool(tmp_path) as spool:
        a, b = spool.put(rows(1, 2), 2024), spool.put(rows(), 2024)
        c, other = spool.put(rows(3), 2024), spool.put(rows(9), 2025)
        spool.finish()
        assert read_spooled([c, a, b])["t"].column("x").to_pylist() == [3, 1, 2]
        assert read_spooled([b])["t"].num_rows == 0
        assert read_spooled([other])["t"].column("x").to_pylist() == [9]
        assert len(list(spool.root.glob("*.arrow"))) == 2
        with pytest.raises(ValueError, match="several years"):
            read_spooled([a, other])
