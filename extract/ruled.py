"""The second reading of a page: pdfplumber's ruled-grid finder (``lines`` strategy).

Where a page draws a full grid, the grid itself is a reading of the table (merged cells
expanded over every column and row they cover). ``extract.tables`` offers it beside the
word-alignment reading; ``transform`` keeps the reading whose statement reconciles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pdfplumber
from pdfplumber.table import Table, TableFinder, TableSettings
from pdfplumber.utils import extract_text, extract_words

from hotline_budgets.extract.grid import is_data_row
from hotline_budgets.extract.layer import PdfLayer
from hotline_budgets.extract.tables import (
    RawTable,
    _merge_duplicate_columns,
    load_titles,
    match_title,
    names_statement,
)
from hotline_budgets.extract.words import AMOUNT_CHAR_SET, AMOUNT_CHARS, PageWords, Rule, words_to_text
from hotline_budgets.text import compact

# One validated settings object for every ruled table (see STACK.md "pdfplumber").
RULED_TABLE_SETTINGS: dict[str, object] = {
    "vertical_strategy": "lines",
    "horizontal_strategy": "lines",
    "intersection_tolerance": 3,
    "snap_tolerance": 3,
}

_QUOTES = re.compile(r"[“”\"'‘’「」()（）、，,]")
_UNIT = re.compile(r"(?:金额)?单位[:：]\s*(万元|千元|元)")
_TOTAL_PREFIX = re.compile(r"^[一二三四五六七八九十]+[、.]")

@dataclass
class _CharsOnly:
    """All pdfplumber's ``Table.extract`` asks of a page: its chars (here only the table's, so
    each row does not scan the whole page)."""

    chars: list[dict]


class _Row(list):
    """A grid row of cell texts that also knows each cell's box ("x0,top,x1,bottom")."""

    boxes: list[str]


