"""The nightly run as plain functions: fetch → extract → identities → conform (per report) →
validate → publish (per year). ``flows/pipeline.py`` runs them as a Prefect flow; nothing here
imports Prefect, so a night with nothing to do never starts it.

Isolation: everything that happens to one report happens in :func:`process_entry`, a plain
function that never raises — a failure at any stage becomes that report's status and reason,
and a report that was published before keeps its last good rows (``stale``). A task runner can
call it for many reports at once (one :class:`Extractor` per worker thread). Years are
published whole and only when their inputs changed (:func:`year_fingerprint`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from hotline_budgets.extract.fetch import (
    FetchedReport,
    FetchError,
    Limits,
    Validators,
    cleanup_incoming,
    fetch_report,
    fetch_with_retries,
    fetched_now,
)
from hotline_budgets.flows.isolation import Budget, ExtractionStopped, Extractor, take_prestarted
from hotline_budgets.load.assemble import CATALOG_TABLES, catalog_tables
from hotline_budgets.load.cache import (
    RowCounts,
    cache_key,
    cache_path,
    count_rows,
    extractor_version,
    load_head,
    load_processed,
    prune,
    save_processed,
)
from hotline_budgets.load.conform import PER_REPORT_TABLES, ConformError, conform_report, conform_table
from hotline_budgets.load.ocr_repair import confirm_repairs
from hotline_budgets.load.publish import (
    ALL_YEARS_DB,
    all_years_is_current,
    cleanup,
    current_version,
    publish_all_years,
    publish_year,
)
from hotline_budgets.load.spool import RowSpool, Spooled, read_spooled, remove_stale_spools
from hotline_budgets.load.state import SourceState, load_state, record_version, save_state, version_rows
from hotline_budgets.registry import RegistryEntry, load_registry
from hotline_budgets.schema import load_schema
from hotline_budgets.transform.catalog import Catalog, load_catalog
from hotline_budgets.transform.report import ReportResult, rejected_result

SUMMARY_FILE = "run_summary.json"
FRESH = "published"


# ---------------------------------------------------------------------------------------------
# one report


class ReportOutcome:
    """What happened to one report tonight, and the rows published for it.

    The rows are held only until they are spooled (:meth:`release`): from then on ``result``
    and ``checks`` are read back from the extraction cache when somebody asks, and ``counts``
    answers the run summary. A run over thousands of reports holds one report's rows at a time.
    """

    def __init__(self, entry: RegistryEntry, result: ReportResult, checks: list[dict] | None = None,
                 tables: dict[str, pa.Table] | None = None, rows_key: str | None = None,
                 stage: str = "done", *, reused: bool = False, change: str | None = None,
                 fetched: FetchedReport | None = None, seconds: float = 0.0,
                 counts: RowCounts | None = None, cache_dir: Path | None = None) -> None:
        self.entry = entry
        self.report = result.report  # always in memory (statuses change after publishing)
        self._result: ReportResult | None = result
        self._checks: list[dict] | None = list(checks or [])
        self.tables = tables
        self.spooled: Spooled | None = None  # where the tables are once released
        self.rows_key = rows_key  # cache key of the published rows (the last good one if stale)
        self.stage = stage  # where it stopped: fetch, extract, identities, conform, done
        self.reused = reused  # extraction and checks reused from an earlier run
        self.change = change  # "bytes changed: <old> → <new>"
        self.fetched = fetched
        self.seconds = seconds
        self.counts = counts or count_rows(result, self._checks)
        self.cache_dir = cache_dir

    @classmethod
    def from_head(cls, entry: RegistryEntry, report: dict, counts: RowCounts, rows_key: str,
                  cache_dir: Path, **kw) -> ReportOutcome:
        """An outcome whose rows stay in the cache until asked for (an unchanged report)."""
        out = cls(entry, ReportResult(report=report), None, None, rows_key, counts=counts,
                  cache_dir=cache_dir, **kw)
        out._result = out._checks = None
        return out

    def _load(self) -> None:
        got = load_processed(self.cache_dir, self.entry.report_id, self.rows_key) \
            if self.cache_dir and self.rows_key else None
        if got is None:  # a later run pruned them: say so rather than answer "no rows"
            raise LookupError(f"the rows of {self.entry.report_id} ({self.rows_key}) are no longer"
                              f" in {self.cache_dir}")
        result, checks = got
        result.report = self.report
        self._result, self._checks = result, checks

    @property
    def result(self) -> ReportResult:
        if self._result is None:
            self._load()
        return self._result

    @property
    def checks(self) -> list[dict]:
        if self._checks is None:
            self._load()
        return self._checks


    def release(self, spool: RowSpool) -> None:
        """Spool the tables and drop the rows that the cache holds (kept: the report row,
        counts). Rows the cache does not hold (a rejection without key) stay in memory."""
        if self.tables is not None:
            self.spooled, self.tables = spool.put(self.tables, self.entry.fiscal_year), None
        if self.cache_dir and self.rows_key and \
                cache_path(self.cache_dir, self.entry.report_id, self.rows_key).is_file():
            self._result = self._checks = None

    @property
    def status(self) -> str:
        return self.report["status"]

    @property
    def reason(self) -> str | None:
        return self.report.get("status_reason")


class RunContext:
    """What each report's step needs from the run: the warehouse, the catalog, last night's
    state of every source, the limits and budgets, and the run's extraction processes.

    A plain object, not a dataclass: Prefect walks a task's dataclass parameters field by field
    (the catalog's dicts cost ~50 ms a report in the flow process) and passes a plain object as
    it is. Pickled for another process (a Dask worker) it leaves behind its extraction
    processes, its locks and the catalog: the worker loads the catalog it is installed with and
    refuses to go on if that is not the same version.
    """

    def __init__(self, warehouse: Path, catalog: Catalog, state: dict[str, SourceState],
                 limits: Limits | None = None, budget: Budget | None = None, slots: int = 1) -> None:
        self.warehouse = warehouse
        self._catalog: Catalog | None = catalog
        self.catalog_version = catalog.version
        self.state = state
        self.limits = limits or Limits.from_env()
        self.budget = budget or Budget.from_env()
        self.slots = slots  # extraction processes at most (a parallel runner's worker count)
        self._extractors: dict[int, Extractor] = {}  # bound to a thread (a Dask worker's)
        self._lock = threading.Lock()
        self._free = threading.Condition()
        self._idle: list[Extractor] = []
        self._made: list[Extractor] = []

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:  # unpickled in another process
            catalog = load_catalog()
            if catalog.version != self.catalog_version:
                raise RuntimeError(f"this process's catalog is version {catalog.version}, the run's"
                                   f" {self.catalog_version}: install the same project version on"
                                   " every worker")
            self._catalog = catalog
        return self._catalog

    @contextmanager
    def borrowed_extractor(self) -> Iterator[Extractor]:
        """An extraction worker for one report: this thread's own (a Dask worker's), else one
        of at most ``slots`` shared ones, so reports queued in a wide thread pool never start
        more processes (nor use more memory) than there are workers."""
        with self._lock:
            bound = self._extractors.get(threading.get_ident())
        if bound is not None:
            yield bound
            return
        with self._free:
            while not self._idle and len(self._made) >= max(1, self.slots):
                self._free.wait()
            if self._idle:
                extractor = self._idle.pop()
            else:
                extractor = take_prestarted(self.budget)
                self._made.append(extractor)
        try:
            yield extractor
        finally:
            with self._free:
                self._idle.append(extractor)
                self._free.notify()

    def for_entries(self, report_ids: list[str]) -> RunContext:
        """This context for these reports, to ship to another process: ``state`` narrowed to
        theirs (process_entry reads no other), so a task's parameters do not grow with the
        registry."""
        state = {rid: self.state[rid] for rid in report_ids if rid in self.state}
        narrowed = RunContext.__new__(RunContext)
        narrowed.__setstate__(self.__getstate__() | {"state": state})
        return narrowed

    def use_extractor(self, extractor: Extractor) -> None:
        """Let this thread reuse a worker that outlives the context (a Dask worker's)."""
        with self._lock:
            self._extractors[threading.get_ident()] = extractor

    def close(self) -> None:
        with self._lock, self._free:
            for extractor in [*self._extractors.values(), *self._made]:
                extractor.close()
            self._extractors.clear()
            self._made.clear()
            self._idle.clear()

    _LOCAL = ("_extractors", "_lock", "_free", "_idle", "_made", "_catalog")

    def __getstate__(self) -> dict:  # shipped to another process: without workers, locks, catalog
        return {k: v for k, v in self.__dict__.items() if k not in self._LOCAL}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _extractors={}, _lock=threading.Lock(),
                             _free=threading.Condition(), _idle=[], _made=[], _catalog=None)


