"""Real published reports from other producers (Shanghai, Jiangsu), bundled in samples/real/."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import read_gold_rows

from hotline_budgets.extract.fetch import fetch_report
from hotline_budgets.load.checks import evaluate_identities
from hotline_budgets.load.rows import validate_report_rows
from hotline_budgets.registry import load_registry
from hotline_budgets.schema import load_schema
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.report import process_report

PROJECT_ROOT = Path(__file__).resolve().parents[1]

REAL_REGISTRY = PROJECT_ROOT / "samples" / "real" / "registry.yaml"
REAL_GOLD = PROJECT_ROOT / "tests" / "fixtures" / "real_gold"
WITH_GOLD = sorted(p.name for p in REAL_GOLD.iterdir() if (p / "gold.csv").exists())
# What each report prints (its notes.md): every other expected statement is truly absent.
PRINTED = {
    "jiangsu-cppcc-2018-budget": {"summary", "income", "expenditure", "appropriation_summary",
                                  "general_budget_expenditure", "general_budget_basic_economic",
                                  "gov_fund", "three_public"},
    "jiangsu-high-court-2019-budget": {"summary", "income", "expenditure", "appropriation_summary",
                                       "general_budget_expenditure", "general_budget_basic_economic",
                                       "gov_fund", "three_public"},
    "putuo-finance-2024-final_accounts": {"summary", "income", "expenditure", "appropriation_summary",
                                          "general_budget_expenditure", "general_budget_basic_economic",
                                          "gov_fund", "soe_capital", "three_public"},
    "putuo-wanli-2024-budget": {"summary", "income", "expenditure", "appropriation_summary",
                                "general_budget_expenditure", "general_budget_basic_economic",
                                "gov_fund", "soe_capital", "three_public"},
}


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    archive = tmp_path_factory.mktemp("raw")
    catalog = load_catalog()
    return {e.report_id: process_report(e, fetch_report(e, archive), catalog)
            for e in load_registry(REAL_REGISTRY)}


def _rows_by_key(result, method):
    return {(li["statement"], li["classification"], li["code"] or "", li["item"] or "",
             li["measure"]): li["amount_wan"]
            for li in result.line_items if li["method"] == method}


@pytest.mark.parametrize("report_id", WITH_GOLD)
def test_table_facts_match_gold_exactly(processed, report_id):
    got = _rows_by_key(processed[report_id], "table")
    gold = read_gold_rows(report_id, "table", REAL_GOLD)
    assert {k: v for k, v in gold.items() if got.get(k) != v} == {}
    assert {k: v for k, v in got.items() if gold.get(k) != v} == {}


@pytest.mark.parametrize("report_id", sorted(PRINTED))
def test_every_statement_is_found_and_identities_reconcile(processed, report_id):
    result = processed[report_id]
    assert result.report["status"] == "published"
    presence = {s["statement"]: s["presence"] for s in result.statements}
    found = {st for st, p in presence.items() if p in ("table", "empty")}
    assert found == PRINTED[report_id]
    assert all(presence[st] in ("absent", "narrative_only") for st in presence if st not in found)
    checks = evaluate_identities(load_schema()["line_items"].to_arrow(result.line_items),
                                 result.unit_rows, result.stated_zeros)
    assert checks, "identities were evaluated"
    assert [c["check_id"] for c in checks if c["status"] == "failed"] == []
    assert [i for i in result.quality_issues if i["kind"] == "unmapped_cell"] == []
    assert validate_report_rows(result) == []


def test_whole_yuan_amounts_convert_exactly(processed):
    result = processed["putuo-wanli-2024-budget"]
    assert result.report["source_unit"] == "元"
    amounts = {(li["statement"], li["item"], li["measure"]): li["amount_wan"]
               for li in result.line_items if li["item"]}
    assert str(amounts[("summary", "income.grand_total", "total")]) == "15621.1123"


def test_tables_without_a_statement_are_skipped_by_name(processed):
    skipped = [i["detail"] for i in processed["jiangsu-cppcc-2018-budget"].quality_issues
               if i["kind"] == "skipped_table"]
    assert any("政府采购" in d for d in skipped) and any("机关运行经费" in d for d in skipped)
