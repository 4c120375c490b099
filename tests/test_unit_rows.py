"""Tables printing only a total and rows per budget unit (单位编码 / 单位名称): SCHEMA has no unit
key, so the unit rows are no line items, but the identity "the units add up to the row they are
under" is evaluated on them, through the real reader on a real PDF."""

from __future__ import annotations

from decimal import Decimal

from pdf_builder import write_table_pdf

from hotline_budgets.extract.fetch import fetch_report
from hotline_budgets.load.checks import evaluate_identities
from hotline_budgets.registry import load_registry
from hotline_budgets.schema import load_schema
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.report import process_report

HEADER = ["单位编码", "单位名称", "合计", "基本支出", "项目支出"]


def _checks(tmp_path, unit_b: list[str]) -> tuple[dict[str, dict], object]:
    """Read a 支出总表 of a department (122) with two units (122001, 122002 = ``unit_b``)."""
    write_table_pdf(tmp_path / "r.pdf", [("表3 支出总表", [
        HEADER,
        ["合计", "合计", "100.00", "60.00", "40.00"],
        ["122", "某某局", "100.00", "60.00", "40.00"],
        ["122001", "某某局本级", "70.00", "50.00", "20.00"],
        ["122002", "某某中心", *unit_b],
    ])])
    (tmp_path / "registry.yaml").write_text(
        "reports:\n  - {report_id: r-2025, entity_name: 某某局, region_code: '610100',"
        " fiscal_year: 2025, report_kind: budget, scope: department, url: r.pdf}\n",
        encoding="utf-8")
    entry, = load_registry(tmp_path / "registry.yaml")
    result = process_report(entry, fetch_report(entry, tmp_path / "raw"), load_catalog())
    line_items = load_schema()["line_items"].to_arrow(result.line_items)
    return {c["check_id"]: c for c in evaluate_identities(line_items, result.unit_rows)}, result


def test_units_adding_up_to_their_department_and_the_total_pass(tmp_path):
    checks, result = _checks(tmp_path, ["30.00", "10.00", "20.00"])
    units = {k: c for k, c in checks.items() if k.startswith("units:")}
    assert units["units:expenditure:合计:合计"]["status"] == "exact"  # 122 = the total
    assert units["units:expenditure:122:合计"]["computed_wan"] == Decimal("100")  # 70 + 30
    assert units["units:expenditure:122:项目支出"]["term_count"] == 2
    assert {c["status"] for c in units.values()} == {"exact"}
    assert len(units) == 6  # {合计, 122} × three columns
    # the per-unit rows stay out of the line items and are listed
    assert {li["item"] for li in result.line_items if li["statement"] == "expenditure"} == {"grand_total"}
    assert any("per-unit row" in i["detail"] and "某某中心" in i["detail"]
               for i in result.quality_issues if i["kind"] == "ignored_cell")


def test_a_unit_row_that_does_not_add_up_fails(tmp_path):
    checks, _ = _checks(tmp_path, ["29.00", "10.00", "19.00"])
    failed = {k: c for k, c in checks.items() if c["status"] == "failed"}
    assert set(failed) == {"units:expenditure:122:合计", "units:expenditure:122:项目支出"}
    assert failed["units:expenditure:122:合计"]["difference_wan"] == Decimal("1")
    assert checks["units:expenditure:122:基本支出"]["status"] == "exact"