_QUOTED_BYTES = re.compile(r"""b(['"]).*?(?<!\\)\1""")
_EXCEPTION_WORDS = {
    "PDFPasswordIncorrect": "the PDF is password-protected",
    "PDFEncryptionError": "the PDF is encrypted in a way that cannot be read",
    "PDFSyntaxError": "the file is not a readable PDF (damaged or truncated)",
    "PSEOF": "the PDF ends unexpectedly (truncated)",
    "PdfiumError": "the PDF cannot be opened (damaged)",
    "MemoryError": "over the memory budget per report (HOTLINE_REPORT_MEMORY_MB)",
}


def safe_reason(text: str) -> str:
    """A reason fit to publish: exception names in words, no quoted bytes, no control
    characters, one line of at most 400 characters."""
    for name, words in _EXCEPTION_WORDS.items():
        if name in text:
            text = re.sub(rf"{name}\b:?.*", f"{words} ({name})", text)
    text = _QUOTED_BYTES.sub("…", text)
    text = "".join(c if c.isprintable() else " " for c in text)
    return re.sub(r"\s+", " ", text).strip()[:400]


def _with_checks(result: ReportResult, checks: list[dict]) -> ReportResult:
    """Name the identities that fail beyond rounding on the report row, count them per statement."""
    failed = [c["check_id"] for c in checks if c["status"] == "failed"]
    result.report["failed_checks"] = ",".join(failed) if failed else None
    per_statement: dict[str, list[int]] = {}
    for row in checks:
        counts = per_statement.setdefault(row["statement"], [0, 0])
        counts[0] += 1
        counts[1] += row["status"] == "failed"
    for st in result.statements:
        evaluated, failing = per_statement.get(st["statement"], (0, 0))
        st |= {"checks_evaluated": evaluated, "checks_failed": failing}
    return result


