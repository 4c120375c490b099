"""Validation of one report's rows before they join a year's tables.

The year-level Great Expectations suites (``load/validate.py``) judge a whole year; this gate
judges one report, so a report whose rows do not fit the contract can be turned away (rejected,
with the reason) without touching the other reports of its year. It checks what the schema and
the statement declaration say: exact columns, required values, vocabularies, patterns, minimums,
the report's own id and year on every row, the statement's declared measures and items, a code
or an item (never both) by classification, and a unique natural key.
"""

from __future__ import annotations

import re

from hotline_budgets.schema import SchemaError, Table, load_schema
from hotline_budgets.statements import load_statements
from hotline_budgets.transform.report import ReportResult

REPORT_TABLES = ("reports", "line_items", "statements", "consistency_checks", "quality_issues",
                 "codes_seen")


def validate_report_rows(result: ReportResult) -> list[str]:
    """Every reason the report's rows may not join its year, one line each; [] when they fit."""
    schema = load_schema()
    rows = {name: (getattr(result, name) if name != "reports" else [result.report])
            for name in REPORT_TABLES}
    problems: list[str] = []
    for name, table_rows in rows.items():
        table = schema[name]
        structural = table.problems(table_rows)
        problems += structural or _type_problems(table, table_rows) or _value_problems(table, table_rows)
        problems += _foreign_rows(name, table_rows, result.report)
    problems += _line_item_problems(result.line_items)
    return problems


def _type_problems(table: Table, rows: list[dict]) -> list[str]:
    try:
        table.to_arrow(rows)
    except SchemaError as exc:
        return [str(exc)]
    return []


def _value_problems(table: Table, rows: list[dict]) -> list[str]:
    """Values outside a column's declared vocabulary, pattern or minimum."""
    found = []
    for c in table.columns:
        pattern = re.compile(c.pattern) if c.pattern else None
        for i, r in enumerate(rows):
            value = r[c.name]
            if value is None:
                continue
            if c.values and value not in c.values:
                found.append(f"{table.name} row {i}: {c.name} {value!r} is not one of the declared values")
            elif pattern and not pattern.search(str(value)):
                found.append(f"{table.name} row {i}: {c.name} {value!r} does not match {c.pattern}")
            elif c.min is not None and value < c.min:
                found.append(f"{table.name} row {i}: {c.name} {value} is below {c.min}")
    return found


def _foreign_rows(name: str, rows: list[dict], report: dict) -> list[str]:
    """Rows that name another report or another year than the report they came with."""
    return [f"{name} row {i}: belongs to {r.get('report_id')}/{r.get('fiscal_year')}, not"
            f" {report.get('report_id')}/{report.get('fiscal_year')}"
            for i, r in enumerate(rows)
            if (r.get("report_id"), r.get("fiscal_year")) != (report.get("report_id"),
                                                               report.get("fiscal_year"))]


def _line_item_problems(line_items: list[dict]) -> list[str]:
    """The statement declaration's measures and items, code/item by classification, unique keys."""
    specs = load_statements()
    found = []
    seen: dict[tuple, int] = {}
    for i, li in enumerate(line_items):
        where = f"line_items row {i} ({li.get('statement')})"
        spec = specs.get(li.get("statement"))
        if spec is not None and li.get("measure") not in spec.measures:
            found.append(f"{where}: measure {li.get('measure')!r} is not declared for the statement")
        if spec is not None and li.get("item") and li["item"] not in spec.items:
            found.append(f"{where}: item {li['item']!r} is not declared for the statement")
        coded = li.get("classification") != "item"
        if coded != bool(li.get("code")) or (coded and li.get("item")):
            found.append(f"{where}: classification {li.get('classification')!r} with code"
                         f" {li.get('code')!r} and item {li.get('item')!r}")
        key = tuple(li.get(k) for k in load_schema()["line_items"].key)
        if key in seen:
            found.append(f"{where}: natural key {key} repeats row {seen[key]}")
        seen.setdefault(key, i)
    return found
