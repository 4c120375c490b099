"""Writing the published files: per-year Parquet and DuckDB, and one all-years DuckDB.

Every file is written under a temporary name in its final folder and renamed into place, so a
reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from hotline_budgets.schema import load_schema

ALL_YEARS_DB = "hotline_budgets.duckdb"
VIEWS_FILE = Path(__file__).parent / "views.sql"


def view_statements(path: Path = VIEWS_FILE) -> list[str]:
    """The CREATE VIEW statements of views.sql, without their ``--`` comment lines."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if not line.lstrip().startswith("--")]
    return [p.strip() for p in "\n".join(lines).split(";") if p.strip()]


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    tmp = _tmp(path)
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def write_duckdb_atomic(tables: dict[str, pa.Table], path: Path) -> None:
    """A fresh database with the declared DDL, filled from Arrow, with the views of views.sql,
    renamed into place."""
    schema = load_schema()
    tmp = _tmp(path)
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        for name, table in tables.items():
            con.execute(schema[name].duckdb_ddl())
            con.register("incoming", table)
            con.execute(f"INSERT INTO {name} SELECT * FROM incoming")
            con.unregister("incoming")
        for statement in view_statements():
            con.execute(statement)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, path)


def publish_year(year: int, tables: dict[str, pa.Table], warehouse: Path) -> list[Path]:
    """DIR/Y/<table>.parquet for every table, then DIR/Y/hotline_budgets_Y.duckdb."""
    year_dir = warehouse / str(year)
    year_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        path = year_dir / f"{name}.parquet"
        write_parquet_atomic(table, path)
        written.append(path)
    db = year_dir / f"hotline_budgets_{year}.duckdb"
    write_duckdb_atomic(tables, db)
    written.append(db)
    return written


def published_years(warehouse: Path) -> list[int]:
    return sorted(int(p.name) for p in warehouse.iterdir() if p.is_dir() and p.name.isdigit()
                  and (p / "reports.parquet").exists())


def publish_all_years(warehouse: Path, yearless: set[str],
                      current: dict[str, pa.Table] | None = None) -> Path:
    """The all-years database, rebuilt from every year's Parquet files in the warehouse.

    Tables in ``yearless`` (the catalogs) are taken once: from ``current`` (this run's catalog
    tables) when given, else from the oldest year that has them.
    """
    schema = load_schema()
    merged: dict[str, list[pa.Table]] = {name: [] for name in schema}
    for name, table in (current or {}).items():
        merged[name].append(table)
    years = published_years(warehouse)
    for year in years:
        for name in schema:
            path = warehouse / str(year) / f"{name}.parquet"
            if path.exists() and (name not in yearless or not merged[name]):
                merged[name].append(pq.read_table(path, schema=schema[name].arrow_schema()))
    tables = {
        name: pa.concat_tables(parts) if parts else schema[name].to_arrow([])
        for name, parts in merged.items()
    }
    path = warehouse / ALL_YEARS_DB
    write_duckdb_atomic(tables, path)
    return path