def _rows(result: ReportResult, checks: list[dict]) -> dict[str, list[dict]]:
    return {"reports": [result.report], "line_items": result.line_items,
            "statements": result.statements, "checks": checks,
            "consistency_checks": result.consistency_checks,
            "quality_issues": result.quality_issues, "codes_seen": result.codes_seen}


def checked_rows(result: ReportResult) -> tuple[ReportResult, list[dict], str]:
    """Identities and schema conformance of one extracted report; (result, checks, stage) with
    stage the step that raised ConformError or any other error."""
    stage = "conform"
    line_items = conform_table("line_items", result.line_items)
    stage = "identities"
    from hotline_budgets.load.checks import evaluate_identities  # DuckDB: only when extracting

    year = result.report["fiscal_year"]
    checks = ([c | {"fiscal_year": year} for c in evaluate_identities(
                  line_items, result.unit_rows, result.stated_zeros)]
              if result.line_items else [])
    return _with_checks(result, checks), checks, stage


def _stale_or_rejected(entry: RegistryEntry, ctx: RunContext, reason: str, stage: str,
                       fetched: FetchedReport | None, started: float) -> ReportOutcome:
    """Tonight failed: keep the last good rows (stale) when there are any, else reject."""
    reason = safe_reason(reason)
    src = ctx.state.get(entry.report_id)
    good = load_processed(ctx.warehouse / "extracted", entry.report_id, src.last_good_key) \
        if src and src.last_good_key else None
    if good is not None:
        result, checks = good
        result.report |= {"status": "stale", "is_cached": True,
                          "status_reason": f"{reason}; the last good version stays published"}
        key = src.last_good_key
    else:
        result, checks, key = rejected_result(entry, ctx.catalog, reason, fetched), [], None
    try:
        tables = conform_report(_rows(result, checks))
    except ConformError:  # the fallback itself does not fit: publish the report row alone
        result = rejected_result(entry, ctx.catalog, reason, fetched)
        tables, key, checks = conform_report(_rows(result, [])), None, []
    return ReportOutcome(entry, result, checks, tables, key, stage, fetched=fetched,
                         seconds=time.monotonic() - started, cache_dir=ctx.warehouse / "extracted")


