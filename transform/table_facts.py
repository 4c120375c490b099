"""Turning printed statement grids into facts on SCHEMA.md's keys.

A cell's key comes from its row (a code, a class printed by name, or an item label) and its
column (a measure, or for 三公 tables an item). All label knowledge is in ``labels.yaml``.
A non-zero cell whose row or column cannot be understood is never dropped: it is returned as
an ``UnmappedCell`` for the quality tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from pathlib import Path

import yaml

from hotline_budgets.extract.tables import RawTable, is_code
from hotline_budgets.statements import load_statements, statements_with
from hotline_budgets.text import compact, normalize_name
from hotline_budgets.transform.catalog import Catalog
from hotline_budgets.transform.facts import Fact
from hotline_budgets.transform.ocr_readings import Readings, ocr_readings

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
# A 三公 table with no 预算数/决算数 header prints what the report is: a budget or an actual.
THREE_PUBLIC_DEFAULT_MEASURE = {"budget": "budget", "final_accounts": "actual"}
TOTAL_ITEMS = {"three_public.total", "three_public.grand_total", "grand_total"}
_SUBITEM_PREFIX = re.compile(r"^(其中[:：]?)+")


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    value: str
    statements: frozenset[str] = frozenset()
    if_taken: str | None = None
    unless_column: re.Pattern[str] | None = None
    when_column: re.Pattern[str] | None = None  # applies only when some column header matches

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
    transposed_income: list[Rule]
    sub_rows_after: dict[str, frozenset[str]]
    side_headers: dict[str, str]  # printed header word → 收入 / 支出
    total_row_columns: list[Rule]
    code_in_label: list[re.Pattern[str]]  # a label that carries its code: [201]一般公共服务支出
    year_label: re.Pattern[str]  # a row or header segment naming a year (2025年预算数, 2026年)
    three_public_fund_segments: re.Pattern[str]
    other_period: re.Pattern[str]
    fund_parent_rows: re.Pattern[str]
    fund_items: tuple[str, ...]
    ignored_column_rules: list[Rule] = field(default_factory=list)
    measure_rows: list[Rule] = field(default_factory=list)  # a row label naming the measure
    part_columns: list[Rule] = field(default_factory=list)  # columns adding up to one measure


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
                re.compile(e["when_column"]) if "when_column" in e else None,
            )
            for e in entries
        ]

    return LabelBook(
        measures=rules(data["measures"], "measure"),
        label_columns={k: re.compile(v) for k, v in data["label_columns"].items()},
        three_public_items=rules(data["three_public_items"], "item"),
        row_items={side: rules(v, "item") for side, v in data["row_items"].items()},
        ignored_rows=[re.compile(p) for p in data["ignored_rows"]],
        transposed_income=rules(data["transposed_income"], "measure"),
        sub_rows_after={k: frozenset(v) for k, v in data["sub_rows_after"].items()},
        side_headers={w: side for side, words in data["side_headers"].items() for w in words},
        total_row_columns=rules(data["total_row_columns"], "item"),
        code_in_label=[re.compile(p) for p in data["code_in_label"]],
        year_label=re.compile(data["year_label"]),
        three_public_fund_segments=re.compile(data["three_public_fund_segments"]),
        other_period=re.compile(data["other_period"]),
        fund_parent_rows=re.compile(data["fund_parent_rows"]),
        fund_items=tuple(data["fund_items"]),
        measure_rows=rules(data.get("measure_rows", []), "measure"),
        part_columns=rules(data.get("part_columns", []), "measure"),
        ignored_column_rules=[
            Rule(re.compile(e if isinstance(e, str) else e["pattern"]), "ignore",
                 frozenset(() if isinstance(e, str) else e.get("statements", [])))
            for e in data["ignored_columns"]
        ],
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


@dataclass(frozen=True)
class PendingReading:
    """An OCR cell whose value is not settled: published by load.ocr_repair once the report's
    identities choose between its readings (``as_read`` None: the text is not a number)."""

    fact: Fact
    as_read: Decimal | None
    alternatives: tuple[Decimal, ...]
    kind: str  # blank | chars | decimal (transform.ocr_readings)


@dataclass(frozen=True)
class UnitCell:
    """One amount of a row per budget unit, or of the total row those rows add up to.

    SCHEMA has no unit key, so these are no line items; they are kept so that the identity
    "the units add up to the row they are under" can be evaluated (load/identities.sql)."""

    statement: str
    page: int
    unit: str  # the row's key in its table: the unit code, else its name ("合计" for the total)
    parent: str | None  # key of the row it adds up to; None for the total row itself
    unit_name: str
    column: str
    amount_wan: Decimal
    source_text: str


@dataclass
class TableFacts:
    facts: list[Fact] = field(default_factory=list)
    pending: list[PendingReading] = field(default_factory=list)
    unmapped: list[UnmappedCell] = field(default_factory=list)
    # Non-zero cells known and deliberately not stored (no SCHEMA key), each with its reason.
    ignored: list[UnmappedCell] = field(default_factory=list)
    unit_cells: list[UnitCell] = field(default_factory=list)
    coverage: list[StatementCoverage] = field(default_factory=list)
    source_units: set[str] = field(default_factory=set)


@dataclass
class ColumnGroup:
    side: str | None = None
    code_cols: list[int] = field(default_factory=list)  # one, or 类/款/项 printed separately
    name_col: int | None = None
    subname_col: int | None = None  # a second, unheaded label column (transposed tables)
    unit_col: int | None = None  # 预算单位 / 单位名称: rows per budget unit
    unit_code_col: int | None = None  # 单位编码 printed before the unit's name (Xi'an 122 / 122001)
    year_col: int | None = None  # 年度: rows per year (Shenzhen 三公)
    ignored: bool = False  # a breakdown SCHEMA has no key for (labels.yaml ignored_group)
    # a second classification printed beside the first (Yantai: 部门 and 政府 economic codes):
    # one SCHEMA key then spans several printed rows, whose amounts add up.
    finer: bool = False
    amounts: list[tuple[int, str]] = field(default_factory=list)  # (column index, header path)


# Largest scale SCHEMA.md's DECIMAL(20,6) holds: a value needing more decimals or digits is the
# report's problem (a quality issue), never the run's.
AMOUNT_SCALE = 6
AMOUNT_MAX = Decimal(10) ** 14


def parse_amount(text: str | None) -> Decimal | None:
    """Printed amount → Decimal; blank means zero; None when the text is not a number."""
    c = compact(text or "").replace(",", "").replace("，", "")
    if c in ("", "-", "—", "－"):
        return Decimal(0)
    try:
        return Decimal(c)
    except InvalidOperation:
        return None


def fits_contract(amount: Decimal) -> bool:
    """True when the 万元 amount is exact in DECIMAL(20,6)."""
    return abs(amount) < AMOUNT_MAX and amount == amount.quantize(Decimal(1).scaleb(-AMOUNT_SCALE))


def to_wan(amount: Decimal, factor: Decimal) -> Decimal:
    """Exact conversion to 万元: 87,267,272.44 元 is 8726.727244 万元, nothing rounded."""
    value = amount * factor
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_SCALE and fits_contract(value):
        return value.quantize(Decimal(1).scaleb(-AMOUNT_SCALE))  # 2838.42347100 → 2838.423471
    return value


def _prints_decimals(table: RawTable) -> bool:
    """Most amounts of the table print a decimal point (then "14745" may be a lost "147.45")."""
    nums = [compact(c) for _, row in table.rows for c in row
            if re.fullmatch(r"[\d,]+(\.\d+)?", compact(c or "")) and not is_code(c)]
    return bool(nums) and sum("." in n for n in nums) > 0.8 * len(nums)


def _is_text_column(table: RawTable, j: int) -> bool:
    """An unheaded column whose printed cells are words, not amounts."""
    cells = [compact(row[j]) for _, row in table.rows if j < len(row) and compact(row[j])]
    return bool(cells) and sum(parse_amount(c) is None for c in cells) > len(cells) / 2


def _group_columns(table: RawTable, book: LabelBook) -> list[ColumnGroup]:
    groups: list[ColumnGroup] = []
    current = ColumnGroup()
    secondary = False  # inside a second classification printed beside the first (政府经济科目)
    for j, path in enumerate(table.column_paths):
        side = book.side_headers.get(path[0]) if len(path) > 1 else None
        rest = path[1:] if side else path
        last = rest[-1] if rest else ""
        if last and book.label_columns["ignore"].search(last):
            continue
        kind = None
        # A header under 其中 names a part of another amount (其中：专项资金/列入部门预算的项目):
        # never a label column, whatever word it ends in.
        part_of = any(_SUBITEM_PREFIX.match(seg) for seg in rest)
        for name in ("unit", "year", "code", "name"):
            if part_of:
                break
            if last and name in book.label_columns and book.label_columns[name].search(last):
                kind = name
                break
        if kind is None and not last and current.name_col is not None and _is_text_column(table, j):
            current.subname_col = j
            continue
        if kind is not None:
            if current.amounts:
                groups.append(current)
                current = ColumnGroup()
                secondary = False
            current.side = side or current.side
            if kind == "code" and current.name_col is not None:
                secondary = True  # codes after the names: a parallel classification
            if secondary:
                current.finer = True
                continue
            if (kind == "name" and table.statement in CLASS_NAME_STATEMENTS
                    and book.label_columns["ignored_group"].search(last)):
                current.ignored = True
            if kind == "unit":
                if current.unit_col is not None and current.unit_code_col is None:
                    current.unit_code_col = current.unit_col
                current.unit_col = j
            elif kind == "year":
                current.year_col = j
            elif kind == "code":
                current.code_cols.append(j)
            elif current.name_col is None:
                current.name_col = j
            elif current.subname_col is None:
                current.subname_col = j
            continue
        secondary = False
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
        item_path = "/".join(seg for seg in path.split("/")
                             if seg not in ("预算数", "决算数") and not book.year_label.search(seg)
                             and not book.three_public_fund_segments.search(seg))
        for rule in book.three_public_items:
            if rule.when_column and not any(rule.when_column.search(p) for p in all_paths):
                continue
            if rule.applies(statement, item_path):
                if rule.unless_column and any(rule.unless_column.search(p) for p in all_paths):
                    continue  # another column names this total: a later rule says what it is
                item = rule.value
                break
    measure = next((r.value for r in book.measures if r.applies(statement, path)), None)
    return item, measure


def _other_year(text: str, book: LabelBook, fiscal_year: int | None) -> str | None:
    """The year (or period) a header or row label names when it is not the report's year."""
    for seg in text.split("/"):
        if book.other_period.search(seg):
            return seg
        m = book.year_label.search(seg)
        if m and fiscal_year is not None and int(m.group("year")) != fiscal_year:
            return m.group("year")
    return None


