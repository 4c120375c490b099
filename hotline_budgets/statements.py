"""The canonical statements, declared once in ``statements.yaml`` and read by every stage.

Which reports print a statement, what its printed codes are, its measures, items and identities
are data; the published schema's ``statement`` and ``measure`` vocabularies are generated from it.
``HOTLINE_BUDGETS_STATEMENTS`` names another declaration file (tests add a made-up statement so).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

STATEMENTS_FILE = Path(__file__).parent / "statements.yaml"
ENV_VAR = "HOTLINE_BUDGETS_STATEMENTS"
_KEYS = {"description", "report_kinds", "codes", "class_name_rows", "measures", "items", "identities",
         "split_measures", "titles"}
_CODES = ("function", "economic")


@dataclass(frozen=True)
class StatementSpec:
    """One canonical statement as declared."""

    name: str
    description: str
    report_kinds: tuple[str, ...]
    codes: str  # function | economic: what a code printed in its rows is
    measures: tuple[str, ...]
    items: tuple[str, ...]
    identities: tuple[str, ...]
    split_measures: tuple[str, ...] = ()
    class_name_rows: bool = False
    titles: tuple[str, ...] = ()


def declaration_file() -> Path:
    """The declaration in force: ``$HOTLINE_BUDGETS_STATEMENTS`` or the bundled one."""
    return Path(os.environ.get(ENV_VAR) or STATEMENTS_FILE)


def _spec(name: str, raw: dict, path: Path) -> StatementSpec:
    stray = set(raw) - _KEYS
    if stray:
        raise ValueError(f"{path.name}: statement {name}: unknown keys {sorted(stray)}")
    if raw.get("codes") not in _CODES:
        raise ValueError(f"{path.name}: statement {name}: codes must be one of {_CODES}")
    split = tuple(raw.get("split_measures") or ())
    if not set(split) <= set(raw["measures"]):
        raise ValueError(f"{path.name}: statement {name}: split_measures not among its measures")
    return StatementSpec(
        name=name, description=raw.get("description", ""), report_kinds=tuple(raw["report_kinds"]),
        codes=raw["codes"], measures=tuple(raw["measures"]), items=tuple(raw.get("items") or ()),
        identities=tuple(raw.get("identities") or ()), split_measures=split,
        class_name_rows=bool(raw.get("class_name_rows", False)),
        titles=tuple(raw.get("titles") or ()))


@cache
def load_statements(path: Path | None = None) -> dict[str, StatementSpec]:
    """Every declared statement, in declaration order (the order of the ``statements`` table)."""
    path = path or declaration_file()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: _spec(name, raw, path) for name, raw in data["statements"].items()}


def statement_names() -> list[str]:
    return list(load_statements())


def all_measures() -> list[str]:
    """Every measure of any statement, first-declared first (the line_items.measure vocabulary)."""
    return list(dict.fromkeys(m for s in load_statements().values() for m in s.measures))


def expected_statements(report_kind: str) -> list[str]:
    """The statements a report of this kind prints (or is recorded as not printing)."""
    return [s.name for s in load_statements().values() if report_kind in s.report_kinds]


def statements_with(*, codes: str | None = None, class_name_rows: bool | None = None,
                    identity: str | None = None) -> frozenset[str]:
    """Names of the statements with the given declared properties."""
    return frozenset(
        s.name for s in load_statements().values()
        if (codes is None or s.codes == codes)
        and (class_name_rows is None or s.class_name_rows == class_name_rows)
        and (identity is None or identity in s.identities))
