"""Finding the statement tables of a report and reading them as grids of printed strings.

Only the geometry and the printed text are handled here: which statement a table is (by its
printed title, from ``statement_titles.yaml``), its header (with merged cells expanded over
every column and row they cover), and its body rows with their page. What a label or a
column *means* is decided in ``transform.table_facts``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pdfplumber
import yaml
from pdfplumber.pdf import PDF

from hotline_budgets.extract.pdf_text import open_pdf
from hotline_budgets.statements import load_statements
from hotline_budgets.text import compact

TITLES_FILE = Path(__file__).parent / "statement_titles.yaml"

# One validated settings object for every ruled table (see STACK.md "pdfplumber").
RULED_TABLE_SETTINGS: dict[str, object] = {
    "vertical_strategy": "lines",
    "horizontal_strategy": "lines",
    "intersection_tolerance": 3,
    "snap_tolerance": 3,
}

_QUOTES = re.compile(r"[“”\"'‘’「」()（）、，,]")
_AMOUNT = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^-?\.\d+$")
_CODE = re.compile(r"^\d{3}(\d{2}){0,2}$")
_TOTAL_PREFIX = re.compile(r"^[一二三四五六七八九十]+[、.]")
_UNIT = re.compile(r"(?:金额)?单位[:：]\s*(万元|千元|元)")


@dataclass
class RawTable:
    """One statement as printed: header paths per column and body rows with their page."""

    statement: str
    title: str
    pages: list[int]
    column_paths: list[list[str]]  # header texts from top to bottom, per column
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (page, cells)
    column_x: list[float | None] = field(default_factory=list)  # x centre of each column
    source_unit: str = "万元"
    printed_empty: bool = False


@dataclass
class SkippedTable:
    """A table recognised by title as having no SCHEMA statement (机关运行经费, 政府采购 …)."""

    title: str
    page: int


@dataclass
class UnknownTable:
    """A table whose title names no known statement: reported, never guessed."""

    page: int
    context: str  # the last line printed above the table (its title, when it has one)


@dataclass
class TableScan:
    tables: list[RawTable]
    skipped: list[SkippedTable]
    unknown: list[UnknownTable]


@dataclass(frozen=True)
class TitleBook:
    titles: list[tuple[str, str | None]]  # (compact title, statement or None = skipped)
    empty_markers: list[str]
    toc_markers: list[str]


@cache
def load_titles(path: Path = TITLES_FILE) -> TitleBook:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    titles = [
        (normalize_title(t), statement)
        for statement, names in data["statements"].items()
        for t in names
    ]
    titles += [(normalize_title(t), s.name) for s in load_statements().values() for t in s.titles]
    titles += [(normalize_title(t), None) for t in data["skipped"]]
    titles.sort(key=lambda pair: len(pair[0]), reverse=True)
    return TitleBook(titles=titles, empty_markers=[compact(m) for m in data["empty_markers"]],
                     toc_markers=[compact(m) for m in data["toc_markers"]])


def normalize_title(text: str) -> str:
    return _QUOTES.sub("", compact(text))


def match_title(text: str, book: TitleBook) -> tuple[str, str | None] | None:
    """The longest known title printed in ``text``, with its statement (None = skipped)."""
    norm = normalize_title(text)
    for title, statement in book.titles:
        if title in norm:
            return title, statement
    return None


def is_amount(text: str | None) -> bool:
    return bool(text) and bool(_AMOUNT.match(compact(text)))


def is_code(text: str | None) -> bool:
    return bool(text) and bool(_CODE.match(compact(text)))


def _expand_merged(table: pdfplumber.table.Table) -> tuple[list[list[str]], list[float | None]]:
    """Grid of cell texts where a merged cell's text fills every position it covers."""
    texts = table.extract(x_tolerance=1.5)
    rows = table.rows
    n_cols = max(len(r.cells) for r in rows)
    col_x = []
    for j in range(n_cols):
        xs = [(r.cells[j][0], r.cells[j][2]) for r in rows if j < len(r.cells) and r.cells[j]]
        col_x.append(((max(x[0] for x in xs) + min(x[1] for x in xs)) / 2) if xs else None)
    owners: list[tuple[tuple[float, float, float, float], str]] = []
    for i, r in enumerate(rows):
        for j, bbox in enumerate(r.cells):
            if bbox is not None:
                owners.append((bbox, texts[i][j] or ""))
    # Word draws rules that cut merged cells into "phantom" columns: a column where no cell of
    # its own holds any text is dropped (its text, if any, belongs to a merged neighbour).
    keep = [
        j for j in range(n_cols)
        if any(j < len(r.cells) and r.cells[j] is not None and (texts[i][j] or "").strip()
               for i, r in enumerate(rows))
    ]
    grid: list[list[str]] = []
    for i, r in enumerate(rows):
        spans = [c for c in r.cells if c is not None]
        y = (max(c[1] for c in spans) + min(c[3] for c in spans)) / 2
        line = []
        for j in range(n_cols):
            if j < len(r.cells) and r.cells[j] is not None:
                line.append(texts[i][j] or "")
                continue
            x = col_x[j]
            text = ""
            if x is not None:
                for (x0, top, x1, bottom), t in owners:
                    if x0 <= x <= x1 and top <= y <= bottom:
                        text = t
                        break
            line.append(text)
        grid.append([line[j] for j in keep])
    return grid, [col_x[j] for j in keep]