def split_code_label(text: str, book: LabelBook) -> tuple[str, str]:
    """(code, name) of a label that carries its code ([201]一般公共服务支出), else ("", text)."""
    for pattern in book.code_in_label:
        m = pattern.match(text)
        if m and is_code(m.group("code")):
            return m.group("code"), m.group("name")
    return "", text


class _CodeCarry:
    """类/款/项 printed in separate columns, each only on its own row: a 款 row printing "40"
    under a blank 类 belongs to the last 类 printed above it (Yantai)."""

    def __init__(self) -> None:
        self.last: list[str] = []

    def fill(self, parts: list[str]) -> list[str]:
        if not any(parts) or not all(p.isdigit() for p in parts if p):
            return parts
        first = next(i for i, p in enumerate(parts) if p)
        if first > 0 and len(self.last) >= first and all(self.last[:first]):
            parts = self.last[:first] + parts[first:]
        if all(parts[: next((i for i, p in enumerate(parts) if not p), len(parts))]):
            depth = next((i for i, p in enumerate(parts) if not p), len(parts))
            self.last = parts[:depth] + [""] * (len(parts) - depth)
        return parts


def _row_label(cells: list[str], group: ColumnGroup, book: LabelBook,
               carry: _CodeCarry | None = None) -> tuple[str, str]:
    """(code-or-empty, printed name) for a row of one column group."""
    raw = [compact(cells[c]) if c < len(cells) else "" for c in group.code_cols]
    if len(raw) > 1 and carry is not None and all(p.isdigit() for p in raw if p) and any(raw):
        raw = carry.fill(raw)
    parts = [p for p in raw if p]
    if len(parts) > 1 and all(p.isdigit() for p in parts):
        # 款/项 columns hold two digits; some producers drop the leading zero ("2" for 02).
        parts = parts[:1] + [p.zfill(2) for p in parts[1:]]
    # 类/款/项 columns hold digits to concatenate; a label merged across them repeats its text.
    code_text = "".join(parts) if parts and all(p.isdigit() for p in parts) else "".join(parts[:1])
    name_text = compact(cells[group.name_col]) if group.name_col is not None else ""
    if group.subname_col is not None:
        sub = compact(cells[group.subname_col])
        name_text = f"{name_text}/{sub}" if sub and sub != name_text else name_text
    if not code_text:
        code_text, name_text = split_code_label(name_text, book)
    if is_code(code_text):
        return code_text, name_text
    if is_code(name_text) and not code_text:
        return name_text, ""
    return "", name_text or code_text


