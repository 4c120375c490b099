"""Extraction in a separate process, with a wall-clock and a memory budget per report.

A pathological PDF (a decompression bomb, a page that takes pdfminer an hour) must be stopped
and reported while the night goes on. The worker is ``python -m hotline_budgets.flows.isolation``
talking over two pipes (no fork of a process that runs Prefect's threads, no re-import of the
caller's main module), started once and reused for every report; it is killed and replaced only
when a report overruns its budget or the worker dies. One Extractor is one worker; a task runner
that extracts in parallel gives each of its threads its own ``Extractor``.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

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


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _serve(conn, memory_mb: int) -> None:
    """Worker loop: (entry, fetched) in, ("ok", result) or ("error", kind, text) out."""
    from hotline_budgets.transform.catalog import load_catalog
    from hotline_budgets.transform.report import process_report

    catalog = load_catalog()
    limit = _vm_bytes() + memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass
    conn.send(("ready", catalog.version))
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
            conn.send(("error", "memory", f"over the memory budget of {memory_mb} MB"))
        except Exception as exc:  # a parser bug on one report: reported, the worker goes on
            conn.send(("error", "exception", type(exc).__name__))


class _Duplex:
    """A reading and a writing Connection used as one (send, recv, poll, close)."""

    def __init__(self, reader: Connection, writer: Connection) -> None:
        self.reader, self.writer = reader, writer

    def send(self, obj) -> None:
        self.writer.send(obj)

    def recv(self):
        return self.reader.recv()

    def poll(self, timeout: float) -> bool:
        return self.reader.poll(timeout)

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


class Extractor:
    """One reusable worker process; ``run`` is thread-safe (one report at a time)."""

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget.from_env()
        self._proc = None
        self._conn = None
        self._lock = threading.Lock()
        self.catalog_version: str | None = None

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
        proc = subprocess.Popen(
            [sys.executable, "-m", "hotline_budgets.flows.isolation", str(to_child_r),
             str(to_parent_w), str(self.budget.memory_mb)],
            pass_fds=(to_child_r, to_parent_w), stdin=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(to_parent_w)
        conn = _Duplex(Connection(to_parent_r, writable=False), Connection(to_child_w, readable=False))
        try:
            if not conn.poll(120):
                raise ExtractionStopped("the extraction worker did not start within 120 s")
            _, self.catalog_version = conn.recv()
        except (EOFError, OSError) as exc:
            proc.kill()
            conn.close()
            raise ExtractionStopped(f"the extraction worker could not start ({type(exc).__name__})") from None
        except ExtractionStopped:
            proc.kill()
            conn.close()
            raise
        self._proc, self._conn = proc, conn

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def run(self, entry: RegistryEntry, fetched: FetchedReport) -> ReportResult:
        """process_report in the worker; raises ExtractionStopped with a maintainer's reason."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            started = time.monotonic()
            try:
                self._conn.send((entry, fetched))
                if not self._conn.poll(self.budget.seconds):
                    self._kill()
                    raise ExtractionStopped(
                        f"stopped after {self.budget.seconds:g} s (the wall-clock budget per report)")
                message = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                code = self._proc.wait(5) if self._proc is not None else None
                self._kill()
                how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                raise ExtractionStopped(f"the extraction process died ({how}) after"
                                        f" {time.monotonic() - started:.0f} s") from None
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


if __name__ == "__main__":  # the worker: python -m hotline_budgets.flows.isolation RFD WFD MB
    _serve(_Duplex(Connection(int(sys.argv[1]), writable=False),
                   Connection(int(sys.argv[2]), readable=False)), int(sys.argv[3]))