def process_entry(entry: RegistryEntry, ctx: RunContext, *, dry: bool = False) -> ReportOutcome | None:
    """Fetch, extract, check and conform one report; never raises.

    ``dry`` answers "what would tonight publish for it?" without extracting or retrying: it
    returns None as soon as real work is needed (new bytes, new code, a transient failure).
    """
    started = time.monotonic()
    src = ctx.state.get(entry.report_id)
    previous = None
    if src and src.sha256 and src.url == entry.url:
        previous = Validators(src.sha256, src.etag, src.last_modified)
    try:
        if dry:
            fetched = fetch_report(entry, ctx.warehouse / "raw", ctx.limits, previous)
        else:
            fetched = fetch_with_retries(entry, ctx.warehouse / "raw", ctx.limits, previous)
    except FetchError as exc:  # a dry run retries nothing: a transient failure means "work"
        if dry and exc.is_transient:
            return None
        return _stale_or_rejected(entry, ctx, f"fetch failed: {exc}", "fetch", None, started)
    except Exception as exc:  # a defect in fetching: still this report's problem only
        return None if dry else _stale_or_rejected(
            entry, ctx, f"fetch failed: {type(exc).__name__}", "fetch", None, started)
    change = None
    if src is not None and src.sha256 and src.sha256 != fetched.sha256:
        change = f"bytes changed: {src.sha256[:12]} → {fetched.sha256[:12]} (old version kept in raw/)"
    key = cache_key(entry, fetched.sha256, ctx.catalog.version)
    cache_dir = ctx.warehouse / "extracted"
    if dry:  # an unchanged published report: its head says all a summary needs
        head = load_head(cache_dir, entry.report_id, key)
        if head is not None and head[0]["status"] == FRESH:
            return ReportOutcome.from_head(entry, head[0] | {"is_cached": True}, head[1], key,
                                           cache_dir, reused=True, change=change, fetched=fetched,
                                           seconds=time.monotonic() - started)
    cached = load_processed(cache_dir, entry.report_id, key)
    if cached is not None:
        result, checks = cached
        if result.report["status"] == FRESH:
            result.report["is_cached"] = True
        elif src and src.last_good_key and src.last_good_key != key:
            # tonight's bytes were already found bad: keep the last good version
            return _stale_or_rejected(
                entry, ctx, result.report.get("status_reason") or result.report["status"],
                "extract", fetched, started)
        tables = None  # a dry run publishes nothing; the key covers the schema, so rows still fit
        if not dry:
            try:
                tables = conform_report(_rows(result, checks))
            except ConformError:
                return _stale_or_rejected(entry, ctx, "stored rows no longer fit the schema",
                                          "conform", fetched, started)
        return ReportOutcome(entry, result, checks, tables, key, reused=True, change=change,
                             fetched=fetched, seconds=time.monotonic() - started,
                             cache_dir=cache_dir)
    if dry:
        return None
    stage = "extract"
    try:
        with ctx.borrowed_extractor() as extractor:
            result = extractor.run(entry, fetched)
        stage = "ocr-repair"
        confirm_repairs(result)  # OCR readings settled by the report's identities, before caching
        stage = "conform"
        if result.report["status"] != FRESH:
            save_processed(cache_dir, key, result, [])
            if src and src.last_good_key:
                return _stale_or_rejected(entry, ctx, result.report.get("status_reason") or "rejected",
                                          "extract", fetched, started)
            result.report["status_reason"] = safe_reason(result.report.get("status_reason") or "")
            checks = []
        else:
            result, checks, stage = checked_rows(result)
        stage = "conform"
        tables = conform_report(_rows(result, checks))
    except ExtractionStopped as exc:
        return _stale_or_rejected(entry, ctx, f"extraction stopped: {exc}", stage, fetched, started)
    except ConformError as exc:
        return _stale_or_rejected(entry, ctx, f"values do not fit the schema: {exc}", stage,
                                  fetched, started)
    except Exception as exc:  # identities or conversion broke on this report only
        return _stale_or_rejected(entry, ctx, f"{stage} failed: {type(exc).__name__}: {exc}",
                                  stage, fetched, started)
    save_processed(cache_dir, key, result, checks)
    return ReportOutcome(entry, result, checks, tables, key, change=change, fetched=fetched,
                         seconds=time.monotonic() - started, cache_dir=cache_dir)


