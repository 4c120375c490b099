"""One schema declaration → DDL, Arrow schema, dictionary and the stored GX suites."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hotline_budgets.load.validate import EXPECTATIONS_DIR, build_suite, render_suites, validate_table
from hotline_budgets.schema import load_schema, render_data_dictionary


def test_committed_suites_are_generated_from_the_schema():
    for name, text in render_suites().items():
        assert (EXPECTATIONS_DIR / name).read_text(encoding="utf-8") == text, (
            f"expectations/{name} is stale: run `uv run hotline-budgets expectations`")


def test_committed_data_dictionary_is_generated_from_the_schema():
    committed = (EXPECTATIONS_DIR.parent / "docs" / "DATA_DICTIONARY.md").read_text(encoding="utf-8")
    assert committed == render_data_dictionary() + "\n", (
        "docs/DATA_DICTIONARY.md is stale: run `uv run hotline-budgets dictionary > docs/DATA_DICTIONARY.md`")


def test_contract_columns_are_declared():
    schema = load_schema()
    assert schema["line_items"].column_names[:11] == [
        "report_id", "fiscal_year", "statement", "classification", "code", "item", "measure",
        "amount_wan", "item_name", "page", "method"]
    assert "amount_wan DECIMAL(20,6) NOT NULL" in schema["line_items"].duckdb_ddl()
    assert "`line_items`" in render_data_dictionary()


def _row(**over):
    row = load_schema()["line_items"].row(
               report_id="r", fiscal_year=2024, statement="expenditure", classification="function",
               code="2010301", item=None, measure="total", amount_wan=Decimal("1.00"),
               item_name="行政运行", page=1, method="table")
    return row | over


def test_suite_fails_on_bad_rows():
    table = load_schema()["line_items"]
    bad = table.to_arrow([
        _row(), _row(),  # duplicate natural key
        _row(code="9999999", measure="total"),  # not in the catalog
        _row(code="2010302", amount_wan=Decimal("-1.00")),  # negative
        _row(code="20103", statement="ledger"),  # unknown statement
    ])
    failed = " ".join(validate_table("line_items", bad, build_suite(table)))
    for expectation in ("compound_columns_to_be_unique", "to_be_between", "to_be_in_set(statement)",
                        "to_be_in_set(code)"):
        assert expectation in failed


def test_suite_passes_on_good_rows():
    table = load_schema()["line_items"]
    good = table.to_arrow([_row(), _row(code="2010302")])
    assert validate_table("line_items", good, build_suite(table)) == []


def test_unquoted_comma_in_a_description_is_refused(tmp_path):
    import pytest

    bad = tmp_path / "schema.yaml"
    bad.write_text("tables:\n  t:\n    description: x\n    columns:\n"
                   "      - {name: a, type: VARCHAR, description: Why, in words.}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="t.a: unknown keys"):
        load_schema.__wrapped__(bad)


def test_failures_are_grouped_by_year_and_table():
    from hotline_budgets.load.validate import failures_by_table

    row = dict(table_name="line_items", expectation_id="07:expect_column_values_to_be_in_set",
               column_name="code", is_success=False, unexpected_count=1, unexpected_sample="9999999")
    ok = row | {"table_name": "reports", "is_success": True}
    assert failures_by_table({2024: [row, ok], 2026: [ok]}) == {
        "2024/line_items": ["expect_column_values_to_be_in_set(code) unexpected e.g. [9999999]"]}


def test_a_graded_failure_says_what_it_means_and_names_each_value_once():
    """The catalog membership at 'corroborated' strength fails on the single_report codes: the
    run summary says so instead of a bare failure."""
    import json

    from hotline_budgets.load.validate import EXPECTATIONS_DIR, describe_failures

    suite = json.loads((EXPECTATIONS_DIR / "line_items.json").read_text(encoding="utf-8"))
    graded = next(e["meta"]["id"] for e in suite["expectations"] if (e.get("meta") or {}).get("strength"))
    row = dict(table_name="line_items", expectation_id=graded, column_name="code", is_success=False,
               unexpected_count=3, unexpected_sample="20111, 20111, 2011105")
    (line,) = describe_failures([row])
    assert "[20111, 2011105]" in line and "single_report" in line and "corroborated" in line


def test_conversion_refuses_unknown_missing_and_null_naming_table_row_and_column():
    import pytest

    from hotline_budgets.schema import SchemaError

    table = load_schema()["line_items"]
    with pytest.raises(SchemaError, match=r"line_items: unknown column\(s\) \['amout_wan'\]"):
        table.row(report_id="r", amout_wan=Decimal("1"))
    typo = _row() | {"amout_wan": Decimal("1")}
    with pytest.raises(SchemaError, match=r"line_items row 1 \(report_id=r\): unknown column\(s\)"
                                          r" \['amout_wan'\]"):
        table.to_arrow([_row(), typo])
    missing = {k: v for k, v in _row().items() if k != "source_text"}
    with pytest.raises(SchemaError, match=r"row 0 \(report_id=r\): missing column\(s\) \['source_text'\]"):
        table.to_arrow([missing])
    with pytest.raises(SchemaError, match=r"row 0 \(report_id=r\): NULL in required column\(s\) \['page'\]"):
        table.to_arrow([_row(page=None)])
    with pytest.raises(SchemaError, match=r"row 1 \(report_id=r\): column page \(INTEGER\) cannot"):
        table.to_arrow([_row(), _row(page="p.3")])
    assert table.to_arrow([_row()]).num_rows == 1


def test_report_rows_are_validated_before_they_join_a_year(tmp_path):
    from pdf_builder import write_table_pdf

    from hotline_budgets.extract.fetch import fetch_report
    from hotline_budgets.load.rows import validate_report_rows
    from hotline_budgets.registry import RegistryEntry
    from hotline_budgets.transform.catalog import load_catalog
    from hotline_budgets.transform.report import process_report

    write_table_pdf(tmp_path / "r.pdf", [("一般公共预算财政拨款支出决算表", [
        ["科目编码", "科目名称", "合计"], ["201", "一般公共服务支出", "5.00"], ["合计", "", "5.00"]])])
    entry = RegistryEntry("r", "测试中心", "450200", 2024, "final_accounts", "unit", "r.pdf", tmp_path)
    result = process_report(entry, fetch_report(entry, tmp_path / "raw"), load_catalog())
    assert result.report["status"] == "published" and result.line_items
    assert validate_report_rows(result) == []

    good = list(result.line_items)
    first = good[0]
    bad_rows = {
        "NULL in required column(s) ['page']": first | {"page": None},
        "cannot be converted to the declared types": first | {"page": "p.3"},
        "measure 'budget' is not declared for the statement": first | {"measure": "budget"},
        "belongs to r/2025, not r/2024": first | {"fiscal_year": 2025},
        "given twice": dict(first),
        "statement: 1 value(s) outside the declared values": first | {"statement": "ledger"},
        "classification 'function' with code None": first | {"code": None},
    }
    for expected, bad in bad_rows.items():
        result.line_items = good + [bad]
        problems = validate_report_rows(result)
        assert any(expected in p for p in problems), (expected, problems)


def test_validating_years_together_gives_each_years_own_results(flow_run):
    """One validation per table name over the years (a run's fixed cost) must give every year
    the rows its own validation gives: published years, a year that fails (duplicate key, a code
    outside the catalog, a negative amount) and a year with no line items."""
    from hotline_budgets.load.release import published_tables
    from hotline_budgets.load.validate import validate_tables

    warehouse, _ = flow_run
    by_year = {year: {name: t for name, t in tables.items() if name != "expectation_results"}
               for year, tables in published_tables(warehouse).items()}
    schema = load_schema()
    base = min(by_year)
    bad = schema["line_items"].to_arrow([
        _row(fiscal_year=2030), _row(fiscal_year=2030),
        _row(fiscal_year=2030, code="9999999"), _row(fiscal_year=2030, code="2010302",
                                                     amount_wan=Decimal("-1.00"))])
    by_year[2030] = by_year[base] | {"line_items": bad}
    by_year[2031] = by_year[base] | {"line_items": schema["line_items"].to_arrow([])}
    together = validate_tables(by_year)
    assert any(not r["is_success"] for r in together[2030])
    for year, tables in by_year.items():
        assert together[year] == validate_tables({year: tables})[year], year


def test_a_unit_the_run_validated_is_rendered_not_validated_again(flow_run, monkeypatch):
    """The release's Data Docs take the run's GX result for the same rows, whatever their
    chunking and field descriptions (a release reads them back from Parquet); other rows are
    validated."""
    import pyarrow as pa

    from hotline_budgets.load import validate
    from hotline_budgets.load.release import read_published_year
    from hotline_budgets.load.validate import load_suite, run_suite, suite_result

    warehouse, _ = flow_run
    year = int(next(p.name for p in sorted(warehouse.iterdir()) if p.name.isdigit()))
    published = read_published_year(warehouse, year)["line_items"]  # described, from Parquet
    bare = pa.schema([pa.field(f.name, f.type) for f in published.schema])  # no descriptions
    plain = pa.Table.from_batches(published.cast(bare).to_batches(max_chunksize=7))  # other chunks
    run_suite("line_items", plain, load_suite("line_items"))
    ran = []
    monkeypatch.setattr(validate, "_run_suite", lambda *a: ran.append(a) or pytest.fail("validated again"))
    assert suite_result("line_items", published, load_suite("line_items")) is not None
    assert ran == []
    monkeypatch.undo()
    fewer = published.slice(1)
    assert suite_result("line_items", fewer, load_suite("line_items")) is not None  # validated now
