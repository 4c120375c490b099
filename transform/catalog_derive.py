"""The classification catalog grown from evidence: every code + name a bundled report prints.

``hotline-budgets catalog derive`` processes every bundled registry, keeps each printed pair as
evidence (``catalogs/code_evidence.csv``: the table's codes_seen plus codes printed next to a
name in the text layer), and rewrites ``function_codes.csv`` / ``economic_codes.csv``:

- ``reference`` rows (from a cited source) are kept as they are, with their evidence counted;
- a code printed with the same name by at least two reports of different entities becomes an
  ``observed`` row (name, first/last fiscal year seen, report and entity counts);
- a code printed by one entity only becomes a ``single_report`` row;
- a code printed with different names is listed in ``code_name_conflicts.csv`` (the name kept is
  the reference name, else the one printed by the most entities).

The derivation from evidence (:func:`derive`) is a pure function, so the committed CSVs can be
checked against the committed evidence.
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from hotline_budgets.text import normalize_name
from hotline_budgets.transform.catalog import CATALOG_DIR, Catalog, load_catalog

EVIDENCE_FILE = "code_evidence.csv"
CONFLICTS_FILE = "code_name_conflicts.csv"
EVIDENCE_COLUMNS = ["classification", "code", "printed_name", "report_id", "entity_name",
                    "fiscal_year", "source", "page"]
CODE_COLUMNS = ["code", "level", "name", "parent", "first_year", "last_year", "source", "status",
                "report_count", "entity_count"]
CONFLICT_COLUMNS = ["classification", "code", "printed_name", "is_kept", "report_count",
                    "entity_count", "reports"]
LEVELS = {"function": {3: "类", 5: "款", 7: "项"}, "economic": {3: "类", 5: "款"}}
FILES = {"function": "function_codes.csv", "economic": "economic_codes.csv"}
RULES_FILE = Path(__file__).parent / "catalog_evidence.yaml"


@cache
def evidence_rules(path: Path = RULES_FILE) -> dict:
    """What counts as evidence (catalog_evidence.yaml), patterns compiled."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return raw | {"text_code": re.compile(raw["text_code"]),
                  "not_a_name_start": re.compile(raw["not_a_name_start"]),
                  "header_names": frozenset(raw["header_names"]),
                  "row_labels": _row_labels() if raw.get("row_labels_are_no_names") else (),
                  "code_shapes": {cls: re.compile(p) for cls, p in raw["code_shapes"].items()}}


def _row_labels() -> tuple[re.Pattern[str], ...]:
    """The whole-label patterns of the summary rows without a code (transform/labels.yaml
    row_items: 年初结转和结余, 本年收入合计 …): a row label is never a code's name."""
    labels = yaml.safe_load((Path(__file__).parent / "labels.yaml").read_text(encoding="utf-8"))
    return tuple(re.compile(r["pattern"]) for side in labels["row_items"].values() for r in side)


@dataclass(frozen=True)
class Evidence:
    """One code + name pair printed by one report."""

    classification: str
    code: str
    printed_name: str
    report_id: str
    entity_name: str
    fiscal_year: int
    source: str  # table | text
    page: int | None


# --------------------------------------------------------------------------- collecting


def text_layer_codes(pages: list[str]) -> list[tuple[str, str, str, int]]:
    """(classification, code, name, page) of every code printed at a line start next to a name."""
    rules = evidence_rules()
    found = []
    for number, page in enumerate(pages, start=1):
        for line in page.splitlines():
            m = rules["text_code"].match(line.strip())
            if m is None or rules["not_a_name_start"].match(m["name"]):
                continue
            code = m["code"]
            classification = "function" if code.startswith("2") else "economic"
            if len(code) in LEVELS[classification]:
                found.append((classification, code, normalize_name(m["name"]), number))
    return found


def table_classification(row: dict) -> str:
    """What a code printed in a table's rows is: the reader's classification when the digits fit
    it, else the one its statement is keyed by (statements.yaml ``codes``: a 30101 of a
    基本支出经济分类表 read as a function code is economic)."""
    from hotline_budgets.statements import load_statements

    shapes = evidence_rules()["code_shapes"]
    if shapes[row["classification"]].fullmatch(row["code"]):
        return row["classification"]
    spec = load_statements().get(row.get("statement") or "")
    return spec.codes if spec is not None else row["classification"]


def is_misread(e: Evidence) -> bool:
    """A pair that is a misread table, not a code's name (catalog_evidence.yaml): a header or a
    measure taken for the name, or a code whose digits are no code of its classification."""
    rules = evidence_rules()
    shape = rules["code_shapes"].get(e.classification)
    return (e.printed_name in rules["header_names"] or shape is None or not shape.fullmatch(e.code)
            or any(p.search(e.printed_name) for p in rules["row_labels"]))