# ---------------------------------------------------------------------------------------------
# one year


def year_fingerprint(outcomes: list[ReportOutcome], catalog: Catalog) -> str:
    """Names a year's inputs: each report's rows (by cache key), status and reason, and the code."""
    digest = hashlib.sha256(f"{extractor_version()}\x1f{catalog.version}".encode())
    for o in sorted(outcomes, key=lambda o: o.entry.report_id):
        digest.update("\x1e".join((o.entry.report_id, o.rows_key or "-", o.status,
                                   o.reason or "")).encode())
    return digest.hexdigest()[:16]


def assemble_year(outcomes: list[ReportOutcome], catalog: Catalog) -> dict[str, pa.Table]:
    """The year's tables from the reports' conformed tables, in report_id order, + catalogs."""
    schema = load_schema()
    ordered = sorted(outcomes, key=lambda o: o.entry.report_id)
    spooled = read_spooled([o.spooled for o in ordered if o.spooled is not None])
    in_memory = [o.tables for o in ordered if o.spooled is None and o.tables]
    if spooled and in_memory:
        raise ValueError("a year's reports are partly spooled: release() every outcome or none")
    tables = {name: spooled[name] if name in spooled
              else pa.concat_tables([t[name] for t in in_memory]) if in_memory
              else schema[name].to_arrow([])
              for name in PER_REPORT_TABLES}
    return tables | catalog_tables(catalog)


def validate_year(year: int, tables: dict[str, pa.Table]) -> tuple[pa.Table, list[str]]:
    """expectation_results of the year (Great Expectations) and the failures in words."""
    return validate_years({year: tables})[year]


def validate_years(tables_by_year: dict[int, dict[str, pa.Table]]
                   | Iterable[tuple[int, dict[str, pa.Table]]]
                   ) -> dict[int, tuple[pa.Table, list[str]]]:
    """validate_year for several years in one validation per table name (GX's cost is per
    expectation, not per row; load/validate.validate_tables gives each year its own rows)."""
    from hotline_budgets.load.validate import describe_failures
    from hotline_budgets.load.validator import validator

    schema = load_schema()["expectation_results"]
    return {year: (schema.to_arrow(rows), describe_failures(rows))
            for year, rows in validator().validate_tables(tables_by_year).items()}


def years_to_publish(by_year: dict[int, list[ReportOutcome]], ctx: RunContext
                     ) -> dict[int, list[ReportOutcome]]:
    """The years whose inputs changed since their published version."""
    return {year: group for year, group in by_year.items()
            if current_version(ctx.warehouse, year) != year_fingerprint(group, ctx.catalog)}


def validate_changed_years(by_year: dict[int, list[ReportOutcome]], ctx: RunContext
                           ) -> dict[int, tuple[pa.Table, list[str]]]:
    """Validation of every year about to be published, once per run; never raises. A failure
    here returns nothing, and each year is then validated on its own as it is published, so a
    year that cannot be validated fails alone."""
    changed = years_to_publish(by_year, ctx)
    if len(changed) < 2:
        return {}
    try:
        # a year at a time: each year's tables are handed over and let go before the next
        return validate_years((year, assemble_year(group, ctx.catalog))
                              for year, group in changed.items())
    except Exception:
        return {}


@dataclass
class YearOutcome:
    year: int
    action: str  # rewritten, unchanged, failed
    detail: str = ""
    path: Path | None = None
    expectation_failures: list[str] = field(default_factory=list)


def publish_one_year(year: int, outcomes: list[ReportOutcome], ctx: RunContext,
                     validated: tuple[pa.Table, list[str]] | None = None) -> YearOutcome:
    """Validate and publish a year whose inputs changed; never raises (the old version stays).
    ``validated``: the year's expectation results and failures, when the run validated its
    years together (validate_changed_years)."""
    fingerprint = year_fingerprint(outcomes, ctx.catalog)
    if current_version(ctx.warehouse, year) == fingerprint:
        return YearOutcome(year, "unchanged", path=(ctx.warehouse / str(year)).resolve())
    try:
        tables = assemble_year(outcomes, ctx.catalog)
        results, failures = validated or validate_year(year, tables)
        tables["expectation_results"] = results
        path = publish_year(year, tables, ctx.warehouse, fingerprint)
        return YearOutcome(year, "rewritten", path=path, expectation_failures=failures)
    except Exception as exc:
        return YearOutcome(year, "failed", f"{type(exc).__name__}: {safe_reason(str(exc))}")