def _in_box(char: dict, box: tuple[float, float, float, float]) -> bool:
    """pdfplumber's Table.extract test: the char's centre, half-open box."""
    h, v = (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2
    return box[0] <= h < box[2] and box[1] <= v < box[3]


def _runs(chars: list[dict], owner: dict[int, int], boxes: list) -> list[list[dict]]:
    """A word's chars (left to right) cut into printed runs: where two chars overlap (one run
    never overlaps itself, two texts that overflow into each other do: '序号' over '单位编码'),
    and at a cell boundary no char is cut by (two cells' texts a hair apart, read as one word:
    '公务用车购置' | '公务用车运行')."""
    out: list[list[dict]] = []
    for c in chars:
        if not out:
            out.append([c])
            continue
        prev = out[-1][-1]
        a, b = owner.get(id(prev)), owner.get(id(c))
        edge = boxes[a][2] if a is not None and a != b else None
        cut = edge is not None and not (prev["x0"] < edge < prev["x1"] or c["x0"] < edge < c["x1"])
        if prev["x1"] - c["x0"] > 1.0 or cut:
            out.append([c])
        else:
            out[-1].append(c)
    return out


def _crossing_rows(table: Table, words: list[dict]) -> set[int]:
    """Rows where a word runs over a cell boundary (most tables have none: they keep
    pdfplumber's own texts at pdfplumber's cost)."""
    rows = [(i, r.bbox, [b[2] for b in r.cells if b is not None]) for i, r in enumerate(table.rows)]
    out: set[int] = set()
    for w in words:
        mid = (w["top"] + w["bottom"]) / 2
        for i, bbox, edges in rows:
            if i not in out and bbox[1] <= mid < bbox[3] and any(
                    w["x0"] + 0.5 < e < w["x1"] - 0.5 for e in edges):
                out.add(i)
    return out


def _row_texts(row, chars: list[dict]) -> list[str | None]:  # noqa: ANN001 - pdfplumber CellGroup
    """One row's cell texts with overflowing runs given to their home cell (see cell_texts)."""
    row_chars = [c for c in chars if _in_box(c, row.bbox)]
    boxes = list(row.cells)
    owner: dict[int, int] = {}
    for c in row_chars:
        for j, box in enumerate(boxes):
            if box is not None and _in_box(c, box):
                owner[id(c)] = j
                break
    for word in extract_words(row_chars, return_chars=True, x_tolerance=1.5, y_tolerance=2):
        cs = sorted(word["chars"], key=lambda c: c["x0"])
        if len({owner.get(id(c)) for c in cs} - {None}) <= 1:
            continue
        first = owner.get(id(cs[0]))
        digits = [c for c in cs if owner.get(id(c)) != first and c["text"] in AMOUNT_CHAR_SET]
        if AMOUNT_CHARS.match("".join(c["text"] for c in digits)):
            taken = {id(c) for c in digits}
            cs = [c for c in cs if id(c) not in taken]
        for run in _runs(cs, owner, boxes):
            if any(c["text"].isdigit() for c in run) or len({owner.get(id(c)) for c in run}) <= 1:
                continue
            x0, x1 = run[0]["x0"], max(c["x1"] for c in run)
            touched = sorted({owner[id(c)] for c in run if id(c) in owner})
            # its home: the cell it covers most (a centred label overflowing both sides, a
            # left-aligned one running on to the right)
            home = max(touched, key=lambda j: (min(x1, boxes[j][2]) - max(x0, boxes[j][0]), -j))
            for c in run:
                owner[id(c)] = home
    texts: list[str | None] = []
    for j, box in enumerate(boxes):
        if box is None:
            texts.append(None)
            continue
        mine = [c for c in row_chars if owner.get(id(c)) == j]
        texts.append(extract_text(mine, x_tolerance=1.5) if mine else "")
    return texts


def cell_texts(table: Table, chars: list[dict], words: list[dict] | None = None
               ) -> list[list[str | None]]:
    """``table.extract(x_tolerance=1.5)``, except for text that overflows its ruled cell.

    A label wider than its cell is printed across the rules beside it (Excel leaves it
    unclipped): cutting its chars at the rules gives '预算数政 | 府预算支出经济科目（按大类 | ）预算数'
    and '…服务保 | 障中18心39311.66'. A run of label chars that crosses a rule belongs to the cell
    it covers most; the digits past the rule that form an amount stay in their own cell.
    ``words``: the page's words, where the caller has them (else read from ``chars``).
    """
    texts = table.extract(x_tolerance=1.5)
    if words is None:
        words = extract_words(chars, x_tolerance=1.5, y_tolerance=2)
    x0, top, x1, bottom = table.bbox
    words = [w for w in words if x0 <= (w["x0"] + w["x1"]) / 2 < x1
             and top <= (w["top"] + w["bottom"]) / 2 < bottom]
    for i in _crossing_rows(table, words):
        texts[i] = _row_texts(table.rows[i], chars)
    return texts


def _bbox(b: tuple[float, float, float, float] | None) -> str:
    return "" if b is None else f"{b[0]:.1f},{b[1]:.1f},{b[2]:.1f},{b[3]:.1f}"


def _expand_merged(table: pdfplumber.table.Table, texts: list[list[str | None]]
                   ) -> tuple[list[list[str]], list[float | None]]:
    """Grid of cell texts where a merged cell's text fills every position it covers (``texts``:
    the cells' texts, from ``cell_texts`` or from OCR words)."""
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
        line, boxes = [], []
        for j in range(n_cols):
            if j < len(r.cells) and r.cells[j] is not None:
                line.append(texts[i][j] or "")
                boxes.append(_bbox(r.cells[j]))
                continue
            x = col_x[j]
            text, box = "", ""
            if x is not None:
                for (x0, top, x1, bottom), t in owners:
                    if x0 <= x <= x1 and top <= y <= bottom:
                        text, box = t, _bbox((x0, top, x1, bottom))
                        break
            line.append(text)
            boxes.append(box)
        row = _Row(line[j] for j in keep)
        row.boxes = [boxes[j] for j in keep]
        grid.append(row)
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


_ENUMERATED_ROW = re.compile(r"^[一二三四五六七八九十]+、\S{2,}")


def split_header(grid: list[list[str]]) -> tuple[list[list[str]], list[list[str]]]:
    """(header rows, body rows): the body starts at the first row that prints an amount, a
    code or a total, or an enumerated row label (十八、粮油物资储备支出 on a continuation page
    whose first rows are blank): a column header names columns, it never numbers items."""
    for i, row in enumerate(grid):
        if is_data_row(row) or (i and any(_ENUMERATED_ROW.match(compact(c)) for c in row if c)):
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


# Rules found in a scan stop a little short of each other: tolerances a bit wider than the
# text layer's (RULED_TABLE_SETTINGS), in points.
OCR_EDGE_TOLERANCE = 4.0


def _rule_edges(rules: list[Rule]) -> list[dict]:
    """Rules as pdfplumber edges (a horizontal rule at its mid-height, a vertical at mid-width)."""
    edges = []
    for r in rules:
        if r.is_horizontal:
            y = (r.top + r.bottom) / 2
            edges.append(dict(x0=r.x0, x1=r.x1, top=y, bottom=y, width=r.x1 - r.x0, height=0.0,
                              orientation="h"))
        else:
            x = (r.x0 + r.x1) / 2
            edges.append(dict(x0=x, x1=x, top=r.top, bottom=r.bottom, width=0.0,
                              height=r.bottom - r.top, orientation="v"))
    return edges


def _words_in(pw: PageWords, x0: float, top: float, x1: float, bottom: float) -> list:
    return [w for w in pw.words
            if x0 <= (w.x0 + w.x1) / 2 <= x1 and top <= (w.top + w.bottom) / 2 <= bottom]


def ocr_grids(pw: PageWords) -> list[tuple[pdfplumber.table.Table, list[list[str | None]]]]:
    """A scanned page's ruled tables: the rules found in the image through pdfplumber's own
    edge → cell → table steps, each cell holding the OCR words whose centre is inside it."""
    from pdfplumber.table import (
        Table,
        cells_to_tables,
        edges_to_intersections,
        intersections_to_cells,
        merge_edges,
    )

    tol = OCR_EDGE_TOLERANCE
    edges = merge_edges(_rule_edges(pw.rules), tol, tol, tol, tol)
    edges = [e for e in edges if (e["x1"] - e["x0"]) + (e["bottom"] - e["top"]) >= 3 * tol]
    out = []
    for cells in cells_to_tables(intersections_to_cells(edges_to_intersections(edges, tol, tol))):
        if len(cells) < 2:
            continue
        table = Table(None, cells)  # type: ignore[arg-type]  # rows and bbox need only the cells
        out.append((table, [[words_to_text(_words_in(pw, *c)) if c is not None else None
                             for c in r.cells] for r in table.rows]))
    return out


def scan_ruled(pdf: PdfLayer, page_numbers: set[int],
               ocr_words: dict[int, PageWords] | None = None) -> list[RawTable]:
    """Every ruled statement table of the PDF, assigned to a statement by the title printed
    above it (this second reading keeps statements only: the word reader reports the skipped
    and unknown tables).

    A table with no title above it continues the previous page's statement (a table split
    across pages, with or without a repeated header). Pages in ``ocr_words`` (scans) are read
    from the rules found in the image and their OCR words; text-layer pages by pdfplumber's own
    TableFinder on pdfium's edges and chars (``extract.layer``). A page that neither names a
    statement nor continues one pays for no table finding (triage).
    """
    book = load_titles()
    tables: list[RawTable] = []
    current: RawTable | None = None
    settings = TableSettings.resolve(RULED_TABLE_SETTINGS)
    for page_no in range(1, len(pdf) + 1):
        if page_no not in page_numbers:
            current = None
            continue
        page = pdf.page(page_no)
        ocr = (ocr_words or {}).get(page_no)
        whole = words_to_text(ocr.words) if ocr is not None else page.extract_text()
        if current is None or current.pages[-1] != page_no - 1:
            current = None
            if not names_statement(whole, book):
                continue  # only skipped or unknown tables could be found here
        if ocr is not None:
            found_texts = ocr_grids(ocr)
        else:  # the finder asks a page for .edges and .bbox, a table for .chars only
            found_texts = [(Table(_CharsOnly(page.chars_in(t.bbox)), t.cells), None)  # type: ignore[arg-type]
                           for t in TableFinder(page, settings).tables]  # type: ignore[arg-type]
        found_texts.sort(key=lambda tt: tt[0].bbox[1])

        def text_between(top: float, bottom: float, page=page, ocr=ocr) -> str:
            if ocr is not None:
                return words_to_text([w for w in ocr.words
                                      if top <= (w.top + w.bottom) / 2 < bottom])
            return page.text_between(top, bottom)

        if found_texts and any(m in compact(whole)[:40] for m in book.toc_markers):
            current = None
            continue
        top = 0.0
        for table, texts in found_texts:
            above = text_between(top, table.bbox[1])
            below_limit = page.height
            top = table.bbox[3]
            if texts is None:  # the page's words, as the word reader read them (cached)
                texts = cell_texts(table, table.page.chars,
                                   page.extract_words(x_tolerance=1.5, y_tolerance=2, return_chars=True))
            grid, col_x = _expand_merged(table, texts)
            grid, inside = _strip_caption_rows(grid)
            if not grid:
                continue
            hit = match_title(above, book) or (match_title(inside, book) if inside else None)
            above = above + "\n" + inside
            if hit is None and current is not None and current.pages[-1] == page_no - 1:
                _continue_table(current, grid, col_x, page_no)
                continue
            if hit is None or hit[1] is None:  # unknown, or a skipped table (政府采购 …)
                current = None
                continue
            title, statement = hit
            header, body = split_header(grid)
            unglue_labels(body)
            n_cols = len(grid[0])
            current = RawTable(
                statement=statement,
                title=title,
                pages=[page_no],
                column_paths=column_paths(header, n_cols),
                rows=[(page_no, row) for row in body],
                boxes=[_boxes_of(row) for row in body],
                source_unit=_unit_in(above) or "万元",
                column_x=col_x,
            )
            below = text_between(table.bbox[3], below_limit)
            current.printed_empty = any(m in compact(below + above) for m in book.empty_markers)
            tables.append(current)
    for t in tables:
        _merge_duplicate_columns(t)
    return tables


_LABEL_CHARS = re.compile(r"[\u4e00-\u9fff（）()、\s]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CLOSING = re.compile(r"^[）)]+$")  # the closing bracket of a wrapped label: 机关资本性支出（一 | ）0.00


def _unglued(cell: str) -> tuple[str, str] | None:
    """(words, amount) of a cell printing an amount among words of a wrapped label: glued
    ('缴费支出43608.96') or interleaved by position ('0设.0)0' = '设)' + '0.00')."""
    words = "".join(_LABEL_CHARS.findall(cell)).replace(" ", "")
    amount = _LABEL_CHARS.sub("", cell)
    if (_CJK.search(words) or _CLOSING.match(words)) and AMOUNT_CHARS.match(amount):
        return words, amount
    return None


def unglue_labels(body: list[list[str]]) -> None:
    """A wrapped name's last line printed into the next cell, glued to its amount
    ('机关事业单位职业年金' | '缴费支出43608.96'): the words go back to the name, the amount stays."""
    for row in body:
        for j in range(1, len(row)):
            left = compact(row[j - 1] or "")
            split = _unglued(compact(row[j] or ""))
            if split and _CJK.search(left) and _unglued(left) is None:
                row[j - 1] = left + split[0]
                row[j] = split[1]


def _continue_table(current: RawTable, grid: list[list[str]], col_x: list[float | None],
                    page_no: int) -> None:
    """Append a continuation page; a repeated header is recognised and dropped.

    A continuation that lost column rules (a lone 合计 row spanning the label columns) is
    aligned to the first page's columns by x position.
    """
    _, body = split_header(grid)
    unglue_labels(body)
    n = len(current.column_paths)
    if body and len(body[0]) != n:
        aligned = []
        for row in body:
            new = _Row(_align(row, col_x, current.column_x))
            new.boxes = _align(_boxes_of(row), col_x, current.column_x, texts=row)
            aligned.append(new)
        body = aligned
    current.rows.extend((page_no, row) for row in body)
    current.boxes.extend(_boxes_of(row) for row in body)
    current.pages.append(page_no)


def _boxes_of(row: list[str]) -> list[str]:
    return list(getattr(row, "boxes", [""] * len(row)))


def _align(row: list[str], col_x: list[float | None], target_x: list[float | None],
           texts: list[str] | None = None) -> list[str]:
    """Cells placed on the nearest target column (``texts`` says which cells are printed when
    ``row`` holds their boxes)."""
    out = [""] * len(target_x)
    known = [(k, x) for k, x in enumerate(target_x) if x is not None]
    for j, text in enumerate(row):
        printed = texts[j] if texts is not None else text
        if not printed or j >= len(col_x) or col_x[j] is None or not known:
            continue
        k = min(known, key=lambda kx: abs(kx[1] - col_x[j]))[0]
        if texts is None or not (out[k]):
            out[k] = out[k] or text
    return out
