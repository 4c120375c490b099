"""The Prefect flow of the nightly run (``flows/nightly.py`` holds the plain functions).

One task per report, one validation of the changed years and one task per year; none raises
for a handled fault, so Prefect logs no error line for what the run summary already says.
``report_task`` is mapped over the entries by the flow's thread pool or a Dask cluster
(flows/parallel.py).
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
    validate_changed_years,
)
from hotline_budgets.flows.parallel import RunnerSettings, report_mapper
from hotline_budgets.registry import RegistryEntry


@task(name="report", cache_policy=NO_CACHE)
def report_task(entry: RegistryEntry, ctx: RunContext) -> ReportOutcome:
    return process_entry(entry, ctx)


@task(name="validate-years", cache_policy=NO_CACHE)
def validate_years_task(by_year: dict[int, list[ReportOutcome]], ctx: RunContext) -> dict:
    return validate_changed_years(by_year, ctx)


@task(name="publish-year", cache_policy=NO_CACHE)
def publish_year_task(year: int, outcomes: list[ReportOutcome], ctx: RunContext,
                      validated: tuple | None = None) -> YearOutcome:
    return publish_one_year(year, outcomes, ctx, validated)


@flow(name="hotline-budgets", log_prints=False, validate_parameters=False)
def pipeline_flow(registry: str | Path, warehouse: str | Path, years: list[int] | None = None,
                  progress: bool = False, runner: str | None = None, workers: int | None = None,
                  dask_address: str | None = None) -> RunSummary:
    """The nightly run under Prefect (see run_pipeline); reports spread as flows/parallel.py
    says (``runner``/``workers``/``dask_address``, else the HOTLINE_* settings)."""
    settings = RunnerSettings.from_env(runner, workers, dask_address)
    return run_pipeline(Path(registry), Path(warehouse), years,
                        progress=stderr_progress if progress else None,
                        report=report_task, publish=publish_year_task,
                        validate=validate_years_task,
                        map_reports=report_mapper(settings, report_task),
                        slots=settings.worker_count)
