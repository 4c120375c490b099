"""Great Expectations in a process of its own: a run's validation and its release's Data Docs.

GX and the pandas frames it validates take ~250 MB of a run (its imports ~150 MB, frames of up
to UNION_ROWS rows), and a process keeps what it has imported and most of what it allocated
until it ends: in the flow process that came on top of Prefect, DuckDB and the publishing. One
worker process per run (``python -m hotline_budgets.load.validator``, started as the extraction
workers are: hotline_budgets/pipe_worker.py) validates the changed years
(load/validate.validate_tables) and renders the release's Data Docs (load/release.build_data_docs)
from the results it computed itself, then ends with the run. It is started as soon as a run
knows it will validate, so GX imports while the reports are read. Tables go over as Arrow IPC
files (memory-mapped there), results back as pickles.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pyarrow as pa

from hotline_budgets.pipe_worker import Duplex, parent_connection, spawn_worker


class ValidationFailed(RuntimeError):
    """The validation process raised, or died."""


class Validator:
    """The run's validation process; one request at a time (thread-safe)."""

    def __init__(self) -> None:
        self.process, self._conn = spawn_worker("hotline_budgets.load.validator")
        self._lock = threading.Lock()
        self._ready = False

    def _ask(self, request: tuple) -> object:
        with self._lock:
            try:
                if not self._ready:
                    self._conn.recv()  # "ready": GX imported
                    self._ready = True
                self._conn.send(request)
                answer = self._conn.recv()
            except (EOFError, OSError):
                code = self.process.wait(5)
                raise ValidationFailed(f"the validation process died (exit code {code})") from None
        if answer[0] == "error":
            raise ValidationFailed(answer[1])
        return answer[1]

    def validate_tables(self, tables_by_year: Mapping[int, dict[str, pa.Table]]
                        | Iterable[tuple[int, dict[str, pa.Table]]]) -> dict[int, list[dict]]:
        """load/validate.validate_tables, in the validation process. Years may come one at a
        time (an iterable of (year, tables)): each is written out and let go before the next is
        made, so this process never holds more than one year's tables."""
        folder = Path(tempfile.mkdtemp(prefix="hotline-validate-"))
        years = tables_by_year.items() if isinstance(tables_by_year, Mapping) else tables_by_year
        try:
            paths: dict[int, dict[str, str]] = {}
            for year, tables in years:
                paths[year] = {}
                for name, table in tables.items():
                    path = folder / f"{year}-{name}.arrow"
                    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
                        w.write_table(table)
                    paths[year][name] = str(path)
                del tables
            return self._ask(("validate", paths))  # type: ignore[return-value]
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def build_data_docs(self, year_folders: dict[int, Path], all_folder: Path, folder: Path) -> Path:
        """load/release.build_data_docs, in the validation process (it renders what it
        validated for this run instead of validating it again)."""
        return Path(self._ask(("docs", {y: str(p) for y, p in year_folders.items()},  # type: ignore[arg-type]
                               str(all_folder), str(folder))))

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.send(None)
            except OSError:
                pass
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self._conn.close()


_current: Validator | None = None
_current_lock = threading.Lock()


def validator() -> Validator:
    """This process's validation process (started now if it is not yet)."""
    global _current
    with _current_lock:
        if _current is None or _current.process.poll() is not None:
            _current = Validator()
        return _current


def close_validator() -> None:
    """End this process's validation process (the run is over)."""
    global _current
    with _current_lock:
        if _current is not None:
            _current.close()
            _current = None


atexit.register(close_validator)


class _MappedTables(Mapping):
    """A year's tables as files, each memory-mapped when asked for and let go after: the
    validation goes a table name at a time, so one name's years are mapped at once."""

    def __init__(self, paths: dict[str, str]) -> None:
        self.paths = paths

    def __getitem__(self, name: str) -> pa.Table:
        return pa.ipc.open_file(pa.memory_map(self.paths[name])).read_all()

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


def _serve(conn: Duplex) -> None:
    """Worker loop: ("validate", {year: {table: ipc path}}) → ("ok", {year: rows});
    ("docs", {year: folder}, all folder, docs folder) → ("ok", index path); None ends it."""
    from hotline_budgets.load.release import build_data_docs
    from hotline_budgets.load.validate import prepare_validation, release_freed_memory, validate_tables

    prepare_validation()
    conn.send(("ready",))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        try:
            if request[0] == "validate":
                tables = {int(year): _MappedTables(paths) for year, paths in request[1].items()}
                conn.send(("ok", validate_tables(tables)))
            elif request[0] == "docs":
                _, years, all_folder, folder = request
                index = build_data_docs({int(y): Path(p) for y, p in years.items()},
                                        Path(all_folder), Path(folder))
                conn.send(("ok", str(index)))
            else:
                conn.send(("error", f"unknown request {request[0]!r}"))
        except Exception as exc:  # reported to the caller, which decides what fails
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        release_freed_memory()


if __name__ == "__main__":  # the worker: python -m hotline_budgets.load.validator RFD WFD
    _serve(parent_connection(sys.argv))
