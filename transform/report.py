"""One report's bytes → its rows for every published table (reports, line_items, …).

A report never raises out of here: whatever goes wrong becomes its status and reason, so one
broken report cannot stop the others. ``process_report`` is a short pipeline of named steps:
read the PDF once (text and tables) → key each statement table → read the explanation text →
merge (tables win) → check codes against the catalog → build the published rows.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field, replace

from hotline_budgets.extract.fetch import FetchedReport
from hotline_budgets.extract.layer import LayerPage, Unreadable
from hotline_budgets.extract.narrative import PrintedSection, read_explanation
from hotline_budgets.extract.pdf_text import Illegible, NeedsOcr, PdfText, open_pdf, read_page_texts
from hotline_budgets.extract.tables import RawTable, TableScan, scan_tables
from hotline_budgets.extract.words import PageWords
from hotline_budgets.records import IssueKind, Method, Presence, ReportStatus
from hotline_budgets.registry import RegistryEntry
from hotline_budgets.schema import load_schema
from hotline_budgets.statements import expected_statements
from hotline_budgets.text import compact
from hotline_budgets.transform.catalog import Catalog
from hotline_budgets.transform.choose import reading_rank
from hotline_budgets.transform.consistency import check_consistency
from hotline_budgets.transform.facts import Fact
from hotline_budgets.transform.narrative_facts import NarrativeFacts, narrative_facts
from hotline_budgets.transform.table_facts import (
    CLASS_NAME_STATEMENTS,
    UNIT_FACTOR,
    StatementCoverage,
    TableFacts,
    facts_from_table,
    load_labels,
    parse_amount,
    to_wan,
)


@dataclass
class ReportResult:
    """A report's rows, one list per published table (each row has exactly its table's columns)."""

    report: dict
    line_items: list[dict] = field(default_factory=list)
    statements: list[dict] = field(default_factory=list)
    quality_issues: list[dict] = field(default_factory=list)
    codes_seen: list[dict] = field(default_factory=list)
    consistency_checks: list[dict] = field(default_factory=list)
    # OCR cells whose value the identities must settle (load.ocr_repair); empty once settled
    pending_repairs: list[dict] = field(default_factory=list)
    # Amounts of the rows per budget unit and of the total row above them (no SCHEMA unit key:
    # not line items, listed as ignored_cell); the identities check that they add up.
    unit_rows: list[dict] = field(default_factory=list)
    # Keys the explanation text states as 0万元 (no line items: zeros are not stored); for the
    # identities, a part stated as zero is known, a part not stated at all is unknown.
    stated_zeros: list[dict] = field(default_factory=list)


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
    # the text layer's pages as read (the consistency locator finds boxes on them)
    layer_pages: dict[int, LayerPage] = field(default_factory=dict)


class PdfUnreadable(Exception):
    """The bytes do not open as a PDF or its text layer cannot be read."""


def read_pdf(pdf_bytes: bytes) -> PdfRead:
    """Open the PDF once and read its page texts and its tables from the same parsed pages.

    Pages without a usable text layer are OCRed (only those) and their words read by the same
    table reader. Raises Illegible for a scan where OCR finds nothing and PdfUnreadable for a
    damaged file, before the tables are looked for."""
    with ExitStack() as stack:
        try:
            pdf = stack.enter_context(open_pdf(pdf_bytes))
            text = read_page_texts(pdf)
        except (NeedsOcr, Illegible):
            raise
        except Unreadable as exc:  # damaged, not a PDF, password-protected: pdfium says which
            raise PdfUnreadable(str(exc)) from exc
        except Exception as exc:  # anything else a damaged file makes a reader raise
            raise PdfUnreadable(f"{type(exc).__name__}: {exc}") from exc
        return PdfRead(text, scan_tables(pdf, text.pages, text.ocr_words), pdf.read_pages())


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


def join_continuations(tables: list[RawTable]) -> list[RawTable]:
    """One table per statement where a producer repeats the title on every page.

    Shenzhen, Yantai and Xi'an print "表3 支出总表" again above each continuation page; a table
    of the same statement starting on the page after the previous one ends, with the same
    columns, continues it (its repeated header was already split off by the reader).
    """
    out: list[RawTable] = []
    for table in tables:
        prev = out[-1] if out else None
        if (prev is not None and prev.statement == table.statement
                and table.pages[0] == prev.pages[-1] + 1
                and prev.column_paths == table.column_paths
                and prev.source_unit == table.source_unit):
            prev.boxes = prev.boxes[:len(prev.rows)] + [[] for _ in range(len(prev.rows) - len(prev.boxes))]
            prev.rows.extend(table.rows)
            prev.boxes.extend(table.boxes[:len(table.rows)]
                              + [[] for _ in range(len(table.rows) - len(table.boxes))])
            prev.pages.extend(table.pages)
            prev.printed_empty = prev.printed_empty and table.printed_empty
            continue
        out.append(table)
    return out


def resolve_fund_parent(best: dict[str, TableFacts]) -> None:
    """Store a summary's unsplit 财政拨款 line as the one fund the appropriation summary shows.

    See labels.yaml ``fund_parent_rows``: the parse keeps the reading under which the summary's
    income identity holds, and only when another statement of the same report confirms it.
    """
    book = load_labels()
    summary, approp = best.get("summary"), best.get("appropriation_summary")
    if summary is None or approp is None:
        return
    funds = set(book.fund_items)
    if any(f.item in funds for f in summary.facts):
        return
    shown = {f.item: f.amount_wan for f in approp.facts if f.item in funds and f.measure == "total"}
    if len(shown) != 1:
        return
    (item, amount), = shown.items()
    factor = UNIT_FACTOR[next(iter(summary.source_units))]
    for cell in list(summary.ignored):
        value = parse_amount(cell.amount_text)
        if (not book.fund_parent_rows.search(cell.row_label) or value is None
                or to_wan(value, factor) != amount):
            continue
        summary.ignored.remove(cell)
        summary.facts.append(Fact(
            statement="summary", classification="item", code=None, item=item, measure="total",
            amount_wan=amount, item_name=cell.row_label, page=cell.page, method="table",
            source_text=cell.amount_text))
        return


def key_tables(entry: RegistryEntry, scan: TableScan, catalog: Catalog,
               ocr_words: dict[int, PageWords] | None = None) -> KeyedTables:
    """Every table → facts; a statement printed twice keeps the fuller table (the other is noted).

    Coded tables are keyed first: their code + name pairs resolve the 款/项 a summary prints by
    name only. Cells on OCR pages become OCR values carrying the confidence of the words in their
    box.
    """
    best: dict[str, TableFacts] = {}
    issues: list[dict] = []
    printed: dict[str, str] = {}
    ocr_words = ocr_words or {}
    ocr_pages = frozenset(ocr_words)
    joined = join_continuations(scan.tables)
    for table in sorted(joined, key=lambda t: t.statement in CLASS_NAME_STATEMENTS):
        result = with_ocr_confidence(
            facts_from_table(table, catalog, report_kind=entry.report_kind,
                             fiscal_year=entry.fiscal_year, printed=printed, ocr_pages=ocr_pages),
            ocr_words)
        printed.update({f.code: f.item_name for f in result.facts
                        if f.classification == "function" and f.code and f.item_name})
        cov = result.coverage[0]
        prev = best.get(cov.statement)
        if prev is None or reading_rank(result) > reading_rank(prev):
            best[cov.statement], result = result, prev
        if result is not None:
            dropped = result.coverage[0]
            issues.append(_issue(entry, "skipped_table",
                                 f"second table for {dropped.statement} ({dropped.title}) ignored",
                                 dropped.statement, dropped.pages[0]))
    for table in join_continuations(scan.alternatives):
        # another reading of a statement (the ruled grid): kept if it reconciles better
        result = with_ocr_confidence(
            facts_from_table(table, catalog, report_kind=entry.report_kind,
                             fiscal_year=entry.fiscal_year, printed=printed, ocr_pages=ocr_pages),
            ocr_words)
        st = result.coverage[0].statement
        if st not in best or reading_rank(result) > reading_rank(best[st]):
            best[st] = result
    resolve_fund_parent(best)
    return KeyedTables(best, issues)


def _box_confidence(bbox: str | None, pw: PageWords | None) -> float | None:
    """The lowest engine confidence among the OCR words whose centre lies in ``bbox``."""
    if not bbox or pw is None:
        return None
    x0, top, x1, bottom = (float(v) for v in bbox.split(","))
    confs = [w.confidence for w in pw.words if w.confidence is not None
             and x0 - 1 <= (w.x0 + w.x1) / 2 <= x1 + 1 and top - 1 <= (w.top + w.bottom) / 2 <= bottom + 1]
    return min(confs) if confs else None


def with_ocr_confidence(result: TableFacts, ocr_words: dict[int, PageWords]) -> TableFacts:
    """OCR table facts (and pending readings) with the confidence of the words they were read from."""
    if not ocr_words:
        return result

    def fill(f: Fact) -> Fact:
        if f.method != "ocr":
            return f
        conf = _box_confidence(f.source_bbox, ocr_words.get(f.page))
        return replace(f, ocr_confidence=conf)

    result.facts = [fill(f) for f in result.facts]
    result.pending = [replace(p, fact=fill(p.fact)) for p in result.pending]
    return result


def table_issues(entry: RegistryEntry, keyed: KeyedTables, scan: TableScan) -> list[dict]:
    """Unmapped cells of the kept tables, and the tables skipped or not recognised."""
    issues = [_issue(entry, "unmapped_cell", f"{cell.reason}: row {cell.row_label!r}, column"
                     f" {cell.column!r}, value {cell.amount_text}", cell.statement, cell.page)
              for result in keyed.best.values() for cell in result.unmapped]
    issues += [issue for result in keyed.best.values() for issue in _ignored_issues(entry, result)]
    issues += [_issue(entry, "skipped_table", f"table {s.title!r} has no statement in SCHEMA.md",
                      None, s.page) for s in scan.skipped]
    issues += [_issue(entry, "unknown_table", f"table under {u.context!r} names no known statement",
                      None, u.page) for u in scan.unknown]
    return issues


def printed_codes(table_facts: list[Fact]) -> dict[str, str]:
    """Function code → name as the report's tables print it (resolves names the catalog lacks)."""
    return {f.code: f.item_name for f in table_facts
            if f.classification == "function" and f.code and f.item_name}


