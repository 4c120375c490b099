"""Evaluating SCHEMA.md's accounting identities in DuckDB SQL (``identities.sql``)."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from hotline_budgets.statements import load_statements

IDENTITIES_FILE = Path(__file__).parent / "identities.sql"
TOLERANCE_PER_TERM = Decimal("0.01")
_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def load_identity_queries(path: Path = IDENTITIES_FILE) -> dict[str, str]:
    """Named queries of the SQL file (each starts with a ``-- name:`` line)."""
    text = path.read_text(encoding="utf-8")
    parts = _NAME.split(text)
    return {parts[i]: parts[i + 1].strip().rstrip(";") for i in range(1, len(parts), 2)}


def classify(difference: Decimal, terms: int) -> tuple[str, Decimal]:
    """exact / rounding (within 0.01 per term) / failed, and the tolerance used."""
    tolerance = TOLERANCE_PER_TERM * max(terms, 1)
    if difference == 0:
        return "exact", tolerance
    return ("rounding" if abs(difference) <= tolerance else "failed"), tolerance


@cache
def declared_relations() -> dict[str, pa.Table]:
    """The statement declaration as the relations identities.sql selects statements from."""
    specs = load_statements().values()
    families = [(s.name, f) for s in specs for f in s.identities]
    splits = [(s.name, m) for s in specs for m in s.split_measures]
    return {"identity_statements": _pairs(families, "family"), "split_measures": _pairs(splits, "measure")}


def _pairs(rows: list[tuple[str, str]], second: str) -> pa.Table:
    schema = pa.schema([("statement", pa.string()), (second, pa.string())])
    return pa.Table.from_pylist([{"statement": a, second: b} for a, b in rows], schema)


# A report's rows per budget unit (transform ReportResult.unit_rows), as identities.sql reads them.
UNIT_ROWS_SCHEMA = pa.schema([
    ("report_id", pa.string()), ("statement", pa.string()), ("page", pa.int32()),
    ("unit", pa.string()), ("parent", pa.string()), ("unit_name", pa.string()),
    ("column", pa.string()), ("amount_wan", pa.decimal128(20, 6)), ("source_text", pa.string()),
])


def _relation(rows: list[dict] | None, schema: pa.Schema) -> pa.Table:
    """Rows as a relation of that schema (empty when there are none)."""
    return pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows or []], schema)


def unit_rows_table(rows: list[dict] | None) -> pa.Table:
    """Per-unit amounts as a relation (empty when the report prints no rows per unit)."""
    return _relation(rows, UNIT_ROWS_SCHEMA)


# Keys the explanation text states as zero (transform ReportResult.stated_zeros).
STATED_ZEROS_SCHEMA = pa.schema([
    ("report_id", pa.string()), ("statement", pa.string()), ("classification", pa.string()),
    ("code", pa.string()), ("item", pa.string()), ("measure", pa.string()), ("page", pa.int32()),
])


def evaluate_identities(line_items: pa.Table, unit_rows: list[dict] | None = None,
                        stated_zeros: list[dict] | None = None) -> list[dict]:
    """One row per identity instance: both sides, the difference and the verdict.

    ``unit_rows``: the report's amounts per budget unit (no line items, SCHEMA has no unit key),
    so that a table printing only a total and per-unit rows is checked too. ``stated_zeros``:
    the keys its text states as 0万元 (known parts, though not stored)."""
    con = duckdb.connect(config={"threads": 1})  # a report's rows: one thread is fastest
    try:
        con.register("li", line_items)
        con.register("unit_rows", unit_rows_table(unit_rows))
        con.register("stated_zeros", _relation(stated_zeros, STATED_ZEROS_SCHEMA))
        for name, relation in declared_relations().items():
            con.register(name, relation)
        rows: list[dict] = []
        for query in load_identity_queries().values():
            for report_id, check_id, statement, expected, computed, terms in con.execute(
                query
            ).fetchall():
                expected = Decimal(expected if expected is not None else 0)
                computed = Decimal(computed if computed is not None else 0)
                difference = expected - computed
                status, tolerance = classify(difference, int(terms))
                rows.append(
                    dict(report_id=report_id, check_id=check_id, statement=statement,
                         expected_wan=expected, computed_wan=computed, difference_wan=difference,
                         tolerance_wan=tolerance, term_count=int(terms), status=status)
                )
        rows.sort(key=lambda r: (r["report_id"], r["check_id"]))
        return rows
    finally:
        con.close()
