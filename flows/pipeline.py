"""The Prefect flow: fetch → extract/transform → validate → publish.

Tasks are thin wrappers over plain typed functions in ``extract``, ``transform`` and ``load``;
the flow only wires them together and turns per-report failures into statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prefect import flow, task

from hotline_budgets.extract.fetch import FetchedReport, FetchError, fetch_report
from hotline_budgets.load.assemble import CATALOG_TABLES, assemble_years, catalog_tables, line_items_table
from hotline_budgets.load.cache import load_result, save_result
from hotline_budgets.load.checks import evaluate_identities
from hotline_budgets.load.ocr_repair import confirm_repairs
from hotline_budgets.load.publish import publish_all_years, publish_year
from hotline_budgets.load.validate import failures_by_table, validate_tables
from hotline_budgets.registry import RegistryEntry, load_registry
from hotline_budgets.schema import load_schema
from hotline_budgets.transform.catalog import Catalog, load_catalog
from hotline_budgets.transform.report import ReportResult, process_report, rejected_result


@dataclass
class RunSummary:
    results: list[ReportResult]
    checks: list[dict]
    written: list[Path]
    expectation_failures: dict[str, list[str]]


def is_transient_failure(task, task_run, state) -> bool:
    """Retry a fetch only when trying again may help (timeouts, 5xx, error pages over http)."""
    exc = getattr(state, "data", None)
    return isinstance(exc, FetchError) and exc.is_transient


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=is_transient_failure, name="fetch")
def fetch_task(entry: RegistryEntry, archive_dir: Path) -> FetchedReport:
    return fetch_report(entry, archive_dir)


@task(name="extract-transform")
def process_task(entry: RegistryEntry, fetched: FetchedReport, catalog: Catalog) -> ReportResult:
    return process_report(entry, fetched, catalog)


@task(name="identities")
def identities_task(results: list[ReportResult]) -> list[dict]:
    return evaluate_identities(line_items_table(results))


@task(name="expectations")
def expectations_task(tables: dict[int, dict]) -> dict[int, list[dict]]:
    return validate_tables(tables)


@task(name="publish-year")
def publish_task(year: int, tables: dict, warehouse: Path) -> list[Path]:
    return publish_year(year, tables, warehouse)


def _fetch_and_process(entry: RegistryEntry, warehouse: Path, catalog: Catalog) -> ReportResult:
    try:
        fetched = fetch_task(entry, warehouse / "raw")
    except FetchError as exc:
        return rejected_result(entry, catalog, f"fetch failed: {exc}")
    cache_dir = warehouse / "extracted"
    cached = load_result(cache_dir, entry, fetched.sha256, catalog.version)
    if cached is not None:
        cached.report |= {"fetched_at": fetched.fetched_at, "is_cached": True}
        return cached
    try:
        result = process_task(entry, fetched, catalog)
    except Exception as exc:  # a parser bug on one report must not stop the others
        return rejected_result(entry, catalog,
                               f"extraction failed: {type(exc).__name__}: {exc}", fetched)
    confirm_repairs(result)
    save_result(cache_dir, entry, fetched.sha256, result)
    return result


def attach_check_failures(results: list[ReportResult], checks: list[dict]) -> None:
    """Name the identities that fail beyond rounding on the report row, and count them per
    statement (stored with the data)."""
    failed: dict[str, list[str]] = {}
    per_statement: dict[tuple[str, str], list[int]] = {}
    for row in checks:
        is_failed = row["status"] == "failed"
        if is_failed:
            failed.setdefault(row["report_id"], []).append(row["check_id"])
        counts = per_statement.setdefault((row["report_id"], row["statement"]), [0, 0])
        counts[0] += 1
        counts[1] += is_failed
    for res in results:
        ids = failed.get(res.report["report_id"])
        res.report["failed_checks"] = ",".join(ids) if ids else None
        for st in res.statements:
            evaluated, failing = per_statement.get((st["report_id"], st["statement"]), (0, 0))
            st |= {"checks_evaluated": evaluated, "checks_failed": failing}


@flow(name="hotline-budgets", log_prints=False, validate_parameters=False)
def pipeline_flow(registry: Path, warehouse: Path, years: list[int] | None = None) -> RunSummary:
    entries = load_registry(registry)
    if years:
        entries = [e for e in entries if e.fiscal_year in set(years)]
    catalog = load_catalog()
    results = [_fetch_and_process(e, warehouse, catalog) for e in entries]
    checks = identities_task(results)
    attach_check_failures(results, checks)
    tables_by_year = assemble_years(results, checks, catalog)
    results_by_year = expectations_task(tables_by_year)
    for year, rows in results_by_year.items():
        tables_by_year[year]["expectation_results"] = load_schema()["expectation_results"].to_arrow(rows)
    written: list[Path] = []
    for year, tables in tables_by_year.items():
        written += publish_task(year, tables, warehouse)
    written.append(publish_all_years(warehouse, set(CATALOG_TABLES), catalog_tables(catalog)))
    return RunSummary(results, checks, written, failures_by_table(results_by_year))