class _RowResolver:
    """Resolves uncoded row labels, remembering which items a table side already holds.

    Summary tables print the expenditure side by name only; a 类 (一、一般公共服务支出) is
    found in the catalog, and an unnumbered name below it as a 款 of that 类 or a 项 of the last
    款 (Shenzhen's 收支总表 prints all three levels by name).
    """

    def __init__(self, statement: str, catalog: Catalog, book: LabelBook,
                 printed: dict[str, str] | None = None) -> None:
        self.statement = statement
        self.catalog = catalog
        self.book = book
        self.printed = printed or {}
        self.taken: set[str] = set()
        self.path: list[str] = []  # function codes of the 类 / 款 printed last

    def _by_name(self, name: str) -> str | None:
        """A class by its name, else a 款/项 of the 类/款 printed last. A name printed again
        below its own class is its 款 (五、其他支出 → 其他支出 22999 → 其他支出 2299999)."""
        cls = self.catalog.resolve_class(name)
        if cls and not (self.path and self.path[0] == cls):
            self.path = [cls]
            return cls
        wanted = self.catalog.canonical(name)
        for depth in range(len(self.path), 0, -1):
            parent = self.path[depth - 1]
            hits = set(self.catalog.function_codes_named(parent, name))
            hits |= {c for c, n in self.printed.items() if len(c) == len(parent) + 2
                     and c.startswith(parent) and self.catalog.canonical(n) == wanted}
            if len(hits) == 1:
                hits = sorted(hits)
                self.path = self.path[:depth] + hits
                return hits[0]
        if cls:
            self.path = [cls]
        return cls

    def resolve(self, label: str, side: str | None) -> tuple[str, str | None, str | None] | str:
        """(classification, code, item) or the string 'ignore' / 'unknown'."""
        raw = compact(label)
        if any(p.search(raw) for p in self.book.ignored_rows):
            return RowVerdict.IGNORE
        name = normalize_name(_SUBITEM_PREFIX.sub("", raw))
        if self.statement == "three_public":
            for rule in self.book.three_public_items:
                if rule.when_column is None and rule.pattern.search(name):
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
                code = self._by_name(name)
                if code:
                    return ("function", code, None)
        for rule in self.book.row_items["any"]:
            if rule.pattern.search(name):
                return ("item", None, rule.value)
        return RowVerdict.UNKNOWN


