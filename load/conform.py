"""One report's rows against the declared schema, before they meet any other report's rows.

The one per-report gate (the year-level Great Expectations suites in ``load/validate.py`` judge a
whole year). A value that does not fit (a decimal with too many places, a code that is not 3/5/7
digits, a status outside the vocabulary, a negative amount, a key given twice, a measure or item
the statement does not declare, a row of another report or year) makes that one report fail here
with the table, column and rule named; the year it belongs to is still published.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from hotline_budgets.schema import Table, load_schema
from hotline_budgets.statements import load_statements

PER_REPORT_TABLES = ("reports", "line_items", "statements", "checks", "consistency_checks",
                     "quality_issues", "codes_seen")


class ConformError(ValueError):
    """The report's rows do not fit the published schema."""


def _sample(values: pa.Array) -> str:
    shown = [str(v)[:40] for v in values.slice(0, 2).to_pylist()]
    return ", ".join(repr(s) for s in shown)


def check_table(spec: Table, table: pa.Table) -> None:
    """Required values present, vocabularies, patterns, minimums and the natural key."""
    for col in spec.columns:
        data = table.column(col.name)
        where = f"{spec.name}.{col.name}"
        if col.required and data.null_count:
            raise ConformError(f"{where}: {data.null_count} missing value(s) in a required column")
        present = pc.drop_null(data)
        if len(present) == 0:
            continue
        if col.values:
            bad = pc.filter(present, pc.invert(pc.is_in(present, pa.array(col.values))))
            if len(bad):
                raise ConformError(f"{where}: {len(bad)} value(s) outside the declared values"
                                   f" {list(col.values)}, e.g. {_sample(bad)}")
        if col.pattern:
            bad = pc.filter(present, pc.invert(pc.match_substring_regex(present, col.pattern)))
            if len(bad):
                raise ConformError(f"{where}: {len(bad)} value(s) do not match {col.pattern},"
                                   f" e.g. {_sample(bad)}")
        if col.min is not None:
            floor = pa.scalar(col.min).cast(pa.float64())
            bad = pc.filter(present, pc.less(present.cast(pa.float64()), floor))
            if len(bad):
                raise ConformError(f"{where}: {len(bad)} value(s) below {col.min}, e.g. {_sample(bad)}")
    if spec.key and table.num_rows:
        counts = table.group_by(list(spec.key), use_threads=False).aggregate([([], "count_all")])
        dupes = counts.filter(pc.greater(counts.column("count_all"), 1))
        if dupes.num_rows:
            first = {k: dupes.column(k)[0].as_py() for k in spec.key}
            raise ConformError(f"{spec.name}: key ({', '.join(spec.key)}) given twice, e.g. {first}")


def conform_table(name: str, rows: list[dict]) -> pa.Table:
    """One table of one report as Arrow with the declared types, checked; raises ConformError."""
    spec = load_schema()[name]
    try:
        table = spec.to_arrow(rows)
    except (pa.ArrowException, TypeError, ValueError, OverflowError, ArithmeticError) as exc:
        message = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise ConformError(f"{name}: cannot be converted to the declared types:"
                           f" {type(exc).__name__}: {message}") from None
    check_table(spec, table)
    return table


def foreign_rows(name: str, rows: list[dict], report: dict) -> list[str]:
    """Rows that name another report or another year than the report they came with."""
    return [f"{name} row {i}: belongs to {r.get('report_id')}/{r.get('fiscal_year')}, not"
            f" {report.get('report_id')}/{report.get('fiscal_year')}"
            for i, r in enumerate(rows)
            if (r.get("report_id"), r.get("fiscal_year")) != (report.get("report_id"),
                                                               report.get("fiscal_year"))]


def line_item_problems(line_items: list[dict]) -> list[str]:
    """The statement declaration's measures and items, code/item by classification."""
    specs = load_statements()
    found = []
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
    return found


def report_problems(rows_by_table: dict[str, list[dict]]) -> list[str]:
    """What the statement declaration and the report's own id and year say of its rows."""
    report = (rows_by_table.get("reports") or [{}])[0]
    found = [p for name in PER_REPORT_TABLES if name != "reports"
             for p in foreign_rows(name, rows_by_table.get(name, []), report)]
    return found + line_item_problems(rows_by_table.get("line_items", []))


def report_row_problems(rows_by_table: dict[str, list[dict]]) -> list[str]:
    """Every reason the report's rows may not join its year, one line each; [] when they fit."""
    found = []
    for name in PER_REPORT_TABLES:
        try:
            conform_table(name, rows_by_table.get(name, []))
        except ConformError as exc:
            found.append(str(exc))
    return found + report_problems(rows_by_table)


def conform_report(rows_by_table: dict[str, list[dict]]) -> dict[str, pa.Table]:
    """Every per-report table of one report, converted and checked; raises ConformError."""
    tables = {name: conform_table(name, rows_by_table.get(name, [])) for name in PER_REPORT_TABLES}
    if problems := report_problems(rows_by_table):
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConformError(problems[0] + more)
    return tables
