"""The COFOG crosswalk and the spending_by_cofog view (load/views.sql) over a small DuckDB."""

from __future__ import annotations

import csv
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from hotline_budgets.load.publish import view_statements, write_duckdb_atomic
from hotline_budgets.schema import load_schema
from hotline_budgets.transform.catalog import catalog_table_rows, load_catalog

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = ROOT / "transform" / "catalogs"
FIXTURES = Path(__file__).parent / "fixtures"


def _read_csv(name: str) -> list[dict[str, str]]:
    with (CATALOGS / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def make_db(reports: list[tuple], items: list[tuple]) -> duckdb.DuckDBPyConnection:
    """A DuckDB file written by the publisher itself: the given reports and function rows, the
    catalog tables from transform/catalogs, and the views of views.sql."""
    schema = load_schema()
    report_rows = [schema["reports"].row(
                        report_id=rid, fiscal_year=year, report_kind=kind, scope="unit",
                        entity_name=entity, region_code="000000", source_url="x.pdf",
                        status="published") for rid, year, kind, entity in reports]
    item_rows = [schema["line_items"].row(
                      report_id=rid, fiscal_year=year, statement=statement, classification="function",
                      code=code, measure="total", amount_wan=Decimal(amount), page=1, method="table")
                 for rid, year, statement, code, amount in items]
    tables = {"reports": schema["reports"].to_arrow(report_rows),
              "line_items": schema["line_items"].to_arrow(item_rows)}
    tables |= {name: schema[name].to_arrow(rows)
               for name, rows in catalog_table_rows(load_catalog()).items()}
    # every published table exists (empty here): the other views of views.sql read them
    tables |= {name: table.to_arrow([]) for name, table in schema.items() if name not in tables}
    path = Path(tempfile.mkdtemp()) / "cofog.duckdb"
    write_duckdb_atomic(tables, path)
    return duckdb.connect(str(path), read_only=True)


def division_totals(con, report_id: str) -> dict[str | None, Decimal]:
    rows = con.execute("SELECT cofog_division, sum(amount_wan) FROM spending_by_cofog "
                       "WHERE report_id = ? GROUP BY ALL", [report_id]).fetchall()
    return {division: Decimal(amount) for division, amount in rows}


# A unit with printed 类/款/项 rows in general_budget_expenditure (and an expenditure table that
# must be ignored), a report with only an expenditure table, and a report known only from 项 rows.
REPORTS = [
    ("r-full", 2024, "final_accounts", "单位甲"),
    ("r-exp", 2024, "final_accounts", "单位乙"),
    ("r-items", 2026, "budget", "单位甲"),
]
ITEMS = [
    # r-full: 201 = 20103 (mapped, 01.1) + 20104 (no 款 mapping -> class 201 -> 01)
    ("r-full", 2024, "general_budget_expenditure", "201", "100.00"),
    ("r-full", 2024, "general_budget_expenditure", "20103", "60.00"),
    ("r-full", 2024, "general_budget_expenditure", "2010350", "60.00"),
    ("r-full", 2024, "general_budget_expenditure", "20104", "40.00"),
    ("r-full", 2024, "general_budget_expenditure", "2010401", "40.00"),
    # 208 = 20805 (10.2) + 20807 (10.5): both division 10
    ("r-full", 2024, "general_budget_expenditure", "208", "30.00"),
    ("r-full", 2024, "general_budget_expenditure", "20805", "25.00"),
    ("r-full", 2024, "general_budget_expenditure", "2080505", "25.00"),
    ("r-full", 2024, "general_budget_expenditure", "20807", "5.00"),
    # 210 printed 0.01 above its 款 (rounding): the difference stays with class 210 -> 07
    ("r-full", 2024, "general_budget_expenditure", "210", "12.01"),
    ("r-full", 2024, "general_budget_expenditure", "21011", "12.00"),
    # 221 -> 22102 (10.6)
    ("r-full", 2024, "general_budget_expenditure", "221", "8.00"),
    ("r-full", 2024, "general_budget_expenditure", "22102", "8.00"),
    # 212: 21205 -> 05.1, the rest of the class -> 06 (first listed target of 212)
    ("r-full", 2024, "general_budget_expenditure", "212", "50.00"),
    ("r-full", 2024, "general_budget_expenditure", "21205", "20.00"),
    # the expenditure table of r-full must not be added to the GBE rows
    ("r-full", 2024, "expenditure", "201", "999.00"),
    # r-exp: no general_budget_expenditure rows -> expenditure is used
    ("r-exp", 2024, "expenditure", "205", "7.50"),
    ("r-exp", 2024, "expenditure", "20599", "7.50"),
    ("r-exp", 2024, "expenditure", "206", "3.00"),
    # r-items: only 项 rows (as from the explanation text of a budget)
    ("r-items", 2026, "general_budget_expenditure", "2010350", "292.10"),
    ("r-items", 2026, "general_budget_expenditure", "2010399", "213.51"),
    ("r-items", 2026, "general_budget_expenditure", "2080505", "34.78"),
    ("r-items", 2026, "general_budget_expenditure", "2101102", "12.27"),
]


@pytest.fixture(scope="module")
def con():
    db = make_db(REPORTS, ITEMS)
    yield db
    db.close()


def test_views_sql_is_a_list_of_create_or_replace_view_statements():
    statements = view_statements()
    assert statements
    assert all(s.startswith("CREATE OR REPLACE VIEW") for s in statements)
    assert any(s.startswith("CREATE OR REPLACE VIEW spending_by_cofog ") for s in statements)


def test_view_columns(con):
    cols = [c[0] for c in con.execute("SELECT * FROM spending_by_cofog LIMIT 0").description]
    assert cols == ["entity_name", "report_id", "fiscal_year", "report_kind", "cofog_division",
                    "division_name_en", "amount_wan", "is_approximate"]
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'spending_by_cofog'").fetchall())
    assert types["amount_wan"] == "DECIMAL(20,6)"
    assert types["is_approximate"] == "BOOLEAN"


def test_division_totals_of_a_full_report(con):
    assert division_totals(con, "r-full") == {
        "01": Decimal("100.00"),   # 20103 60 via 01.1 + rest of 201 (20104) 40 via 201 -> 01
        "10": Decimal("38.00"),    # 20805 25 (10.2) + 20807 5 (10.5) + 22102 8 (10.6)
        "07": Decimal("12.01"),    # 21011 12.00 + rounding rest of 210
        "05": Decimal("20.00"),    # 21205 -> 05.1
        "06": Decimal("30.00"),    # rest of 212
    }


def test_no_double_counting_total_equals_class_totals(con):
    for report_id, class_total in (("r-full", "200.01"), ("r-exp", "10.50"), ("r-items", "552.66")):
        assert sum(division_totals(con, report_id).values()) == Decimal(class_total), report_id


def test_expenditure_is_the_fallback_statement(con):
    assert division_totals(con, "r-exp") == {"09": Decimal("7.50"), "01": Decimal("3.00")}


def test_report_known_only_from_items(con):
    assert division_totals(con, "r-items") == {
        "01": Decimal("505.61"), "10": Decimal("34.78"), "07": Decimal("12.27")}


def test_approximation_flags(con):
    flags = dict(con.execute(
        "SELECT cofog_division, bool_or(is_approximate) FROM spending_by_cofog "
        "WHERE report_id = 'r-exp' GROUP BY ALL").fetchall())
    assert flags == {"09": True, "01": True}   # 20599 partial, 206 many-to-many
    exact = con.execute(
        "SELECT is_approximate FROM cofog_crosswalk_primary WHERE function_code = '20103'"
    ).fetchone()
    assert exact == (False,)
    first = con.execute("SELECT cofog_code, is_approximate FROM cofog_crosswalk_primary "
                        "WHERE function_code = '201'").fetchone()
    assert first == ("01", True)


def test_cofog_query_on_a_small_database(con):
    rows = con.execute(
        "SELECT entity_name, fiscal_year, cofog_division, division_name_en, "
        "sum(amount_wan) AS amount_wan FROM spending_by_cofog GROUP BY ALL ORDER BY ALL").fetchall()
    assert ("单位乙", 2024, "09", "Education", Decimal("7.5000")) in rows
    assert all(r[2] is not None and r[3] for r in rows)
    assert sum(r[4] for r in rows) == Decimal("763.17")


def _gold_reports():
    for base in ("gold", "real_gold"):
        yield from sorted((FIXTURES / base).glob("*/gold.csv"))


@pytest.mark.parametrize("gold", list(_gold_reports()), ids=lambda p: p.parent.name)
def test_gold_reports_split_without_loss(gold):
    """Every gold report: the divisions add up to the class totals, and every class is mapped."""
    report_id = gold.parent.name
    with gold.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh)
                if r["classification"] == "function" and r["measure"] == "total" and r["code"]
                and r["statement"] in ("general_budget_expenditure", "expenditure")]
    if not rows:
        pytest.skip("no function rows")
    statement = ("general_budget_expenditure"
                 if any(r["statement"] == "general_budget_expenditure" for r in rows)
                 else "expenditure")
    rows = [r for r in rows if r["statement"] == statement]
    by_code = {r["code"]: Decimal(r["amount_wan"]) for r in rows}
    kuan: dict[str, Decimal] = defaultdict(Decimal)
    for code, amount in by_code.items():
        if len(code) == 7 and code[:5] not in by_code:
            kuan[code[:5]] += amount
        elif len(code) == 5:
            kuan[code] = amount
    classes: dict[str, Decimal] = defaultdict(Decimal)
    for code, amount in kuan.items():
        if code[:3] not in by_code:
            classes[code[:3]] += amount
    classes.update({c: a for c, a in by_code.items() if len(c) == 3})

    con = make_db([(report_id, 2024, "budget", report_id)],
                  [(report_id, 2024, statement, r["code"], r["amount_wan"]) for r in rows])
    totals = division_totals(con, report_id)
    con.close()
    assert None not in totals
    assert sum(totals.values()) == sum(classes.values())