def cut_or_reordered(weights: dict[str, int]) -> set[str]:
    """Names of one code that are another of its names misread: cut short (a proper prefix:
    "大型修" of "大型修缮") or with its wrapped lines out of order (a rotation of a name printed by
    more entities: "险缴费支出机关事业单位基本养老保" of "机关事业单位基本养老保险缴费支出").
    ``weights``: name → entities printing it."""
    return {n for n in weights for m in weights if n != m and (
        m.startswith(n) or (len(n) == len(m) and n in m + m and weights[m] > weights[n]))}


def collect_evidence(registries: Iterable[Path], catalog: Catalog | None = None) -> list[Evidence]:
    """Process every report of the registries; their printed code + name pairs."""
    from hotline_budgets.extract.fetch import FetchError, fetch_report
    from hotline_budgets.extract.pdf_text import read_page_texts
    from hotline_budgets.registry import load_registry
    from hotline_budgets.transform.report import process_report

    catalog = catalog or load_catalog()
    rows: list[Evidence] = []
    with tempfile.TemporaryDirectory() as archive:
        for registry in registries:
            for entry in load_registry(registry):
                try:
                    fetched = fetch_report(entry, Path(archive))
                except FetchError:
                    continue
                result = process_report(entry, fetched, catalog)
                for c in result.codes_seen:
                    rows.append(Evidence(table_classification(c), c["code"],
                                         normalize_name(c["printed_name"] or ""), entry.report_id,
                                         entry.entity_name, entry.fiscal_year, "table", c["page"]))
                try:
                    pages = read_page_texts(fetched.read_bytes()).pages
                except Exception:  # a scan or a broken file has no text layer to read
                    pages = []
                for cls, code, name, page in text_layer_codes(pages):
                    rows.append(Evidence(cls, code, name, entry.report_id, entry.entity_name,
                                         entry.fiscal_year, "text", page))
    return dedupe(rows)


def dedupe(rows: Iterable[Evidence]) -> list[Evidence]:
    """One row per (code, name, report): a table's pair wins over the same pair in the text."""
    best: dict[tuple[str, str, str, str], Evidence] = {}
    for r in sorted(rows, key=lambda r: (r.source != "table", r.page or 0)):
        if r.printed_name:
            best.setdefault((r.classification, r.code, r.printed_name, r.report_id), r)
    return sorted(best.values(), key=lambda r: (r.classification, r.code, r.printed_name,
                                                r.report_id))


# --------------------------------------------------------------------------- deriving


def _cited(source: str) -> str:
    """The cited part of a source (evidence from bundled reports lives in code_evidence.csv)."""
    parts = [p.strip() for p in source.split(";")]
    return "; ".join(p for p in parts if p and not re.match(r"printed( by name)?: [a-z0-9_-]+ p\.", p)
                     and not p.startswith(("printed by ", "seen in ")))


def reference_rows(rows: list[dict]) -> dict[str, dict]:
    """The rows of an existing catalog file that come from a cited source."""
    keep = {}
    for r in rows:
        status = r.get("status") or ("reference" if _cited(r["source"]) else "")
        if status == "reference":
            keep[r["code"]] = r | {"source": _cited(r["source"]), "status": "reference"}
    return keep


def usable(evidence: list[Evidence], references: dict[str, dict[str, dict]]) -> list[Evidence]:
    """The evidence the derivation uses (catalog_evidence.yaml): no misread pair (a header taken
    for a name, digits of no code of the classification), the table's pair over the text layer's,
    no code under a class no source cites."""
    rules = evidence_rules()
    in_tables = {(e.report_id, e.classification, e.code) for e in evidence
                 if e.source == "table" and not is_misread(e)}
    kept = []
    for e in evidence:
        if is_misread(e):
            continue
        if (rules["table_wins_over_text"] and e.source == "text"
                and (e.report_id, e.classification, e.code) in in_tables):
            continue
        refs = references.get(e.classification, {})
        if rules["require_reference_class"] and e.code not in refs and e.code[:3] not in refs:
            continue
        kept.append(e)
    return kept