_CAPTION = re.compile(r"(单位[:：]|部门[:：]|名称[:：]|公开\d+表|预算表|决算表|总表|情况表|明细表)")


_UNIT_LINE = re.compile(r"^(部门|单位)(名称)?[:：]")


def _strip_caption_rows(grid: list[list[str]]) -> tuple[list[list[str]], str]:
    """Drop header rows that carry the title, unit or unit name inside the ruled frame.

    Excel-made reports (Jiangsu) print "公开01表 收支预算总表 部门：… 单位：万元" in the first
    rows of the table itself; returns the remaining grid and the caption text.
    """
    caption = []
    kept = []
    for i, row in enumerate(grid):
        if is_data_row(row):
            kept.extend(grid[i:])
            break
        texts = list(dict.fromkeys(compact(c) for c in row if compact(c)))
        if texts and (all(_CAPTION.search(t) for t in texts)
                      or any(_UNIT_LINE.match(t) for t in texts)):
            caption.append(" ".join(texts))
        else:
            kept.append(row)
    return kept, "\n".join(caption)


def is_data_row(cells: list[str]) -> bool:
    """A body row prints an amount with decimals or thousands separators, a code, or 合计/总计."""
    filled = [compact(c) for c in cells if compact(c)]
    if not filled:
        return False
    first = _TOTAL_PREFIX.sub("", filled[0])
    if first in ("合计", "总计"):
        return all(is_amount(c) or _TOTAL_PREFIX.sub("", c) == first for c in filled[1:])
    return any(is_code(c) or (is_amount(c) and ("." in c or "," in c)) for c in filled)


def split_header(grid: list[list[str]]) -> tuple[list[list[str]], list[list[str]]]:
    for i, row in enumerate(grid):
        if is_data_row(row):
            return grid[:i], grid[i:]
    return grid, []


def column_paths(header: list[list[str]], n_cols: int) -> list[list[str]]:
    paths: list[list[str]] = []
    for j in range(n_cols):
        path: list[str] = []
        for row in header:
            text = compact(row[j]) if j < len(row) else ""
            if text == "栏次" or text.isdigit():
                continue
            if text and (not path or path[-1] != text):
                path.append(text)
        paths.append(path)
    return paths


def _unit_in(text: str) -> str | None:
    m = _UNIT.search(compact(text))
    return m.group(1) if m else None


