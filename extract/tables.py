"""Finding the statement tables of a report and reading them as grids of printed strings.

Only geometry and printed text are handled here. A statement region starts at a printed title
(``statement_titles.yaml``) and runs to the next title, a note line (注：…) or the page end; a
page without a title that follows an open region continues it, aligned by column position,
with or without a repeated header. Each region is read by ``extract.grid`` from positioned
words (any ``WordSource``: the PDF text layer or OCR), with ruling lines as hints only. What a
label or a column *means* is decided in ``transform.table_facts``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from hotline_budgets.extract.grid import (
    Cell,
    Columns,
    Line,
    group_lines,
    is_amount,
    is_code,
    is_data_row,
    read_grid,
)
from hotline_budgets.extract.layer import PdfLayer
from hotline_budgets.extract.pdf_text import open_pdf
from hotline_budgets.extract.words import PageWords, Rule, text_layer_page
from hotline_budgets.statements import load_statements
from hotline_budgets.text import compact

__all__ = ["RawTable", "TableScan", "is_amount", "is_code", "is_data_row", "scan_tables", "scan_pages"]

TITLES_FILE = Path(__file__).parent / "statement_titles.yaml"

_QUOTES = re.compile(r"[“”\"'‘’「」()（）、，,]")
_UNIT = re.compile(r"(?:金额)?单位[:：]\s*(万元|千元|元)")
_CAPTION = re.compile(r"(单位[:：]|部门[:：]|名称[:：]|公开\d+表|预算表|决算表|总表|情况表|明细表)")
_UNIT_LINE = re.compile(r"^(部门|单位|编制单位|预算单位)(名称)?[:：]")
_NOTE = re.compile(r"^[（(]?(注|备注)\d*[:：]")
_PRINTED_AMOUNT = re.compile(r"\d\.\d|\d,\d{3}")
_DECIMAL = re.compile(r"(?<![\d.])\d[\d,]*\.\d{2}(?![\d万元%])")
_PAGE_NUMBER = re.compile(r"^[-—－第]*\d{1,3}[-—－页]*$")
# A title line is a caption, not a sentence that names a table in passing.
_TITLE_SLACK = 24


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
    boxes: list[list[str]] = field(default_factory=list)  # per row, per column: "x0,top,x1,bottom"
    columns: Columns | None = None
    title_line: str = ""  # the caption line as printed (公开01表 收入支出决算总表 …)


@dataclass
class SkippedTable:
    """A table recognised by title as having no SCHEMA statement (机关运行经费, 政府采购 …)."""

    title: str
    page: int


@dataclass
class UnknownTable:
    """A table whose title names no known statement: reported, never guessed."""

    page: int
    context: str


@dataclass
class TableScan:
    tables: list[RawTable]
    skipped: list[SkippedTable]
    unknown: list[UnknownTable]
    # other readings of the same statements (the ruled grid where one is drawn): transform
    # keeps, per statement, the reading under which it reconciles
    alternatives: list[RawTable] = field(default_factory=list)


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


def names_statement(text: str, book: TitleBook) -> bool:
    """Does ``text`` print the title of a SCHEMA statement anywhere (skipped titles aside)?"""
    norm = normalize_title(text)
    return any(statement is not None and title in norm for title, statement in book.titles)


def _title_of_line(line: Line, book: TitleBook) -> tuple[str, str | None] | None:
    """A line that is a table's caption: it names a title and says little else."""
    text = normalize_title(line.text)
    if _NOTE.match(text) or any(ch in text for ch in "《》。；"):
        return None  # a sentence that names a table in passing
    hit = match_title(text, book)
    if hit is None or len(text) > len(hit[0]) + _TITLE_SLACK:
        return None
    return hit


def _unit_in(text: str) -> str | None:
    m = _UNIT.search(compact(text))
    return m.group(1) if m else None


def _is_caption(line: Line) -> bool:
    """A line above the header that carries the table number, unit or unit name."""
    text = compact(line.text)
    return bool(_CAPTION.search(text) or _UNIT_LINE.match(text) or _UNIT.search(text))


@dataclass
class _Region:
    lines: list[Line]
    ended: bool  # closed by a note line or the next title (nothing runs on to the next page)
    text: str = ""  # everything printed up to the next title, notes included (本表无数据 …)


