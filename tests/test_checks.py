"""Accounting identities in DuckDB SQL: exact, within rounding, failed."""

from __future__ import annotations

from decimal import Decimal

from hotline_budgets.load.checks import classify, evaluate_identities
from hotline_budgets.schema import load_schema


def li(rows, method="table"):
    out = []
    for statement, cls, code, item, measure, amount in rows:
        out.append(load_schema()["line_items"].row(
            report_id="r", fiscal_year=2024, statement=statement, classification=cls, code=code,
            item=item, measure=measure, amount_wan=Decimal(amount), item_name="", page=1,
            method=method))
    return load_schema()["line_items"].to_arrow(out)


def by_id(rows):
    return {r["check_id"]: r for r in rows}


def test_parent_equals_sum_of_children():
    checks = by_id(evaluate_identities(li([
        ("expenditure", "function", "201", None, "total", "10.00"),
        ("expenditure", "function", "20103", None, "total", "10.01"),
        ("expenditure", "function", "2010301", None, "total", "4.00"),
        ("expenditure", "function", "2010399", None, "total", "6.00"),
    ])))
    assert checks["hier:expenditure:201:total"]["status"] == "rounding"
    assert checks["hier:expenditure:20103:total"]["status"] == "rounding"
    assert checks["hier:expenditure:20103:total"]["difference_wan"] == Decimal("0.01")


def test_total_split_beyond_rounding_fails():
    checks = by_id(evaluate_identities(li([
        ("expenditure", "item", None, "grand_total", "total", "100.00"),
        ("expenditure", "item", None, "grand_total", "basic", "60.00"),
        ("expenditure", "item", None, "grand_total", "project", "30.00"),
    ])))
    assert checks["split:expenditure:grand_total:total"]["status"] == "failed"


def test_three_public_and_summary_balance():
    checks = by_id(evaluate_identities(li([
        ("three_public", "item", None, "three_public.total", "actual", "1.37"),
        ("three_public", "item", None, "three_public.vehicles", "actual", "1.22"),
        ("three_public", "item", None, "three_public.vehicle_operation", "actual", "1.22"),
        ("three_public", "item", None, "three_public.reception", "actual", "0.15"),
        ("summary", "item", None, "income.grand_total", "total", "5"),
        ("summary", "item", None, "expense.grand_total", "total", "5"),
    ])))
    assert checks["tp:total:actual"]["status"] == "exact"
    assert checks["tp:vehicles:actual"]["status"] == "exact"
    assert checks["bal:summary:total"]["status"] == "exact"


def test_a_three_public_part_the_text_does_not_state_is_unknown_not_zero():
    # The text states the total, travel and reception but says nothing of the vehicles.
    text = [("three_public", "item", None, "three_public.total", "budget", "17.70"),
            ("three_public", "item", None, "three_public.travel_abroad", "budget", "14.85"),
            ("three_public", "item", None, "three_public.reception", "budget", "2.85")]
    assert "tp:total:budget" not in by_id(evaluate_identities(li(text, "narrative")))
    # … unless it states them as 0万元 (a zero is no line item, but a known part)
    zero = {"report_id": "r", "statement": "three_public", "classification": "item", "code": None,
            "item": "three_public.vehicles", "measure": "budget", "page": 1}
    stated = by_id(evaluate_identities(li(text, "narrative"), stated_zeros=[zero]))
    assert stated["tp:total:budget"]["status"] == "exact"
    # A printed table's blank cell is zero: the same figures in a table are checked, and a
    # missing part fails there.
    wrong = text[:2] + [("three_public", "item", None, "three_public.reception", "budget", "1.85")]
    assert by_id(evaluate_identities(li(wrong)))["tp:total:budget"]["status"] == "failed"
    assert "tp:total:budget" not in by_id(evaluate_identities(li(wrong, "narrative")))


def test_tolerance_is_one_cent_per_term():
    assert classify(Decimal("0.02"), 2) == ("rounding", Decimal("0.02"))
    assert classify(Decimal("0.03"), 2)[0] == "failed"
    assert classify(Decimal(0), 1)[0] == "exact"


def test_general_budget_total_matches_summary_only_without_other_income():
    rows = [
        ("summary", "item", None, "income.general_budget", "total", "100.00"),
        ("general_budget_expenditure", "item", None, "grand_total", "total", "90.00"),
    ]
    checks = by_id(evaluate_identities(li(rows)))
    assert checks["x:gbe_total=summary_general_budget"]["status"] == "failed"
    with_other = rows + [("summary", "item", None, "income.other", "total", "10.00")]
    assert "x:gbe_total=summary_general_budget" not in by_id(evaluate_identities(li(with_other)))
