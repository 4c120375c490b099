"""The classification catalogs (function 类/款/项, economic 类/款) as data, and lookups on them.

The CSV files under ``transform/catalogs/`` are the single source; code never lists codes.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from hotline_budgets.records import CodeList
from hotline_budgets.text import normalize_name

CATALOG_DIR = Path(__file__).parent / "catalogs"


@dataclass(frozen=True)
class CodeEntry:
    code: str
    level: str
    name: str
    parent: str
    first_year: int
    last_year: int
    source: str
    status: str = "reference"  # reference | observed | single_report (catalog_derive.py)
    report_count: int = 0  # bundled reports printing the code (any name)
    entity_count: int = 0  # distinct entities among them

    def valid_in(self, year: int | None) -> bool:
        """True when the catalog knows the code in fiscal ``year`` (any year when None)."""
        return year is None or self.first_year <= year <= self.last_year


@dataclass
class CodeIndex:
    """One classification's codes, by code and by parent (function and economic never mix)."""

    entries: dict[str, CodeEntry]
    by_parent: dict[str, list[CodeEntry]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for entry in self.entries.values():
            self.by_parent.setdefault(entry.parent, []).append(entry)

    def get(self, code: str, year: int | None = None) -> CodeEntry | None:
        entry = self.entries.get(code)
        return entry if entry is not None and entry.valid_in(year) else None

    def children(self, parent: str) -> list[CodeEntry]:
        """Codes one level below ``parent`` ("" for the 类)."""
        return self.by_parent.get(parent, [])


@dataclass
class Catalog:
    function: dict[str, CodeEntry]
    economic: dict[str, CodeEntry]
    aliases: dict[str, str]
    version: str
    alias_notes: dict[str, str] = field(default_factory=dict)
    indexes: dict[CodeList, CodeIndex] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.indexes = {CodeList.FUNCTION: CodeIndex(self.function),
                        CodeList.ECONOMIC: CodeIndex(self.economic)}

    def canonical(self, name: str) -> str:
        """A printed name with punctuation normalised and known variants replaced."""
        norm = normalize_name(name)
        return self.aliases.get(norm, norm)

    def table(self, classification: str) -> dict[str, CodeEntry]:
        """Every code of one classification, whatever its years."""
        return self.indexes[CodeList(classification)].entries

    def entry(self, classification: str, code: str, year: int | None = None) -> CodeEntry | None:
        """The catalog's entry for ``code`` when it is known in fiscal ``year`` (any year: None)."""
        return self.indexes[CodeList(classification)].get(code, year)

    def corroborated(self, classification: str) -> set[str]:
        """Codes from a cited source or printed alike by two entities (not seen once only)."""
        return {c for c, e in self.table(classification).items() if e.status != "single_report"}

    def knows(self, classification: str, code: str, year: int | None = None) -> bool:
        return self.entry(classification, code, year) is not None

    def name_matches(self, classification: str, code: str, printed: str,
                     year: int | None = None) -> bool:
        """True when the printed name is the catalog's name for the code, modulo aliases."""
        entry = self.entry(classification, code, year)
        return entry is not None and self.canonical(printed) == self.canonical(entry.name)

    def function_codes_named(self, parent: str, name: str, year: int | None = None) -> list[str]:
        """Function codes one level below ``parent`` ("" for the 类) whose name is ``name``.

        Codes known in ``year`` are preferred; the years are evidence (the reports a code was
        seen in), so a name no code of that year carries falls back to the codes of any year."""
        wanted = self.canonical(name)
        named = [e for e in self.indexes[CodeList.FUNCTION].children(parent)
                 if self.canonical(e.name) == wanted]
        in_year = [e for e in named if e.valid_in(year)]
        return [e.code for e in in_year or named]

    def resolve_class(self, name: str, year: int | None = None) -> str | None:
        """3-digit function class code for a class printed by name (一、一般公共服务支出 → 201)."""
        return next(iter(self.function_codes_named("", name, year)), None)


@dataclass
class NameResolver:
    """类/款/项 names → code, from the catalog and the code + name pairs the report's own tables print.

    A report's tables are evidence for the names its text uses: a 项 the catalog lacks but the
    report prints with a code still resolves. Every failure says why, so that a narrative amount
    whose name cannot be placed is reported, not silently lost.
    """

    catalog: Catalog
    printed: dict[str, str] = field(default_factory=dict)  # function code → printed name
    year: int | None = None  # the report's fiscal year: codes known in it are preferred

    def children(self, parent: str, name: str) -> set[str]:
        """Codes one level below ``parent`` (or classes, for parent "") whose name is ``name``."""
        wanted = self.catalog.canonical(name)
        width = len(parent) + 2 if parent else 3
        hits = set(self.catalog.function_codes_named(parent, name, self.year))
        hits |= {code for code, printed in self.printed.items()
                 if len(code) == width and code.startswith(parent)
                 and self.catalog.canonical(printed) == wanted}
        return hits

    def resolve_path(self, names: list[str]) -> tuple[str | None, str | None]:
        """(code, None) for a 类/款/项 path printed by names, or (None, why it failed)."""
        code = ""
        for depth, name in enumerate(names):
            hits = self.children(code, name)
            level = ("类", "款", "项")[depth]
            where = f" under {code}" if code else ""
            if len(hits) > 1:
                return None, f"ambiguous: {level} {name!r}{where} matches {sorted(hits)}"
            if not hits:
                return None, (f"unresolved: no {level} named {name!r}{where}"
                              " in the catalog or the report's tables")
            code = hits.pop()
        return code or None, None


def _read(path: Path) -> dict[str, CodeEntry]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {
            r["code"]: CodeEntry(
                r["code"], r["level"], r["name"], r["parent"],
                int(r["first_year"]), int(r["last_year"]), r["source"],
                r.get("status") or "reference", int(r.get("report_count") or 0),
                int(r.get("entity_count") or 0),
            )
            for r in csv.DictReader(fh)
        }


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def load_catalog(directory: Path = CATALOG_DIR) -> Catalog:
    """Load the catalog files; the version is a hash of their bytes (it makes extractions stale)."""
    digest = hashlib.sha256()
    for name in ("function_codes.csv", "economic_codes.csv", "code_aliases.csv"):
        digest.update((directory / name).read_bytes())
    alias_rows = _read_rows(directory / "code_aliases.csv")
    return Catalog(
        function=_read(directory / "function_codes.csv"),
        economic=_read(directory / "economic_codes.csv"),
        aliases={normalize_name(r["variant"]): normalize_name(r["canonical"]) for r in alias_rows},
        version=digest.hexdigest()[:12],
        alias_notes={normalize_name(r["variant"]): r["note"] for r in alias_rows},
    )


def catalog_table_rows(catalog: Catalog, directory: Path = CATALOG_DIR) -> dict[str, list[dict]]:
    """Rows of every published catalog table (function_codes … cofog_crosswalk), from the CSVs.

    The crosswalk's order of rows per function code is its ranking: the first target listed is
    the one ``spending_by_cofog`` allocates to (``target_rank`` 1).
    """

    def codes(entries: dict[str, CodeEntry]) -> list[dict]:
        return [dict(code=e.code, level=e.level, name=e.name, parent=e.parent or None,
                     first_year=e.first_year, last_year=e.last_year, source=e.source,
                     status=e.status, report_count=e.report_count, entity_count=e.entity_count)
                for e in sorted(entries.values(), key=lambda e: e.code)]

    rank: dict[str, int] = {}
    crosswalk = []
    for r in _read_rows(directory / "cofog_crosswalk.csv"):
        code = r["function_code"].strip()
        rank[code] = rank.get(code, 0) + 1
        target = r["cofog_code"].strip()
        crosswalk.append(dict(function_code=code, cofog_code=target, cofog_division=target[:2],
                              target_rank=rank[code], match_quality=r["match_quality"].strip(),
                              note=r["note"].strip()))
    return {
        "function_codes": codes(catalog.function),
        "economic_codes": codes(catalog.economic),
        "code_aliases": [dict(variant=v, canonical=c, note=catalog.alias_notes.get(v) or None)
                         for v, c in sorted(catalog.aliases.items())],
        "cofog_divisions": [{k: r[k].strip() for k in ("cofog_code", "level", "name_en")}
                            for r in _read_rows(directory / "cofog_divisions.csv")],
        "cofog_crosswalk": crosswalk,
    }