def _split_region(lines: list[Line]) -> tuple[list[Line], list[Line], list[Line], bool]:
    """(captions, header, body, runs_to_page_end) of a region's lines."""
    while lines and _PAGE_NUMBER.match(compact(lines[-1].text)):
        lines = lines[:-1]  # the page number under the table (- 8 -) is no row
    i = 0
    while i < len(lines) and _is_caption(lines[i]):
        i += 1
    captions = lines[:i]
    first = next((k for k in range(i, len(lines)) if is_data_row(lines[k].texts)), None)
    if first is None:
        return captions, lines[i:], [], True
    header = lines[i:first]
    body = [lines[first]]
    for ln in lines[first + 1:]:
        gaps = [b.top - a.bottom for a, b in zip(body, body[1:], strict=False)]
        step = max(gaps + [ln.cells[0].height]) if gaps else 1.5 * ln.cells[0].height
        if ln.top - body[-1].bottom > 2.5 * max(step, ln.cells[0].height):
            break
        body.append(ln)
    rest = lines[first + len(body):]
    runs_on = all(_PAGE_NUMBER.match(compact(ln.text)) for ln in rest)
    return captions, header, body, runs_on


def _tabular(body: list[Line]) -> bool:
    """Amounts printed in columns fall on a few shared edges, line after line; a statement
    flowed as text puts them wherever the words before them end."""
    per_line = [[c for c in ln.cells if c.numeric] for ln in body]
    widest = max((len(n) for n in per_line), default=0)
    if len(body) < 3 or widest == 0:
        return True
    edges = sorted(c.x1 if ("." in c.text or "," in c.text) else c.x0 for n in per_line for c in n)
    clusters = 1 + sum(1 for a, b in zip(edges, edges[1:], strict=False) if b - a > 1.5)
    return clusters <= 2 * widest + 1


