"""Writing the published files: per-year Parquet and DuckDB, and one all-years DuckDB.

A year's set of files is replaced as a whole. Each version of a year is written into its own
folder ``DIR/.versions/<year>/<fingerprint>/`` (under a ``.partial`` name, renamed when
complete) and ``DIR/<year>`` is a symbolic link switched to it atomically (rename of a new link
over the old one). A reader that resolves ``DIR/<year>`` once (``os.path.realpath``) reads one
consistent version even while the next one is published; files it holds open stay readable.
The all-years database is written under a temporary name and renamed into place. A SIGKILL at
any moment leaves the previous version complete; leftovers are removed by the next run.

The fingerprint names the year's inputs (every report's rows and the code that made them), so
an unchanged year is recognised without reading or rewriting anything.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from hotline_budgets.schema import comment_statements, load_schema, load_views

ALL_YEARS_DB = "hotline_budgets.duckdb"
VERSIONS = ".versions"
MANIFEST = "manifest.json"
ALL_YEARS_MANIFEST = "all_years.json"
VIEWS_FILE = Path(__file__).parent / "views.sql"
KEEP_VERSIONS = 2  # the current one and the one before (for readers still reading it)


# DuckDB as the run uses it: one thread (a database written from files in their order needs no
# parallel scan, and each thread holds buffers of its own) and a memory limit (inserts stream,
# sorts spill to disk), so writing and reading a release of any size keeps the process's size:
# unbounded, DuckDB's buffers took ~200 MB for the all-years database of 5,000 reports.
DUCKDB_CONFIG = {"threads": 1, "memory_limit": "128MB"}


def view_statements(path: Path = VIEWS_FILE) -> list[str]:
    """The CREATE VIEW statements of views.sql, without their ``--`` comment lines."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if not line.lstrip().startswith("--")]
    return [p.strip() for p in "\n".join(lines).split(";") if p.strip()]


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_parquet(table: pa.Table, path: Path) -> None:
    """Deterministic Parquet: same table, same bytes (no timestamps in the file)."""
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    tmp = _tmp(path)
    write_parquet(table, tmp)
    os.replace(tmp, path)


TableSource = pa.Table | list[Path]  # rows in memory, or Parquet files read by DuckDB itself


def _insert(con: duckdb.DuckDBPyConnection, name: str, source: TableSource) -> None:
    """Fill a declared table from Arrow, or from Parquet files in their order (DuckDB streams
    them, so the all-years database never holds every year in this process's memory)."""
    if isinstance(source, pa.Table):
        con.register("incoming", source)
        con.execute(f"INSERT INTO {name} SELECT * FROM incoming")
        con.unregister("incoming")
    elif source:
        files = ", ".join("'" + str(f).replace("'", "''") + "'" for f in source)
        con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM read_parquet([{files}], union_by_name = true)")


def write_duckdb(tables: dict[str, TableSource], path: Path) -> None:
    """A fresh database with the declared DDL, filled from Arrow or Parquet files, the views of
    views.sql, and COMMENT ON every table, view and column (the schema's descriptions, so an
    analyst reads them in DuckDB itself)."""
    schema, views = load_schema(), load_views()
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path), config=DUCKDB_CONFIG)
    try:
        con.execute("SET preserve_insertion_order = true")  # rows in file order: deterministic
        con.execute("BEGIN")  # one commit: each DDL or COMMENT on its own wrote the log again
        for name, table in tables.items():
            con.execute(schema[name].duckdb_ddl())
            _insert(con, name, table)
            for statement in comment_statements(schema[name]):
                con.execute(statement)
        for statement in view_statements():
            con.execute(statement)
        for view in views.values():
            for statement in comment_statements(view, "VIEW"):
                con.execute(statement)
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def write_duckdb_atomic(tables: dict[str, TableSource], path: Path) -> None:
    tmp = _tmp(path)
    write_duckdb(tables, tmp)
    os.replace(tmp, path)


def _versions_dir(warehouse: Path, year: int) -> Path:
    return warehouse / VERSIONS / str(year)


def current_version(warehouse: Path, year: int) -> str | None:
    """The fingerprint of the published version of a year (None when none is)."""
    try:
        manifest = json.loads((warehouse / str(year) / MANIFEST).read_text(encoding="utf-8"))
        return manifest["fingerprint"]
    except (OSError, ValueError, KeyError):
        return None