def _transposed_income(label: str, book: LabelBook) -> tuple | str:
    """Row of a transposed income table → (item, None, grand_total, measure) or 'ignore'."""
    for rule in book.transposed_income:
        if rule.pattern.search(label):
            return ("item", None, "grand_total", rule.value)
    return RowVerdict.IGNORE


_SUBTOTAL = re.compile(r"^(小计|合计)$")


def _subtotals(table: RawTable, group: ColumnGroup, book: LabelBook) -> dict[int, str]:
    """Column → the parent header it totals, for a 小计 printed under a parent whose parts are
    columns beside it (财政拨款收入 / 小计, 一般公共预算收入, 政府性基金预算收入 …), where the parent
    and its parts name measures the statement splits its total into: stored beside its parts it
    would count twice in total = Σ parts, so it is listed. 其中 columns are no parts."""
    splits = set(load_statements()[table.statement].split_measures) \
        if table.statement in load_statements() else set()
    cols = [j for j, _ in group.amounts]
    out: dict[int, str] = {}
    for j in cols:
        full = table.column_paths[j]
        if len(full) < 2 or not _SUBTOTAL.match(full[-1]):
            continue
        parent = list(full[:-1])
        measure = _measure_of(table.statement, "/".join(parent), book)
        parts = {_measure_of(table.statement, "/".join(table.column_paths[k]), book)
                 for k in cols if k != j
                 and list(table.column_paths[k][:len(parent)]) == parent
                 and len(table.column_paths[k]) > len(parent)
                 and not _SUBITEM_PREFIX.match(table.column_paths[k][len(parent)])}
        if measure in splits and parts & (splits - {measure}):
            out[j] = "/".join(parent)
    return out


