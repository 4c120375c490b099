"""Great Expectations suites: generated from the schema declaration, stored as JSON in
``expectations/``, and run on every table before it is published.

The suites check columns and types, required values, controlled vocabularies, code formats,
catalog membership, natural-key uniqueness and non-negative amounts. The accounting identities
are checked separately in DuckDB SQL (``load/checks.py``) because they span rows.
"""

from __future__ import annotations

import ctypes
import gc
import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow as pa

from hotline_budgets.paths import data_dir
from hotline_budgets.schema import Table, load_schema
from hotline_budgets.transform.catalog import load_catalog

EXPECTATIONS_DIR = data_dir("expectations")
PYTHON_TYPES = {
    "VARCHAR": ["str"],
    "INTEGER": ["int", "int32", "int64", "Int32", "Int64"],
    "BIGINT": ["int", "int64", "Int64"],
    "BOOLEAN": ["bool", "bool_", "boolean"],
    "DOUBLE": ["float", "float64", "Float64"],
    "TIMESTAMP": ["Timestamp", "datetime64[us, UTC]", "datetime64[ns, UTC]"],
}


def _exp(kind: str, meta: dict | None = None, **kwargs) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": dict(meta or {})}


def build_suite(table: Table) -> dict:
    """The suite of one table, as the JSON dict GX reads (``ExpectationSuite(**json)``)."""
    exps = [_exp("expect_table_columns_to_match_ordered_list", column_list=table.column_names)]
    for col in table.columns:
        if col.required:
            # pandas turns a nullable int column into floats, so types are checked here on the
            # required columns; Arrow enforces every column's declared type when tables are built.
            types = ["Decimal"] if col.type.startswith("DECIMAL") else PYTHON_TYPES[col.type]
            exps.append(_exp("expect_column_values_to_be_in_type_list", column=col.name,
                             type_list=types))
            exps.append(_exp("expect_column_values_to_not_be_null", column=col.name))
        if col.values:
            exps.append(_exp("expect_column_values_to_be_in_set", column=col.name,
                             value_set=list(col.values)))
        if col.pattern:
            exps.append(_exp("expect_column_values_to_match_regex", column=col.name,
                             regex=col.pattern))
        if col.min is not None:
            exps.append(_exp("expect_column_values_to_be_between", column=col.name,
                             min_value=col.min))
    if len(table.key) == 1:
        exps.append(_exp("expect_column_values_to_be_unique", column=table.key[0]))
    elif table.key:
        exps.append(_exp("expect_compound_columns_to_be_unique", column_list=list(table.key),
                         ignore_row_if="never"))
    if table.name == "line_items":
        catalog = load_catalog()
        for cls in ("function", "economic"):
            # GX 1.x's serialised Condition (Column("classification") == cls); the string
            # form with condition_parser is deprecated.
            only = {"type": "comparison", "column": {"name": "classification"},
                    "operator": "==", "parameter": cls}
            exps.append(_exp(
                "expect_column_values_to_be_in_set", column="code",
                value_set=sorted(catalog.table(cls)), row_condition=only,
                meta={"why": f"{cls} codes must be in the catalog, at any status (a code no "
                             "bundled report printed and no source cites is flagged)"},
            ))
            # membership at the strength the evidence supports: what fails here are exactly the
            # codes printed by one entity only (status single_report), listed as such
            exps.append(_exp(
                "expect_column_values_to_be_in_set", column="code",
                value_set=sorted(catalog.corroborated(cls)), row_condition=only,
                meta={"why": f"{cls} codes are cited or printed alike by two entities; the "
                             "unexpected ones are the single_report codes",
                      "strength": "corroborated"},
            ))
    for i, exp in enumerate(exps):  # a stable id, stored with every result (expectation_results)
        exp["meta"]["id"] = f"{i:02d}:{exp['type']}"
    return {"name": f"{table.name}_suite", "expectations": exps, "meta": {
        "generated_from": "hotline_budgets/schema.yaml + transform/catalogs"}}


