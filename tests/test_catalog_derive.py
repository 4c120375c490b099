"""The catalog grown from evidence (transform/catalog_derive.py) and the expectation built on it."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from conftest import PROJECT_ROOT
from pdf_builder import write_table_pdf

from hotline_budgets.load.validate import build_suite, run_suite
from hotline_budgets.registry import load_registry
from hotline_budgets.schema import load_schema
from hotline_budgets.transform.catalog import CATALOG_DIR, load_catalog
from hotline_budgets.transform.catalog_derive import (
    CODE_COLUMNS,
    FILES,
    Evidence,
    collect_evidence,
    current_references,
    derive,
    read_evidence,
    table_classification,
    text_layer_codes,
    usable,
)

REGISTRIES = {name: PROJECT_ROOT / "samples" / rel for name, rel in (
    ("samples", "registry.yaml"), ("real", "real/registry.yaml"),
    ("real2026", "real2026/registry.yaml"))}


def ev(code: str, name: str, report: str, entity: str, year: int = 2024,
       cls: str = "function") -> Evidence:
    return Evidence(cls, code, name, report, entity, year, "table", 3)


def classes_only() -> dict:
    """The cited 类 of today's catalog (a derived code needs a cited class), without its codes."""
    return {cls: {c: r for c, r in rows.items() if len(c) == 3}
            for cls, rows in current_references().items()}


def rows_by_code(evidence: list[Evidence], refs=None):
    tables, conflicts = derive(evidence, refs or classes_only(), load_catalog())
    return {r["code"]: r for r in tables["function"]}, conflicts


# --------------------------------------------------------------------------- deriving


def test_two_entities_make_an_observed_code_with_years_and_count():
    rows, conflicts = rows_by_code([
        ev("2130199", "其他农业农村支出", "a-2022", "甲局", 2022),
        ev("2130199", "其他农业农村支出", "a-2024", "甲局", 2024),
        ev("2130199", "其他农业农村支出", "b-2025", "乙局", 2025),
    ])
    row = rows["2130199"]
    assert (row["status"], row["level"], row["parent"]) == ("observed", "项", "21301")
    assert (row["first_year"], row["last_year"], row["report_count"], row["entity_count"]) == (
        2022, 2025, 3, 2)
    assert conflicts == []


def test_one_entity_only_is_a_single_report_code_even_over_several_years():
    rows, _ = rows_by_code([ev("2019901", "热线事务", "a-2023", "甲中心", 2023),
                            ev("2019901", "热线事务", "a-2024", "甲中心", 2024)])
    assert rows["2019901"]["status"] == "single_report"
    assert rows["2019901"]["report_count"] == 2 and rows["2019901"]["entity_count"] == 1


def test_conflicting_names_are_listed_and_the_most_printed_name_is_kept():
    rows, conflicts = rows_by_code([
        ev("22001", "自然资源事务", "a", "甲局"), ev("22001", "自然资源事务", "b", "乙局"),
        ev("22001", "国土资源事务", "c", "丙局"),
    ])
    assert rows["22001"]["name"] == "自然资源事务" and rows["22001"]["status"] == "observed"
    assert sorted((c["printed_name"], c["is_kept"], c["entity_count"]) for c in conflicts) == [
        ("国土资源事务", False, 1), ("自然资源事务", True, 2)]


def test_the_same_name_under_an_alias_is_no_conflict():
    # code_aliases.csv: 职业年金缴费支出 stands for 职业年金缴费
    tables, conflicts = derive([ev("30109", "职业年金缴费", "a", "甲", cls="economic"),
                                ev("30109", "职业年金缴费支出", "b", "乙", cls="economic")],
                               classes_only(), load_catalog())
    row = next(r for r in tables["economic"] if r["code"] == "30109")
    assert conflicts == [] and row["status"] == "observed"


def test_misread_headers_and_codes_under_no_cited_class_are_no_evidence():
    rows, conflicts = rows_by_code([
        ev("2010301", "预算数", "a", "甲"), ev("2010301", "预算数", "b", "乙"),  # a header
        ev("114", "交通运输", "a", "甲"), ev("114", "交通运输", "b", "乙"),  # no such class
        ev("2010301", "行政运行", "c", "丙")])
    assert "114" not in rows and rows["2010301"]["name"] == "行政运行"
    assert rows["2010301"]["status"] == "single_report" and conflicts == []


