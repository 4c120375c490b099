"""Each report's conformed tables on disk until its year is published.

A run over thousands of reports must not hold them all in memory: as soon as a report's tables
are conformed they are appended to the run's spool and dropped; a year is assembled from
memory-mapped files. One Arrow IPC file per year and table name holds every report's batches
of that table (a file per report and table cost a page of memory per mapped file and a file
creation per table: 12,000 of each at 1,000 reports). The spool lives inside the warehouse
(same file system, cleaned at the start of the next run if a killed run left it behind).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

SPOOL_PREFIX = ".spool-"


@dataclass(frozen=True)
class Spooled:
    """Where one report's tables are: per table name, its batches (first, count) in the year's
    file of that table under ``root``."""

    root: Path
    year: int
    batches: dict[str, tuple[int, int]] = field(default_factory=dict)


def _path(root: Path, year: int, name: str) -> Path:
    return root / f"{year}-{name}.arrow"


class RowSpool:
    """A run's spool: ``put`` one report's tables (appended to the year's files), ``finish``
    once every report is in, then read them back (:func:`read_spooled`)."""

    def __init__(self, warehouse: Path) -> None:
        warehouse.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX, dir=warehouse))
        self._writers: dict[tuple[int, str], tuple[pa.NativeFile, pa.ipc.RecordBatchFileWriter]] = {}
        self._counts: dict[tuple[int, str], int] = defaultdict(int)
        self._lock = threading.Lock()

    def put(self, tables: dict[str, pa.Table], year: int) -> Spooled:
        """Append one report's tables to the year's files; returns where they are."""
        batches = {}
        with self._lock:
            for name, table in tables.items():
                key = (year, name)
                if key not in self._writers:
                    sink = pa.OSFile(str(_path(self.root, year, name)), "wb")
                    self._writers[key] = (sink, pa.ipc.new_file(sink, table.schema))
                chunks = table.to_batches()
                for batch in chunks:
                    self._writers[key][1].write_batch(batch)
                batches[name] = (self._counts[key], len(chunks))
                self._counts[key] += len(chunks)
        return Spooled(self.root, year, batches)

    def finish(self) -> None:
        """Close the files (their footers make them readable); nothing more is put."""
        with self._lock:
            for sink, writer in self._writers.values():
                writer.close()
                sink.close()
            self._writers.clear()

    def close(self) -> None:
        self.finish()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RowSpool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_spooled(handles: list[Spooled]) -> dict[str, pa.Table]:
    """The tables of these reports, one per name, rows in the order of ``handles``, each
    column in one chunk (a year's thousands of small per-report batches each cost their own
    objects: ~100 MB at 1,000 reports; one copy of the rows costs their size). Every handle
    must be of the same year."""
    years = {h.year for h in handles}
    if len(years) > 1:
        raise ValueError(f"spooled reports of several years: {sorted(years)}")
    names = list(dict.fromkeys(name for h in handles for name in h.batches))
    out = {}
    for name in names:  # one table name's batches at a time
        reader = pa.ipc.open_file(pa.memory_map(str(_path(handles[0].root, handles[0].year, name))))
        parts = [reader.get_batch(i) for h in handles
                 for first, count in [h.batches.get(name, (0, 0))] for i in range(first, first + count)]
        out[name] = pa.Table.from_batches(parts, schema=reader.schema).combine_chunks()
    return out


def remove_stale_spools(warehouse: Path) -> list[Path]:
    """Spools of runs that were killed before they could clean up."""
    found = [p for p in warehouse.glob(f"{SPOOL_PREFIX}*") if p.is_dir()] if warehouse.is_dir() else []
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    return found
