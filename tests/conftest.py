"""Shared fixtures: the bundled samples, their gold files, and one real run of the whole flow."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from hotline_budgets.registry import SAMPLE_REGISTRY

PROJECT_ROOT = Path(__file__).resolve().parents[1]

GOLD_DIR = Path(__file__).parent / "fixtures" / "gold"
SAMPLES = PROJECT_ROOT / "samples"
TABLE_REPORTS = [
    "liuzhou-12345-2024-final_accounts",
    "liaocheng-12345-2024-final_accounts",
    "sanming-12345-2024-budget",
]
TEXT_REPORTS = TABLE_REPORTS + ["haikou-12345-2024-final_accounts", "haikou-12345-2026-budget"]


def read_gold_rows(report_id: str, method: str | None = None,
                   gold_dir: Path = GOLD_DIR) -> dict[tuple, Decimal]:
    with (gold_dir / report_id / "gold.csv").open(encoding="utf-8", newline="") as fh:
        return {
            (r["statement"], r["classification"], r["code"], r["item"], r["measure"]):
                Decimal(r["amount_wan"])
            for r in csv.DictReader(fh)
            if method is None or r["method"] == method
        }


@pytest.fixture(scope="session")
def flow_run(tmp_path_factory):
    """The whole Prefect flow on the bundled sample registry, into a fresh warehouse."""
    from hotline_budgets.prefect_env import configure_prefect

    configure_prefect()
    from hotline_budgets.flows.pipeline import pipeline_flow

    warehouse = tmp_path_factory.mktemp("warehouse")
    summary = pipeline_flow(registry=SAMPLE_REGISTRY, warehouse=warehouse, years=None)
    return warehouse, summary


# --- the open-data release (tests/test_release.py, test_portal_browser.py) -------------------

def _copy_warehouse(src: Path, dst: Path, years: list[str]) -> None:
    for year in years:
        shutil.copytree(src / year, dst / year, ignore=shutil.ignore_patterns("*.duckdb"))


def _edit(path: Path, fn) -> None:
    pq.write_table(fn(pq.read_table(path)), path)


def _make_stale_and_changed(warehouse: Path) -> None:
    """Tonight's version: liuzhou's fetch failed (stale, data kept), the scanned sanming budget
    left the registry, and one liaocheng amount was re-extracted differently."""
    year = warehouse / "2024"
    gone = "sanming-12345-2024-budget-scanned"
    for name in ("reports", "statements", "line_items", "checks", "quality_issues", "codes_seen"):
        _edit(year / f"{name}.parquet", lambda t: t.filter(pc.not_equal(t["report_id"], gone)))

    def stale(t: pa.Table) -> pa.Table:
        is_liuzhou = pc.equal(t["report_id"], "liuzhou-12345-2024-final_accounts")
        status = pc.if_else(is_liuzhou, "stale", t["status"])
        return t.set_column(t.schema.get_field_index("status"), t.schema.field("status"), status)

    _edit(year / "reports.parquet", stale)
    rows = pq.read_table(year / "line_items.parquet")
    items = rows.to_pylist()
    target = next(r for r in items if r["report_id"].startswith("liaocheng") and r["code"] == "2013150"
                  and r["statement"] == "expenditure" and r["measure"] == "total")
    target["amount_wan"] += Decimal("1.000000")
    pq.write_table(pa.Table.from_pylist(items, rows.schema), year / "line_items.parquet")


@pytest.fixture(scope="session")
def releases(flow_run, tmp_path_factory):
    """Two releases: 2026-01-01 from 2024 alone, then 2026-01-02 from both years with a stale
    report, a removed report and one changed amount."""
    from hotline_budgets.load.release import build_release

    warehouse, _ = flow_run
    root = tmp_path_factory.mktemp("releases")
    old = tmp_path_factory.mktemp("wh_old")
    _copy_warehouse(warehouse, old, ["2024"])
    first = build_release(old, releases=root, release_id="2026-01-01",
                          created=datetime(2026, 1, 1, tzinfo=UTC))
    new = tmp_path_factory.mktemp("wh_new")
    _copy_warehouse(warehouse, new, ["2024", "2026"])
    _make_stale_and_changed(new)
    second = build_release(new, releases=root, release_id="2026-01-02",
                           created=datetime(2026, 1, 2, tzinfo=UTC))
    return root, first, second