def render_suites() -> dict[str, str]:
    """{file name: JSON text} of every suite, as committed under expectations/."""
    return {f"{name}.json": json.dumps(build_suite(t), ensure_ascii=False, indent=2) + "\n"
            for name, t in load_schema().items()}


def write_suites(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_suites().items():
        (directory / name).write_text(text, encoding="utf-8")
        paths.append(directory / name)
    return paths


def prepare_validation() -> None:
    """Import Great Expectations and make the validation context now (~2.5 s): a run calls it
    in the background while reports are extracted, so validating does not start with it."""
    _context()


_CONTEXT_LOCK = threading.Lock()


def _context():
    """The process's one ephemeral GX context (made once, by whichever thread asks first)."""
    with _CONTEXT_LOCK:
        return _make_context()


@cache
def _make_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX sets this one module's logger to INFO at import ("Created temporary directory …").
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _frame(table: pa.Table):
    """pandas frame that keeps Decimals and strings as Python objects."""
    df = table.to_pandas()
    for name in df.columns:
        arrow_type = table.schema.field(name).type
        if pa.types.is_string(arrow_type):
            df[name] = df[name].astype(object)
    return df


@cache
def _batch_definition(name: str):
    """One pandas asset per table name, reused for every table of that name: adding an asset
    per call made each later validation slower (GX re-serialises the growing context)."""
    source = _context().data_sources.add_or_update_pandas(f"src_{name}")
    return source.add_dataframe_asset(f"asset_{name}").add_batch_definition_whole_dataframe("all")


def _forget_batches(name: str) -> None:
    """Drop what GX's pandas engine keeps of past validations: every batch's frame (its batch
    caches) and every metric computed on it (its metric cache). Each validation adds a new
    batch, so without this a process that validates many units keeps every frame it validated
    (~200 MB after one run's 8 years at 5,000 reports). Private GX attributes, pinned version:
    if they change, nothing is dropped and nothing breaks."""
    try:
        engine = _batch_definition(name).data_asset.datasource.get_execution_engine()
        manager = engine.batch_manager
        manager._batch_cache.clear()
        manager._batch_data_cache.clear()
        manager._active_batch_id = manager._active_batch_data_id = None
        engine._metric_cache.clear()
    except AttributeError:
        pass


def _digest(table: pa.Table, suite_json: dict) -> str:
    """Content hash of a table's rows and a suite: the same rows give the same expectation
    results, however the table is chunked and whatever descriptions its fields carry (a
    release reads back from Parquet, with descriptions, the rows a run validated)."""
    digest = hashlib.sha256(json.dumps(suite_json, sort_keys=True).encode())
    for field, column in zip(table.schema, table.columns, strict=True):
        one = pa.schema([pa.field(field.name, field.type)])  # no description, no nullability
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, one) as writer:  # one column at a time: little memory
            writer.write_batch(pa.record_batch([column.combine_chunks()], schema=one))
        digest.update(sink.getvalue())
    return digest.hexdigest()


@dataclass
class _Validated:
    rows: list[dict]
    result: object  # GX's ExpectationSuiteValidationResult (the release renders it)


# What this process validated, by table name and content (bounded: a long-lived process
# validates night after night)
_validated: OrderedDict[str, _Validated] = OrderedDict()
_VALIDATED_KEEP = 64


def run_suite(name: str, table: pa.Table, suite_json: dict) -> list[dict]:
    """Run one stored suite on one table: one ``expectation_results`` row per expectation.

    A table already validated in this process with the same suite (the catalog tables, the same
    in every year) gets the stored results: GX's cost is per expectation, not per row."""
    return [dict(r) for r in _validate(name, table, suite_json).rows]


def _validate(name: str, table: pa.Table, suite_json: dict) -> _Validated:
    key = f"{name}\x1f{_digest(table, suite_json)}"
    hit = _validated.get(key)
    if hit is None:
        hit = _validated[key] = _run_suite(name, table, suite_json)
        while len(_validated) > _VALIDATED_KEEP:
            _validated.popitem(last=False)
        release_freed_memory()  # the frame is gone: the next one need not come on top
    _validated.move_to_end(key)
    return hit