def derive(evidence: list[Evidence], references: dict[str, dict[str, dict]],
           catalog: Catalog) -> tuple[dict[str, list[dict]], list[dict]]:
    """({classification: catalog rows}, conflict rows) from the evidence and the reference rows."""
    by_code: dict[tuple[str, str], dict[str, list[Evidence]]] = defaultdict(lambda: defaultdict(list))
    for e in usable(evidence, references):
        if len(e.code) in LEVELS.get(e.classification, {}):
            by_code[(e.classification, e.code)][catalog.canonical(e.printed_name)].append(e)
    for (cls, code), names in by_code.items():
        ref = references.get(cls, {}).get(code)
        weights = {n: len({e.entity_name for e in seen}) for n, seen in names.items()}
        if ref:  # the cited name outweighs every printed one
            weights[catalog.canonical(ref["name"])] = len(evidence) + 1
        for misread in cut_or_reordered(weights) & set(names):
            del names[misread]
    tables: dict[str, list[dict]] = {}
    conflicts: list[dict] = []
    for cls in ("function", "economic"):
        rows = {code: dict(r) for code, r in references.get(cls, {}).items()}
        for code, r in rows.items():
            seen = [e for names in by_code.get((cls, code), {}).values() for e in names]
            r |= {"report_count": len({e.report_id for e in seen}),
                  "entity_count": len({e.entity_name for e in seen})}
        for (c, code), names in sorted(by_code.items()):
            if c != cls:
                continue
            ref = rows.get(code)
            ranked = sorted(names.items(), key=lambda kv: (
                -len({e.entity_name for e in kv[1]}), -len({e.report_id for e in kv[1]}),
                -max(e.fiscal_year for e in kv[1]), kv[0]))
            kept = catalog.canonical(ref["name"]) if ref else ranked[0][0]
            if len(names) > 1 or (ref and kept not in names):
                for name, seen in ranked:
                    conflicts.append(dict(
                        classification=cls, code=code, printed_name=name, is_kept=name == kept,
                        report_count=len({e.report_id for e in seen}),
                        entity_count=len({e.entity_name for e in seen}),
                        reports=" ".join(sorted({e.report_id for e in seen}))))
            if ref:
                continue
            seen = names[kept]
            entities = {e.entity_name for e in seen}
            reports = sorted({e.report_id for e in seen})
            printed = seen[0].printed_name
            pages = defaultdict(set)
            for e in seen:
                pages[e.report_id].add(e.page or 0)
            rows[code] = dict(
                code=code, level=LEVELS[cls][len(code)], name=printed,
                parent=code[:-2] if len(code) > 3 else "",
                first_year=min(e.fiscal_year for e in seen),
                last_year=max(e.fiscal_year for e in seen),
                source="printed by " + "; ".join(
                    f"{rid} p.{','.join(str(p) for p in sorted(pages[rid]))}" for rid in reports[:4])
                + (f"; +{len(reports) - 4} more" if len(reports) > 4 else ""),
                status="observed" if len(entities) >= 2 else "single_report",
                report_count=len(reports), entity_count=len(entities))
        tables[cls] = [rows[c] for c in sorted(rows)]
    return tables, conflicts


# --------------------------------------------------------------------------- files


def read_evidence(directory: Path = CATALOG_DIR) -> list[Evidence]:
    with (directory / EVIDENCE_FILE).open(encoding="utf-8", newline="") as fh:
        return [Evidence(r["classification"], r["code"], r["printed_name"], r["report_id"],
                         r["entity_name"], int(r["fiscal_year"]), r["source"],
                         int(r["page"]) if r["page"] else None) for r in csv.DictReader(fh)]


def _write(path: Path, columns: list[str], rows: Iterable[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({c: r.get(c, "") for c in columns})


def current_references(directory: Path = CATALOG_DIR) -> dict[str, dict[str, dict]]:
    refs = {}
    for cls, name in FILES.items():
        with (directory / name).open(encoding="utf-8", newline="") as fh:
            refs[cls] = reference_rows(list(csv.DictReader(fh)))
    return refs


def write_catalog(evidence: list[Evidence], directory: Path = CATALOG_DIR,
                  catalog: Catalog | None = None) -> dict[str, int]:
    """Write evidence, both code tables and the conflicts; the counts for the summary line."""
    catalog = catalog or load_catalog(directory)
    tables, conflicts = derive(evidence, current_references(directory), catalog)
    _write(directory / EVIDENCE_FILE, EVIDENCE_COLUMNS, (e.__dict__ for e in evidence))
    for cls, rows in tables.items():
        _write(directory / FILES[cls], CODE_COLUMNS, rows)
    _write(directory / CONFLICTS_FILE, CONFLICT_COLUMNS, conflicts)
    counts = {"evidence": len(evidence), "conflicting_codes": len({(c["classification"], c["code"])
                                                                    for c in conflicts})}
    for cls, rows in tables.items():
        for status in ("reference", "observed", "single_report"):
            counts[f"{cls}_{status}"] = sum(1 for r in rows if r["status"] == status)
    return counts