def test_digits_that_are_no_code_of_their_classification_are_no_evidence():
    # Xi'an: an economic 30101 in a row read as a function code, a header taken for its name
    rows, conflicts = rows_by_code([
        ev("30101", "基本工资", "a", "甲"), ev("30101", "基本工资", "b", "乙"),
        ev("301", "预算数", "a", "甲"), ev("2010301", "行政运行", "c", "丙")])
    assert set(rows) & {"301", "30101"} == set() and "2010301" in rows
    econ = [ev("30101", "基本工资", "a", "甲", cls="economic"), ev("30101", "基本工资", "b", "乙",
                                                              cls="economic")]
    assert len(usable(econ, classes_only())) == 2


def test_a_table_code_is_of_the_classification_its_statement_is_keyed_by_when_misread():
    row = {"classification": "function", "code": "30101", "statement": "general_budget_basic_economic"}
    assert table_classification(row) == "economic"
    # the reader's classification stands when the digits fit it
    assert table_classification(row | {"code": "2010301"}) == "function"
    # a function-keyed table does not make an economic code a function one: it stays misread
    assert table_classification(row | {"statement": "summary"}) == "function"


def test_row_labels_cut_names_and_reordered_wraps_are_no_names():
    rows, conflicts = rows_by_code([
        ev("2080505", "机关事业单位基本养老保险缴费支出", "a", "甲"),
        ev("2080505", "机关事业单位基本养老保险缴费支出", "b", "乙"),
        ev("2080505", "险缴费支出机关事业单位基本养老保", "c", "丙"),  # wrapped lines out of order
        ev("2080505", "机关事业单位基本养老", "d", "丁"),  # cut short
        ev("2290402", "年初结转和结余", "e", "戊"),  # a summary row label in the name column
    ])
    assert rows["2080505"]["name"] == "机关事业单位基本养老保险缴费支出" and conflicts == []
    assert "2290402" not in rows


def test_reference_rows_stay_and_count_their_evidence():
    refs = {"function": {"201": dict(code="201", level="类", name="一般公共服务支出", parent="",
                                     first_year=2018, last_year=2026, source="MoF", status="reference")}}
    rows, conflicts = rows_by_code([ev("201", "一般公共服务支出", "a", "甲"),
                                    ev("201", "一般公共服务", "b", "乙")], refs)
    assert rows["201"]["status"] == "reference" and rows["201"]["source"] == "MoF"
    assert rows["201"]["report_count"] == 2
    assert conflicts == []  # 一般公共服务 is the class name without 支出 (normalised)


def test_codes_next_to_names_in_the_text_layer_are_evidence():
    pages = ["2010301 行政运行 12.00\n30101-基本工资 3.00\n2024年度收入 5.00\n201 一般公共服务支出",
             "12345 热线\n2080505机关事业单位基本养老保险缴费支出"]
    assert text_layer_codes(pages) == [
        ("function", "2010301", "行政运行", 1), ("economic", "30101", "基本工资", 1),
        ("function", "201", "一般公共服务支出", 1),
        ("function", "2080505", "机关事业单位基本养老保险缴费支出", 2)]


def test_evidence_is_collected_from_a_real_pdf_through_the_reader(tmp_path):
    write_table_pdf(tmp_path / "r.pdf", [("公开05表 一般公共预算财政拨款支出决算表", [
        ["科目编码", "科目名称", "合计", "基本支出", "项目支出"],
        ["201", "一般公共服务支出", "10.00", "10.00", ""],
        ["20103", "政府办公厅（室）及相关机构事务", "10.00", "10.00", ""],
        ["2010399", "其他政府办公厅（室）及相关机构事务支出", "10.00", "10.00", ""],
        ["合计", "", "10.00", "10.00", ""]])])
    (tmp_path / "registry.yaml").write_text(
        "reports:\n  - {report_id: r-2024, entity_name: 测试中心, region_code: '450200',"
        " fiscal_year: 2024, report_kind: final_accounts, scope: unit, url: r.pdf}\n",
        encoding="utf-8")
    found = {(e.code, e.printed_name, e.source) for e in collect_evidence([tmp_path / "registry.yaml"])}
    assert ("2010399", "其他政府办公厅（室）及相关机构事务支出", "table") in found
    assert ("20103", "政府办公厅（室）及相关机构事务", "table") in found


