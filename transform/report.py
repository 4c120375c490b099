"""One report's bytes → its rows for every published table (reports, line_items, …).

A report never raises out of here: whatever goes wrong becomes its status and reason, so one
broken report cannot stop the others. ``process_report`` is a short pipeline of named steps:
read the PDF once (text and tables) → key each statement table → read the explanation text →
merge (tables win) → check codes against the catalog → build the published rows.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field

from hotline_budgets.extract.fetch import FetchedReport
from hotline_budgets.extract.pdf_text import NeedsOcr, PdfText, open_pdf, read_page_texts
from hotline_budgets.extract.tables import TableScan, scan_tables
from hotline_budgets.records import IssueKind, Method, Presence, ReportStatus
from hotline_budgets.registry import RegistryEntry
from hotline_budgets.schema import load_schema
from hotline_budgets.statements import expected_statements
from hotline_budgets.transform.catalog import Catalog
from hotline_budgets.transform.consistency import check_consistency
from hotline_budgets.transform.facts import Fact
from hotline_budgets.transform.narrative_facts import NarrativeFacts, read_narrative
from hotline_budgets.transform.table_facts import StatementCoverage, TableFacts, facts_from_table


@dataclass
class ReportResult:
    """A report's rows, one list per published table (each row has exactly its table's columns)."""

    report: dict
    line_items: list[dict] = field(default_factory=list)
    statements: list[dict] = field(default_factory=list)
    quality_issues: list[dict] = field(default_factory=list)
    codes_seen: list[dict] = field(default_factory=list)
    consistency_checks: list[dict] = field(default_factory=list)


def _row(table: str, **values) -> dict:
    """A row of a published table, refusing column names the schema does not declare."""
    return load_schema()[table].row(**values)


def base_report_row(entry: RegistryEntry, catalog: Catalog) -> dict:
    return _row(
        "reports", report_id=entry.report_id, fiscal_year=entry.fiscal_year,
        report_kind=entry.report_kind, scope=entry.scope, entity_name=entry.entity_name,
        region_code=entry.region_code, source_url=entry.url, catalog_version=catalog.version,
        line_item_count=0, is_cached=False,
    )


def rejected_result(entry: RegistryEntry, catalog: Catalog, reason: str,
                    fetched: FetchedReport | None = None,
                    status: str = ReportStatus.REJECTED) -> ReportResult:
    """A report that publishes nothing, with the reason a maintainer can act on."""
    row = base_report_row(entry, catalog) | dict(status=str(status), status_reason=reason)
    if fetched is not None:
        row |= dict(source_sha256=fetched.sha256, source_size_bytes=fetched.size_bytes,
                    fetched_at=fetched.fetched_at)
    return ReportResult(report=row)


def merge_facts(table_facts: list[Fact], narrative: list[Fact]) -> tuple[list[Fact], list[str]]:
    """Tables win per natural key; execution (text-only) is always kept. Returns conflicts."""
    by_key = {f.key: f for f in table_facts}
    merged = list(table_facts)
    conflicts: list[str] = []
    for fact in narrative:
        if fact.key in by_key:
            kept = by_key[fact.key]
            if fact.statement != "execution" and kept.amount_wan != fact.amount_wan:
                conflicts.append(
                    f"text p.{fact.page} says {fact.amount_wan} for {'/'.join(fact.key)}, "
                    f"table p.{kept.page} prints {kept.amount_wan} (table kept)")
            continue
        by_key[fact.key] = fact
        merged.append(fact)
    return merged, conflicts


def _issue(entry: RegistryEntry, kind: str, detail: str, statement: str | None = None,
           page: int | None = None) -> dict:
    return _row("quality_issues", report_id=entry.report_id, fiscal_year=entry.fiscal_year,
                kind=str(IssueKind(kind)), statement=statement, page=page, detail=detail)


# --------------------------------------------------------------------------- steps


@dataclass
class PdfRead:
    """What one opening of the PDF gives: its text layer and its statement tables."""

    text: PdfText
    scan: TableScan


class PdfUnreadable(Exception):
    """The bytes do not open as a PDF or its text layer cannot be read."""


def read_pdf(pdf_bytes: bytes) -> PdfRead:
    """Open the PDF once and read its page texts and its tables from the same parsed pages.

    Raises NeedsOcr for a scan without a text layer and PdfUnreadable for a damaged file, before
    the tables are looked for."""
    with ExitStack() as stack:
        try:
            pdf = stack.enter_context(open_pdf(pdf_bytes))
            text = read_page_texts(pdf)
        except NeedsOcr:
            raise
        except Exception as exc:  # pdfminer raises many kinds on a damaged file
            # pdfplumber wraps the real error (e.g. a password-protected file) in its first argument
            inner = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
            raise PdfUnreadable(f"{type(inner).__name__}: {inner}") from exc
        return PdfRead(text, scan_tables(pdf))


@dataclass
class KeyedTables:
    """The statement tables of a report keyed as facts: the fullest table per statement."""

    best: dict[str, TableFacts]
    issues: list[dict]

    @property
    def facts(self) -> list[Fact]:
        return [f for result in self.best.values() for f in result.facts]

    @property
    def coverage(self) -> dict[str, StatementCoverage]:
        return {st: result.coverage[0] for st, result in self.best.items()}

    @property
    def source_units(self) -> set[str]:
        return {u for result in self.best.values() for u in result.source_units}


def key_tables(entry: RegistryEntry, scan: TableScan, catalog: Catalog) -> KeyedTables:
    """Every table → facts; a statement printed twice keeps the fuller table (the other is noted)."""
    best: dict[str, TableFacts] = {}
    issues: list[dict] = []
    for table in scan.tables:
        result = facts_from_table(table, catalog, report_kind=entry.report_kind)
        cov = result.coverage[0]
        prev = best.get(cov.statement)
        if prev is None or cov.nonzero_cells > prev.coverage[0].nonzero_cells:
            best[cov.statement], result = result, prev
        if result is not None:
            dropped = result.coverage[0]
            issues.append(_issue(entry, "skipped_table",
                                 f"second table for {dropped.statement} ({dropped.title}) ignored",
                                 dropped.statement, dropped.pages[0]))
    return KeyedTables(best, issues)


def table_issues(entry: RegistryEntry, keyed: KeyedTables, scan: TableScan) -> list[dict]:
    """Unmapped cells of the kept tables, and the tables skipped or not recognised."""
    issues = [_issue(entry, "unmapped_cell", f"{cell.reason}: row {cell.row_label!r}, column"
                     f" {cell.column!r}, value {cell.amount_text}", cell.statement, cell.page)
              for result in keyed.best.values() for cell in result.unmapped]
    issues += [_issue(entry, "skipped_table", f"table {s.title!r} has no statement in SCHEMA.md",
                      None, s.page) for s in scan.skipped]
    issues += [_issue(entry, "unknown_table", f"table under {u.context!r} names no known statement",
                      None, u.page) for u in scan.unknown]
    return issues


def printed_codes(table_facts: list[Fact]) -> dict[str, str]:
    """Function code → name as the report's tables print it (resolves names the catalog lacks)."""
    return {f.code: f.item_name for f in table_facts
            if f.classification == "function" and f.code and f.item_name}


