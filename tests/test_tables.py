"""Table extraction on the bundled PDFs, scored cell by cell against the gold table rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import SAMPLES, TABLE_REPORTS, read_gold_rows

from hotline_budgets.extract.tables import is_data_row, load_titles, match_title, scan_tables
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.table_facts import facts_from_table, parse_amount


def table_facts(report_id: str):
    scan = scan_tables((SAMPLES / f"{report_id}.pdf").read_bytes())
    results = [facts_from_table(t, load_catalog()) for t in scan.tables]
    return scan, [f for r in results for f in r.facts], [u for r in results for u in r.unmapped]


@pytest.mark.parametrize("report_id", TABLE_REPORTS)
def test_table_facts_match_gold_exactly(report_id):
    _, facts, unmapped = table_facts(report_id)
    got = {f.key: f.amount_wan for f in facts}
    gold = read_gold_rows(report_id, "table")
    assert len(got) == len(facts), "a natural key was produced twice"
    missing = {k: v for k, v in gold.items() if got.get(k) != v}
    extra = {k: v for k, v in got.items() if gold.get(k) != v}
    assert not missing and not extra, (missing, extra)
    assert unmapped == []


def test_every_table_fact_keeps_its_page():
    _, facts, _ = table_facts("liaocheng-12345-2024-final_accounts")
    pages = {f.key: f.page for f in facts}
    # 公开04 runs over pages 8-9: 住房保障支出 sits on the continuation page.
    assert pages[("appropriation_summary", "function", "221", "", "total")] == 9
    assert pages[("appropriation_summary", "function", "201", "", "total")] == 8
    # 公开06 continues on page 12 with a repeated header.
    assert pages[("general_budget_basic_economic", "economic", "30226", "", "total")] == 12


def test_statements_printed_empty_are_recognised():
    scan, _, _ = table_facts("liuzhou-12345-2024-final_accounts")
    empty = {t.statement for t in scan.tables if t.printed_empty}
    assert empty == {"gov_fund", "soe_capital"}


def test_wrapped_names_are_joined():
    _, facts, _ = table_facts("liuzhou-12345-2024-final_accounts")
    names = {f.code: f.item_name for f in facts if f.statement == "expenditure" and f.code}
    assert names["2010399"] == "其他政府办公厅（室）及相关机构事务支出"


def test_longest_title_wins():
    book = load_titles()
    assert match_title("公开04表 财政拨款收入支出决算总表", book)[1] == "appropriation_summary"
    assert match_title("收入支出决算总表 公开01表", book)[1] == "summary"
    assert match_title("2024年政府采购预算表", book)[1] is None  # recognised and skipped


@pytest.mark.parametrize("text,expected", [
    ("1,165.30", Decimal("1165.30")), ("", Decimal(0)), ("0.00", Decimal(0)),
    ("0", Decimal(0)), ("156,211,123", Decimal("156211123")), ("公用经费合计", None),
])
def test_parse_amount(text, expected):
    assert parse_amount(text) == expected


def test_header_rows_are_not_data():
    assert not is_data_row(["合计", "因公出国（境）费", "公务用车购置及运行维护费"])
    assert not is_data_row(["项目", "行次", "金额", "项目", "行次", "合计"])
    assert is_data_row(["合 计", "", "", ""])
    assert is_data_row(["2010301", "行政运行", "60.66"])