def _aligned(body: list[Line], cols: Columns) -> bool:
    """Does a page's body print its amounts in the columns of the table it would continue?"""
    nums = [c for ln in body for c in ln.cells if c.numeric]
    if not nums:
        return False
    hits = sum(1 for c in nums if any(c.x0 < b + 2 and c.x1 > a - 2 for a, b in cols.spans))
    multi = sum(1 for ln in body if len({cols.index(c) for c in ln.cells}) >= 2)
    return hits >= 0.8 * len(nums) and multi >= max(1, len(body) // 2)


def _rules_near(rules: list[Rule], lines: list[Line]) -> list[Rule]:
    """The rules drawn within (or just around) these lines' band."""
    top, bottom = min(ln.top for ln in lines) - 2, max(ln.bottom for ln in lines) + 2
    return [r for r in rules if r.bottom >= top and r.top <= bottom]


def _header_above(header: list[Line], rules: list[Rule], body: list[Line], page_rules: list[Rule]
                  ) -> tuple[list[Line], list[Rule]]:
    """A header left at the foot of the previous page, moved to sit just above this page's body
    (and its rules with it): read as if printed there, which is what the reader of the page sees."""
    gap = max(ln.bottom - ln.top for ln in header)
    dy = body[0].top - gap - max(ln.bottom for ln in header)
    moved = [Line([Cell(c.text, c.x0, c.top + dy, c.x1, c.bottom + dy) for c in ln.cells])
             for ln in header]
    shifted = [Rule(r.x0, r.top + dy, r.x1, r.bottom + dy) for r in rules]
    return moved, shifted + page_rules


class _Scanner:
    def __init__(self) -> None:
        self.book = load_titles()
        self.scan = TableScan(tables=[], skipped=[], unknown=[])
        self.current: RawTable | None = None  # an open statement region
        self.skipping: SkippedTable | None = None  # an open skipped region
        self.last_page = 0
        # a title's header printed with no rows under it at a page's foot: (table, lines, rules)
        self.orphan: tuple[RawTable, list[Line], list[Rule]] | None = None

    def page(self, pw: PageWords) -> None:
        lines = group_lines(pw.words)
        if pw.page != self.last_page + 1:
            self.current = self.skipping = None
        self.last_page = pw.page
        head = compact("".join(ln.text for ln in lines[:3]))[:40]
        if any(m in head for m in self.book.toc_markers):
            if any(_title_of_line(ln, self.book) for ln in lines):
                self.scan.skipped.append(SkippedTable("table of contents", pw.page))
            self.current = self.skipping = None
            return
        prev_open = self.current
        starts = [(i, hit) for i, ln in enumerate(lines) if (hit := _title_of_line(ln, self.book))]
        first = starts[0][0] if starts else len(lines)
        lead = self._cut_at_note(lines[:first])
        if self.current is not None:
            self._continue(self.current, lead, pw)
        elif self.skipping is not None and lead.lines:
            self.skipping = SkippedTable(self.skipping.title, pw.page)
            self.scan.skipped.append(self.skipping)
            if lead.ended:
                self.skipping = None
        else:
            self.skipping = None
            if not starts:
                self._unknown(lines, pw.page)
        # a table open from the last page, when nothing above this page's first title continues it
        running = prev_open if not any(is_data_row(ln.texts) for ln in lead.lines) else None
        if starts:
            self.current = self.skipping = None
        for n, (i, (title, statement)) in enumerate(starts):
            end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
            region = self._cut_at_note(lines[i + 1:end])
            region.ended = region.ended or n + 1 < len(starts)
            if statement is None:
                self.skipping = SkippedTable(title, pw.page)
                self.scan.skipped.append(self.skipping)
                if region.ended:
                    self.skipping = None
                continue
            if (n == 0 and running is not None and running.statement == statement
                    and running.title == title and running.columns is not None):
                # the title (and header) repeated on a continuation page: 表3 支出总表 on every page
                self.current = running
                self._continue(running, region, pw, lines[i].text)
                if self.current is running:
                    if region.ended:
                        self.current = None
                    continue
                if pw.page in running.pages:
                    continue
            table = RawTable(statement=statement, title=title, pages=[pw.page], column_paths=[],
                             source_unit=_unit_in(lines[i].text) or "万元",
                             title_line=lines[i].text)
            self.scan.tables.append(table)
            self.current = table
            self._continue(table, region, pw, lines[i].text)
            if region.ended:
                self.current = None

    def _unknown(self, lines: list[Line], page: int) -> None:
        """A block of aligned amount rows under no known title: reported, never guessed."""
        for k in range(len(lines) - 1):
            a, b = lines[k], lines[k + 1]
            na = [c for c in a.cells if c.numeric and "." in c.text]
            nb = [c for c in b.cells if c.numeric and "." in c.text]
            aligned = any(abs(x.x1 - y.x1) <= 2 or abs(x.x0 - y.x0) <= 2 for x in na for y in nb)
            if len(a.cells) >= 2 and len(b.cells) >= 2 and aligned:
                j = k - 1
                while j >= 0 and len(lines[j].cells) >= 2:
                    j -= 1
                context = compact(lines[j].text)[-80:] if j >= 0 else ""
                self.scan.unknown.append(UnknownTable(page, context))
                return

    def _cut_at_note(self, lines: list[Line]) -> _Region:
        text = "".join(ln.text for ln in lines)
        for k, ln in enumerate(lines):
            if _NOTE.match(compact(ln.text)):
                return _Region(lines[:k], True, text)
        return _Region(lines, False, text)

    def _continue(self, table: RawTable, region: _Region, pw: PageWords, title_text: str = "") -> None:
        """Read a region into ``table``: its first page, or a page that continues it."""
        captions, header, body, runs_on = _split_region(region.lines)
        text = title_text + region.text
        if any(m in compact(text) for m in self.book.empty_markers):
            table.printed_empty = True
        if table.columns is None:
            unit = _unit_in(title_text + "".join(ln.text for ln in captions + header))
            if unit:
                table.source_unit = unit
            if not body:
                if region.ended:
                    self.current = None
                elif header:  # title and header at a page's foot, the rows on the next page
                    self.orphan = (table, header, _rules_near(pw.rules, header))
                return
            rules = pw.rules
            if not header and self.orphan is not None and self.orphan[0] is table:
                header, rules = _header_above(self.orphan[1], self.orphan[2], body, pw.rules)
            self.orphan = None
            grid = read_grid(header, body, rules)
            if len(grid.column_paths) < 2 or not any(grid.columns.amount) or not _tabular(body):
                # a title followed by text, not by a table (a heading that names the statement)
                self.scan.tables.remove(table)
                self.current = None
                return
            table.column_paths = grid.column_paths
            table.columns = grid.columns
            table.column_x = list(grid.columns.centers) if grid.columns else []
            if pw.page not in table.pages:
                table.pages.append(pw.page)
        else:
            if not body or not _aligned(body, table.columns):
                self.current = None
                return
            grid = read_grid([], body, pw.rules, columns=table.columns)
            if pw.page not in table.pages:
                table.pages.append(pw.page)
        table.rows.extend((pw.page, row) for row in grid.rows)
        table.boxes.extend(grid.boxes)
        if not runs_on or region.ended:
            self.current = None


def scan_pages(pages: Iterable[PageWords]) -> TableScan:
    """Every statement table printed on ``pages`` (any word source), in page order."""
    scanner = _Scanner()
    for pw in pages:
        scanner.page(pw)
    # a title line followed by no table (a heading that names it, a title at a page end whose
    # table never came) is no table; a statement printed empty (本表无数据) is kept
    scanner.scan.tables = [t for t in scanner.scan.tables if t.columns is not None or t.printed_empty]
    for t in scanner.scan.tables:
        _merge_duplicate_columns(t)
    return scanner.scan


def wants_page(text: str, previous_wanted: bool, book: TitleBook | None = None) -> bool:
    """Cheap triage on a page's plain text: only pages that name a statement title, or that may
    continue one (they follow such a page and print amounts), pay for table finding."""
    book = book or load_titles()
    if match_title(text, book) is not None:
        return True
    if previous_wanted and _PRINTED_AMOUNT.search(text):
        return True
    # a table under a title that names no statement is reported (UnknownTable), so a page
    # printing amounts on several lines is looked at too
    return sum(1 for line in text.splitlines() if _DECIMAL.search(line)) >= 2


def scan_tables(source: bytes | PdfLayer, texts: list[str] | None = None,
                ocr_words: dict[int, PageWords] | None = None) -> TableScan:
    """Every statement table of a PDF's text layer, read from its words (and, where a page
    draws a grid, from its rules as a second reading). ``source`` is the bytes or the PDF the
    caller already opened; ``texts`` the page texts it already read (used for triage);
    ``ocr_words`` the OCR words of scanned pages, read by the same reader in their place."""
    from hotline_budgets.extract.ruled import scan_ruled

    with open_pdf(source) as pdf:
        if texts is None:
            texts = [p.extract_text() for p in pdf.pages]
        pages = triaged_pages(pdf, texts, ocr_words)
        scan = scan_pages(pages)
        gridded = {p.page for p in pages if sum(1 for r in p.rules if not r.is_horizontal) >= 4}
        if gridded:  # the grid's continuation pages may have lost their rules: read them too
            scan.alternatives = scan_ruled(pdf, {p.page for p in pages}, ocr_words)
    return scan


def triaged_pages(pdf: PdfLayer, texts: list[str],
                  ocr_words: dict[int, PageWords] | None = None) -> list[PageWords]:
    """Positioned words of the pages that triage keeps (see ``wants_page``): the text layer's,
    or a scanned page's OCR words."""
    book = load_titles()
    ocr_words = ocr_words or {}
    if len(texts) != len(pdf):
        raise ValueError(f"{len(texts)} page texts for a PDF of {len(pdf)} pages")
    out = []
    wanted = False
    for page_no, text in enumerate(texts, start=1):
        wanted = wants_page(text, wanted, book)
        if wanted:
            out.append(ocr_words.get(page_no) or text_layer_page(pdf.page(page_no), page_no))
    return out


def _merge_duplicate_columns(table: RawTable) -> None:
    """Fold adjacent columns with the same header whose cells never disagree.

    A value printed across two columns (a merged cell, a Word phantom column) sits in one of
    them; columns that print different values under one header (类 / 款 / 项 digits under
    科目编码) are kept apart.
    """
    j = 0
    while j + 1 < len(table.column_paths):
        left, right = table.column_paths[j], table.column_paths[j + 1]
        same_header = left == right or not left or not right
        agree = all(
            not compact(r[j]) or not compact(r[j + 1]) or compact(r[j]) == compact(r[j + 1])
            for _, r in table.rows
        )
        if same_header and agree and table.rows:
            for i, (_, r) in enumerate(table.rows):
                b = table.boxes[i] if i < len(table.boxes) else None
                if not compact(r[j]):
                    r[j] = r[j + 1]
                    if b:
                        b[j] = b[j + 1]
                del r[j + 1]
                if b:
                    del b[j + 1]
            table.column_paths[j] = left or right
            del table.column_paths[j + 1]
            if j + 1 < len(table.column_x):
                del table.column_x[j + 1]
        else:
            j += 1