def read_text_facts(entry: RegistryEntry, pages: list[str], table_facts: list[Fact],
                    catalog: Catalog) -> NarrativeFacts:
    """Explanation-text facts, resolving names with the code + name pairs the tables print."""
    return read_narrative(pages, report_kind=entry.report_kind, fiscal_year=entry.fiscal_year,
                          catalog=catalog, printed_codes=printed_codes(table_facts))


def consistency_rows(entry: RegistryEntry, pdf_bytes: bytes, pages: list[str],
                     table_facts: list[Fact], statements: list[dict], catalog: Catalog) -> list[dict]:
    """The report's consistency checks (text against tables, names, years, units), as rows."""
    rows = check_consistency(entry, pages, table_facts, statements, catalog, pdf_bytes,
                             printed_codes(table_facts))
    return [_row("consistency_checks", **r) for r in rows]


def codes_seen_rows(entry: RegistryEntry, facts: list[Fact], catalog: Catalog) -> list[dict]:
    """Every code + printed name pair of the tables, checked against the catalog of the year."""
    seen: dict[tuple[str, str, str], dict] = {}
    for f in facts:
        if f.method != Method.TABLE or f.code is None:
            continue
        key = (f.classification, f.code, f.item_name)
        if key in seen:
            continue
        known = catalog.entry(f.classification, f.code, entry.fiscal_year)
        seen[key] = _row(
            "codes_seen", report_id=entry.report_id, fiscal_year=entry.fiscal_year,
            classification=f.classification, code=f.code, printed_name=f.item_name,
            catalog_name=known.name if known else None, is_known_code=known is not None,
            is_name_match=bool(f.item_name) and catalog.name_matches(
                f.classification, f.code, f.item_name, entry.fiscal_year),
            catalog_status=known.status if known else None,
            statement=f.statement, page=f.page,
        )
    return list(seen.values())


def code_issues(entry: RegistryEntry, codes: list[dict], catalog: Catalog) -> list[dict]:
    """Codes the catalog does not know in the report's year, and names that contradict it."""
    issues = []
    for c in codes:
        if not c["is_known_code"]:
            other = catalog.entry(c["classification"], c["code"])
            where = (f" for {entry.fiscal_year} (known {other.first_year}–{other.last_year})"
                     if other else "")
            issues.append(_issue(entry, "unknown_code",
                                 f"{c['classification']} code {c['code']} ({c['printed_name']}) "
                                 f"is not in the catalog{where}", c["statement"], c["page"]))
        elif not c["is_name_match"]:
            issues.append(_issue(entry, "code_name_mismatch",
                                 f"{c['classification']} code {c['code']} printed as "
                                 f"{c['printed_name']!r}, catalog says {c['catalog_name']!r}",
                                 c["statement"], c["page"]))
    return issues