def _declares_measure(statement: str, measure: str) -> bool:
    """Whether statements.yaml declares the measure for the statement (a row with another one
    cannot be published: the per-report gate rejects it)."""
    spec = load_statements().get(statement)
    return spec is None or measure in spec.measures


def _measure_of(statement: str, path: str, book: LabelBook) -> str | None:
    """The measure a full header path names (None for a column with no SCHEMA measure)."""
    if any(r.applies(statement, path) for r in book.ignored_column_rules):
        return None
    return next((r.value for r in book.measures if r.applies(statement, path)), None)


def _measure_row(label: str, statement: str, book: LabelBook) -> str | None:
    """The measure a row label names (a 三公 决算 table printing 预算数 / 决算数 rows)."""
    return next((r.value for r in book.measure_rows if r.applies(statement, compact(label))), None)


class _UnitRows:
    """Rows per budget unit (预算单位 / 单位名称 column).

    The first unit row of a table with no 合计 line is the department's own total (Shenzhen
    prints the department's name above its codes); every other unit row, and every coded row
    below a second unit, is one unit's share of the consolidation (Guangzhou prints 合计 and
    then each unit): SCHEMA has no unit key, so those are listed, not stored.
    """

    def __init__(self) -> None:
        self.units = 0
        self.total_seen = False
        self.total_key: str | None = None
        self.coded: list[str] = []  # unit codes printed so far (a department above its units)
        self.keys: set[str] = set()

    def key_of(self, code: str, name: str, kind: str) -> tuple[str, str | None]:
        """(this unit row's key, the key of the row it adds up to): a unit whose code extends an
        earlier unit's code (122001 under 122) is part of it; any other unit is part of the total."""
        key = code or name
        while key in self.keys:
            key += "′"  # one name printed for two units: two rows all the same
        self.keys.add(key)
        if kind == "total":
            self.total_key = key
            return key, None
        parent = next((c for c in reversed(self.coded) if code and code.startswith(c) and code != c),
                      self.total_key)
        if code:
            self.coded.append(code)
        return key, parent

    def classify(self, unit: str) -> str:
        """'total', 'unit' (a per-unit line) or 'inherit' (a row below the current unit)."""
        if not unit:
            return "unit" if self.units > 1 or (self.units == 1 and self.total_seen) else "inherit"
        if _TOTAL_LABEL.match(unit):
            self.total_seen = True
            return "total"
        self.units += 1
        return "total" if self.units == 1 and not self.total_seen else "unit"


_TOTAL_LABEL = re.compile(r"^([一二三四五六七八九十]+[、.])?(合计|总计)$")


