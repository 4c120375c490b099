"""The catalog: aliases resolve, unknown codes are flagged, never dropped."""

from __future__ import annotations

from transform.catalog import load_catalog


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
    assert not c.knows("function", "2019999")
    assert c.knows("function", "2010350")


def test_name_path_resolves_to_a_7_digit_code():
    c = load_catalog()
    assert c.resolve_function_path(
        ["社会保障和就业", "行政事业单位养老支出", "机关事业单位职业年金缴费支出"]) == "2080506"