def line_item_rows(entry: RegistryEntry, facts: list[Fact]) -> list[dict]:
    return [_row("line_items", report_id=entry.report_id, fiscal_year=entry.fiscal_year,
                 statement=f.statement, classification=f.classification, code=f.code, item=f.item,
                 measure=f.measure, amount_wan=f.amount_wan, item_name=f.item_name, page=f.page,
                 method=f.method, source_text=f.source_text)
            for f in facts]


def statement_rows(entry: RegistryEntry, keyed: KeyedTables, facts: list[Fact]) -> list[dict]:
    """One row per expected (or found) statement: printed with data, empty, text only or absent."""
    coverage = keyed.coverage
    narrative_statements = {f.statement for f in facts if f.method != Method.TABLE}
    rows = []
    for st in dict.fromkeys(expected_statements(entry.report_kind) + sorted(coverage)):
        cov = coverage.get(st)
        if cov is not None:
            presence = Presence.TABLE if cov.nonzero_cells else Presence.EMPTY
        else:
            presence = Presence.NARRATIVE_ONLY if st in narrative_statements else Presence.ABSENT
        rows.append(_row(
            "statements", report_id=entry.report_id, fiscal_year=entry.fiscal_year, statement=st,
            presence=str(presence), printed_title=cov.title if cov else None,
            pages=",".join(map(str, cov.pages)) if cov else None,
            nonzero_cells=cov.nonzero_cells if cov else None,
            body_rows=cov.body_rows if cov else None,
            unmapped_cells=len(keyed.best[st].unmapped) if cov else None,
            line_items=sum(1 for f in facts if f.statement == st)))
    return rows


def not_understood(coverage: dict[str, StatementCoverage], scan: TableScan) -> str:
    """Why a report gave no fact at all, naming what was found."""
    found = ", ".join(sorted(coverage)) or "no statement table"
    unknown = "; ".join(f"page {u.page}: table under {u.context or '(no title)'!r} names no"
                        " known statement" for u in scan.unknown[:5])
    return (f"layout not understood: found {found}; " + (f"{unknown}; " if unknown else "")
            + "no explanation-text fact matched")


def _source_unit(units: set[str]) -> str:
    return sorted(units)[0] if len(units) == 1 else ("万元" if not units else "元")


# --------------------------------------------------------------------------- the pipeline


def process_report(entry: RegistryEntry, fetched: FetchedReport, catalog: Catalog) -> ReportResult:
    """Extract, key and cross-check one fetched report."""
    pdf_bytes = fetched.read_bytes()
    try:
        pdf = read_pdf(pdf_bytes)
    except NeedsOcr as exc:
        return rejected_result(entry, catalog, f"needs OCR: {exc}", fetched, ReportStatus.NEEDS_OCR)
    except PdfUnreadable as exc:
        return rejected_result(entry, catalog, f"cannot open PDF: {exc}", fetched)

    keyed = key_tables(entry, pdf.scan, catalog)
    issues = keyed.issues + table_issues(entry, keyed, pdf.scan)
    narrative = read_text_facts(entry, pdf.text.pages, keyed.facts, catalog)
    facts, conflicts = merge_facts(keyed.facts, narrative.facts)
    issues += [_issue(entry, "narrative_conflict", c) for c in conflicts]
    issues += [_issue(entry, n.kind, n.detail, n.statement, n.page) for n in narrative.notes]

    report = base_report_row(entry, catalog) | dict(
        source_sha256=fetched.sha256, source_size_bytes=fetched.size_bytes,
        fetched_at=fetched.fetched_at, page_count=pdf.text.page_count,
        source_unit=_source_unit(keyed.source_units))
    if not facts:
        reason = not_understood(keyed.coverage, pdf.scan)
        return ReportResult(report=report | dict(status=str(ReportStatus.REJECTED), status_reason=reason),
                            quality_issues=issues)

    codes = codes_seen_rows(entry, facts, catalog)
    issues += code_issues(entry, codes, catalog)
    line_items = line_item_rows(entry, facts)
    report |= dict(status=str(ReportStatus.PUBLISHED), status_reason=None, line_item_count=len(line_items))
    statements = statement_rows(entry, keyed, facts)
    checks = consistency_rows(entry, pdf_bytes, pdf.text.pages, keyed.facts, statements, catalog)
    return ReportResult(report=report, line_items=line_items, statements=statements,
                        quality_issues=issues, codes_seen=codes, consistency_checks=checks)