def _ignored_issues(entry: RegistryEntry, result: TableFacts) -> list[dict]:
    """Cells deliberately not stored, one issue per statement, page and reason (with amounts)."""
    grouped: dict[tuple[str, int, str], list[str]] = {}
    for cell in result.ignored:
        grouped.setdefault((cell.statement, cell.page, cell.reason), []).append(
            f"{cell.row_label or '(no label)'} / {cell.column or '(no header)'} = {cell.amount_text}")
    return [_issue(entry, "ignored_cell", f"not stored, {reason}: " + "; ".join(cells),
                   statement, page)
            for (statement, page, reason), cells in grouped.items()]


def read_text_facts(entry: RegistryEntry, sections: list[PrintedSection], table_facts: list[Fact],
                    catalog: Catalog) -> NarrativeFacts:
    """Explanation-text facts (``sections``: the report's read_explanation), resolving names
    with the code + name pairs the tables print."""
    return narrative_facts(sections, report_kind=entry.report_kind, fiscal_year=entry.fiscal_year,
                           catalog=catalog, printed_codes=printed_codes(table_facts))


def zero_kept_facts(entry: RegistryEntry, sections: list[PrintedSection], table_facts: list[Fact],
                    catalog: Catalog) -> list[Fact]:
    """Explanation-text facts with zero amounts kept; read once, as the stated zeros and the
    consistency checks both use them."""
    return narrative_facts(sections, report_kind=entry.report_kind, fiscal_year=entry.fiscal_year,
                           catalog=catalog, printed_codes=printed_codes(table_facts),
                           keep_zeros=True).facts