def after_publish(warehouse: Path, years: dict[int, Path], all_years_db: Path,
                  problems: list[str], say: Callable[[str], None] = print) -> list[Path]:
    """Steps that run once the warehouse is published: the open-data release
    (``load/release.py``). A release that cannot be built leaves the published warehouse as it
    is and becomes a run-level problem."""
    from hotline_budgets.load.release import build_release

    try:
        manifest = build_release(warehouse)
    except Exception as exc:
        problems.append(f"release not built: {type(exc).__name__}: {safe_reason(str(exc))}")
        say(problems[-1])
        return []
    since = f"changes since {manifest.previous_id}" if manifest.previous_id else "first release"
    say(f"release {manifest.release_id}: {len(manifest.files) + 1} files in {manifest.directory}"
        f" ({since})")
    return [manifest.directory]


# ---------------------------------------------------------------------------------------------
# the run


@dataclass
class RunSummary:
    outcomes: list[ReportOutcome]
    years: list[YearOutcome]
    written: list[Path]
    started_at: datetime
    seconds: float = 0.0
    noop: bool = False  # decided before Prefect started: nothing changed
    problems: list[str] = field(default_factory=list)  # run-level faults (all-years database)

    @property
    def results(self) -> list[ReportResult]:
        return [o.result for o in self.outcomes]

    @property
    def checks(self) -> list[dict]:
        return [c for o in self.outcomes for c in o.checks]

    @property
    def identity_counts(self) -> Counter:
        """Identity statuses over all reports, from the counts (no rows loaded)."""
        total: Counter = Counter()
        for o in self.outcomes:
            total.update(o.counts.identities)
        return total

    @property
    def expectation_failures(self) -> dict[str, list[str]]:
        return {f"{y.year}": y.expectation_failures for y in self.years if y.expectation_failures}

    @property
    def exit_code(self) -> int:
        """0 all fresh; 3 the run completed but some report is not fresh or a year failed."""
        fresh = all(o.status == FRESH for o in self.outcomes)
        ok = fresh and not self.problems and all(y.action != "failed" for y in self.years)
        return 0 if ok else 3


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse."""


class WarehouseLock:
    """One run at a time per warehouse (an advisory lock on DIR/.lock, released on any exit)."""

    def __init__(self, warehouse: Path) -> None:
        self.path = warehouse / ".lock"

    def __enter__(self) -> WarehouseLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = self.path.open("a")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise WarehouseBusy(f"another run is publishing into {self.path.parent}") from None
        return self

    def __exit__(self, *exc) -> None:
        self.fh.close()


def _progress_line(i: int, n: int, o: ReportOutcome) -> str:
    how = "unchanged" if o.reused else f"{o.seconds:.1f} s"
    items = o.counts.line_items
    return f"[{i}/{n}] {o.entry.report_id}: {o.status}, {items} items ({how})"


def select_entries(registry: Path, years: list[int] | None) -> list[RegistryEntry]:
    entries = load_registry(Path(registry))
    return [e for e in entries if not years or e.fiscal_year in set(years)]


def _update_state(ctx: RunContext, outcomes: list[ReportOutcome], years: list[YearOutcome]) -> None:
    """Remember validators and versions of every fetch, and the rows now published per report."""
    published = {y.year for y in years if y.action in ("rewritten", "unchanged")}
    now = fetched_now()
    for o in outcomes:
        src = ctx.state.setdefault(o.entry.report_id, SourceState())
        if o.fetched is not None:
            record_version(src, o.entry.url, o.fetched.sha256, o.fetched.size_bytes, now)
            src.url, src.sha256 = o.entry.url, o.fetched.sha256
            src.etag, src.last_modified = o.fetched.etag, o.fetched.last_modified
        if o.entry.fiscal_year in published and o.rows_key and o.status in (FRESH, "stale"):
            src.last_good_key = o.rows_key
        keep = {k for k in (src.last_good_key, o.rows_key) if k}
        if o.fetched is not None:
            keep.add(cache_key(o.entry, o.fetched.sha256, ctx.catalog.version))
        prune(ctx.warehouse / "extracted", o.entry.report_id, keep)


def _versions_digest(state: dict[str, SourceState]) -> str:
    """Names the report_versions rows, without last_seen_at: it moves every night and is
    published whenever the warehouse is written anyway, never the reason to write it."""
    stable = [{k: v for k, v in r.items() if k != "last_seen_at"} for r in version_rows(state)]
    return hashlib.sha256(json.dumps(stable, default=str, sort_keys=True).encode()).hexdigest()[:16]


def _versions_table(state: dict[str, SourceState]) -> pa.Table:
    return load_schema()["report_versions"].to_arrow(version_rows(state))


def write_run_summary(warehouse: Path, summary: RunSummary) -> Path:
    """DIR/run_summary.json: every report's outcome and reason, the years, the exit code."""
    payload = {
        "started_at": summary.started_at.isoformat(),
        "seconds": round(summary.seconds, 2),
        "exit_code": summary.exit_code,
        "nothing_changed": summary.noop,
        "reports": [dict(report_id=o.entry.report_id, fiscal_year=o.entry.fiscal_year,
                         status=o.status, reason=o.reason, stage=o.stage,
                         line_items=o.counts.line_items, reused=o.reused, change=o.change,
                         failed_checks=o.report.get("failed_checks"),
                         quality_issues=o.counts.quality_issues,
                         source_sha256=o.report.get("source_sha256"))
                    for o in summary.outcomes],
        "changes": [f"{o.entry.report_id}: {o.change}" for o in summary.outcomes if o.change],
        "problems": summary.problems,
        "years": [dict(year=y.year, action=y.action, detail=y.detail,
                       expectation_failures=y.expectation_failures) for y in summary.years],
        "written": [str(p) for p in summary.written],
    }
    path = warehouse / SUMMARY_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def quick_noop_check(registry: Path, warehouse: Path, years: list[int] | None) -> RunSummary | None:
    """Without Prefect: when every report's bytes, code and catalog are unchanged and every year
    and the all-years database are current, the run is over — a summary of nothing changed.
    None when there is work (or any doubt)."""
    warehouse = Path(warehouse)
    if not (warehouse / ALL_YEARS_DB).exists():
        return None
    started_at, t0 = datetime.now(UTC), time.monotonic()
    entries = select_entries(registry, years)
    with WarehouseLock(warehouse):
        ctx = RunContext(warehouse, load_catalog(), load_state(warehouse))
        outcomes = []
        for entry in entries:
            o = process_entry(entry, ctx, dry=True)
            if o is None or o.change:
                return None
            outcomes.append(o)
        by_year: dict[int, list[ReportOutcome]] = {}
        for o in outcomes:
            by_year.setdefault(o.entry.fiscal_year, []).append(o)
        if any(current_version(warehouse, y) != year_fingerprint(os_, ctx.catalog)
               for y, os_ in by_year.items()):
            return None
        digest = _versions_digest(ctx.state)
        if not all_years_is_current(warehouse, digest):
            return None
        year_outcomes = [YearOutcome(y, "unchanged", path=(warehouse / str(y)).resolve())
                         for y in sorted(by_year)]
        _update_state(ctx, outcomes, year_outcomes)
        save_state(warehouse, ctx.state)
        summary = RunSummary(outcomes, year_outcomes, [], started_at, time.monotonic() - t0, noop=True)
        summary.written.append(write_run_summary(warehouse, summary))
        return summary


