"""The catalog: aliases resolve, unknown codes are flagged, never dropped."""

from __future__ import annotations

import pytest
from pdf_builder import write_table_pdf

from hotline_budgets.extract.fetch import fetch_report
from hotline_budgets.registry import RegistryEntry
from hotline_budgets.transform.catalog import NameResolver, load_catalog
from hotline_budgets.transform.report import process_report


def test_class_names_resolve_with_and_without_numbering():
    c = load_catalog()
    assert c.resolve_class("一、一般公共服务支出") == "201"
    assert c.resolve_class("十九、住房保障支出") == "221"
    assert c.resolve_class("社会保障和就业") == "208"


def test_known_alias_is_resolved():
    c = load_catalog()
    assert c.name_matches("economic", "30109", "职业年金缴费支出")
    assert c.name_matches("economic", "30213", "维修(护)费")
    assert not c.name_matches("economic", "30109", "住房公积金")


def test_made_up_code_is_unknown():
    c = load_catalog()
    assert not c.knows("function", "2019997")  # 2019999 is real: a Shenzhen budget prints it
    assert c.knows("function", "2010350")


def test_name_path_resolves_to_a_7_digit_code():
    r = NameResolver(load_catalog())
    assert r.resolve_path(
        ["社会保障和就业", "行政事业单位养老支出", "机关事业单位职业年金缴费支出"]) == ("2080506", None)


def test_report_tables_resolve_names_the_catalog_lacks():
    path = ["一般公共服务支出", "政府办公厅（室）及相关机构事务", "热线服务"]
    code, why = NameResolver(load_catalog()).resolve_path(path)
    assert code is None and why.startswith("unresolved: no 项 named '热线服务' under 20103")
    printed = NameResolver(load_catalog(), {"2010398": "热线服务"})
    assert printed.resolve_path(path) == ("2010398", None)


def test_ambiguous_name_says_so():
    # two printed 项 under one 款 with the same name (as a confused report would print them)
    r = NameResolver(load_catalog(), {"2010397": "热线服务", "2010398": "热线服务"})
    code, why = r.resolve_path(["一般公共服务", "政府办公厅（室）及相关机构事务", "热线服务"])
    assert code is None and why == (
        "ambiguous: 项 '热线服务' under 20103 matches ['2010397', '2010398']")


# --------------------------------------------------------------------------- through a real PDF

HEADER = ["科目编码", "科目名称", "合计", "基本支出", "项目支出"]


@pytest.fixture(scope="module")
def printed_codes(tmp_path_factory):
    """A final-accounts PDF printing a made-up code, an alias and a name that contradicts the catalog."""
    folder = tmp_path_factory.mktemp("codes")
    write_table_pdf(folder / "codes.pdf", [
        ("公开05表 一般公共预算财政拨款支出决算表", [
            HEADER,
            ["201", "一般公共服务支出", "100.00", "60.00", "40.00"],
            ["20103", "政府办公厅（室）及相关机构事务", "100.00", "60.00", "40.00"],
            ["2010350", "行政运行", "60.00", "60.00", ""],         # catalog: 事业运行
            ["2010398", "虚构的热线事务", "40.00", "", "40.00"],    # no such code
            ["合计", "", "100.00", "60.00", "40.00"],
        ]),
        ("公开06表 一般公共预算财政拨款基本支出决算明细表", [
            ["科目编码", "科目名称", "决算数"],
            ["301", "工资福利支出", "60.00"],
            ["30109", "职业年金缴费支出", "60.00"],                 # alias of 职业年金缴费
            ["合计", "", "60.00"],
        ]),
    ])
    entry = RegistryEntry("codes-test", "测试中心", "450200", 2024, "final_accounts", "unit",
                          "codes.pdf", folder)
    return process_report(entry, fetch_report(entry, folder / "raw"), load_catalog())


def test_made_up_code_is_published_and_flagged(printed_codes):
    assert printed_codes.report["status"] == "published"
    kept = [li for li in printed_codes.line_items if li["code"] == "2010398"]
    assert {li["measure"]: str(li["amount_wan"]) for li in kept} == {"total": "40.00",
                                                                     "project": "40.00"}
    seen = {(c["code"], c["printed_name"]): c for c in printed_codes.codes_seen}
    made_up = seen[("2010398", "虚构的热线事务")]
    assert made_up["is_known_code"] is False and made_up["catalog_name"] is None
    flagged = [i["detail"] for i in printed_codes.quality_issues if i["kind"] == "unknown_code"]
    assert any("2010398" in d and "虚构的热线事务" in d for d in flagged), flagged


def test_contradicting_name_is_flagged_and_alias_is_resolved(printed_codes):
    seen = {c["code"]: c for c in printed_codes.codes_seen}
    assert seen["2010350"]["is_known_code"] and not seen["2010350"]["is_name_match"]
    mismatches = [i["detail"] for i in printed_codes.quality_issues
                  if i["kind"] == "code_name_mismatch"]
    assert any("2010350" in d and "事业运行" in d for d in mismatches), mismatches
    alias = seen["30109"]
    assert alias["printed_name"] == "职业年金缴费支出" and alias["catalog_name"] == "职业年金缴费"
    assert alias["is_name_match"] is True
    assert not any("30109" in i["detail"] for i in printed_codes.quality_issues)


def test_a_code_is_known_in_its_years_only():
    c = load_catalog()
    first, last = c.function["20102"].first_year, c.function["20102"].last_year
    assert c.knows("function", "20102", first) and c.knows("function", "20102")
    assert not c.knows("function", "20102", last + 1)


def _small_catalog():
    from hotline_budgets.transform.catalog import Catalog, CodeEntry

    def e(code, level, name, parent, first, last):
        return CodeEntry(code, level, name, parent, first, last, "test")

    return Catalog(
        function={"201": e("201", "类", "一般公共服务支出", "", 2018, 2026),
                  "20101": e("20101", "款", "热线事务", "201", 2018, 2020),
                  "20199": e("20199", "款", "热线事务", "201", 2021, 2026)},
        # an economic class whose code and name look like a function class: never mixed in
        economic={"299": e("299", "类", "其他支出", "", 2018, 2026)},
        aliases={}, version="test")


def test_names_resolve_to_the_code_of_the_reports_year():
    c = _small_catalog()
    path = ["一般公共服务支出", "热线事务"]
    assert NameResolver(c, year=2019).resolve_path(path) == ("20101", None)
    assert NameResolver(c, year=2024).resolve_path(path) == ("20199", None)
    assert NameResolver(c).resolve_path(path)[1].startswith("ambiguous")


def test_function_and_economic_codes_are_kept_apart():
    c = _small_catalog()
    assert c.resolve_class("其他支出") is None
    assert c.knows("economic", "299") and not c.knows("function", "299")