def stated_zero_rows(entry: RegistryEntry, zeros: list[Fact], facts: list[Fact]) -> list[dict]:
    """The keys the explanation text states as 0万元 (``zeros``: :func:`zero_kept_facts`) and
    no published fact gives, for load.checks."""
    taken = {f.key for f in facts}
    return [dict(report_id=entry.report_id, statement=f.statement, classification=f.classification,
                 code=f.code, item=f.item, measure=f.measure, page=f.page)
            for f in zeros if f.amount_wan == 0 and f.key not in taken]


def consistency_rows(entry: RegistryEntry, pdf_bytes: bytes, pages: list[str],
                     table_facts: list[Fact], statements: list[dict], catalog: Catalog,
                     layer_pages: dict[int, LayerPage] | None = None,
                     zero_facts: list[Fact] | None = None) -> list[dict]:
    """The report's consistency checks (text against tables, names, years, units), as rows
    (``layer_pages``: the pages the reading already parsed, found on without re-reading;
    ``zero_facts``: :func:`zero_kept_facts`, when already read)."""
    rows = check_consistency(entry, pages, table_facts, statements, catalog, pdf_bytes,
                             printed_codes(table_facts), layer_pages, zero_facts)
    return [_row("consistency_checks", **r) for r in rows]


def codes_seen_rows(entry: RegistryEntry, facts: list[Fact], catalog: Catalog) -> list[dict]:
    """Every code + printed name pair of the tables, checked against the catalog of the year."""
    seen: dict[tuple[str, str, str], dict] = {}
    for f in facts:
        if f.reader != Method.TABLE or f.code is None:
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
                 method=f.method, source_text=f.source_text, source_bbox=f.source_bbox,
                 ocr_confidence=f.ocr_confidence)
            for f in facts]