def scan_tables(pdf_bytes: bytes | PDF) -> TableScan:
    """Every ruled table of the PDF, assigned to a statement by the title printed above it.

    A table with no title above it continues the previous page's statement (a table split
    across pages, with or without a repeated header).
    """
    book = load_titles()
    scan = TableScan(tables=[], skipped=[], unknown=[])
    current: RawTable | None = None
    skipping: SkippedTable | None = None
    with open_pdf(pdf_bytes) as pdf:  # bytes, or a PDF the caller already opened
        for page_no, page in enumerate(pdf.pages, start=1):
            found = page.find_tables(RULED_TABLE_SETTINGS)
            found.sort(key=lambda t: t.bbox[1])
            head = compact(page.extract_text() or "")[:40] if found else ""
            if any(m in head for m in book.toc_markers):
                scan.skipped.extend(SkippedTable("table of contents", page_no) for _ in found)
                current = None
                continue
            top = 0.0
            for table in found:
                above = page.crop((0, top, page.width, table.bbox[1])).extract_text() or ""
                below_limit = page.height
                top = table.bbox[3]
                grid, col_x = _expand_merged(table)
                grid, inside = _strip_caption_rows(grid)
                if not grid:
                    continue
                hit = match_title(above, book) or (match_title(inside, book) if inside else None)
                above = above + "\n" + inside
                if hit is None and current is not None and current.pages[-1] == page_no - 1:
                    _continue_table(current, grid, col_x, page_no)
                    continue
                if hit is None and skipping is not None and skipping.page >= page_no - 1:
                    # a skipped table (政府采购 …) running on over the next page is skipped too
                    skipping = SkippedTable(skipping.title, page_no)
                    scan.skipped.append(skipping)
                    continue
                skipping = None
                if hit is None:
                    lines = [compact(line) for line in above.splitlines() if compact(line)]
                    scan.unknown.append(UnknownTable(page_no, lines[-1][-80:] if lines else ""))
                    current = None
                    continue
                title, statement = hit
                if statement is None:
                    skipping = SkippedTable(title, page_no)
                    scan.skipped.append(skipping)
                    current = None
                    continue
                header, body = split_header(grid)
                n_cols = len(grid[0])
                current = RawTable(
                    statement=statement,
                    title=title,
                    pages=[page_no],
                    column_paths=column_paths(header, n_cols),
                    rows=[(page_no, row) for row in body],
                    source_unit=_unit_in(above) or "万元",
                    column_x=col_x,
                )
                below = page.crop((0, table.bbox[3], page.width, below_limit)).extract_text() or ""
                current.printed_empty = any(m in compact(below + above) for m in book.empty_markers)
                scan.tables.append(current)
    for t in scan.tables:
        _merge_duplicate_columns(t)
    return scan


def _merge_duplicate_columns(table: RawTable) -> None:
    """Fold adjacent columns with the same header whose cells never disagree.

    Word-drawn tables split one printed column into several grid columns; a value then sits in
    one of them, or is repeated by merged-cell expansion. Columns that print different values
    under one header (类 / 款 / 项 digits under 科目编码) are kept apart.
    """
    j = 0
    while j + 1 < len(table.column_paths):
        left, right = table.column_paths[j], table.column_paths[j + 1]
        same_header = left == right or not left or not right
        agree = all(
            not compact(r[j]) or not compact(r[j + 1]) or compact(r[j]) == compact(r[j + 1])
            for _, r in table.rows
        )
        if same_header and agree:
            for _, r in table.rows:
                r[j] = r[j] if compact(r[j]) else r[j + 1]
                del r[j + 1]
            table.column_paths[j] = left or right
            del table.column_paths[j + 1]
            if j + 1 < len(table.column_x):
                del table.column_x[j + 1]
        else:
            j += 1


def _continue_table(current: RawTable, grid: list[list[str]], col_x: list[float | None],
                    page_no: int) -> None:
    """Append a continuation page; a repeated header is recognised and dropped.

    A continuation that lost column rules (a lone 合计 row spanning the label columns) is
    aligned to the first page's columns by x position.
    """
    _, body = split_header(grid)
    n = len(current.column_paths)
    if body and len(body[0]) != n:
        body = [_align(row, col_x, current.column_x) for row in body]
    current.rows.extend((page_no, row) for row in body)
    current.pages.append(page_no)


def _align(row: list[str], col_x: list[float | None], target_x: list[float | None]) -> list[str]:
    out = [""] * len(target_x)
    known = [(k, x) for k, x in enumerate(target_x) if x is not None]
    for j, text in enumerate(row):
        if not text or j >= len(col_x) or col_x[j] is None or not known:
            continue
        k = min(known, key=lambda kx: abs(kx[1] - col_x[j]))[0]
        out[k] = out[k] or text
    return out
