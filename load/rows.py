"""One report's rows as a list of problems (tests and tools; the run uses load/conform.py).

Kept as the readable form of the same gate: every table converted and checked by
:func:`~hotline_budgets.load.conform.conform_table`, then the statement declaration and the
report's own id and year (:func:`~hotline_budgets.load.conform.report_problems`).
"""

from __future__ import annotations

from hotline_budgets.load.conform import PER_REPORT_TABLES, report_row_problems
from hotline_budgets.transform.report import ReportResult


def validate_report_rows(result: ReportResult, checks: list[dict] | None = None) -> list[str]:
    """Every reason the report's rows may not join its year, one line each; [] when they fit."""
    rows = {name: getattr(result, name) for name in PER_REPORT_TABLES
            if name not in ("reports", "checks")}
    return report_row_problems(rows | {"reports": [result.report], "checks": checks or []})
