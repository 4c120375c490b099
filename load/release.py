"""The open-data release: what an analyst downloads, built as its own step after publishing.

``build_release`` reads the published warehouse (``<year>/<table>.parquet``), and writes one
self-describing folder ``releases/<release id>/``: Parquet with field descriptions, DuckDB with
``COMMENT ON`` and the analyst views, CSV copies (UTF-8 with BOM), the data dictionary,
``datapackage.json``, Great Expectations Data Docs, a diff against the previous release, a README,
the licences, a portal page and ``SHA256SUMS`` over every file. It is built in a hidden folder and
renamed into place; ``releases/latest`` then points at the newest release.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from hotline_budgets.load.publish import ALL_YEARS_DB, DUCKDB_CONFIG, write_duckdb
from hotline_budgets.schema import (
    DICTIONARY_CSV_COLUMNS,
    Table,
    data_dictionary_rows,
    described_arrow_schema,
    frictionless_schema,
    load_schema,
    load_views,
    render_data_dictionary,
)

RELEASES = "releases"
LATEST = "latest"
TEMPLATES = Path(__file__).parent / "release_templates"
# Tables that hold the catalogs: the same in every year, so the all-years copy takes them once.
YEARLESS = ("function_codes", "economic_codes", "code_aliases", "cofog_divisions", "cofog_crosswalk")
ALL_YEARS_ONLY = ("report_versions",)  # published in the all-years database, not per year
PORTAL_VIEWS = ("total_spending", "spending_by_function_class", "budget_vs_actual")
LINE_ITEM_KEY = ("report_id", "statement", "classification", "code", "item", "measure")


@dataclass(frozen=True)
class ReleaseFile:
    path: str  # relative to the release folder, with forward slashes
    size_bytes: int
    sha256: str


@dataclass
class ReleaseManifest:
    release_id: str
    directory: Path
    years: list[int]
    previous_id: str | None
    files: list[ReleaseFile] = field(default_factory=list)
    diff: dict = field(default_factory=dict)

    def file(self, path: str) -> ReleaseFile:
        return next(f for f in self.files if f.path == path)


# --- reading the published warehouse --------------------------------------------------------


def published_years(warehouse: Path) -> list[int]:
    """The years published in the warehouse."""
    return sorted(int(p.name) for p in warehouse.iterdir()
                  if p.is_dir() and p.name.isdigit() and (p / "reports.parquet").exists())


def read_published_year(warehouse: Path, year: int) -> dict[str, pa.Table]:
    """{table: Arrow table} of one published year, read from its Parquet files and cast to the
    described schema (so the release's Parquet carries the descriptions)."""
    tables = {}
    for name, table in load_schema().items():
        path = warehouse / str(year) / f"{name}.parquet"
        data = pq.read_table(path) if path.exists() else table.to_arrow([])
        tables[name] = data.select(table.column_names).cast(described_arrow_schema(table))
    return tables


def published_tables(warehouse: Path) -> dict[int, dict[str, pa.Table]]:
    """{year: {table: Arrow table}} of every published year (every year in memory at once: the
    release itself reads one year at a time)."""
    return {year: read_published_year(warehouse, year) for year in published_years(warehouse)}


# --- writing the forms of the data ----------------------------------------------------------


CSV_BATCH_ROWS = 20_000


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def write_csv(table: pa.Table | pa.RecordBatchReader, path: Path) -> None:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese text correctly; rows go
    out CSV_BATCH_ROWS at a time (never all rows as Python objects)."""
    batches = (table.to_batches(max_chunksize=CSV_BATCH_ROWS) if isinstance(table, pa.Table)
               else table)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(table.schema.names)
        for batch in batches:
            for row in batch.to_pylist():
                writer.writerow([_csv_value(v) for v in row.values()])


def append_csv_rows(sources: list[Path], target: Path) -> None:
    """``target``: the first source whole, then every other source's rows without its header
    (byte-order mark and first line): the CSV of the concatenated tables, copied as bytes."""
    with target.open("wb") as out:
        for i, source in enumerate(sources):
            with source.open("rb") as fh:
                if i:
                    fh.readline()  # the BOM sits at the start of the header line
                shutil.copyfileobj(fh, out)


def view_tables(db: Path, names: list[str] | None = None) -> dict[str, pa.Table]:
    """Declared views of a release database (all, or ``names``), as Arrow."""
    con = duckdb.connect(str(db), read_only=True, config=DUCKDB_CONFIG)
    try:
        return {name: con.sql(f"SELECT * FROM {name}").to_arrow_table()
                for name in names or load_views()}
    finally:
        con.close()


def write_view_csvs(db: Path, folder: Path) -> None:
    """The CSV of every declared view of ``db``, streamed from DuckDB, rows sorted."""
    con = duckdb.connect(str(db), read_only=True, config=DUCKDB_CONFIG)
    try:
        for name in load_views():
            # ORDER BY ALL: a view's rows come in no set order, its CSV in a stable one
            write_csv(con.sql(f"SELECT * FROM {name} ORDER BY ALL").to_arrow_reader(CSV_BATCH_ROWS),
                      folder / f"{name}.csv")
    finally:
        con.close()


def write_data_forms(tables: dict[str, pa.Table], folder: Path, db_name: str) -> None:
    """Parquet, DuckDB and CSV of one year."""
    (folder / "csv").mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
        write_csv(table, folder / "csv" / f"{name}.csv")
    write_duckdb(tables, folder / db_name)
    write_view_csvs(folder / db_name, folder / "csv")


def write_all_years_forms(staging: Path, years: list[int], extra: dict[str, pa.Table]) -> None:
    """Parquet, DuckDB and CSV of all years, from the years' forms already in ``staging``, a
    table at a time: each year's Parquet appended, each year's CSV rows appended, the database
    filled by DuckDB from the Parquet files. The catalogs once, from the newest year; ``extra``:
    tables kept over all years only (report_versions)."""
    folder = staging / "all"
    (folder / "csv").mkdir(parents=True, exist_ok=True)
    sources: dict[str, pa.Table | list[Path]] = {}
    for name, table in load_schema().items():
        target = folder / f"{name}.parquet"
        if name in extra:
            data = extra[name].select(table.column_names).cast(described_arrow_schema(table))
            pq.write_table(data, target)
            write_csv(data, folder / "csv" / f"{name}.csv")
            sources[name] = [target]
            continue
        scopes = [staging / str(y) for y in (years[-1:] if name in YEARLESS else years)]
        with pq.ParquetWriter(target, described_arrow_schema(table)) as writer:
            for scope in scopes:
                writer.write_table(pq.read_table(scope / f"{name}.parquet"))
        append_csv_rows([scope / "csv" / f"{name}.csv" for scope in scopes],
                        folder / "csv" / f"{name}.csv")
        sources[name] = [target]
    write_duckdb(sources, folder / "hotline_budgets.duckdb")
    write_view_csvs(folder / "hotline_budgets.duckdb", folder / "csv")


def all_years_only(warehouse: Path) -> dict[str, pa.Table]:
    """Tables the warehouse keeps over all years only, from its all-years database
    (report_versions: every version of every source ever fetched)."""
    db = warehouse / ALL_YEARS_DB
    if not db.exists():
        return {}
    con = duckdb.connect(str(db), read_only=True, config=DUCKDB_CONFIG)
    try:
        return {name: con.sql(f"SELECT * FROM {name}").to_arrow_table() for name in ALL_YEARS_ONLY
                if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                               [name]).fetchall()[0][0]}
    finally:
        con.close()


def write_dictionary(folder: Path) -> None:
    (folder / "data_dictionary.md").write_text(render_data_dictionary() + "\n", encoding="utf-8")
    with (folder / "data_dictionary.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=DICTIONARY_CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(data_dictionary_rows())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _resource(table: Table, folder: Path, relative: str) -> dict:
    path = folder / relative
    resource = {
        "name": table.name,
        "path": relative,
        "profile": "tabular-data-resource",
        "title": table.name,
        "description": table.description,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8-sig",
        "bytes": path.stat().st_size,
        "hash": f"sha256:{sha256_of(path)}",
        "schema": frictionless_schema(table),
    }
    if table.name != "reports" and "report_id" in table.column_names and table.key:
        resource["schema"]["foreignKeys"] = [
            {"fields": "report_id", "reference": {"resource": "reports", "fields": "report_id"}}
        ]
    return resource


def datapackage(
    folder: Path, csv_dir: str, title: str, release_id: str, created: datetime, reports: pa.Table
) -> dict:
    """A Frictionless (tabular) Data Package of the CSV copies in ``folder/csv_dir``."""
    resources = [_resource(t, folder, f"{csv_dir}/{name}.csv") for name, t in load_schema().items()]
    resources += [_resource(v, folder, f"{csv_dir}/{name}.csv") for name, v in load_views().items()]
    sources = [
        {"title": f"{r['entity_name']} {r['fiscal_year']} {r['report_kind']}", "path": r["source_url"]}
        for r in reports.to_pylist()
    ]
    return {
        "profile": "tabular-data-package",
        "name": "hotline-budgets",
        "title": title,
        "description": (
            "Budgets (预算) and final accounts (决算) of China's 12345 government-service "
            "hotline centers, extracted from the published PDF reports. Amounts in 万元."
        ),
        "version": release_id,
        "created": created.isoformat(timespec="seconds"),
        "keywords": ["budget", "final accounts", "China", "12345", "public finance"],
        "licenses": [
            {
                "name": "CC-BY-4.0",
                "title": "Creative Commons Attribution 4.0 International",
                "path": "https://creativecommons.org/licenses/by/4.0/",
            }
        ],
        "sources": sources,
        "resources": resources,
    }


# --- quality ---------------------------------------------------------------------------------


def build_data_docs(year_folders: dict[int, Path], all_folder: Path, folder: Path) -> Path:
    """Great Expectations Data Docs of every published table over all years (``year_folders``:
    each year's release Parquet; ``all_folder``: the all-years one, for the tables kept over all
    years only), validated against the stored suites, the site built once.

    Each table is shown as the run validates it (load/validate.validation_units): the union of
    its years, in groups of at most UNION_ROWS rows, so memory stays bounded however many years
    are published (one table name is read at a time). A unit this process already validated
    (the run that rewrote those years) renders that result instead of being validated twice.
    GX's cost is per expectation and per page rendered, not per row: one validation per unit and
    one site build (84 validations and builds per table and year took ~3 min on the real set)."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from hotline_budgets.load.validate import _digest, load_suite, read_validation_units, suite_result

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    ctx.add_data_docs_site(
        "release",
        {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(folder),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    run_id = RunIdentifier(run_time=datetime.now(UTC))
    for name in load_schema():
        suite = ctx.suites.add(gx.ExpectationSuite(**load_suite(name)))  # GX changes its input
        suite_id = ExpectationSuiteIdentifier(name=suite.name)
        scopes = ({max(year_folders): all_folder} if name in ALL_YEARS_ONLY else year_folders)
        counts = {year: pq.ParquetFile(path / f"{name}.parquet").metadata.num_rows
                  for year, path in scopes.items()}
        shown: set[str] = set()  # identical units (the empty years of a table) are shown once

        def read(year: int, name: str = name, scopes: dict[int, Path] = scopes) -> pa.Table:
            return pq.read_table(scopes[year] / f"{name}.parquet")
        for unit in read_validation_units(counts, read):
            key = _digest(unit.union, {})
            years = [y for y in counts if counts[y] == 0] if unit.union.num_rows == 0 else list(unit.group)
            if key in shown:
                continue
            shown.add(key)
            result = suite_result(name, unit.union, load_suite(name))
            label = f"{min(years)}" if min(years) == max(years) else f"{min(years)}-{max(years)}"
            ctx.validation_results_store.store_validation_results(
                suite_validation_result=result, expectation_suite_identifier=suite_id,
                suite_validation_result_identifier=ValidationResultIdentifier(
                    batch_identifier=f"published-{name}-{label}",
                    expectation_suite_identifier=suite_id, run_id=run_id))
    ctx.build_data_docs(site_names=["release"])
    return folder / "index.html"


def quality_summary(db: Path) -> dict:
    """Figures for the README and the portal, from the all-years database."""
    con = duckdb.connect(str(db), read_only=True, config=DUCKDB_CONFIG)

    def rows(sql: str) -> list[dict]:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    try:
        return {
            "reports_by_status": rows(
                "SELECT status, count(*) AS reports FROM reports GROUP BY 1 ORDER BY 1"
            ),
            "checks_by_status": rows(
                "SELECT status, count(*) AS checks FROM checks GROUP BY 1 ORDER BY 1"
            ),
            "expectations": rows(
                "SELECT fiscal_year, count(*) AS expectations, "
                "count(*) FILTER (WHERE is_success) AS passed FROM expectation_results "
                "GROUP BY 1 ORDER BY 1"
            ),
            "issues_by_kind": rows(
                "SELECT kind, count(*) AS issues FROM quality_issues GROUP BY 1 ORDER BY 1"
            ),
            "coverage": rows(
                "SELECT coverage, count(*) AS statements FROM coverage GROUP BY 1 ORDER BY 1"
            ),
            "line_items": con.execute("SELECT count(*) FROM line_items").fetchone()[0],
        }
    finally:
        con.close()


# --- the diff against the previous release ---------------------------------------------------


def release_ids(releases: Path) -> list[str]:
    """Finished releases, oldest first (ids are dates, so they sort by time)."""
    if not releases.is_dir():
        return []
    return sorted(
        p.name
        for p in releases.iterdir()
        if p.is_dir()
        and not p.is_symlink()
        and not p.name.startswith(".")
        and (p / "SHA256SUMS").exists()
    )


def _release_relation(con: duckdb.DuckDBPyConnection, side: str, folder: Path | None,
                      name: str) -> None:
    """View ``side`` on one all-years table of a release folder, read by DuckDB from its Parquet
    file (nothing held here); empty when there is no such release or file."""
    path = folder / "all" / f"{name}.parquet" if folder is not None else None
    if path is None or not path.exists():
        con.register(side, load_schema()[name].to_arrow([]))
        return
    con.execute(f"CREATE OR REPLACE VIEW {side} AS SELECT * FROM read_parquet("
                f"'{str(path).replace(chr(39), chr(39) * 2)}')")


DIFF_KEEP = 1000  # line-item changes listed in diff.json (all of them are in the CSV)
DIFF_COLUMNS = ["change", "fiscal_year", *LINE_ITEM_KEY, "previous_wan", "current_wan"]


def diff_releases(previous: Path | None, current: Path, changes_csv: Path | None = None) -> dict:
    """Rows per table and year, line-item amounts changed by natural key, reports added, removed
    and gone stale (or otherwise changed status) between two release folders.

    Every line-item change goes to ``changes_csv`` as DuckDB streams it; the dict keeps their
    counts and the first DIFF_KEEP (a first release adds every line item: a country's worth)."""
    spill = tempfile.mkdtemp(prefix="hotline-diff-")  # where the join spills past the limit
    con = duckdb.connect(config=DUCKDB_CONFIG | {"temp_directory": spill})
    try:
        counts = []
        for name in load_schema():
            has_year = "fiscal_year" in load_schema()[name].column_names
            year = "fiscal_year" if has_year and name not in YEARLESS else "NULL::INTEGER"
            sides = []
            for side, folder in (("old", previous), ("new", current)):
                _release_relation(con, side, folder, name)
                sides.append(
                    dict(con.execute(f"SELECT {year}, count(*) FROM {side} GROUP BY 1").fetchall())
                )
            before, after = sides
            for y in sorted(set(before) | set(after), key=lambda v: (v is None, v)):
                counts.append(
                    {
                        "table": name,
                        "fiscal_year": y,
                        "previous": before.get(y, 0),
                        "current": after.get(y, 0),
                        "change": after.get(y, 0) - before.get(y, 0),
                    }
                )
        for side, folder in (("o_li", previous), ("n_li", current)):
            _release_relation(con, side, folder, "line_items")
        for side, folder in (("o_rep", previous), ("n_rep", current)):
            _release_relation(con, side, folder, "reports")
        key_match = " AND ".join(f"o.{k} IS NOT DISTINCT FROM n.{k}" for k in LINE_ITEM_KEY)
        keys = ", ".join(f"coalesce(n.{k}, o.{k}) AS {k}" for k in LINE_ITEM_KEY)
        reader = con.sql(f"""
            SELECT CASE WHEN o.report_id IS NULL THEN 'added' WHEN n.report_id IS NULL THEN 'removed'
                        ELSE 'changed' END AS change,
                   coalesce(n.fiscal_year, o.fiscal_year) AS fiscal_year, {keys},
                   o.amount_wan AS previous_wan, n.amount_wan AS current_wan
            FROM o_li o FULL JOIN n_li n ON {key_match}
            WHERE o.amount_wan IS DISTINCT FROM n.amount_wan
            ORDER BY 2, 3, 4, 5, 6, 7, 8""").to_arrow_reader(CSV_BATCH_ROWS)
        changes, by_change = [], dict.fromkeys(("added", "removed", "changed"), 0)
        with (open(changes_csv, "w", encoding="utf-8-sig", newline="") if changes_csv
              else nullcontext()) as fh:
            writer = csv.writer(fh) if fh else None
            if writer:
                writer.writerow(DIFF_COLUMNS)
            for batch in reader:
                for row in batch.to_pylist():
                    by_change[row["change"]] += 1
                    if len(changes) < DIFF_KEEP:
                        changes.append(row)
                    if writer:
                        writer.writerow([_csv_value(row[k]) for k in DIFF_COLUMNS])
        reports = (
            con.sql("""
            SELECT coalesce(n.report_id, o.report_id) AS report_id, o.status AS previous_status,
                   n.status AS current_status,
                   CASE WHEN o.report_id IS NULL THEN 'added' WHEN n.report_id IS NULL THEN 'removed'
                        WHEN n.status = 'stale' AND o.status <> 'stale' THEN 'gone_stale'
                        WHEN n.status <> o.status THEN 'status_changed'
                        ELSE 'republished' END AS change,
                   o.source_sha256 IS DISTINCT FROM n.source_sha256 AS source_changed
            FROM o_rep o FULL JOIN n_rep n ON o.report_id = n.report_id
            WHERE o.report_id IS NULL OR n.report_id IS NULL OR o.status <> n.status
               OR o.source_sha256 IS DISTINCT FROM n.source_sha256
            ORDER BY 1""")
            .to_arrow_table()
            .to_pylist()
        )
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    by_kind = {
        k: [r["report_id"] for r in reports if r["change"] == k]
        for k in ("added", "removed", "gone_stale", "status_changed", "republished")
    }
    return {
        "previous_release": previous.name if previous else None,
        "current_release": current.name,
        "rows": counts,
        "line_item_change_counts": by_change,
        "line_item_changes": changes,
        "line_item_changes_listed": len(changes),
        "reports": reports,
        "reports_by_change": by_kind,
    }


def render_diff_markdown(diff: dict) -> str:
    prev = diff["previous_release"]
    out = [f"# Changes in release {diff['current_release']}", ""]
    out += (
        [f"Compared with release {prev}.", ""]
        if prev
        else ["First release: there is no previous release to compare with; every row is new.", ""]
    )
    out += ["## Reports", ""]
    for kind, ids in diff["reports_by_change"].items():
        out.append(f"- {kind.replace('_', ' ')}: {', '.join(ids) if ids else 'none'}")
    out += [
        "",
        "## Rows per table and year",
        "",
        "| table | year | previous | current | change |",
        "|---|---|---:|---:|---:|",
    ]
    out += [
        f"| {r['table']} | {r['fiscal_year'] if r['fiscal_year'] is not None else 'all'} | "
        f"{r['previous']} | {r['current']} | {r['change']:+d} |"
        for r in diff["rows"]
    ]
    changes = diff["line_item_changes"]
    total = sum(diff["line_item_change_counts"].values())
    out += [
        "",
        "## Line-item amounts changed by natural key",
        "",
        f"{total} line items added, removed or changed in amount "
        f"({', '.join(f'{n} {k}' for k, n in diff['line_item_change_counts'].items())}; all of them"
        " in `diff_line_items.csv`).",
        "",
    ]
    if changes:
        out += [
            "| change | report | statement | code / item | measure | previous | current |",
            "|---|---|---|---|---|---:|---:|",
        ]
        for c in changes[:50]:
            out.append(
                f"| {c['change']} | {c['report_id']} | {c['statement']} | "
                f"{c['code'] or c['item']} | {c['measure']} | {_csv_value(c['previous_wan'])} | "
                f"{_csv_value(c['current_wan'])} |"
            )
        if total > 50:
            out.append(f"| … | {total - 50} more in diff_line_items.csv | | | | | |")
    return "\n".join(out) + "\n"


def write_diff(diff: dict, folder: Path) -> None:
    """diff.json (the first DIFF_KEEP line-item changes and the counts) and diff.md; the CSV of
    every change is written by diff_releases as it goes."""
    (folder / "diff.json").write_text(
        json.dumps(diff, ensure_ascii=False, indent=2, default=_csv_value) + "\n", encoding="utf-8"
    )
    (folder / "diff.md").write_text(render_diff_markdown(diff), encoding="utf-8")


# --- checksums, README, the whole release ----------------------------------------------------


def list_files(folder: Path) -> list[ReleaseFile]:
    """Every file of the release except SHA256SUMS itself, sorted."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    return [ReleaseFile(p.relative_to(folder).as_posix(), p.stat().st_size, sha256_of(p)) for p in paths]


def write_checksums(folder: Path) -> list[ReleaseFile]:
    """``SHA256SUMS`` in the format ``sha256sum -c`` reads (two spaces, relative paths)."""
    files = list_files(folder)
    (folder / "SHA256SUMS").write_text(
        "".join(f"{f.sha256}  {f.path}\n" for f in files), encoding="utf-8"
    )
    return files


def example_queries() -> str:
    """The example queries (Markdown with ```sql blocks), shared by the repository README and the
    release README."""
    return (TEMPLATES / "example_queries.md").read_text(encoding="utf-8")


def render_readme(
    release_id: str, years: list[int], reports: pa.Table, summary: dict, previous: str | None
) -> str:
    template = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    statuses = ", ".join(f"{r['reports']} {r['status']}" for r in summary["reports_by_status"])
    listing = "\n".join(
        f"| {r['fiscal_year']} | {r['entity_name']} | {r['report_kind']} | {r['status']} | "
        f"`{r['report_id']}` | {r['source_url']} | `{(r['source_sha256'] or '')[:12]}` |"
        for r in sorted(reports.to_pylist(), key=lambda r: (r["fiscal_year"], r["report_id"]))
    )
    return template.format(
        release_id=release_id,
        years=", ".join(map(str, years)),
        first_year=years[0],
        report_count=reports.num_rows,
        statuses=statuses,
        line_items=summary["line_items"],
        previous=f"release {previous}" if previous else "no earlier release (this is the first)",
        report_table=listing,
        queries=example_queries(),
    )


def _replace_dir(staging: Path, final: Path) -> None:
    """Rename the finished release into place; an earlier release of the same id is replaced."""
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old)
    else:
        os.replace(staging, final)


def point_latest(releases: Path, release_id: str) -> None:
    """``latest`` → the newest release (a symlink swapped atomically) and ``LATEST`` (its id, for
    file systems and downloads that do not keep symlinks)."""
    tmp = releases / f".{LATEST}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(release_id, target_is_directory=True)
    os.replace(tmp, releases / LATEST)
    (releases / "LATEST").write_text(release_id + "\n", encoding="utf-8")


def build_release(
    warehouse: Path,
    releases: Path | None = None,
    release_id: str | None = None,
    created: datetime | None = None,
) -> ReleaseManifest:
    """Build ``releases/<release_id>/`` from the published warehouse; the id defaults to today's
    date (UTC). A rebuild on the same day replaces that day's release; the diff is always against
    the newest earlier release."""
    from hotline_budgets.load.portal import render_portal

    created = created or datetime.now(UTC)
    release_id = release_id or created.date().isoformat()
    releases = releases or warehouse / RELEASES
    if not (warehouse.is_dir() and any((p / "reports.parquet").exists() for p in warehouse.iterdir())):
        raise FileNotFoundError(f"no published data in {warehouse}: run `hotline-budgets run` first")
    years = published_years(warehouse)
    earlier = [r for r in release_ids(releases) if r < release_id]
    previous = releases / earlier[-1] if earlier else None

    releases.mkdir(parents=True, exist_ok=True)
    staging = releases / f".{release_id}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for year in years:  # one year in memory at a time
        write_data_forms(read_published_year(warehouse, year), staging / str(year),
                         f"hotline_budgets_{year}.duckdb")
    write_all_years_forms(staging, years, all_years_only(warehouse))
    write_dictionary(staging)
    for name in ("LICENSE", "LICENSE-DATA.md"):
        shutil.copyfile(TEMPLATES / name, staging / name)
    from hotline_budgets.load.validator import validator

    validator().build_data_docs({year: staging / str(year) for year in years}, staging / "all",
                                staging / "quality" / "data_docs")
    diff = diff_releases(previous, staging, staging / "diff_line_items.csv")
    diff["current_release"] = release_id
    write_diff(diff, staging)
    summary = quality_summary(staging / "all" / "hotline_budgets.duckdb")
    reports = pq.read_table(staging / "all" / "reports.parquet")
    (staging / "README.md").write_text(
        render_readme(release_id, years, reports, summary, previous.name if previous else None),
        encoding="utf-8",
    )
    title = f"hotline-budgets open data, release {release_id}"
    packages = {"datapackage.json": datapackage(staging, "all/csv", title, release_id, created, reports)}
    for year in years:
        packages[f"{year}/datapackage.json"] = datapackage(
            staging / str(year),
            "csv",
            f"{title}, fiscal year {year}",
            release_id,
            created,
            pq.read_table(staging / str(year) / "reports.parquet"),
        )
    for path, package in packages.items():
        (staging / path).write_text(
            json.dumps(package, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    # the portal lists every other file with its size and checksum, so it is written last but one
    files = list_files(staging)
    (staging / "index.html").write_text(
        render_portal(
            release_id=release_id,
            created=created,
            years=years,
            reports=reports,
            views=view_tables(staging / "all" / "hotline_budgets.duckdb", list(PORTAL_VIEWS)),
            summary=summary,
            diff=diff,
            files=files,
        ),
        encoding="utf-8",
    )
    files = write_checksums(staging)
    final = releases / release_id
    _replace_dir(staging, final)
    newest = release_ids(releases)[-1]
    point_latest(releases, newest)
    return ReleaseManifest(release_id, final, years, previous.name if previous else None, files, diff)
