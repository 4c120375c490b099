"""Two runs over the same inputs publish byte-identical Parquet files and identical DuckDB
contents; the only fields that depend on the night are the fetch times (README)."""

from __future__ import annotations

import shutil

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import SAMPLES

from hotline_budgets.flows.nightly import run_pipeline

REPORTS = {"haikou-12345-2024-final_accounts": (2024, "final_accounts"),
           "sanming-12345-2024-budget": (2024, "budget"),
           "haikou-12345-2026-budget": (2026, "budget")}
NIGHT_FIELDS = {("reports", "fetched_at"), ("report_versions", "first_seen_at"),
                ("report_versions", "last_seen_at"), ("report_versions", "superseded_at")}


def _registry(folder):
    lines = ["reports:"]
    for rid, (year, kind) in REPORTS.items():
        shutil.copy(SAMPLES / f"{rid}.pdf", folder / f"{rid}.pdf")
        lines.append(f"  - {{report_id: {rid}, entity_name: 测试中心, region_code: '460100',"
                     f" fiscal_year: {year}, report_kind: {kind}, scope: unit, url: {rid}.pdf}}")
    (folder / "registry.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "registry.yaml"


def _db_contents(db) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            " ORDER BY 1").fetchall()]
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names}
    finally:
        con.close()


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    registry = _registry(tmp_path_factory.mktemp("inputs"))
    mp = pytest.MonkeyPatch()
    out = []
    try:
        for epoch in ("1764547200", "1764547200", "1764633600"):  # the third: another night
            mp.setenv("SOURCE_DATE_EPOCH", epoch)
            wh = tmp_path_factory.mktemp("wh")
            run_pipeline(registry, wh)
            out.append(wh)
    finally:
        mp.undo()
    return out


def test_same_inputs_give_byte_identical_parquet_and_identical_duckdb(three_runs):
    a, b, _ = three_runs
    files = sorted(p.relative_to(a) for p in a.glob("20*/*.parquet"))
    assert len(files) >= 2 * 12
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    for year in ("2024", "2026"):
        assert _db_contents(a / year / f"hotline_budgets_{year}.duckdb") == \
            _db_contents(b / year / f"hotline_budgets_{year}.duckdb")
    assert _db_contents(a / "hotline_budgets.duckdb") == _db_contents(b / "hotline_budgets.duckdb")
    assert (a / "2024").resolve().name == (b / "2024").resolve().name, "same version fingerprint"


def test_another_night_differs_only_in_the_fetch_times(three_runs):
    a, _, c = three_runs
    different = set()
    for name in ("reports", "line_items", "checks", "statements", "quality_issues", "report_versions"):
        ta = _db_contents(a / "hotline_budgets.duckdb")[name]
        tc = _db_contents(c / "hotline_budgets.duckdb")[name]
        columns = [r[0] for r in duckdb.connect(str(a / "hotline_budgets.duckdb"), read_only=True)
                   .execute(f"DESCRIBE {name}").fetchall()]
        for i, col in enumerate(columns):
            if [r[i] for r in ta] != [r[i] for r in tc]:
                different.add((name, col))
    assert different <= NIGHT_FIELDS and ("reports", "fetched_at") in different
    items = [pq.read_table(wh / "2024" / "line_items.parquet") for wh in (a, c)]
    assert items[0] == items[1]
