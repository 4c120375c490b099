"""One report's bytes → its rows for every published table (reports, line_items, …).

A report never raises out of here: whatever goes wrong becomes its status and reason, so one
broken report cannot stop the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline_budgets.extract.fetch import FetchedReport
from hotline_budgets.extract.narrative import read_narrative
from hotline_budgets.extract.pdf_text import NeedsOcr, read_page_texts
from hotline_budgets.extract.tables import scan_tables
from hotline_budgets.registry import RegistryEntry
from hotline_budgets.transform.catalog import Catalog
from hotline_budgets.transform.consistency import check_consistency
from hotline_budgets.transform.facts import Fact
from hotline_budgets.transform.table_facts import TableFacts, facts_from_table

EXPECTED_STATEMENTS = {
    "final_accounts": [
        "summary", "income", "expenditure", "appropriation_summary",
        "general_budget_expenditure", "general_budget_basic_economic",
        "gov_fund", "soe_capital", "three_public", "execution",
    ],
    "budget": [
        "summary", "income", "expenditure", "appropriation_summary",
        "general_budget_expenditure", "general_budget_basic_economic",
        "general_budget_economic", "gov_fund", "soe_capital", "three_public",
    ],
}


@dataclass
class ReportResult:
    report: dict
    line_items: list[dict] = field(default_factory=list)
    statements: list[dict] = field(default_factory=list)
    quality_issues: list[dict] = field(default_factory=list)
    codes_seen: list[dict] = field(default_factory=list)
    consistency_checks: list[dict] = field(default_factory=list)


def base_report_row(entry: RegistryEntry, catalog: Catalog) -> dict:
    return dict(
        report_id=entry.report_id, fiscal_year=entry.fiscal_year, report_kind=entry.report_kind,
        scope=entry.scope, entity_name=entry.entity_name, region_code=entry.region_code,
        source_url=entry.url, catalog_version=catalog.version, line_item_count=0,
        is_cached=False,
    )


def rejected_result(entry: RegistryEntry, catalog: Catalog, reason: str,
                    fetched: FetchedReport | None = None, status: str = "rejected") -> ReportResult:
    """A report that publishes nothing, with the reason a maintainer can act on."""
    row = base_report_row(entry, catalog) | dict(status=status, status_reason=reason)
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
    return dict(report_id=entry.report_id, fiscal_year=entry.fiscal_year, kind=kind,
                statement=statement, page=page, detail=detail)


def _codes_seen(entry: RegistryEntry, facts: list[Fact], catalog: Catalog) -> list[dict]:
    seen: dict[tuple[str, str, str], dict] = {}
    for f in facts:
        if f.method != "table" or f.code is None:
            continue
        key = (f.classification, f.code, f.item_name)
        if key in seen:
            continue
        entry_ = catalog.table(f.classification).get(f.code)
        seen[key] = dict(
            report_id=entry.report_id, fiscal_year=entry.fiscal_year,
            classification=f.classification, code=f.code, printed_name=f.item_name,
            catalog_name=entry_.name if entry_ else None, is_known_code=entry_ is not None,
            is_name_match=bool(f.item_name) and catalog.name_matches(f.classification, f.code, f.item_name),
            catalog_status=entry_.status if entry_ else None,
            statement=f.statement, page=f.page,
        )
    return list(seen.values())


def process_report(entry: RegistryEntry, fetched: FetchedReport, catalog: Catalog) -> ReportResult:
    """Extract, key and cross-check one fetched report."""
    pdf_bytes = fetched.read_bytes()
    try:
        text = read_page_texts(pdf_bytes)
    except NeedsOcr as exc:
        return rejected_result(entry, catalog, f"needs OCR: {exc}", fetched, status="needs_ocr")
    except Exception as exc:  # pdfminer raises many kinds on a damaged file
        return rejected_result(entry, catalog, f"cannot open PDF: {type(exc).__name__}: {exc}", fetched)

    scan = scan_tables(pdf_bytes)
    table_facts: list[Fact] = []
    issues: list[dict] = []
    coverage = {}
    units: set[str] = set()
    best: dict[str, TableFacts] = {}
    for table in scan.tables:
        result = facts_from_table(table, catalog, report_kind=entry.report_kind)
        cov = result.coverage[0]
        prev = best.get(cov.statement)
        if prev is None or cov.nonzero_cells > prev.coverage[0].nonzero_cells:
            best[cov.statement], result = result, prev
        if result is not None:  # the same statement printed twice: keep the fuller one
            dropped = result.coverage[0]
            issues.append(_issue(entry, "skipped_table",
                                 f"second table for {dropped.statement} ({dropped.title}) ignored",
                                 dropped.statement, dropped.pages[0]))
    for result in best.values():
        table_facts.extend(result.facts)
        units |= result.source_units
        coverage[result.coverage[0].statement] = result.coverage[0]
        for cell in result.unmapped:
            issues.append(_issue(
                entry, "unmapped_cell",
                f"{cell.reason}: row {cell.row_label!r}, column {cell.column!r}, value {cell.amount_text}",
                cell.statement, cell.page))
    for skipped in scan.skipped:
        issues.append(_issue(entry, "skipped_table",
                             f"table {skipped.title!r} has no statement in SCHEMA.md", None, skipped.page))
    for unknown in scan.unknown:
        issues.append(_issue(entry, "unknown_table",
                             f"table under {unknown.context!r} names no known statement",
                             None, unknown.page))

    printed = {f.code: f.item_name for f in table_facts
               if f.classification == "function" and f.code and f.item_name}
    narrative = read_narrative(text.pages, report_kind=entry.report_kind,
                               fiscal_year=entry.fiscal_year, catalog=catalog, printed_codes=printed)
    facts, conflicts = merge_facts(table_facts, narrative.facts)
    issues += [_issue(entry, "narrative_conflict", c) for c in conflicts]
    issues += [_issue(entry, n.kind, n.detail, n.statement, n.page) for n in narrative.notes]

    report = base_report_row(entry, catalog) | dict(
        source_sha256=fetched.sha256, source_size_bytes=fetched.size_bytes,
        fetched_at=fetched.fetched_at, page_count=text.page_count,
        source_unit=sorted(units)[0] if len(units) == 1 else ("万元" if not units else "元"),
    )
    if not facts:
        found = ", ".join(sorted(coverage)) or "no statement table"
        unknown = "; ".join(f"page {u.page}: table under {u.context or '(no title)'!r} names no"
                            " known statement" for u in scan.unknown[:5])
        reason = (f"layout not understood: found {found}; "
                  + (f"{unknown}; " if unknown else "")
                  + "no explanation-text fact matched")
        return ReportResult(report=report | dict(status="rejected", status_reason=reason),
                            quality_issues=issues)

    codes = _codes_seen(entry, facts, catalog)
    for c in codes:
        if not c["is_known_code"]:
            issues.append(_issue(entry, "unknown_code",
                                 f"{c['classification']} code {c['code']} ({c['printed_name']}) "
                                 "is not in the catalog", c["statement"], c["page"]))
        elif not c["is_name_match"]:
            issues.append(_issue(entry, "code_name_mismatch",
                                 f"{c['classification']} code {c['code']} printed as "
                                 f"{c['printed_name']!r}, catalog says {c['catalog_name']!r}",
                                 c["statement"], c["page"]))

    line_items = [
        dict(report_id=entry.report_id, fiscal_year=entry.fiscal_year, statement=f.statement,
             classification=f.classification, code=f.code, item=f.item, measure=f.measure,
             amount_wan=f.amount_wan, item_name=f.item_name, page=f.page, method=f.method)
        for f in facts
    ]
    narrative_statements = {f.statement for f in facts if f.method != "table"}
    statements = []
    for st in dict.fromkeys(EXPECTED_STATEMENTS[entry.report_kind] + sorted(coverage)):
        cov = coverage.get(st)
        if cov is not None:
            presence = "table" if cov.nonzero_cells else "empty"
        else:
            presence = "narrative_only" if st in narrative_statements else "absent"
        statements.append(dict(
            report_id=entry.report_id, fiscal_year=entry.fiscal_year, statement=st,
            presence=presence, printed_title=cov.title if cov else None,
            pages=",".join(map(str, cov.pages)) if cov else None,
            nonzero_cells=cov.nonzero_cells if cov else None,
            body_rows=cov.body_rows if cov else None,
            unmapped_cells=len(best[st].unmapped) if cov else None,
            line_items=sum(1 for f in facts if f.statement == st)))
    report |= dict(status="published", status_reason=None, line_item_count=len(line_items))
    consistency = check_consistency(entry, text.pages, table_facts, statements, catalog,
                                    pdf_bytes, printed)
    return ReportResult(report=report, line_items=line_items, statements=statements,
                        quality_issues=issues, codes_seen=codes, consistency_checks=consistency)
