"""Each report's conformed tables on disk until its year is published.

A run over thousands of reports must not hold them all in memory: as soon as a report's tables
are conformed they are written here as Arrow IPC files and dropped; a year is assembled from
memory-mapped files. The spool lives inside the warehouse (same file system, cleaned at the
start of the next run if a killed run left it behind).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pyarrow as pa

SPOOL_PREFIX = ".spool-"


class RowSpool:
    """A run's folder of spooled report tables (``put`` one report, ``get`` it back)."""

    def __init__(self, warehouse: Path) -> None:
        warehouse.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX, dir=warehouse))
        self._count = 0

    def put(self, tables: dict[str, pa.Table]) -> Path:
        """Write one report's tables; returns the folder that names them."""
        self._count += 1
        folder = self.root / f"{self._count:07d}"
        folder.mkdir()
        for name, table in tables.items():
            with pa.OSFile(str(folder / f"{name}.arrow"), "wb") as sink, \
                    pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        return folder

    @staticmethod
    def get(folder: Path) -> dict[str, pa.Table]:
        """The tables of one spooled report, memory-mapped (no copy until they are used)."""
        out = {}
        for path in sorted(folder.glob("*.arrow")):
            with pa.memory_map(str(path)) as source:
                out[path.stem] = pa.ipc.open_file(source).read_all()
        return out

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RowSpool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def remove_stale_spools(warehouse: Path) -> list[Path]:
    """Spools of runs that were killed before they could clean up."""
    found = [p for p in warehouse.glob(f"{SPOOL_PREFIX}*") if p.is_dir()] if warehouse.is_dir() else []
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    return found
