"""Turning printed statement grids into facts on SCHEMA.md's keys.

A cell's key comes from its row (a code, a class printed by name, or an item label) and its
column (a measure, or for 三公 tables an item). All label knowledge is in ``labels.yaml``.
A non-zero cell whose row or column cannot be understood is never dropped: it is returned as
an ``UnmappedCell`` for the quality tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from pathlib import Path

import yaml

from hotline_budgets.extract.tables import RawTable, is_code
from hotline_budgets.statements import statements_with
from hotline_budgets.text import compact, normalize_name
from hotline_budgets.transform.catalog import Catalog
from hotline_budgets.transform.facts import Fact

LABELS_FILE = Path(__file__).parent / "labels.yaml"
# Declared per statement in hotline_budgets/statements.yaml (codes, class_name_rows).
ECONOMIC_STATEMENTS = statements_with(codes="economic")
CLASS_NAME_STATEMENTS = statements_with(class_name_rows=True)
UNIT_FACTOR = {"万元": Decimal(1), "千元": Decimal("0.1"), "元": Decimal("0.0001")}


class RowVerdict(StrEnum):
    """A row (or column) label that gives no cell key, and why."""

    IGNORE = "ignore"  # known and deliberately not stored (ignored_rows, sub-rows, unless_column)
    UNKNOWN = "unknown"  # printed but not understood: its non-zero cells are unmapped
    UNLABELLED = "unlabelled"  # no label at all where the table has label columns


IGNORED = RowVerdict.IGNORE  # a column whose item is deliberately not stored
RowKey = tuple[str, str | None, str | None]  # (classification, code, item)
# A 三公 table with no 预算数/决算数 header prints what the report is: a budget or an actual.
THREE_PUBLIC_DEFAULT_MEASURE = {"budget": "budget", "final_accounts": "actual"}
_SUBITEM_PREFIX = re.compile(r"^(其中[:：]?)+")


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    value: str
    statements: frozenset[str] = frozenset()
    if_taken: str | None = None
    unless_column: re.Pattern[str] | None = None

    def applies(self, statement: str, text: str) -> bool:
        return (not self.statements or statement in self.statements) and bool(
            self.pattern.search(text)
        )


@dataclass(frozen=True)
class LabelBook:
    measures: list[Rule]
    label_columns: dict[str, re.Pattern[str]]
    three_public_items: list[Rule]
    row_items: dict[str, list[Rule]]
    ignored_rows: list[re.Pattern[str]]
    ignored_columns: list[re.Pattern[str]]
    transposed_income: list[Rule]
    sub_rows_after: dict[str, frozenset[str]]
    side_headers: dict[str, str]  # printed header word → 收入 / 支出
    total_row_columns: list[Rule]


@cache
def load_labels(path: Path = LABELS_FILE) -> LabelBook:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def rules(entries: list[dict], key: str) -> list[Rule]:
        return [
            Rule(
                re.compile(e["pattern"]),
                e[key],
                frozenset(e.get("statements", [])),
                e.get("if_taken"),
                re.compile(e["unless_column"]) if "unless_column" in e else None,
            )
            for e in entries
        ]

    return LabelBook(
        measures=rules(data["measures"], "measure"),
        label_columns={k: re.compile(v) for k, v in data["label_columns"].items()},
        three_public_items=rules(data["three_public_items"], "item"),
        row_items={side: rules(v, "item") for side, v in data["row_items"].items()},
        ignored_rows=[re.compile(p) for p in data["ignored_rows"]],
        ignored_columns=[re.compile(p) for p in data["ignored_columns"]],
        transposed_income=rules(data["transposed_income"], "measure"),
        sub_rows_after={k: frozenset(v) for k, v in data["sub_rows_after"].items()},
        side_headers={w: side for side, words in data["side_headers"].items() for w in words},
        total_row_columns=rules(data["total_row_columns"], "item"),
    )


@dataclass(frozen=True)
class UnmappedCell:
    """A non-zero printed amount whose meaning could not be established."""

    statement: str
    page: int
    row_label: str
    column: str
    amount_text: str
    reason: str


@dataclass
class StatementCoverage:
    statement: str
    title: str
    pages: list[int]
    body_rows: int
    nonzero_cells: int
    printed_empty: bool


@dataclass
class TableFacts:
    facts: list[Fact] = field(default_factory=list)
    unmapped: list[UnmappedCell] = field(default_factory=list)
    coverage: list[StatementCoverage] = field(default_factory=list)
    source_units: set[str] = field(default_factory=set)


@dataclass
class ColumnGroup:
    side: str | None = None
    code_cols: list[int] = field(default_factory=list)  # one, or 类/款/项 printed separately
    name_col: int | None = None
    subname_col: int | None = None  # a second, unheaded label column (transposed tables)
    amounts: list[tuple[int, str]] = field(default_factory=list)  # (column index, header path)


def parse_amount(text: str | None) -> Decimal | None:
    """Printed amount → Decimal; blank means zero; None when the text is not a number."""
    c = compact(text or "").replace(",", "").replace("，", "")
    if c in ("", "-", "—", "－"):
        return Decimal(0)
    try:
        return Decimal(c)
    except InvalidOperation:
        return None


def _is_text_column(table: RawTable, j: int) -> bool:
    """An unheaded column whose printed cells are words, not amounts."""
    cells = [compact(row[j]) for _, row in table.rows if j < len(row) and compact(row[j])]
    return bool(cells) and sum(parse_amount(c) is None for c in cells) > len(cells) / 2


def _group_columns(table: RawTable, book: LabelBook) -> list[ColumnGroup]:
    groups: list[ColumnGroup] = []
    current = ColumnGroup()
    for j, path in enumerate(table.column_paths):
        side = book.side_headers.get(path[0]) if len(path) > 1 else None
        rest = path[1:] if side else path
        last = rest[-1] if rest else ""
        if last and book.label_columns["ignore"].search(last):
            continue
        kind = None
        if last and book.label_columns["code"].search(last):
            kind = "code"
        elif last and book.label_columns["name"].search(last):
            kind = "name"
        elif not last and current.name_col is not None and _is_text_column(table, j):
            current.subname_col = j
            continue
        if kind is not None:
            if current.amounts:
                groups.append(current)
                current = ColumnGroup()
            current.side = side or current.side
            if kind == "code":
                current.code_cols.append(j)
            elif current.name_col is None:
                current.name_col = j
            elif current.subname_col is None:
                current.subname_col = j
            continue
        current.amounts.append((j, "/".join(rest)))
    groups.append(current)
    for group in groups:
        _strip_shared_caption(group)
    return groups


def _strip_shared_caption(group: ColumnGroup) -> None:
    """Drop a first header segment that every amount column shares (一般公共预算支出/合计 …):
    it names the table, not the column."""
    heads = {path.split("/")[0] for _, path in group.amounts}
    if len(group.amounts) > 1 and len(heads) == 1 and all("/" in p for _, p in group.amounts):
        group.amounts = [(j, path.split("/", 1)[1]) for j, path in group.amounts]


def _column_meaning(statement: str, path: str, book: LabelBook,
                    all_paths: list[str]) -> tuple[str | None, str | None]:
    """(item, measure) that a column header names."""
    item = None
    if statement == "three_public":
        item_path = "/".join(seg for seg in path.split("/") if seg not in ("预算数", "决算数"))
        for rule in book.three_public_items:
            if rule.applies(statement, item_path):
                blocked = rule.unless_column and any(rule.unless_column.search(p) for p in all_paths)
                item = IGNORED if blocked else rule.value
                break
    measure = next((r.value for r in book.measures if r.applies(statement, path)), None)
    return item, measure


def _row_label(cells: list[str], group: ColumnGroup) -> tuple[str, str]:
    """(code-or-empty, printed name) for a row of one column group."""
    parts = [compact(cells[c]) for c in group.code_cols if compact(cells[c])]
    if len(parts) > 1 and all(p.isdigit() for p in parts):
        # 款/项 columns hold two digits; some producers drop the leading zero ("2" for 02).
        parts = parts[:1] + [p.zfill(2) for p in parts[1:]]
    # 类/款/项 columns hold digits to concatenate; a label merged across them repeats its text.
    code_text = "".join(parts) if parts and all(p.isdigit() for p in parts) else "".join(parts[:1])
    name_text = compact(cells[group.name_col]) if group.name_col is not None else ""
    if group.subname_col is not None:
        sub = compact(cells[group.subname_col])
        name_text = f"{name_text}/{sub}" if sub and sub != name_text else name_text
    if is_code(code_text):
        return code_text, name_text
    if is_code(name_text) and not code_text:
        return name_text, ""
    return "", name_text or code_text


class _RowResolver:
    """Resolves uncoded row labels, remembering which items a table side already holds."""

    def __init__(self, statement: str, catalog: Catalog, book: LabelBook) -> None:
        self.statement = statement
        self.catalog = catalog
        self.book = book
        self.taken: set[str] = set()

    def resolve(self, label: str, side: str | None) -> RowKey | RowVerdict:
        """(classification, code, item), or IGNORE / UNKNOWN."""
        raw = compact(label)
        if any(p.search(raw) for p in self.book.ignored_rows):
            return RowVerdict.IGNORE
        name = normalize_name(_SUBITEM_PREFIX.sub("", raw))
        if self.statement == "three_public":
            for rule in self.book.three_public_items:
                if rule.pattern.search(name):
                    return ("item", None, rule.value)
        if side is not None:
            key = "income" if side == "收入" else "expense"
            for rule in self.book.row_items[key]:
                if rule.pattern.search(name):
                    item = rule.value
                    if rule.if_taken and item in self.taken:
                        item = rule.if_taken
                    if any(item in subs and trigger in self.taken
                           for trigger, subs in self.book.sub_rows_after.items()):
                        return RowVerdict.IGNORE
                    self.taken.add(item)
                    return ("item", None, item)
            if side == "支出" and self.statement in CLASS_NAME_STATEMENTS:
                code = self.catalog.resolve_class(name)
                if code:
                    return ("function", code, None)
        for rule in self.book.row_items["any"]:
            if rule.pattern.search(name):
                return ("item", None, rule.value)
        return RowVerdict.UNKNOWN


def _transposed_income(label: str, book: LabelBook) -> tuple[str, None, str, str] | RowVerdict:
    """Row of a transposed income table → (item, None, grand_total, measure) or IGNORE."""
    for rule in book.transposed_income:
        if rule.pattern.search(label):
            return ("item", None, "grand_total", rule.value)
    return RowVerdict.IGNORE


def _row_key(table: RawTable, group: ColumnGroup, code: str, name: str, resolver: _RowResolver,
             book: LabelBook) -> RowKey | tuple[str, None, str, str] | RowVerdict:
    """What a row of one column group is: a code, an item (a 4-tuple names the measure too:
    transposed income tables), or a verdict why it gives no key."""
    has_label = bool(code or name)
    if not has_label and (group.code_cols or group.name_col is not None):
        return RowVerdict.UNLABELLED
    if code:
        return ("economic" if table.statement in ECONOMIC_STATEMENTS else "function", code, None)
    if has_label and group.subname_col is not None and table.statement == "income":
        return _transposed_income(name, book)
    if has_label:
        return resolver.resolve(name, group.side)
    if table.statement == "three_public":
        return ("item", None, None)  # item comes from the column (三公 公开09)
    return ("item", None, "grand_total")  # a one-row table without labels (Jiangsu 公开03)


def facts_from_table(table: RawTable, catalog: Catalog, book: LabelBook | None = None,
                     report_kind: str | None = None) -> TableFacts:
    """Every non-zero cell of one statement table as a Fact (amounts converted to 万元)."""
    book = book or load_labels()
    out = TableFacts(source_units={table.source_unit})
    factor = UNIT_FACTOR[table.source_unit]
    groups = _group_columns(table, book)
    all_paths = [path for g in groups for _, path in g.amounts]
    resolver = _RowResolver(table.statement, catalog, book)
    seen: dict[tuple, Fact] = {}
    nonzero = 0
    for page, cells in table.rows:
        for group in groups:
            code, name = _row_label(cells, group)
            row_key = _row_key(table, group, code, name, resolver, book)
            for j, path in group.amounts:
                if any(p.search(path) for p in book.ignored_columns):
                    continue
                text = cells[j] if j < len(cells) else ""
                amount = parse_amount(text)
                if amount is None:
                    # Text without a digit is a label spilled into the column, not an amount.
                    if re.search(r"\d", compact(text)) and compact(text) != name:
                        out.unmapped.append(UnmappedCell(
                            table.statement, page, name or code, path, compact(text), "not a number"))
                    continue
                if amount == 0:
                    continue
                nonzero += 1
                if isinstance(row_key, RowVerdict):
                    if row_key != RowVerdict.IGNORE:
                        out.unmapped.append(UnmappedCell(
                            table.statement, page, name or code, path, compact(text),
                            f"row label not understood ({row_key})"))
                    continue
                col_item, measure = _column_meaning(table.statement, path, book, all_paths)
                cell_key = row_key
                total_item = next((r.value for r in book.total_row_columns
                                   if r.applies(table.statement, path)), None)
                if total_item is not None:
                    if row_key != ("item", None, "grand_total"):
                        continue  # per-row split columns have no SCHEMA measure
                    cell_key, measure = ("item", None, total_item), "total"
                if col_item == IGNORED:
                    continue
                if table.statement == "three_public" and measure in (None, "total"):
                    measure = THREE_PUBLIC_DEFAULT_MEASURE.get(report_kind or "", measure)
                if len(cell_key) == 4:  # transposed: the row names the measure
                    measure = cell_key[3]
                    cell_key = cell_key[:3]
                cls, fact_code, item = cell_key
                item = item or col_item
                if measure is None or (cls == "item" and item is None):
                    out.unmapped.append(UnmappedCell(
                        table.statement, page, name or code, path, compact(text),
                        "column header not understood"))
                    continue
                fact = Fact(
                    statement=table.statement,
                    classification=cls,
                    code=fact_code,
                    item=item,
                    measure=measure,
                    amount_wan=amount * factor,
                    item_name=name or path.split("/")[-1],
                    page=page,
                    method="table",
                )
                if fact.key in seen:
                    if seen[fact.key].amount_wan != fact.amount_wan:
                        out.unmapped.append(UnmappedCell(
                            table.statement, page, name or code, path, compact(text),
                            f"second value for {fact.key} (first: {seen[fact.key].amount_wan})"))
                    continue
                seen[fact.key] = fact
                out.facts.append(fact)
    out.coverage.append(StatementCoverage(
        table.statement, table.title, table.pages, len(table.rows), nonzero, table.printed_empty))
    return out
