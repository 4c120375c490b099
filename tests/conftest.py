"""Shared fixtures: the bundled samples, their gold files, and one real run of the whole flow."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

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