def unit_rows(entry: RegistryEntry, keyed: KeyedTables) -> list[dict]:
    """The per-unit and total-row amounts of the kept tables, for load.checks."""
    return [dict(report_id=entry.report_id, statement=u.statement, page=u.page, unit=u.unit,
                 parent=u.parent, unit_name=u.unit_name, column=u.column,
                 amount_wan=u.amount_wan, source_text=u.source_text)
            for result in keyed.best.values() for u in result.unit_cells]


def pending_rows(entry: RegistryEntry, keyed: KeyedTables, facts: list[Fact]) -> list[dict]:
    """OCR cells with more than one reading, for load.ocr_repair (a key already taken is skipped)."""
    taken = {f.key for f in facts}
    return [dict(line_item=line_item_rows(entry, [p.fact])[0], as_read=p.as_read,
                 alternatives=list(p.alternatives), kind=p.kind)
            for result in keyed.best.values() for p in result.pending if p.fact.key not in taken]


def superseded_readings(entry: RegistryEntry, keyed: KeyedTables, facts: list[Fact]) -> list[dict]:
    """Pending OCR cells whose key another fact (the explanation text) already gives: noted,
    the other value kept."""
    by_key = {f.key: f for f in facts}
    return [_issue(entry, "unmapped_cell",
                   f"OCR cell {p.fact.source_text!r} ({'/'.join(k for k in p.fact.key if k)}, "
                   f"at {p.fact.source_bbox}) is an uncertain reading ({p.kind}); the "
                   f"{by_key[p.fact.key].reader} gives {by_key[p.fact.key].amount_wan}, kept",
                   p.fact.statement, p.fact.page)
            for result in keyed.best.values() for p in result.pending if p.fact.key in by_key]


def ocr_provenance(fact: Fact, ocr_words: dict[int, PageWords]) -> Fact:
    """A text fact from a scanned page: method ocr, with the confidence and box of the OCR line
    that prints its amount (the page's mean confidence when no single line holds it)."""
    pw = ocr_words.get(fact.page)
    if pw is None:
        return fact
    amount = format(fact.amount_wan.normalize(), "f")
    hits = [w for w in pw.words if amount in compact(w.text).replace(",", "")]
    if hits:
        w = min(hits, key=lambda w: w.confidence or 0.0)
        return replace(fact, method="ocr", read_by="narrative", source_text=fact.source_text or w.text,
                       source_bbox=w.bbox, ocr_confidence=w.confidence)
    confs = [w.confidence for w in pw.words if w.confidence is not None]
    return replace(fact, method="ocr", read_by="narrative",
                   ocr_confidence=round(sum(confs) / len(confs), 4) if confs else None)