def test_every_class_has_a_crosswalk_row_and_every_target_exists():
    classes = {r["code"] for r in _read_csv("function_codes.csv") if len(r["code"]) == 3}
    function_codes = {r["code"] for r in _read_csv("function_codes.csv")}
    crosswalk = _read_csv("cofog_crosswalk.csv")
    divisions = {r["cofog_code"]: r for r in _read_csv("cofog_divisions.csv")}
    assert classes <= {r["function_code"] for r in crosswalk}
    for row in crosswalk:
        assert row["cofog_code"] in divisions, row
        assert row["function_code"] in function_codes, row
        assert row["match_quality"] in {"exact", "partial", "many-to-many"}, row
        assert row["note"].strip(), row
    targets: dict[str, int] = defaultdict(int)
    for row in crosswalk:
        targets[row["function_code"]] += 1
    assert all(r["match_quality"] != "exact" for r in crosswalk if targets[r["function_code"]] > 1)


def test_cofog_divisions_are_complete():
    rows = _read_csv("cofog_divisions.csv")
    divisions = [r["cofog_code"] for r in rows if r["level"] == "division"]
    groups = [r["cofog_code"] for r in rows if r["level"] == "group"]
    assert divisions == [f"{i:02d}" for i in range(1, 11)]
    assert len(groups) == 69
    assert all(g[:2] in divisions for g in groups)