ReportMapper = Callable[[list[RegistryEntry], "RunContext"], Iterable[ReportOutcome]]


def run_pipeline(registry: Path, warehouse: Path, years: list[int] | None = None,
                 progress: Callable[[str], None] | None = None,
                 report: Callable = process_entry, publish: Callable = publish_one_year,
                 map_reports: ReportMapper | None = None, slots: int = 1,
                 validate: Callable = validate_changed_years) -> RunSummary:
    """The whole run; ``report``/``publish`` are the per-report and per-year steps and
    ``validate`` the one validation of the changed years (plain functions, or Prefect tasks
    inside the flow). ``map_reports`` runs the per-report step over
    the entries in parallel (a task runner); it yields the outcomes in registry order, with at
    most ``slots`` extraction processes in this process."""
    warehouse = Path(warehouse)
    started_at, t0 = datetime.now(UTC), time.monotonic()
    entries = select_entries(registry, years)
    say = progress or (lambda line: None)
    # Arrow's default pool (mimalloc) keeps what it freed; a run's phases each hold different
    # tables, and the system allocator gives large blocks back as they are freed
    pa.set_memory_pool(pa.system_memory_pool())
    with WarehouseLock(warehouse):
        cleanup(warehouse)
        remove_stale_spools(warehouse)
        cleanup_incoming(warehouse / "raw")
        ctx = RunContext(warehouse, load_catalog(), load_state(warehouse), slots=slots)
        from hotline_budgets.load.validator import close_validator

        try:
            with RowSpool(warehouse) as spool:
                return _run_with_spool(entries, ctx, spool, started_at, t0, say, report, publish,
                                       map_reports, validate)
        finally:
            close_validator()  # the run's GX process: its memory ends with the run


