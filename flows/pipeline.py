"""The Prefect flow of the nightly run (``flows/nightly.py`` holds the plain functions).

One task per report, one validation of the changed years and one task per year; none raises
for a handled fault, so Prefect logs no error line for what the run summary already says.
``report_task`` is mapped over the entries by the flow's task runner (flows/parallel.py): its
default thread pool, or prefect-dask's DaskTaskRunner for ``runner="dask"``. ``run_pipeline_flow``
runs ``pipeline_flow`` with the task runner the settings ask for; ``pipeline_flow`` started
without a DaskTaskRunner (a deployment, a direct call) but asked for Dask runs itself once more,
as a subflow with one.
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
from hotline_budgets.flows.parallel import (
    RunnerSettings,
    dask_task_runner,
    on_dask_task_runner,
    report_mapper,
    use_dask_worker_extractor,
)
from hotline_budgets.registry import RegistryEntry


@task(name="report", cache_policy=NO_CACHE)
def report_task(entries: list[RegistryEntry], ctx: RunContext) -> list[ReportOutcome]:
    """One report, or a batch of them on a large registry (flows/parallel.batch_size)."""
    use_dask_worker_extractor(ctx)  # on a Dask worker: that worker thread's extraction process
    return [process_entry(entry, ctx) for entry in entries]


def one_report(entry: RegistryEntry, ctx: RunContext) -> ReportOutcome:
    """A report as its own task run (the serial run)."""
    return report_task([entry], ctx)[0]


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
    if settings.runner == "dask" and not on_dask_task_runner():
        return run_pipeline_flow(registry, warehouse, years, progress, settings.runner,
                                 settings.workers, settings.dask_address)
    return run_pipeline(Path(registry), Path(warehouse), years,
                        progress=stderr_progress if progress else None,
                        report=one_report, publish=publish_year_task,
                        validate=validate_years_task,
                        map_reports=report_mapper(settings, report_task),
                        slots=settings.worker_count)


def with_task_runner(settings: RunnerSettings):
    """``pipeline_flow`` with the task runner ``settings`` ask for (a DaskTaskRunner for
    ``dask``, else the flow's default thread pool); its own deployment serves with it."""
    if settings.runner == "dask":
        return pipeline_flow.with_options(task_runner=dask_task_runner(settings))
    return pipeline_flow


def run_pipeline_flow(registry: str | Path, warehouse: str | Path, years: list[int] | None = None,
                      progress: bool = False, runner: str | None = None,
                      workers: int | None = None, dask_address: str | None = None) -> RunSummary:
    """One flow run of ``pipeline_flow`` on the task runner of ``runner``/``workers``/
    ``dask_address`` (else the HOTLINE_* settings); what the command line calls."""
    settings = RunnerSettings.from_env(runner, workers, dask_address)
    return with_task_runner(settings)(registry=registry, warehouse=warehouse, years=years,
                                      progress=progress, runner=settings.runner,
                                      workers=settings.workers,
                                      dask_address=settings.dask_address)
