"""The Prefect flow of the nightly run (``flows/nightly.py`` holds the plain functions).

One task per report and one per year; none raises for a handled fault, so Prefect logs no error
line for what the run summary already says. A task runner can map ``report_task`` over the
entries (each worker thread needs its own Extractor, see flows/isolation.py).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from hotline_budgets.flows.nightly import (  # noqa: F401 (the flow module's public names)
    ReportOutcome,
    RunContext,
    RunSummary,
    YearOutcome,
    after_publish,
    process_entry,
    publish_one_year,
    quick_noop_check,
    run_pipeline,
    stderr_progress,
)
from hotline_budgets.registry import RegistryEntry


@task(name="report", cache_policy=NO_CACHE)
def report_task(entry: RegistryEntry, ctx: RunContext) -> ReportOutcome:
    return process_entry(entry, ctx)


@task(name="publish-year", cache_policy=NO_CACHE)
def publish_year_task(year: int, outcomes: list[ReportOutcome], ctx: RunContext) -> YearOutcome:
    return publish_one_year(year, outcomes, ctx)


@flow(name="hotline-budgets", log_prints=False, validate_parameters=False)
def pipeline_flow(registry: str | Path, warehouse: str | Path, years: list[int] | None = None,
                  progress: bool = False) -> RunSummary:
    """The nightly run under Prefect (see run_pipeline)."""
    return run_pipeline(Path(registry), Path(warehouse), years,
                        progress=stderr_progress if progress else None,
                        report=report_task, publish=publish_year_task)
