"""Typed vocabularies of the published tables, derived from the schema declaration.

Each enum's members are the ``values`` a column of ``schema.yaml`` declares (or takes from
``statements.yaml``), so code that names a status, statement or measure is checked against the
contract instead of retyping it. Members are ``str``: they go into rows, JSON and Arrow as is.
"""

from __future__ import annotations

from enum import StrEnum

from hotline_budgets.schema import load_schema


def vocabulary(name: str, table: str, column: str) -> type[StrEnum]:
    """A StrEnum whose members are the declared values of ``table.column`` (NAME = value)."""
    col = next(c for c in load_schema()[table].columns if c.name == column)
    if not col.values:
        raise ValueError(f"schema.yaml: {table}.{column} declares no values")
    return StrEnum(name, [(v.upper().replace("-", "_"), v) for v in col.values])


Statement = vocabulary("Statement", "line_items", "statement")
Measure = vocabulary("Measure", "line_items", "measure")
Classification = vocabulary("Classification", "line_items", "classification")
CodeList = vocabulary("CodeList", "codes_seen", "classification")  # function | economic
Method = vocabulary("Method", "line_items", "method")
ReportKind = vocabulary("ReportKind", "reports", "report_kind")
ReportStatus = vocabulary("ReportStatus", "reports", "status")
Presence = vocabulary("Presence", "statements", "presence")
IssueKind = vocabulary("IssueKind", "quality_issues", "kind")
CheckStatus = vocabulary("CheckStatus", "checks", "status")
