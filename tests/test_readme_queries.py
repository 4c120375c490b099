"""Every query of the README's Querying section runs on the published samples and returns what
its sentence promises; the section is the same text every release README carries."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from hotline_budgets.load.release import example_queries

README = Path(__file__).resolve().parents[1] / "README.md"
SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.DOTALL)


def readme_queries() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Querying"):text.index("## Open-data release")]
    return SQL_BLOCK.findall(section)


def _rows(con, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.fixture(scope="module")
def con(flow_run):
    warehouse, _ = flow_run
    c = duckdb.connect(str(warehouse / "hotline_budgets.duckdb"), read_only=True)
    yield c
    c.close()


def check_total_spending(con, rows):
    """One number per report, every report listed; unreadable reports with NULL."""
    assert len(rows) == con.execute("SELECT count(*) FROM reports").fetchone()[0]
    by_status = {r["report_status"] for r in rows if r["spending_wan"] is None}
    assert by_status <= {"needs_ocr", "rejected"} and "needs_ocr" in by_status
    summary = dict(con.execute("""SELECT r.entity_name || r.fiscal_year || r.report_kind, li.amount_wan
        FROM line_items li JOIN reports r USING (report_id)
        WHERE li.item = 'expense.current_total' AND li.statement = 'summary'""").fetchall())
    for r in rows:
        key = f"{r['entity_name']}{r['fiscal_year']}{r['report_kind']}"
        if key in summary and r["spending_wan"] is not None:
            assert r["spending_wan"] == summary[key] and r["basis"] == "summary_current_total"
    assert any(r["basis"] != "summary_current_total" and r["spending_wan"] for r in rows), (
        "a report whose summary prints no current total still gets its number")


def check_function_classes(con, rows):
    """No duplicate-looking rows; the 7-digit-only report is there; classes add up to spending."""
    keys = [(r["entity_name"], r["fiscal_year"], r["report_kind"], r["class_code"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert any(r["source_level"] == "项" for r in rows)
    totals: dict[tuple, list] = {}
    for r in rows:
        totals.setdefault((r["entity_name"], r["fiscal_year"], r["report_kind"]), []).append(r["amount_wan"])
    spending = {(e, y, k): s for e, y, k, s in con.execute(
        "SELECT entity_name, fiscal_year, report_kind, spending_wan FROM total_spending"
        " WHERE spending_wan IS NOT NULL").fetchall()}
    published = con.execute("SELECT count(*) FROM reports WHERE line_item_count > 0").fetchone()[0]
    assert len(totals) == published, "every report with data has its classes"
    for key, amounts in totals.items():
        assert abs(sum(amounts) - spending[key]) <= Decimal("0.01") * len(amounts), key


def check_budget_vs_actual(con, rows):
    assert rows and all(len(r["code"]) == 7 for r in rows)
    for r in rows:
        if r["budget_wan"] and r["actual_wan"] is not None:
            assert r["execution_rate"] == round(float(r["actual_wan"]) / float(r["budget_wan"]), 4)
        else:
            assert r["execution_rate"] is None


def check_basic_economic(con, rows):
    assert rows and all(len(r["code"]) == 3 for r in rows)
    shares: dict[tuple, float] = {}
    for r in rows:
        key = (r["entity_name"], r["fiscal_year"], r["report_kind"])
        shares[key] = shares.get(key, 0) + r["share_of_basic"]
    assert all(abs(s - 1) < 0.001 for s in shares.values()), shares


def check_cofog(con, rows):
    assert rows and all(r["cofog_division"] is None or len(r["cofog_division"]) == 2 for r in rows)


def check_coverage(con, rows):
    assert rows and all(r["coverage"] in ("empty", "text_only", "missing") for r in rows)
    unreadable = [r for r in rows if r["report_status"] == "needs_ocr"]
    assert unreadable and all(r["coverage"] == "missing" for r in unreadable)


def check_reconciliation(con, rows):
    assert rows and all(r["status"] in ("rounding", "failed") for r in rows)
    assert all(r["within_rounding"] == (r["status"] != "failed") for r in rows)
    assert all(r["difference_wan"] == r["expected_wan"] - r["found_wan"] for r in rows)


def check_codes_seen(con, rows):
    assert all(not r["is_known_code"] or not r["is_name_match"] for r in rows)


CHECKS = [check_total_spending, check_function_classes, check_budget_vs_actual, check_basic_economic,
          check_cofog, check_coverage, check_reconciliation, check_codes_seen]


def test_readme_carries_the_release_queries_verbatim():
    assert example_queries() in README.read_text(encoding="utf-8"), (
        "README's Querying section differs from load/release_templates/example_queries.md")


def test_every_readme_query_has_a_check():
    assert len(readme_queries()) == len(CHECKS)


@pytest.mark.parametrize("index", range(len(CHECKS)), ids=[c.__name__ for c in CHECKS])
def test_readme_query_returns_what_it_promises(con, index):
    sql = readme_queries()[index]
    CHECKS[index](con, _rows(con, sql))
