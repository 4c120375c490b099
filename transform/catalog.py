"""The classification catalogs (function 类/款/项, economic 类/款) as data, and lookups on them.

The CSV files under ``transform/catalogs/`` are the single source; code never lists codes.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from transform.names import normalize_name

CATALOG_DIR = Path(__file__).parent / "catalogs"


class AmbiguousName(LookupError):
    """A printed name matches more than one code."""


@dataclass(frozen=True)
class CodeEntry:
    code: str
    level: str
    name: str
    parent: str
    first_year: int
    last_year: int
    source: str


@dataclass
class Catalog:
    function: dict[str, CodeEntry]
    economic: dict[str, CodeEntry]
    aliases: dict[str, str]
    version: str
    _by_parent: dict[str, list[CodeEntry]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for entry in list(self.function.values()) + list(self.economic.values()):
            self._by_parent.setdefault(entry.parent, []).append(entry)

    def canonical(self, name: str) -> str:
        """A printed name with punctuation normalised and known variants replaced."""
        norm = normalize_name(name)
        return self.aliases.get(norm, norm)

    def table(self, classification: str) -> dict[str, CodeEntry]:
        return self.function if classification == "function" else self.economic

    def knows(self, classification: str, code: str) -> bool:
        return code in self.table(classification)

    def name_matches(self, classification: str, code: str, printed: str) -> bool:
        """True when the printed name is the catalog's name for the code, modulo aliases."""
        entry = self.table(classification).get(code)
        return entry is not None and self.canonical(printed) == self.canonical(entry.name)

    def resolve_class(self, name: str) -> str | None:
        """3-digit function class code for a class printed by name (一、一般公共服务支出 → 201)."""
        wanted = self.canonical(name)
        for entry in self._by_parent.get("", []):
            if entry.code.startswith("2") and self.canonical(entry.name) == wanted:
                return entry.code
        return None

    def resolve_child(self, parent: str, name: str) -> str | None:
        """Code of the child of ``parent`` printed as ``name``; raises AmbiguousName if several."""
        wanted = self.canonical(name)
        hits = [e.code for e in self._by_parent.get(parent, []) if self.canonical(e.name) == wanted]
        if len(hits) > 1:
            raise AmbiguousName(f"{name!r} under {parent} matches {hits}")
        return hits[0] if hits else None

    def resolve_function_path(self, names: list[str]) -> str | None:
        """Code for a 类/款/项 path printed by names (the explanation text's form)."""
        code = self.resolve_class(names[0])
        for name in names[1:]:
            if code is None:
                return None
            code = self.resolve_child(code, name)
        return code


def _read(path: Path) -> dict[str, CodeEntry]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {
            r["code"]: CodeEntry(
                r["code"], r["level"], r["name"], r["parent"],
                int(r["first_year"]), int(r["last_year"]), r["source"],
            )
            for r in csv.DictReader(fh)
        }


@cache
def load_catalog(directory: Path = CATALOG_DIR) -> Catalog:
    """Load the catalog files; the version is a hash of their bytes (it makes extractions stale)."""
    digest = hashlib.sha256()
    for name in ("function_codes.csv", "economic_codes.csv", "code_aliases.csv"):
        digest.update((directory / name).read_bytes())
    with (directory / "code_aliases.csv").open(encoding="utf-8", newline="") as fh:
        aliases = {normalize_name(r["variant"]): normalize_name(r["canonical"]) for r in csv.DictReader(fh)}
    return Catalog(
        function=_read(directory / "function_codes.csv"),
        economic=_read(directory / "economic_codes.csv"),
        aliases=aliases,
        version=digest.hexdigest()[:12],
    )