def switch_link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically; a plain folder there (older warehouse) is moved
    into the versions first."""
    if link.exists() and not link.is_symlink():
        legacy = _versions_dir(link.parent, int(link.name)) / "legacy"
        legacy.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(legacy, ignore_errors=True)
        os.replace(link, legacy)
    tmp = link.with_name(f".{link.name}.{os.getpid()}.link")
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), tmp)
    os.replace(tmp, link)


def publish_year(year: int, tables: dict[str, pa.Table], warehouse: Path,
                 fingerprint: str) -> Path:
    """DIR/.versions/Y/<fingerprint>/{<table>.parquet, hotline_budgets_Y.duckdb, manifest.json},
    then DIR/Y switched to it. Returns the version folder."""
    versions = _versions_dir(warehouse, year)
    final = versions / fingerprint
    if not (final / MANIFEST).exists():
        partial = versions / f".{fingerprint}.{os.getpid()}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for name, table in tables.items():
            write_parquet(table, partial / f"{name}.parquet")
        write_duckdb(tables, partial / f"hotline_budgets_{year}.duckdb")
        manifest = {"fingerprint": fingerprint, "year": year, "tables": sorted(tables),
                    "rows": {name: t.num_rows for name, t in sorted(tables.items())}}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                        encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)  # an incomplete folder of a killed run
        os.replace(partial, final)
    switch_link(warehouse / str(year), final)
    prune_versions(warehouse, year)
    return final


def prune_versions(warehouse: Path, year: int, keep: int = KEEP_VERSIONS) -> None:
    """Keep the current version and the ones published just before it."""
    versions = _versions_dir(warehouse, year)
    current = (warehouse / str(year)).resolve()
    done = [p for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")]
    done.sort(key=lambda p: (p.resolve() == current, p.stat().st_mtime), reverse=True)
    for old in done[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def cleanup(warehouse: Path) -> list[Path]:
    """Remove what a killed run left behind: partial versions, temporary files and links."""
    removed: list[Path] = []
    if not warehouse.is_dir():
        return removed
    candidates = list(warehouse.glob(".*.tmp")) + list(warehouse.glob(".*.link"))
    candidates += list((warehouse / VERSIONS).glob("*/.*.partial"))
    candidates += list((warehouse / VERSIONS).glob(".*.tmp"))
    for path in candidates:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def published_years(warehouse: Path) -> list[int]:
    return sorted(int(p.name) for p in warehouse.iterdir() if p.name.isdigit()
                  and (p / "reports.parquet").exists())


def all_years_sources(warehouse: Path, extra_digest: str) -> dict:
    """What the all-years database is built from: each year's version and the extra tables."""
    return {"years": {str(y): current_version(warehouse, y) for y in published_years(warehouse)},
            "extra": extra_digest}


def all_years_is_current(warehouse: Path, extra_digest: str) -> bool:
    try:
        built = json.loads((warehouse / VERSIONS / ALL_YEARS_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (warehouse / ALL_YEARS_DB).exists() and built == all_years_sources(warehouse, extra_digest)


def publish_all_years(warehouse: Path, yearless: set[str],
                      extra: dict[str, pa.Table] | None = None, extra_digest: str = "",
                      current: dict[str, pa.Table] | None = None) -> Path:
    """The all-years database, rebuilt from every year's published Parquet files.

    Tables in ``yearless`` (the catalogs) are taken once: from ``current`` (this run's catalog
    tables) when given, else from the oldest year that has them; the ``extra`` tables
    (report_versions) are not per year.
    """
    schema = load_schema()
    extra = extra or {}
    merged: dict[str, TableSource] = {name: [] for name in schema if name not in extra}
    for name, table in (current or {}).items():
        merged[name] = table
    for year in published_years(warehouse):
        year_dir = (warehouse / str(year)).resolve()  # one version, even if switched meanwhile
        for name, parts in merged.items():
            path = year_dir / f"{name}.parquet"
            if isinstance(parts, list) and path.exists() and (name not in yearless or not parts):
                parts.append(path)
    tables = merged | extra
    path = warehouse / ALL_YEARS_DB
    write_duckdb_atomic(tables, path)
    manifest = warehouse / VERSIONS / ALL_YEARS_MANIFEST
    manifest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(manifest)
    tmp.write_text(json.dumps(all_years_sources(warehouse, extra_digest), sort_keys=True),
                   encoding="utf-8")
    os.replace(tmp, manifest)
    return path