def release_freed_memory() -> None:
    """Return freed heap to the system: glibc keeps freed blocks for reuse, so one validation's
    frame would otherwise stay in the process's size under the next one's."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to return this way
        pass


def suite_result(name: str, table: pa.Table, suite_json: dict) -> object:
    """GX's validation result of these rows under this suite (the release's Data Docs render
    it): the one this process already computed (the run's one validation per unit), else
    validated now."""
    return _validate(name, table, suite_json).result


def _run_suite(name: str, table: pa.Table, suite_json: dict) -> _Validated:
    import great_expectations as gx

    suite = gx.ExpectationSuite(**json.loads(json.dumps(suite_json)))
    batch = _batch_definition(name).get_batch(batch_parameters={"dataframe": _frame(table)})
    result = batch.validate(suite)
    _forget_batches(name)
    rows = []
    for r in result.results:
        cfg = r.expectation_config
        col = cfg.kwargs.get("column") or cfg.kwargs.get("column_list")
        details = r.result or {}
        sample = [str(v) for v in details.get("partial_unexpected_list", [])[:3]]
        rows.append(dict(
            table_name=name,
            expectation_id=(cfg.meta or {}).get("id") or cfg.type,
            column_name=",".join(col) if isinstance(col, list) else col,
            is_success=bool(r.success),
            unexpected_count=details.get("unexpected_count"),
            unexpected_sample=", ".join(sample) or None,
        ))
    rows.sort(key=lambda row: row["expectation_id"])
    return _Validated(rows, result)


@cache
def _graded_notes(table_name: str) -> dict[str, str]:
    """{expectation id: ' — <strength>: <why>'} for the suite's expectations that check at a
    stated strength (meta ``strength``: the catalog membership at ``corroborated`` fails exactly
    on the single_report codes), so the run summary says what such a failure means."""
    try:
        suite = load_suite(table_name)
    except (OSError, ValueError):
        return {}
    return {meta["id"]: f" — {meta['strength']}: {meta.get('why', '')}"
            for exp in suite.get("expectations", [])
            if (meta := exp.get("meta") or {}).get("strength") and meta.get("id")}


def describe_failures(rows: list[dict]) -> list[str]:
    """One line per failed expectation, for the run summary (sample values once each)."""
    out = []
    for r in rows:
        if r["is_success"]:
            continue
        sample = ", ".join(dict.fromkeys((r["unexpected_sample"] or "").split(", ")))
        out.append(f"{r['expectation_id'].split(':', 1)[1]}({r['column_name']}) unexpected e.g."
                   f" [{sample}]{_graded_notes(r['table_name']).get(r['expectation_id'], '')}")
    return out


def failures_by_table(results_by_year: dict[int, list[dict]]) -> dict[str, list[str]]:
    """{"<year>/<table>": [failed expectation, …]} for every table that fails its suite."""
    grouped: dict[str, list[dict]] = {}
    for year, rows in results_by_year.items():
        for row in rows:
            grouped.setdefault(f"{year}/{row['table_name']}", []).append(row)
    return {where: failed for where, rows in grouped.items() if (failed := describe_failures(rows))}


def validate_table(name: str, table: pa.Table, suite_json: dict) -> list[str]:
    """Run one stored suite on one table; the descriptions of failed expectations."""
    return describe_failures(run_suite(name, table, suite_json))


def load_suite(name: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


# Tables of several years validated as one: GX's cost is per expectation, not per row, so a run
# validates each table name once over its years, up to this many rows at a time (memory: the
# pandas frame of the union holds Python objects, ~800 B a line-item row, and GX copies parts of
# it: 50,000 rows keep the validation process under ~450 MB however large the corpus).
UNION_ROWS = 50_000


def year_groups(row_counts: dict[int, int]) -> list[list[int]]:
    """The years validated together, from their row counts: each year with rows joins a group
    of at most UNION_ROWS rows; a year without rows is its own group (pandas gives an empty
    column another dtype than a filled one, so an empty table's results are not implied by a
    union's)."""
    groups: list[list[int]] = []
    current: list[int] = []
    rows = 0
    for year, count in sorted(row_counts.items()):
        if count == 0:
            groups.append([year])
            continue
        if current and rows + count > UNION_ROWS:
            groups.append(current)
            current, rows = [], 0
        current.append(year)
        rows += count
    return groups + ([current] if current else [])


def _only(suite_json: dict, ids: set[str]) -> dict:
    """The suite narrowed to the expectations of these ids."""
    return suite_json | {"expectations": [e for e in suite_json["expectations"]
                                          if e["meta"]["id"] in ids]}


@dataclass
class ValidationUnit:
    """Years of one table name validated as one table: the union of their distinct tables."""

    group: dict[int, pa.Table]
    union: pa.Table
    distinct: int  # how many different tables the union joins (1: the years print the same)


def validation_units(tables: dict[int, pa.Table]) -> list[ValidationUnit]:
    """What is validated of one table name over several years: per group of years (at most
    UNION_ROWS rows, see year_groups), the union of its distinct tables (a catalog table is the
    same in every year). The run validates these units and the release's Data Docs render them,
    so a unit the run validated is not validated again."""
    return list(read_validation_units({y: t.num_rows for y, t in tables.items()}, tables.__getitem__))


def read_validation_units(row_counts: dict[int, int], read: Callable[[int], pa.Table]
                          ) -> Iterator[ValidationUnit]:
    """:func:`validation_units` reading each group's years only when it comes (``read`` gives a
    year's table): memory holds one unit, however many years are published."""
    for group in year_groups(row_counts):
        tables = {year: read(year) for year in group}
        distinct: dict[str, pa.Table] = {}
        for table in tables.values():
            distinct.setdefault(_digest(table, {}), table)
        parts = list(distinct.values())
        yield ValidationUnit(tables, parts[0] if len(parts) == 1 else pa.concat_tables(parts),
                             len(parts))


def run_suite_over_years(name: str, tables: dict[int, pa.Table], suite_json: dict
                         ) -> dict[int, list[dict]]:
    """{year: the rows run_suite would give for that year's table}, from one validation of the
    distinct tables together. An expectation of these suites (columns, types, not-null, sets,
    patterns, bounds, uniqueness) that holds on a union holds on each part, so only those the
    union fails are run again on each year's own table, for its own counts and samples."""
    out: dict[int, list[dict]] = {}
    for unit in validation_units(tables):
        union_rows = run_suite(name, unit.union, suite_json)
        failed = {r["expectation_id"] for r in union_rows if not r["is_success"]}
        for year, table in unit.group.items():
            again = ({r["expectation_id"]: r for r in run_suite(name, table, _only(suite_json, failed))}
                     if failed and unit.distinct > 1 else {})
            out[year] = [again.get(r["expectation_id"], r) if r["expectation_id"] in failed
                         else dict(r) for r in union_rows]
    return out


def validate_tables(tables_by_year: dict[int, dict[str, pa.Table]]) -> dict[int, list[dict]]:
    """{year: expectation_results rows} for every table of every year, against its stored suite:
    the same rows as validating each year's tables on its own, with one validation per table
    name over the years (run_suite_over_years)."""
    results: dict[int, list[dict]] = {year: [] for year in tables_by_year}
    names = list(dict.fromkeys(name for tables in tables_by_year.values() for name in tables))
    for name in names:
        by_year = {year: tables[name] for year, tables in tables_by_year.items() if name in tables}
        for year, rows in run_suite_over_years(name, by_year, load_suite(name)).items():
            results[year] += [r | {"fiscal_year": year} for r in rows]
    # the results table is published too: it passes its own suite, or says so
    schema = load_schema()["expectation_results"]
    own = {year: schema.to_arrow(rows) for year, rows in results.items()}
    for year, rows in run_suite_over_years("expectation_results", own,
                                           load_suite("expectation_results")).items():
        results[year] += [r | {"fiscal_year": year} for r in rows]
    return results
