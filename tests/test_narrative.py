"""Explanation-text facts: scored against the gold narrative rows, plus small sentence cases."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache

import pytest
from conftest import GOLD_DIR, SAMPLES, read_gold_rows

from hotline_budgets.extract.pdf_text import read_page_texts
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.facts import Fact
from hotline_budgets.transform.narrative_facts import extract_narrative_facts

NARRATIVE_REPORTS = [
    "haikou-12345-2024-final_accounts",
    "haikou-12345-2026-budget",
    "liaocheng-12345-2024-final_accounts",
    "liuzhou-12345-2024-final_accounts",
    "sanming-12345-2024-budget",
]


@cache
def report_facts(report_id: str) -> tuple[Fact, ...]:
    meta = json.loads((GOLD_DIR / report_id / "meta.json").read_text(encoding="utf-8"))
    pages = read_page_texts((SAMPLES / f"{report_id}.pdf").read_bytes()).pages
    return tuple(extract_narrative_facts(pages, report_kind=meta["report_kind"],
                                         fiscal_year=meta["fiscal_year"], catalog=load_catalog()))


def score(report_id: str) -> tuple[float, float, float, dict, dict]:
    """Precision, recall, F1 after "tables win": a non-execution fact a gold table row keys is dropped."""
    table_keys = set(read_gold_rows(report_id, "table"))
    gold = read_gold_rows(report_id, "narrative")
    got = {f.key: f.amount_wan for f in report_facts(report_id)
           if f.statement == "execution" or f.key not in table_keys}
    hits = sum(1 for k, v in got.items() if k in gold and gold[k] == v)
    precision = hits / len(got) if got else 1.0
    recall = hits / len(gold) if gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    extra = {k: v for k, v in got.items() if gold.get(k) != v}
    missing = {k: v for k, v in gold.items() if got.get(k) != v}
    return precision, recall, f1, extra, missing


@pytest.mark.parametrize("report_id", NARRATIVE_REPORTS)
def test_narrative_facts_match_gold(report_id):
    precision, recall, f1, extra, missing = score(report_id)
    print(f"{report_id}: P={precision:.3f} R={recall:.3f} F1={f1:.3f}")
    assert f1 == 1.0, (extra, missing)


@pytest.mark.parametrize("report_id", NARRATIVE_REPORTS)
def test_every_fact_has_a_page_and_is_narrative(report_id):
    facts = report_facts(report_id)
    assert facts
    assert all(f.page >= 1 and f.method == "narrative" for f in facts)
    assert len({f.key for f in facts}) == len(facts), "a natural key was returned twice"


def test_pages_point_at_the_printed_amount():
    pages = {f.key: f.page for f in report_facts("haikou-12345-2024-final_accounts")}
    # section 四 starts at the foot of page 4; its amounts are printed on page 5
    assert pages[("appropriation_summary", "item", "", "income.current_total", "total")] == 5
    assert pages[("execution", "function", "2210201", "", "actual")] == 6


# --------------------------------------------------------------------------- small strings

PART = "第三部分 2024年度单位决算情况说明\n"


def run(body: str, *, report_kind: str = "final_accounts", fiscal_year: int = 2024,
        pages: list[str] | None = None) -> dict[tuple, Fact]:
    facts = extract_narrative_facts(pages or [PART + body], report_kind=report_kind,
                                    fiscal_year=fiscal_year, catalog=load_catalog())
    assert all(f.method == "narrative" and f.page >= 1 for f in facts)
    return {f.key: f for f in facts}


def test_execution_sentence_gives_budget_initial_and_actual_with_the_7_digit_code():
    got = run("五、一般公共预算财政拨款支出决算情况说明\n"
              "1.一般公共服务（类）政府办公厅（室）及相关机构事务（款）事业运\n行（项）。\n"
              "年初预算为 303.5 万元，支出决算为 290.39 万元，完成年初预算的95.68%。")
    assert got[("execution", "function", "2010350", "", "budget_initial")].amount_wan == Decimal("303.5")
    assert got[("execution", "function", "2010350", "", "actual")].amount_wan == Decimal("290.39")
    assert got[("execution", "function", "2010350", "", "actual")].item_name == "事业运行"


def test_execution_paragraph_totals_are_not_stored():
    got = run("五、一般公共预算财政拨款支出决算情况说明\n"
              "一般公共服务（类）支出662.12万元，占84.06%。\n"
              "2024年度一般公共预算财政拨款支出年初预算为5055.03万元，年中预算调整后为819.67万元；"
              "支出决算为787.66万元。")
    assert set(got) == {("general_budget_expenditure", "function", "201", "", "total")}


def test_prior_year_amounts_and_differences_are_not_extracted():
    got = run("一、收入支出总体情况说明\n2024年度收入总计787.66万元，与2023年度4554.81万元相比，"
              "收入、支出总计各减少3767.15万元，下降82.71%。")
    assert {k: f.amount_wan for k, f in got.items()} == {
        ("summary", "item", "", "income.grand_total", "total"): Decimal("787.66")}


def test_zero_amounts_and_template_placeholders_are_not_extracted():
    got = run("二、收入决算情况说明\n本年收入787.66万元，其中：财政拨款收入787.66万元，占100%；"
              "上级补助收入0万元，占0%；事业收入0.00万元。\n"
              "五、一般公共预算财政拨款支出决算情况说明\nXXXX（类）XXXX（款）XXXX（项）。"
              "年初预算为0万元，支出决算为XXXX万元。")
    assert set(got) == {("income", "item", "", "grand_total", "total"),
                        ("income", "item", "", "grand_total", "fiscal_appropriation")}


def test_thousands_separators_are_removed_and_digits_kept_as_printed():
    got = run("六、一般公共预算财政拨款基本支出决算情况说明\n基本支出 1,770.28 万元，其中：人员经费2.90万元，"
              "公用经费35.2万元。")
    amounts = {k[3]: f.amount_wan for k, f in got.items()}
    assert amounts == {"grand_total": Decimal("1770.28"), "basic.personnel_total": Decimal("2.90"),
                       "basic.public_total": Decimal("35.2")}
    assert str(amounts["basic.personnel_total"]) == "2.90"


def test_budget_per_item_amounts_go_to_general_budget_expenditure():
    body = ("第三部分 2026年单位预算情况说明\n二、一般公共预算当年拨款情况说明\n"
            "2.社会保障和就业支出（类）行政事业单位养老支出（款）2025年预算数为52.17万元，"
            "其中机关事业单位基本养老保险缴费支出（项）34.78万元，比上年预算数51.46万元增加0.71万元。")
    got = run("", report_kind="budget", fiscal_year=2026, pages=[body])
    assert {k[2]: f.amount_wan for k, f in got.items()} == {
        "20805": Decimal("52.17"), "2080505": Decimal("34.78")}
    assert all(k[0] == "general_budget_expenditure" and k[4] == "total" for k in got)


def test_a_year_typo_is_current_in_a_budget_but_prior_in_final_accounts():
    text = "三、一般公共预算基本支出情况说明\n2023年一般公共预算基本支出为410.49万元。"
    assert run(text, report_kind="budget", fiscal_year=2024)
    assert not run(text, report_kind="final_accounts", fiscal_year=2024)


def test_unknown_names_are_skipped_without_error():
    got = run("五、一般公共预算财政拨款支出决算情况说明\n1.虚构支出（类）不存在的事务（款）某某（项）。"
              "年初预算为10万元，支出决算为9万元。")
    assert got == {}


def test_three_public_bare_measure_uses_the_category_just_named():
    got = run("九、财政拨款“三公”经费支出决算情况说明\n2024年度财政拨款“三公”经费支出预算为0.27万元，"
              "支出决算为0.25万元。国内接待费0.15万元。")
    assert {(k[3], k[4]): f.amount_wan for k, f in got.items()} == {
        ("three_public.total", "budget"): Decimal("0.27"),
        ("three_public.total", "actual"): Decimal("0.25")}


def test_sections_without_a_statement_and_the_glossary_are_ignored():
    pages = [PART + "十一、其他重要事项情况说明\n机关运行经费年初预算为20.75万元，支出决算为14.77万元。",
             "第四部分 名词解释\n一、收支预算总体情况说明\n收入总计5万元。"]
    assert run("", pages=pages) == {}


def test_page_of_an_amount_printed_after_a_page_break():
    pages = [PART + "六、一般公共预算财政拨款基本支出决算情况说明\n人员经费 380.73 万元，公用经费\n- 7 -",
             "35.2 万元，主要包括办公费。\n- 8 -"]
    got = run("", pages=pages)
    assert got[("general_budget_basic_economic", "item", "", "basic.personnel_total", "total")].page == 1
    assert got[("general_budget_basic_economic", "item", "", "basic.public_total", "total")].page == 2


def test_digits_printed_on_their_own_line_are_put_back_into_the_blanks():
    # some producers' text layer has each line's Latin digits on a line of their own below it
    pages = [PART + "五、一般公共预算财政拨款支出决算情况说明\n"
             "、一般公共服务支出（类）财政事务（款）行政运行（项）。主要用于：局本部人\n1\n"
             "员经费。年初预算为 万元，支出决算为 万\n1560.05 1511.89\n元。"]
    got = run("", pages=pages)
    assert {(k[2], k[4]): f.amount_wan for k, f in got.items()} == {
        ("2010601", "budget_initial"): Decimal("1560.05"), ("2010601", "actual"): Decimal("1511.89")}


def test_a_number_left_on_a_line_of_its_own_is_never_paired_with_the_next_unit():
    got = run("五、一般公共预算财政拨款支出决算情况说明\n"
              "1.一般公共服务（类）政府办公厅（室）及相关机构事务（款）事业运行（项）。2024年支出决算为\n"
              "450.52\n万元。")
    assert got == {}


def test_a_narrative_fact_carries_the_sentence_it_is_printed_in():
    got = run("六、一般公共预算财政拨款基本支出决算情况说明\n基本支出 1,770.28 万元，其中：人员经费2.90万元。"
              "公用经费35.2万元，主要包括办公费。")
    personnel = got[("general_budget_basic_economic", "item", "", "basic.personnel_total", "total")]
    public = got[("general_budget_basic_economic", "item", "", "basic.public_total", "total")]
    assert personnel.source_text == "基本支出1,770.28万元，其中：人员经费2.90万元。"
    assert public.source_text == "公用经费35.2万元，主要包括办公费。"


def test_extract_finds_printed_names_and_amounts_without_meaning():
    from hotline_budgets.extract.narrative import AmountMention, read_explanation

    page = (PART + "五、一般公共预算财政拨款支出决算情况说明\n"
            "1.一般公共服务（类）财政事务（款）行政运行（项）。年初预算为 12.5 万元。")
    (section,) = read_explanation([page])
    (mention,) = [e for e in section.events if isinstance(e, AmountMention)]
    assert section.title.startswith("五、一般公共预算财政拨款支出决算")
    assert mention.path == ("一般公共服务", "财政事务", "行政运行")
    assert (mention.label, mention.amount_text, mention.page) == ("年初预算为", "12.5", 1)


def test_a_category_printed_as_the_first_sentence_of_its_item_names_the_next_amounts():
    # Beijing: "（一）因公出国（境）费用。2026年预算数165.8万元，…" — the category is its own sentence
    body = ("第三部分 2026年部门预算情况说明\n四、财政拨款“三公”经费预算情况说明\n"
            "2026年财政拨款“三公”经费预算489.39万元，比2025年增加5.62万元。其中：\n"
            "（一）因公出国（境）费用。2026年预算数165.8万元，主要用于交流合作。\n"
            "（二）公务接待费。2026年预算数15.86万元，主要用于来访接待。\n"
            "（三）公务用车购置和运行维护费。2026年预算数\n"
            "307.73万元，包括公务用车购置费预算157.51万元、公务\n用车运行维护费预算150.22万元。")
    got = run("", report_kind="budget", fiscal_year=2026, pages=[body])
    assert {k[3]: f.amount_wan for k, f in got.items()} == {
        "three_public.total": Decimal("489.39"), "three_public.travel_abroad": Decimal("165.8"),
        "three_public.reception": Decimal("15.86"), "three_public.vehicles": Decimal("307.73"),
        "three_public.vehicle_purchase": Decimal("157.51"),
        "three_public.vehicle_operation": Decimal("150.22")}
    assert all(k[4] == "budget" for k in got)


def test_a_split_column_printed_as_a_part_of_another_column_is_not_stored_beside_it():
    # "项目支出…其中：1.事业单位经营支出900万元": a part of 项目支出, not a column next to it
    body = ("第三部分 2026年部门预算情况说明\n三、支出预算情况说明\n"
            "2026年支出预算1000.00万元，比2025年减少5万元。\n"
            "（一）基本支出。基本支出预算100.00万元，占本年支出预算10%。\n"
            "（二）项目支出。项目支出预算900.00万元，占本年支出预算90%。其中：\n"
            "1.事业单位经营支出50.00万元。\n2.上缴上级支出0万元。\n"
            "（三）年终结转结余资金0万元。")
    got = run("", report_kind="budget", fiscal_year=2026, pages=[body])
    assert {k[4] for k in got} == {"total"}
    # parts of the row's total are its columns
    got = run("三、支出决算情况说明\n本年支出100万元，其中：基本支出60万元，项目支出30万元，"
              "经营支出10万元。")
    assert {k[4]: f.amount_wan for k, f in got.items()} == {
        "total": Decimal("100"), "basic": Decimal("60"), "project": Decimal("30"),
        "operating_expense": Decimal("10")}
    # a comparison printed between the total and its "其中" is skipped: the parts are the total's
    got = run("二、2024年度一般公共预算财政拨款支出决算情况\n本单位2024年度一般公共预算财政拨款支出"
              "1,165.30万元，较2023年度决算数增加161.88万元，增长16.13%。其中：基本支出959.54万元，"
              "项目支出205.76万元。")
    assert {k[4]: f.amount_wan for k, f in got.items()} == {
        "total": Decimal("1165.30"), "basic": Decimal("959.54"), "project": Decimal("205.76")}


def test_the_parts_of_a_container_section_are_read_by_their_sub_headings():
    # Xi'an 2019: the statements are explained under "七、2019年部门预算收支说明"
    body = ("六、部门预算绩效目标说明\n涉及一般公共预算当年拨款203091.65万元。\n"
            "七、2019年部门预算收支说明\n（一）收支预算总体情况\n"
            "2019年部门预算收入203091.65万元，其中一般公共预算拨款收入203091.65万元。\n"
            "（三）一般公共预算拨款支出明细情况\n1.一般共公预算当年拨款规模变化情况。\n"
            "本部门2019年一般公共预算支出203091.65万元，较上年增加69010.99万元。\n"
            "（六）“三公”经费等预算情况\n1、“三公”经费预算18.6万元；其中：公务接待费8.6万元。\n"
            "八、专业名词解释\n“三公”经费预算5万元。")
    got = run("", report_kind="budget", fiscal_year=2019, pages=[body])
    assert {(k[0], k[3]): f.amount_wan for k, f in got.items()} == {
        ("summary", "income.general_budget"): Decimal("203091.65"),
        ("general_budget_expenditure", "grand_total"): Decimal("203091.65"),
        ("three_public", "three_public.total"): Decimal("18.6"),
        ("three_public", "three_public.reception"): Decimal("8.6")}