def _start_validator() -> None:
    """Start the run's validation process (load/validator.py) now: it imports Great Expectations
    while the reports are extracted, in a process of its own."""
    from hotline_budgets.load.validator import validator

    validator()


def _run_with_spool(entries: list[RegistryEntry], ctx: RunContext, spool: RowSpool,
                    started_at: datetime, t0: float, say: Callable[[str], None],
                    report: Callable, publish: Callable,
                    map_reports: ReportMapper | None, validate: Callable) -> RunSummary:
    """run_pipeline's body once the warehouse is locked: every outcome is spooled as it
    arrives, so memory holds the reports in flight and one year's tables, not the registry."""
    warehouse = ctx.warehouse
    outcomes: list[ReportOutcome] = []
    validating = False
    try:
        mapped = map_reports(entries, ctx) if map_reports else (report(e, ctx) for e in entries)
        for i, outcome in enumerate(mapped, 1):
            say(_progress_line(i, len(entries), outcome))
            if not validating and not outcome.reused:  # a year will be validated tonight
                validating = True
                _start_validator()
            outcome.release(spool)
            outcomes.append(outcome)
    finally:
        ctx.close()
        spool.finish()
    position = {e.report_id: i for i, e in enumerate(entries)}  # a parallel runner's order is
    outcomes.sort(key=lambda o: position[o.entry.report_id])    # the order they finished in
    by_year: dict[int, list[ReportOutcome]] = {}
    for o in outcomes:
        by_year.setdefault(o.entry.fiscal_year, []).append(o)
    validated = validate(by_year, ctx)
    year_outcomes = []
    for year, group in sorted(by_year.items()):
        year_outcomes.append(publish(year, group, ctx, validated.get(year)))
        say(f"year {year}: {year_outcomes[-1].action} {year_outcomes[-1].detail}".rstrip())
    failed_years = {y.year: y.detail for y in year_outcomes if y.action == "failed"}
    for o in outcomes:  # a year that could not be published: its reports say so
        if o.entry.fiscal_year in failed_years:
            had_version = current_version(warehouse, o.entry.fiscal_year) is not None
            o.report |= {"status": "stale" if had_version else "rejected",
                         "status_reason": f"publishing {o.entry.fiscal_year} failed:"
                                f" {failed_years[o.entry.fiscal_year]}; the previous version"
                                " stays published"}
    _update_state(ctx, outcomes, year_outcomes)
    digest = _versions_digest(ctx.state)
    written = [y.path for y in year_outcomes if y.action == "rewritten" and y.path]
    all_years = warehouse / ALL_YEARS_DB
    problems = []
    if not all_years_is_current(warehouse, digest):
        try:
            all_years = publish_all_years(warehouse, set(CATALOG_TABLES),
                                          {"report_versions": _versions_table(ctx.state)}, digest,
                                          current=catalog_tables(ctx.catalog))
            written.append(all_years)
        except Exception as exc:  # the previous all-years database stays; the next run retries
            problems.append(f"all-years database not rewritten: {type(exc).__name__}:"
                            f" {safe_reason(str(exc))}")
            say(problems[-1])
    save_state(warehouse, ctx.state)
    if written:  # an unchanged night leaves the last release as it is
        written += after_publish(warehouse, {y.year: y.path for y in year_outcomes if y.path},
                                 all_years, problems, say)
    summary = RunSummary(outcomes, year_outcomes, written, started_at, time.monotonic() - t0,
                         problems=problems)
    summary.written.append(write_run_summary(warehouse, summary))
    return summary


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