# --------------------------------------------------------------------------- the committed catalog


def test_committed_catalog_is_the_derivation_of_the_committed_evidence():
    tables, conflicts = derive(read_evidence(), current_references(), load_catalog())
    for cls, name in FILES.items():
        with (CATALOG_DIR / name).open(encoding="utf-8", newline="") as fh:
            committed = list(csv.DictReader(fh))
        expected = [{c: str(r.get(c, "")) for c in CODE_COLUMNS} for r in tables[cls]]
        assert committed == expected, f"{name} is stale: run `uv run hotline-budgets catalog derive`"
    with (CATALOG_DIR / "code_name_conflicts.csv").open(encoding="utf-8", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(conflicts)


def test_every_status_is_backed_by_its_evidence():
    evidence = read_evidence()
    catalog = load_catalog()
    for cls in ("function", "economic"):
        for code, entry in catalog.table(cls).items():
            seen = [e for e in evidence if e.classification == cls and e.code == code
                    and catalog.canonical(e.printed_name) == catalog.canonical(entry.name)]
            if entry.status == "observed":
                assert len({e.entity_name for e in seen}) >= 2, code
            elif entry.status == "single_report":
                assert len({e.entity_name for e in seen}) == 1, code


def _line_items_of(registry) -> list[dict]:
    """One line_items row per code its reports print (the evidence), as the pipeline publishes."""
    ids = {e.report_id for e in load_registry(registry)}
    seen = {(e.classification, e.code) for e in read_evidence() if e.report_id in ids}
    table = load_schema()["line_items"]
    return [table.row(report_id="r", fiscal_year=2024, statement="general_budget_expenditure",
                      classification=cls, code=code, item=None, measure="total",
                      amount_wan=Decimal("1.00"), item_name="x", page=1, method="table")
            for cls, code in sorted(seen)]


@pytest.mark.parametrize("registry", sorted(REGISTRIES))
def test_catalog_expectation_per_bundled_registry(registry):
    """Membership passes on every bundled registry; the corroborated expectation fails on the
    codes printed by one entity only, and on nothing else."""
    table = load_schema()["line_items"]
    rows = _line_items_of(REGISTRIES[registry])
    results = run_suite("line_items", table.to_arrow(rows), build_suite(table))
    catalog_results = [r for r in results if r["column_name"] == "code"
                       and r["expectation_id"].endswith("to_be_in_set")]
    assert len(catalog_results) == 4
    membership, corroborated = catalog_results[0::2], catalog_results[1::2]
    catalog = load_catalog()
    known = [r for r in rows if catalog.knows(r["classification"], r["code"])]
    # what the catalog refuses are misread tables (a column header read as the name, a code
    # under no cited class: today's reader on some real2026 layouts), never a printed code
    refused = {(r["classification"], r["code"]) for r in rows} - {
        (r["classification"], r["code"]) for r in known}
    ids = {e.report_id for e in load_registry(REGISTRIES[registry])}
    for cls, code in refused:
        names = {e.printed_name for e in read_evidence() if e.report_id in ids
                 and (e.classification, e.code) == (cls, code)}
        assert not usable([e for e in read_evidence() if (e.classification, e.code) == (cls, code)],
                          current_references()), (cls, code, names)
    assert sum(r["unexpected_count"] or 0 for r in membership) == len(refused)
    if registry in ("samples", "real"):
        assert refused == set() and all(r["is_success"] for r in membership)
    single = sum(1 for r in known if catalog.table(r["classification"])[r["code"]].status
                 == "single_report")
    assert sum(r["unexpected_count"] or 0 for r in corroborated) == single + len(refused)
