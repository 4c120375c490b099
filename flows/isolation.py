"""Extraction in a separate process, with a wall-clock and a memory budget per report.

A pathological PDF (a decompression bomb, a page that takes pdfminer an hour) must be stopped
and reported while the night goes on. The worker is ``python -m hotline_budgets.flows.isolation``
talking over two pipes (no fork of a process that runs Prefect's threads, no re-import of the
caller's main module), started once and reused for every report; it is killed and replaced only
when a report overruns its budget or the worker dies. One Extractor is one worker; a task runner
that extracts in parallel gives each of its threads its own ``Extractor``.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hotline_budgets.pipe_worker import parent_connection, spawn_worker

if TYPE_CHECKING:  # the parent never needs the extraction code itself
    from hotline_budgets.extract.fetch import FetchedReport
    from hotline_budgets.registry import RegistryEntry
    from hotline_budgets.transform.report import ReportResult


@dataclass(frozen=True)
class Budget:
    """Per-report limits (``HOTLINE_REPORT_SECONDS`` / ``HOTLINE_REPORT_MEMORY_MB`` override)."""

    seconds: float = 600.0
    memory_mb: int = 2048  # address space the worker may add on top of its imported libraries

    @classmethod
    def from_env(cls) -> Budget:
        return cls(float(os.environ.get("HOTLINE_REPORT_SECONDS", cls.seconds)),
                   int(os.environ.get("HOTLINE_REPORT_MEMORY_MB", cls.memory_mb)))


class ExtractionStopped(Exception):
    """The report was stopped: over budget, or its worker process died."""


def _status_bytes(field: str, pid: int | str = "self") -> int | None:
    """One ``Vm…`` field of /proc/<pid>/status in bytes, or None (no /proc, or the process gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _vm_bytes() -> int:
    """This process's address space now (its peak RSS where /proc is missing)."""
    size = _status_bytes("VmSize")
    return size if size is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# A native library (pdfium, zlib under it) that cannot get memory under the address-space cap
# aborts the process instead of raising MemoryError; the worker's peak, sampled by the parent
# while it waits, tells that death from a crash: an address space this close to the cap means
# the report needed more than its budget.
_SAMPLE_SECONDS = 0.01
_NEAR_CAP = 0.75
_FRAME = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')


def _over_budget(memory_mb: int) -> str:
    return f"over the memory budget per report (HOTLINE_REPORT_MEMORY_MB = {memory_mb} MB)"


def _serve(conn, memory_mb: int, crash_log: str | None = None) -> None:
    """Worker loop: (entry, fetched) in, ("ok", result) or ("error", kind, text) out."""
    from hotline_budgets.transform.catalog import load_catalog
    from hotline_budgets.transform.report import process_report

    if crash_log:  # where a native abort leaves the Python frames it happened under
        faulthandler.enable(open(crash_log, "w", encoding="utf-8"))  # noqa: SIM115 (kept open)
    catalog = load_catalog()
    base = _vm_bytes()
    limit = base + memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass
    conn.send(("ready", catalog.version, base))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        entry, fetched = job
        try:
            conn.send(("ok", process_report(entry, fetched, catalog)))
        except MemoryError:
            conn.send(("error", "memory", _over_budget(memory_mb)))
        except Exception as exc:  # a parser bug on one report: reported, the worker goes on
            conn.send(("error", "exception", type(exc).__name__))


class Extractor:
    """One reusable worker process; ``run`` is thread-safe (one report at a time)."""

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget.from_env()
        self._proc = None
        self._conn = None
        self._lock = threading.Lock()
        self.catalog_version: str | None = None
        self._base_bytes = 0
        self._crash_log: str | None = None
        self._ready = False

    def spawn(self) -> Extractor:
        """Start the worker process without waiting for it to be ready (it imports the readers
        while the caller goes on: a run starts its workers while Prefect starts)."""
        with self._lock:
            if self._proc is None:
                self._spawn()
        return self

    def _start(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            self._kill()
            self._spawn()
        self._handshake()

    def _spawn(self) -> None:
        fd, self._crash_log = tempfile.mkstemp(prefix="hotline-worker-", suffix=".log")
        os.close(fd)
        self._proc, self._conn = spawn_worker("hotline_budgets.flows.isolation",
                                              str(self.budget.memory_mb), self._crash_log)
        self._ready = False

    def _handshake(self) -> None:
        """Wait for a spawned worker's "ready" (its catalog version and base address space)."""
        if self._ready:
            return
        conn = self._conn
        try:
            if not conn.poll(120):
                raise ExtractionStopped("the extraction worker did not start within 120 s")
            _, self.catalog_version, self._base_bytes = conn.recv()
        except (EOFError, OSError) as exc:
            self._kill()
            raise ExtractionStopped(f"the extraction worker could not start ({type(exc).__name__})") from None
        except ExtractionStopped:
            self._kill()
            raise
        self._ready = True

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None
        self._ready = False
        if self._crash_log is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._crash_log)
            self._crash_log = None

    def _wait(self) -> tuple[bool, int]:
        """Wait for the worker's answer within the wall-clock budget, sampling its peak
        address space; (answered, peak bytes seen)."""
        deadline = time.monotonic() + self.budget.seconds
        peak = 0
        while True:
            seen = _status_bytes("VmPeak", self._proc.pid)
            peak = max(peak, seen or 0)
            left = deadline - time.monotonic()
            if left <= 0:
                return False, peak
            if self._conn.poll(min(_SAMPLE_SECONDS, left)):
                return True, peak

    def _death_reason(self, code: int | None, seconds: float, peak: int) -> str:
        """Why the worker died, in a maintainer's words: the signal, the Python frame a
        native abort happened under, and whether it was at its memory cap."""
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        where = ""
        if self._crash_log:
            with contextlib.suppress(OSError):
                frames = _FRAME.findall(Path(self._crash_log).read_text(encoding="utf-8", errors="replace"))
                if frames:
                    file, line, func = frames[0]
                    where = f" in {func} ({Path(file).name}:{line})"
        text = f"the extraction process died ({how}){where} after {seconds:.0f} s"
        used_mb = (peak - self._base_bytes) / 2**20
        if code is not None and code < 0 and used_mb >= _NEAR_CAP * self.budget.memory_mb:
            return (f"{_over_budget(self.budget.memory_mb)}: {text}, its address space"
                    f" {used_mb:.0f} MB over its libraries'")
        return text

    def run(self, entry: RegistryEntry, fetched: FetchedReport) -> ReportResult:
        """process_report in the worker; raises ExtractionStopped with a maintainer's reason."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None or not self._ready:
                self._start()
            started = time.monotonic()
            peak = 0
            try:
                self._conn.send((entry, fetched))
                answered, peak = self._wait()
                if not answered:
                    self._kill()
                    raise ExtractionStopped(
                        f"stopped after {self.budget.seconds:g} s (the wall-clock budget per report)")
                message = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                code = self._proc.wait(5) if self._proc is not None else None
                reason = self._death_reason(code, time.monotonic() - started, peak)
                self._kill()
                raise ExtractionStopped(reason) from None
            if message[0] == "ok":
                return message[1]
            if message[1] == "memory":
                self._kill()  # a fresh worker for the next report: the heap may be fragmented
            raise ExtractionStopped(message[2] if message[1] == "memory"
                                    else f"extraction raised {message[2]}")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.send(None)
                except OSError:
                    pass
            if self._proc is not None:
                try:
                    self._proc.wait(2)
                except subprocess.TimeoutExpired:
                    pass
            self._kill()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# Workers started ahead of a run (prestart_extractors) and taken by its first reports.
_PRESTARTED: list[Extractor] = []
_PRESTARTED_LOCK = threading.Lock()


def prestart_extractors(count: int, budget: Budget | None = None) -> None:
    """Spawn ``count`` workers now, for the run about to start: their imports overlap with
    the orchestrator's start instead of delaying the first reports. Unused ones end at exit."""
    budget = budget or Budget.from_env()
    with _PRESTARTED_LOCK:
        while len(_PRESTARTED) < count:
            _PRESTARTED.append(Extractor(budget).spawn())


def take_prestarted(budget: Budget) -> Extractor:
    """A prestarted worker with this budget, else a new one (started on its first report)."""
    with _PRESTARTED_LOCK:
        for i, extractor in enumerate(_PRESTARTED):
            if extractor.budget == budget:
                return _PRESTARTED.pop(i)
    return Extractor(budget)


@atexit.register
def _close_prestarted() -> None:
    with _PRESTARTED_LOCK:
        while _PRESTARTED:
            _PRESTARTED.pop().close()


if __name__ == "__main__":  # the worker: python -m hotline_budgets.flows.isolation RFD WFD MB
    _serve(parent_connection(sys.argv), int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None)