def facts_from_table(table: RawTable, catalog: Catalog, book: LabelBook | None = None,
                     report_kind: str | None = None, fiscal_year: int | None = None,
                     printed: dict[str, str] | None = None,
                     ocr_pages: frozenset[int] = frozenset()) -> TableFacts:
    """Every non-zero cell of one statement table as a Fact (amounts converted to 万元).

    ``printed`` holds the function code → name pairs the report's coded tables print: evidence
    for the 款/项 a summary table prints by name only. Cells on ``ocr_pages`` (scans) are OCR
    values: method ocr, the text as the engine printed it, and uncertain readings left pending
    for the identities (transform.ocr_readings).
    """
    book = book or load_labels()
    out = TableFacts(source_units={table.source_unit})
    factor = UNIT_FACTOR[table.source_unit]
    groups = _group_columns(table, book)
    all_paths = [path for g in groups for _, path in g.amounts]
    # measures the table prints as a column of their own (a part column then only repeats a share)
    printed_measures = {m for path in all_paths
                        if not any(r.applies(table.statement, path) for r in book.part_columns)
                        and (m := _measure_of(table.statement, path, book))}
    part_rows: dict[tuple, int] = {}  # fact key → the row whose part columns it sums
    resolver = _RowResolver(table.statement, catalog, book, printed)
    carries = [_CodeCarry() for _ in groups]
    units = [_UnitRows() for _ in groups]
    subtotals = [_subtotals(table, g, book) for g in groups]
    seen: dict[tuple, Fact] = {}
    nonzero = 0
    decimals = _prints_decimals(table)
    for i, (page, cells) in enumerate(table.rows):
        boxes = table.boxes[i] if i < len(table.boxes) else []
        is_ocr = page in ocr_pages
        for gi, group in enumerate(groups):
            code, name = _row_label(cells, group, book, carries[gi])
            has_label = bool(code or name)
            not_stored: str | None = None
            unit_row, unit_key, unit_parent = False, "", None
            if group.unit_col is not None:
                unit = compact(cells[group.unit_col]) if group.unit_col < len(cells) else ""
                kind = units[gi].classify(unit if not has_label else "")
                unit_row = bool(unit) and not has_label and kind in ("total", "unit")
                if unit and not has_label:
                    name = unit
                    has_label = True
                if unit_row:
                    unit_code = (compact(cells[group.unit_code_col])
                                 if group.unit_code_col is not None
                                 and group.unit_code_col < len(cells) else "")
                    unit_key, unit_parent = units[gi].key_of(
                        unit_code if unit_code.isdigit() else "", unit, kind)
                if kind == "unit":
                    not_stored = "per-unit row (SCHEMA has no budget-unit key)"
                elif kind == "total" and not code:
                    code, name = "", "合计"
            year_other = None
            if group.year_col is not None:
                year_text = compact(cells[group.year_col]) if group.year_col < len(cells) else ""
                if year_text and not book.year_label.search(year_text):
                    not_stored = not_stored or f"row {year_text!r} is not a year's amount"
                year_other = _other_year(year_text, book, fiscal_year)
                if year_other:
                    not_stored = not_stored or f"another year ({year_other}) than the report's"
            if not has_label and (group.code_cols or group.name_col is not None):
                row_key: tuple[str, str | None, str | None] | str = RowVerdict.UNLABELLED
            elif code:
                cls = "economic" if table.statement in ECONOMIC_STATEMENTS else "function"
                row_key = (cls, code, None)
            elif has_label and group.subname_col is not None and table.statement == "income":
                row_key = _transposed_income(name, book)
            elif has_label and (by_row := _measure_row(name, table.statement, book)):
                row_key = ("item", None, None, by_row)  # items from the columns
            elif (has_label and _TOTAL_LABEL.match(name) and group.side is None
                  and table.statement != "three_public"):
                row_key = ("item", None, "grand_total")
            elif has_label:
                row_key = resolver.resolve(name, group.side)
            elif table.statement == "three_public":
                row_key = ("item", None, None)  # item comes from the column (三公 公开09)
            else:
                row_key = ("item", None, "grand_total")  # a one-row table without labels (Jiangsu 公开03)
            for j, path in group.amounts:
                text = cells[j] if j < len(cells) else ""
                amount = parse_amount(text)
                readings = ocr_readings(text, decimals) if is_ocr else Readings(amount)
                if readings.kind == "chars" and re.search(r"\d", compact(text)):
                    amount = readings.alternatives[0]  # key it; the identities decide the value
                if amount is None:
                    # Text without a digit is a label spilled into the column, not an amount.
                    if re.search(r"\d", compact(text)) and compact(text) != name:
                        out.unmapped.append(UnmappedCell(
                            table.statement, page, name or code, path, compact(text), "not a number"))
                    continue
                if amount == 0:
                    continue
                nonzero += 1
                cell = (table.statement, page, name or code, path, compact(text))
                if unit_row and (unit_parent is not None or kind == "total"):
                    out.unit_cells.append(UnitCell(
                        table.statement, page, unit_key, unit_parent, unit, path,
                        to_wan(amount, factor), compact(text)))

                def ignored(reason: str, cell: tuple = cell) -> None:
                    out.ignored.append(UnmappedCell(*cell, reason))

                if group.ignored:
                    ignored("breakdown with no SCHEMA key (labels.yaml ignored_group)")
                    continue
                part = next((r for r in book.part_columns if r.applies(table.statement, path)), None)
                if part is not None and part.value in printed_measures:
                    ignored(f"part of {part.value}, which the table prints as a column")
                    continue
                if part is None and any(r.applies(table.statement, path) for r in book.ignored_column_rules):
                    ignored("column has no SCHEMA measure")
                    continue
                if j in subtotals[gi]:
                    ignored(f"subtotal of {subtotals[gi][j]}, whose parts are stored")
                    continue
                other = _other_year(path, book, fiscal_year)
                if other:
                    ignored(f"column of another year ({other}) than the report's")
                    continue
                if not_stored:
                    ignored(not_stored)
                    continue
                if isinstance(row_key, str):
                    if row_key == RowVerdict.IGNORE:
                        ignored("row has no SCHEMA item (labels.yaml ignored_rows)")
                    else:
                        out.unmapped.append(UnmappedCell(
                            table.statement, page, name or code, path, compact(text),
                            f"row label not understood ({row_key})"))
                    continue
                col_item, measure = _column_meaning(table.statement, path, book, all_paths)
                if part is not None:
                    measure = part.value
                cell_key = row_key
                total_item = next((r.value for r in book.total_row_columns
                                   if r.applies(table.statement, path)), None)
                if total_item is not None:
                    if row_key != ("item", None, "grand_total"):
                        ignored("per-row split column (stored for the grand total only)")
                        continue
                    cell_key, measure = ("item", None, total_item), "total"
                if col_item == IGNORED:
                    ignored("column is not a SCHEMA item of this table")
                    continue
                if table.statement == "three_public" and measure in (None, "total"):
                    measure = THREE_PUBLIC_DEFAULT_MEASURE.get(report_kind or "", measure)
                if len(cell_key) == 4:  # transposed: the row names the measure
                    measure = cell_key[3]
                    cell_key = cell_key[:3]
                cls, fact_code, item = cell_key
                if col_item and item in TOTAL_ITEMS and table.statement == "three_public":
                    item = col_item  # a 合计 row of a table whose columns are the 三公 items
                item = item or col_item
                if measure is None or (cls == "item" and item is None):
                    out.unmapped.append(UnmappedCell(
                        table.statement, page, name or code, path, compact(text),
                        "column header not understood"))
                    continue
                if not _declares_measure(table.statement, measure):
                    # Xi'an's 支出总表 prints the expenditure by source (一般公共预算拨款 …): no
                    # measure of this statement in SCHEMA
                    ignored(f"column means {measure}, not a measure of {table.statement}")
                    continue
                wan = to_wan(amount, factor)
                if not fits_contract(wan):
                    out.unmapped.append(UnmappedCell(
                        table.statement, page, name or code, path, compact(text),
                        f"{amount} {table.source_unit} is {wan} 万元: does not fit DECIMAL(20,6)"))
                    continue
                fact = Fact(
                    statement=table.statement,
                    classification=cls,
                    code=fact_code,
                    item=item,
                    measure=measure,
                    amount_wan=wan,
                    item_name=name or path.split("/")[-1],
                    page=page,
                    method="ocr" if is_ocr else "table",
                    source_text=str(text).strip() if is_ocr else compact(text),
                    source_bbox=(boxes[j] or None) if j < len(boxes) else None,
                    read_by="table",
                )
                if readings.kind:
                    out.pending.append(PendingReading(
                        fact, readings.as_read * factor if readings.as_read is not None else None,
                        tuple(a * factor for a in readings.alternatives), readings.kind))
                    seen[fact.key] = fact
                    continue
                if fact.key in seen and part is not None and part_rows.get(fact.key) == i:
                    first = seen[fact.key]  # the row's other part of the same measure: their sum
                    merged = replace(first, amount_wan=first.amount_wan + fact.amount_wan,
                                     source_text=f"{first.source_text}+{fact.source_text}")
                    out.facts[out.facts.index(first)] = merged
                    seen[fact.key] = merged
                    continue
                if part is not None and fact.key not in seen:
                    part_rows[fact.key] = i
                if fact.key in seen and group.finer:
                    first = seen[fact.key]
                    merged = replace(first, amount_wan=first.amount_wan + fact.amount_wan,
                                     source_text=f"{first.source_text}+{fact.source_text}")
                    out.facts[out.facts.index(first)] = merged
                    seen[fact.key] = merged
                    continue
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
