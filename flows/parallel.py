"""The per-report step over many reports at once: on this machine or on a Dask cluster.

``thread`` (the default): Prefect's ThreadPoolTaskRunner runs ``report_task`` in N threads; each
thread owns one extraction worker *process* (flows/isolation.py), so N reports are parsed on N
cores while the budgets per report still hold. Prefect's ProcessPoolTaskRunner is not used: its
processes would each re-import the caller and talk to the flow's API, and the extraction is
already in budgeted processes.

``dask``: the same plain per-report function (``process_entry``) is submitted to a Dask cluster,
a ``LocalCluster`` by default or the scheduler at ``--dask-address``. The workers run plain
functions, not Prefect tasks, so no Dask worker starts a Prefect server of its own; the flow and
its single Prefect server stay in the calling process. Workers read and write the same raw
archive and extraction cache (``WAREHOUSE/raw``, ``WAREHOUSE/extracted``): on several machines
the warehouse path must be the same shared folder on each.

Either way at most ``2 × workers`` reports are in flight and outcomes come back in registry
order, so a run streams through the registry and publishes the same bytes as a serial run.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hotline_budgets.flows.isolation import Extractor
from hotline_budgets.flows.nightly import ReportMapper, ReportOutcome, RunContext, process_entry
from hotline_budgets.registry import RegistryEntry

RUNNERS = ("thread", "dask")


@dataclass(frozen=True)
class RunnerSettings:
    """How reports are spread (``HOTLINE_RUNNER``, ``HOTLINE_WORKERS``, ``HOTLINE_DASK_ADDRESS``)."""

    runner: str = "thread"
    workers: int = 0  # 0: one per core
    dask_address: str | None = None

    @classmethod
    def from_env(cls, runner: str | None = None, workers: int | None = None,
                 dask_address: str | None = None) -> RunnerSettings:
        settings = cls(runner or os.environ.get("HOTLINE_RUNNER") or "thread",
                       workers if workers is not None else int(os.environ.get("HOTLINE_WORKERS") or 0),
                       dask_address or os.environ.get("HOTLINE_DASK_ADDRESS") or None)
        if settings.runner not in RUNNERS:
            raise ValueError(f"unknown runner {settings.runner!r} (choose {', '.join(RUNNERS)})")
        if settings.workers < 0:
            raise ValueError(f"workers must be ≥ 0, got {settings.workers}")
        return settings

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


def in_order(submit: Callable[[RegistryEntry], Any], entries: Iterable[RegistryEntry],
             window: int) -> Iterator[ReportOutcome]:
    """Submit one future per entry, at most ``window`` unfinished, and yield their results in
    entry order (``.result()`` of a Prefect or a Dask future)."""
    pending: deque = deque()
    for entry in entries:
        pending.append(submit(entry))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def thread_mapper(report_task, workers: int) -> ReportMapper | None:
    """``report_task.submit`` over the entries in the flow's thread pool (None: serial)."""
    if workers <= 1:
        return None

    def run(entries: list[RegistryEntry], ctx: RunContext) -> Iterator[ReportOutcome]:
        return in_order(lambda e: report_task.submit(e, ctx), entries, 2 * workers)
    return run


# ------------------------------------------------------------------------------------- Dask

_worker_extractors: dict[int, Extractor] = {}
_worker_lock = threading.Lock()


def report_on_dask_worker(entry: RegistryEntry, ctx: RunContext) -> ReportOutcome:
    """``process_entry`` on a Dask worker thread, reusing that thread's extraction process
    across reports (the context arrives unpickled, without workers)."""
    with _worker_lock:
        extractor = _worker_extractors.get(threading.get_ident())
        if extractor is None or extractor.budget != ctx.budget:
            extractor = _worker_extractors[threading.get_ident()] = Extractor(ctx.budget)
    ctx.use_extractor(extractor)
    return process_entry(entry, ctx)


def close_dask_worker_extractors() -> int:
    """End the extraction processes of this Dask worker (run on every worker at the end)."""
    with _worker_lock:
        for extractor in _worker_extractors.values():
            extractor.close()
        count = len(_worker_extractors)
        _worker_extractors.clear()
    return count


def dask_mapper(address: str | None, workers: int) -> ReportMapper:
    """Reports on the Dask scheduler at ``address``, or on a LocalCluster of ``workers``
    single-threaded worker processes started for this run and closed after it."""

    def run(entries: list[RegistryEntry], ctx: RunContext) -> Iterator[ReportOutcome]:
        from distributed import Client, LocalCluster

        cluster = None if address else LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(address or cluster)
        try:
            shared = client.scatter(ctx, broadcast=True)  # the context once per worker
            threads = sum(client.nthreads().values()) or workers
            yield from in_order(lambda e: client.submit(report_on_dask_worker, e, shared, pure=False),
                                entries, 2 * threads)
            client.run(close_dask_worker_extractors)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return run


def report_mapper(settings: RunnerSettings, report_task) -> ReportMapper | None:
    """The mapper for ``settings`` (None: one report after another in the flow)."""
    if settings.runner == "dask":
        return dask_mapper(settings.dask_address, settings.worker_count)
    return thread_mapper(report_task, settings.worker_count)
