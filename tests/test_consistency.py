"""Consistency rules (transform/consistency_rules.yaml) on altered copies of bundled reports.

Every alteration is made to a rendering of a real bundled report — its text layer as the real
reader returns it, one string changed — never to the PDF; the tables stay what the real table
reader read from the real PDF. Each alteration must be caught by the rule meant for it, and the
unaltered report must trigger none. One report is also built as a PDF with reportlab and goes
through the whole report processing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from conftest import PROJECT_ROOT
from pdf_builder import write_report_pdf

from hotline_budgets.extract.fetch import fetch_report
from hotline_budgets.extract.pdf_text import read_page_texts
from hotline_budgets.registry import SAMPLE_REGISTRY, RegistryEntry, load_registry
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.consistency import check_consistency, load_rules
from hotline_budgets.transform.facts import Fact
from hotline_budgets.transform.report import process_report


@dataclass
class Rendering:
    """A bundled report as the pipeline reads it: page texts, table facts, statements."""

    entry: RegistryEntry
    pdf: bytes
    pages: list[str]
    facts: list[Fact]
    statements: list[dict]
    consistency: list[dict]

    def run(self, pages: list[str] | None = None, statements: list[dict] | None = None) -> list[dict]:
        printed = {f.code: f.item_name for f in self.facts if f.classification == "function"}
        return check_consistency(self.entry, pages or self.pages, self.facts,
                                 statements or self.statements, load_catalog(),
                                 None if pages else self.pdf, printed)

    def altered(self, old: str, new: str) -> list[str]:
        """The page texts with ``old`` replaced once (it must be printed exactly once there)."""
        hits = [i for i, p in enumerate(self.pages) if old in p]
        assert len(hits) == 1 and self.pages[hits[0]].count(old) == 1, (old, hits)
        pages = list(self.pages)
        pages[hits[0]] = pages[hits[0]].replace(old, new)
        return pages


def _rendering(registry, report_id: str, tmp_path_factory) -> Rendering:
    entry = next(e for e in load_registry(registry) if e.report_id == report_id)
    fetched = fetch_report(entry, tmp_path_factory.mktemp(report_id))
    result = process_report(entry, fetched, load_catalog())
    facts = [Fact(li["statement"], li["classification"], li["code"], li["item"], li["measure"],
                  li["amount_wan"], li["item_name"] or "", li["page"], li["method"])
             for li in result.line_items if li["method"] == "table"]
    pdf = fetched.read_bytes()
    return Rendering(entry, pdf, read_page_texts(pdf).pages, facts, result.statements,
                     result.consistency_checks)


@pytest.fixture(scope="module")
def liuzhou(tmp_path_factory) -> Rendering:
    return _rendering(SAMPLE_REGISTRY, "liuzhou-12345-2024-final_accounts", tmp_path_factory)


@pytest.fixture(scope="module")
def putuo(tmp_path_factory) -> Rendering:
    return _rendering(PROJECT_ROOT / "samples" / "real" / "registry.yaml",
                      "putuo-finance-2024-final_accounts", tmp_path_factory)


def failed(rows: list[dict], rule_id: str | None = None) -> list[dict]:
    return [r for r in rows if r["verdict"] != "pass" and (rule_id is None or r["rule_id"] == rule_id)]


def new_failures(base: Rendering, rows: list[dict]) -> list[dict]:
    """Findings of an altered copy that the unaltered one does not have."""
    known = {(r["rule_id"], r["subject"]) for r in failed(base.run())}
    return [r for r in failed(rows) if (r["rule_id"], r["subject"]) not in known]


# --------------------------------------------------------------------------- unaltered


def test_unaltered_report_triggers_no_rule(liuzhou):
    rows = liuzhou.consistency  # as published by process_report, with bboxes
    assert failed(rows) == []
    families = {r["family"] for r in rows}
    assert families == {"text_vs_table", "wording_vs_numbers", "entity_and_year", "completeness"}
    compared = [r for r in rows if r["rule_id"] == "text_table.amount"]
    assert len(compared) >= 15
    assert all(r["left_page"] and r["right_page"] and r["right_bbox"] for r in compared)


def test_every_rule_is_declared_with_family_and_severity():
    rules = load_rules()
    assert {r.family for r in rules.rules.values()} == {
        "text_vs_table", "wording_vs_numbers", "entity_and_year", "completeness", "units"}
    assert all(r.severity in ("error", "warning") and r.description for r in rules.rules.values())


# --------------------------------------------------------------------------- text vs table


def test_text_basic_expenditure_other_than_table_is_flagged_with_what_it_is(liuzhou):
    # the text restates another table figure (the total) as the basic expenditure
    pages = liuzhou.altered("财政拨款基本支出959.54万元", "财政拨款基本支出1,165.30万元")
    found = new_failures(liuzhou, liuzhou.run(pages))
    assert found and {r["rule_id"] for r in found} <= {"text_table.amount", "text_table.same_fact"}
    same = [r for r in found if r["rule_id"] == "text_table.same_fact"]
    assert same, found
    row = same[0]
    assert (row["left_wan"], row["left_page"]) == (Decimal("1165.30"), 14)
    assert row["right_wan"] == Decimal("959.54") and row["right_source"].startswith("table:")
    assert "the text's figure is the table's" in row["detail"]


def test_text_total_of_zero_is_flagged(liuzhou):
    pages = liuzhou.altered("其中本年收入1,165.30万元", "其中本年收入0万元")
    found = new_failures(liuzhou, liuzhou.run(pages))
    assert {(r["rule_id"], r["left_wan"], r["right_wan"]) for r in found} == {
        ("text_table.amount", Decimal(0), Decimal("1165.30")),      # summary's 本年收入合计
        ("text_table.same_fact", Decimal(0), Decimal("1165.30"))}   # and the income table's total
    assert "income.current_total" in found[0]["subject"]


def test_motivating_case_general_budget_basic_is_the_all_funds_figure(tmp_path):
    """A report whose text gives the all-funds basic expenditure (5,377.64) as the general-budget
    basic expenditure, which its tables print as 5,364.75 — built as a PDF, processed whole."""
    header = ["科目编码", "科目名称", "合计", "基本支出", "项目支出"]
    path = write_report_pdf(tmp_path / "case.pdf", [
        ("公开03表 支出决算表", [
            header, ["201", "一般公共服务支出", "6,000.00", "5,377.64", "622.36"],
            ["合计", "", "6,000.00", "5,377.64", "622.36"]]),
        ("公开05表 一般公共预算财政拨款支出决算表", [
            header, ["201", "一般公共服务支出", "5,900.00", "5,364.75", "535.25"],
            ["合计", "", "5,900.00", "5,364.75", "535.25"]]),
    ], [
        ["第三部分 示范区财政局2024年度部门决算情况说明",
         "一、一般公共预算财政拨款支出决算情况说明",
         "一般公共预算财政拨款支出5,900.00万元。",
         "二、一般公共预算财政拨款基本支出决算情况说明",
         "一般公共预算财政拨款基本支出5,377.64万元。"],
    ])
    entry = RegistryEntry("case", "示范区财政局", "310107", 2024, "final_accounts", "department",
                          path.name, tmp_path)
    result = process_report(entry, fetch_report(entry, tmp_path / "raw"), load_catalog())
    rows = failed(result.consistency_checks, "text_table.same_fact")
    assert len(rows) == 1, result.consistency_checks
    row = rows[0]
    assert (row["left_wan"], row["right_wan"]) == (Decimal("5377.64"), Decimal("5364.75"))
    assert row["left_page"] == 3 and row["left_bbox"] and row["right_bbox"]
    assert "expenditure/grand_total/basic" in row["detail"]  # what 5,377.64 is: all funds
    total = [r for r in result.consistency_checks if "general_budget_expenditure/item/grand_total"
             "/total" in r["subject"]]
    assert [r["verdict"] for r in total] == ["pass"]


# --------------------------------------------------------------------------- wording vs numbers


def test_comparison_word_against_the_two_amounts(liuzhou):
    pages = liuzhou.altered("94.98%。决算数低于预算数", "94.98%。决算数高于预算数")
    found = new_failures(liuzhou, liuzhou.run(pages))
    assert [r["rule_id"] for r in found] == ["wording.comparison"]
    assert (found[0]["left_wan"], found[0]["right_wan"]) == (Decimal("4.54"), Decimal("4.78"))


def test_equal_wording_against_different_amounts(liuzhou):
    pages = liuzhou.altered("94.98%。决算数低于预算数", "94.98%。决算数等于预算数")
    assert [r["rule_id"] for r in new_failures(liuzhou, liuzhou.run(pages))] == ["wording.comparison"]


def test_change_direction_and_percentage(liuzhou):
    pages = liuzhou.altered("161.88万元，增长16.13%。其中", "161.88万元，下降16.13%。其中")
    assert [r["rule_id"] for r in new_failures(liuzhou, liuzhou.run(pages))] == ["wording.change"]
    pages = liuzhou.altered("161.88万元，增长16.13%。其中", "161.88万元，增长26.13%。其中")
    found = new_failures(liuzhou, liuzhou.run(pages))
    assert [r["rule_id"] for r in found] == ["wording.change"]
    assert "16.1" in found[0]["detail"]


# --------------------------------------------------------------------------- entity and year


def test_placeholder_in_a_heading(liuzhou):
    pages = liuzhou.altered("第三部分：柳州市12345政务服务热线管理中心", "第三部分：XX市XX中心")
    found = new_failures(liuzhou, liuzhou.run(pages))
    assert "entity.placeholder" in {r["rule_id"] for r in found}
    assert {r["rule_id"] for r in found} <= {"entity.placeholder", "entity.name"}


def test_placeholder_in_a_table_caption(liuzhou):
    pages = list(liuzhou.pages)
    caption = "单位名称：柳州市12345政务服务热线管理中心"
    page = next(i for i, p in enumerate(pages) if caption in p)
    pages[page] = pages[page].replace(caption, "单位名称：XX单位", 1)
    found = new_failures(liuzhou, liuzhou.run(pages))
    assert {(r["rule_id"], r["left_page"]) for r in found} == {
        ("entity.placeholder", page + 1), ("entity.name", page + 1)}


def test_cover_naming_another_entity(putuo):
    assert putuo.pages[0].startswith("上海市普陀区财政局")
    pages = [putuo.pages[0].replace("上海市普陀区财政局", "上海市静安区财政局", 1), *putuo.pages[1:]]
    found = new_failures(putuo, putuo.run(pages))
    assert [(r["rule_id"], r["left_source"], r["left_value"]) for r in found] == [
        ("entity.name", "cover", "上海市静安区财政局")]


def test_another_entity_named_in_a_heading(liuzhou):
    pages = liuzhou.altered("第三部分：柳州市12345", "第三部分：桂林市12345")
    found = new_failures(liuzhou, liuzhou.run(pages))
    assert [(r["rule_id"], r["left_page"]) for r in found] == [("entity.name", 11)]


def test_heading_of_another_year(liuzhou):
    pages = liuzhou.altered("管理中心2024年度单位决算情", "管理中心2023年度单位决算情")
    found = new_failures(liuzhou, liuzhou.run(pages))
    assert [(r["rule_id"], r["left_value"], r["right_value"]) for r in found] == [
        ("year.own_year", "2023", "2024")]


def test_prior_year_comparisons_are_not_the_own_year(liuzhou):
    rows = liuzhou.run()
    assert failed(rows, "year.own_year") == []
    text = "\n".join(liuzhou.pages)
    assert "较2023年度决算" in text.replace("\n", "")  # the report does compare with 2023


# --------------------------------------------------------------------------- completeness


def test_missing_statement_stated_not_applicable_or_not(liuzhou):
    without = [s | {"presence": "absent", "pages": None} if s["statement"] == "gov_fund" else s
               for s in liuzhou.statements]
    rows = [r for r in liuzhou.run(statements=without) if "gov_fund" in r["subject"]]
    assert [r["verdict"] for r in rows] == ["pass"]  # the text says 没有政府性基金预算…
    assert "没有政府性基金" in rows[0]["left_value"]
    # a copy that never mentions 政府性基金 (it says 0 万元 and 无… in three places)
    pages = [re.sub(r"政\s*府\s*性\s*基\s*金", "专项资金", p) for p in liuzhou.pages]
    found = new_failures(liuzhou, liuzhou.run(pages, without))
    assert [(r["rule_id"], r["right_value"]) for r in found] == [("completeness.statement", "absent")]


# --------------------------------------------------------------------------- units


def test_amount_ten_thousand_times_off_is_a_unit_error(liuzhou):
    pages = liuzhou.altered("其中：基本支出959.54万元，项目支出", "其中：基本支出9,595,400万元，项目支出")
    found = new_failures(liuzhou, liuzhou.run(pages))
    assert found and {(r["rule_id"], r["verdict"]) for r in found} == {("units.scale", "unit_error")}


# --------------------------------------------------------------------------- the real Putuo report


def test_putuo_findings_are_the_ones_it_prints(putuo):
    """The real Putuo 2024 决算 states 0.3 万元 as 财政拨款收入支出总计 (its table: 2,961.68) and a
    share of 71.73 % for 2,106.66 of 2,940.05 (71.65 %): both are printed so, and both are found."""
    found = sorted((r["rule_id"], r["left_value"]) for r in failed(putuo.consistency))
    assert found == [("text_table.amount", "0.30"), ("text_table.amount", "0.30"),
                     ("wording.rate", "2106.66")]
    comparisons = [r for r in putuo.consistency if r["rule_id"] == "wording.comparison"]
    assert len(comparisons) >= 10 and all(r["verdict"] == "pass" for r in comparisons)
