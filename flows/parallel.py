"""The per-report step over many reports at once: the flow's task runner on this machine or on a
Dask cluster.

``thread`` (the default): Prefect's ThreadPoolTaskRunner runs ``report_task`` in N threads; each
thread borrows one of N extraction worker *processes* (flows/isolation.py), so N reports are
parsed on N cores while the budgets per report still hold. Prefect's ProcessPoolTaskRunner is not
used: its processes would each re-import the caller, and the extraction is already in budgeted
processes.

``dask``: the flow runs with prefect-dask's ``DaskTaskRunner``, so each ``report_task`` is a
Prefect task run on a Dask worker: on a ``LocalCluster`` of N single-threaded worker processes
started for the run, or on the scheduler at ``--dask-address``. A LocalCluster's workers report
to the flow's own Prefect API (its url, the run's temporary server's too, is put in their
environment; the quiet settings they inherit), so no worker starts a Prefect server; the workers
of a remote cluster need ``PREFECT_API_URL`` of a real Prefect server. Each task carries a
context narrowed to its reports (``RunContext.for_entries``), and each worker thread keeps one
extraction process for all its reports, which ends with the worker. Workers read and write the
raw archive and extraction cache (``WAREHOUSE/raw``, ``WAREHOUSE/extracted``): on several
machines the warehouse must be the same shared folder at the same path on each.

Either way reports go in batches (one report each below a few hundred, up to 16 for thousands:
``batch_size``), at most ``2 × workers`` batches are in flight and outcomes come back as they
finish; the run puts them in registry order, so it streams through the registry and publishes the
same bytes as a serial run.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hotline_budgets.flows.isolation import Extractor
from hotline_budgets.flows.nightly import ReportMapper, ReportOutcome, RunContext
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


def as_finished(submit: Callable[[Any], Any], entries: Iterable[Any], window: int) -> Iterator[Any]:
    """Submit one future per entry, at most ``window`` unfinished, and yield each result as soon
    as it is done (``add_done_callback`` and ``.result()`` of a Prefect future, a Dask-backed
    one included). A long report holds no worker idle behind it; the run puts the outcomes back
    in registry order once all are in."""
    finished: queue.SimpleQueue = queue.SimpleQueue()
    unfinished = 0
    for entry in entries:
        submit(entry).add_done_callback(finished.put)
        unfinished += 1
        if unfinished >= window:
            unfinished -= 1
            yield finished.get().result()
    for _ in range(unfinished):
        yield finished.get().result()


def batch_size(settings: RunnerSettings, count: int) -> int:
    """Reports per task run (``HOTLINE_BATCH``, else by the registry's size): one report each for
    a registry of a few hundred, up to 16 for thousands. Each task run costs Prefect API calls
    and three events, which its events worker sends one by one; on busy cores it falls behind,
    and every event waiting holds its task's context (~50 KB a report at 5,000 reports)."""
    if os.environ.get("HOTLINE_BATCH"):
        return max(1, int(os.environ["HOTLINE_BATCH"]))
    return max(1, min(16, count // (64 * settings.worker_count)))


def batches(entries: list[RegistryEntry], size: int) -> list[list[RegistryEntry]]:
    return [entries[i:i + size] for i in range(0, len(entries), size)]


def report_mapper(settings: RunnerSettings, report_task) -> ReportMapper | None:
    """``report_task.submit`` over batches of the entries on the flow's task runner (None:
    serial); the outcomes come one report at a time."""
    if settings.runner == "dask":
        def on_dask(entries: list[RegistryEntry], ctx: RunContext) -> Iterator[ReportOutcome]:
            name_contexts_cheaply()
            window = 2 * dask_threads(settings.worker_count)
            for done in as_finished(
                    lambda b: report_task.submit(b, ctx.for_entries([e.report_id for e in b])),
                    batches(entries, batch_size(settings, len(entries))), window):
                yield from done
        return on_dask
    if settings.worker_count <= 1:
        return None

    def on_threads(entries: list[RegistryEntry], ctx: RunContext) -> Iterator[ReportOutcome]:
        for done in as_finished(lambda b: report_task.submit(b, ctx),
                                batches(entries, batch_size(settings, len(entries))),
                                2 * settings.worker_count):
            yield from done
    return on_threads


# ------------------------------------------------------------------------------------- Dask


def dask_task_runner(settings: RunnerSettings):
    """prefect-dask's DaskTaskRunner for ``settings``: the scheduler at ``dask_address``, else a
    LocalCluster of ``worker_count`` single-threaded worker processes, closed after the run."""
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(cluster_class=local_cluster, cluster_kwargs={
        "n_workers": settings.worker_count, "threads_per_worker": 1, "processes": True,
        "dashboard_address": None})


def local_cluster(**kwargs):
    """A LocalCluster whose workers use the flow's Prefect API. The DaskTaskRunner creates it at
    the flow's first submission, so this is the API of the running flow — the run's temporary
    server too, which the workers would otherwise each replace by their own (9–15 s)."""
    from distributed import LocalCluster
    from prefect.client.orchestration import get_client

    api_url = str(get_client(sync_client=True).api_url)
    return LocalCluster(**kwargs, env={"PREFECT_API_URL": api_url})


def on_dask_task_runner() -> bool:
    """Whether the running flow's task runner is a DaskTaskRunner."""
    from prefect.context import FlowRunContext
    from prefect_dask import DaskTaskRunner

    context = FlowRunContext.get()
    return context is not None and isinstance(context.task_runner, DaskTaskRunner)


def dask_threads(default: int) -> int:
    """Threads of the running flow's Dask cluster (its workers × their threads)."""
    from prefect.context import FlowRunContext

    return sum(FlowRunContext.get().task_runner.client.nthreads().values()) or default


def name_contexts_cheaply() -> None:
    """Let Dask name a submitted context without hashing its catalog. Dask names each task by a
    hash of its arguments, which walks the whole catalog (~80 ms a report, serial in the flow
    process); prefect-dask's arguments include the task run's own id, which already makes each
    name unique."""
    from dask.tokenize import normalize_token

    normalize_token.register(RunContext)(
        lambda ctx: ("RunContext", str(ctx.warehouse), ctx.catalog_version, sorted(ctx.state)))


_worker_extractors: dict[int, Extractor] = {}
_worker_lock = threading.Lock()


def use_dask_worker_extractor(ctx: RunContext) -> None:
    """On a Dask worker thread: let ``ctx`` (unpickled, without extraction processes) use this
    thread's own, kept for all its reports; it ends with the worker process (its pipe closes).
    Anywhere else nothing."""
    if "distributed" not in sys.modules:
        return
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return
    with _worker_lock:
        extractor = _worker_extractors.get(threading.get_ident())
        if extractor is None or extractor.budget != ctx.budget:
            if extractor is not None:
                extractor.close()
            extractor = _worker_extractors[threading.get_ident()] = Extractor(ctx.budget)
    ctx.use_extractor(extractor)
