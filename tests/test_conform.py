"""One report's rows against the schema: a value that does not fit fails that report, named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hotline_budgets.load.conform import ConformError, conform_table
from hotline_budgets.schema import load_schema

ROW = load_schema()["line_items"].row(
    report_id="r1", fiscal_year=2026, statement="expenditure", classification="function",
    code="2010301", item=None, measure="total", amount_wan=Decimal("8726.727244"), page=3,
    method="table")


def test_six_decimal_places_fit():
    assert conform_table("line_items", [ROW]).num_rows == 1


@pytest.mark.parametrize("change,message", [
    ({"amount_wan": Decimal("8726.7272441")}, "cannot be converted to the declared types"),
    ({"code": "20103a"}, r"line_items.code: 1 value\(s\) do not match"),
    ({"measure": "guess"}, r"line_items.measure: 1 value\(s\) outside"),
    ({"amount_wan": Decimal("-1")}, r"line_items.amount_wan: 1 value\(s\) below 0"),
    ({"page": None}, r"line_items row 0 \(report_id=r1\): NULL in required column\(s\) \['page'\]"),
])
def test_values_that_do_not_fit_are_named(change, message):
    with pytest.raises(ConformError, match=message):
        conform_table("line_items", [ROW | change])


def test_a_key_given_twice_is_refused():
    with pytest.raises(ConformError, match="key .* given twice"):
        conform_table("line_items", [ROW, ROW])