def ocr_page_issues(entry: RegistryEntry, text: PdfText) -> list[dict]:
    """How each scanned page was read: words, confidence, what was done to the image."""
    issues = []
    for st in text.ocr_stats:
        pw = text.ocr_words[st.page]
        confs = [w.confidence for w in pw.words if w.confidence is not None]
        low = sum(1 for c in confs if c < 0.8)
        mean = sum(confs) / len(confs) if confs else 0.0
        issues.append(_issue(
            entry, "ocr_page",
            f"page read by OCR: {len(pw.words)} words, mean confidence {mean:.3f}, {low} below 0.8;"
            f" {st.dpi:g} dpi, deskewed {st.skew_deg:+.2f}°" + (", denoised" if st.denoised else "")
            + f", {len(pw.rules)} rules found", None, st.page))
    return issues


def unreadable_text_issues(entry: RegistryEntry, pages: dict[int, LayerPage]) -> list[dict]:
    """Printed characters the text layer gives no text for, per page: their font is neither
    embedded in the PDF nor installed on this machine, so the page's text and tables miss them."""
    return [_issue(entry, "unreadable_text",
                   f"{page.unreadable_glyphs} printed text object(s) give no text: their font is not"
                   " embedded in the PDF and no installed font has them (install a CJK font, e.g."
                   " Debian's fonts-wqy-zenhei); this page's text and tables may miss characters",
                   None, number)
            for number, page in sorted(pages.items()) if page.unreadable_glyphs]


def statement_rows(entry: RegistryEntry, keyed: KeyedTables, facts: list[Fact]) -> list[dict]:
    """One row per expected (or found) statement: printed with data, empty, text only or absent."""
    coverage = keyed.coverage
    narrative_statements = {f.statement for f in facts if f.reader != Method.TABLE}
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


def process_report(entry: RegistryEntry, fetched: FetchedReport, catalog: Catalog,
                   pdf: PdfRead | None = None) -> ReportResult:
    """Extract, key and cross-check one fetched report (``pdf``: its reading, when already done)."""
    try:
        pdf = pdf or read_pdf(fetched.read_bytes())
    except NeedsOcr as exc:
        return rejected_result(entry, catalog, f"needs OCR: {exc}", fetched, ReportStatus.NEEDS_OCR)
    except Illegible as exc:
        return rejected_result(entry, catalog, f"OCR found nothing legible: {exc}", fetched)
    except PdfUnreadable as exc:
        return rejected_result(entry, catalog, f"cannot open PDF: {exc}", fetched)

    keyed = key_tables(entry, pdf.scan, catalog, pdf.text.ocr_words)
    issues = (ocr_page_issues(entry, pdf.text) + unreadable_text_issues(entry, pdf.layer_pages)
              + keyed.issues + table_issues(entry, keyed, pdf.scan))
    sections = read_explanation(pdf.text.pages)  # immutable: read once for both readings
    narrative = read_text_facts(entry, sections, keyed.facts, catalog)
    text_facts = [ocr_provenance(f, pdf.text.ocr_words) for f in narrative.facts]
    facts, conflicts = merge_facts(keyed.facts, text_facts)
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

    issues += superseded_readings(entry, keyed, facts)
    codes = codes_seen_rows(entry, facts, catalog)
    issues += code_issues(entry, codes, catalog)
    line_items = line_item_rows(entry, facts)
    report |= dict(status=str(ReportStatus.PUBLISHED), status_reason=None, line_item_count=len(line_items))
    statements = statement_rows(entry, keyed, facts)
    zeros = zero_kept_facts(entry, sections, keyed.facts, catalog)
    checks = consistency_rows(entry, fetched.read_bytes(), pdf.text.pages, keyed.facts,
                              statements, catalog, pdf.layer_pages, zeros)
    return ReportResult(report=report, line_items=line_items, statements=statements,
                        quality_issues=issues, codes_seen=codes, consistency_checks=checks,
                        pending_repairs=pending_rows(entry, keyed, facts),
                        unit_rows=unit_rows(entry, keyed),
                        stated_zeros=stated_zero_rows(entry, zeros, facts))
