"""Reading one table region of a page as a grid of printed strings, from positioned words.

Rules (lines, rectangle edges, curves) are hints, never required: columns come from how the
body cells align (amounts share right edges, codes and names share left edges, a column's cells
overlap horizontally) and from the header cells; a vertical rule, where one is drawn, splits
and bounds those columns. Rows come from baselines; a line that prints only a name close under
(or over) a row with amounts is that row's wrapped name. Header cells become per-column paths:
a cell centred over several columns (a merged group header) covers all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from statistics import median

from hotline_budgets.extract.words import Rule, Word
from hotline_budgets.text import compact

_AMOUNT = re.compile(r"^[-－]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[-－]?\.\d+$")
# digits and number punctuation that do not parse: an OCR misreading ("1.165.30") of an amount,
# still a body cell (transform.ocr_readings proposes its readings)
_AMOUNT_LIKE = re.compile(r"^-?\d[\d.,，。．]*\d$")
_CODE = re.compile(r"^\d{3}(\d{2}){0,2}$")
_TOTAL_PREFIX = re.compile(r"^[一二三四五六七八九十]+[、.]")


def is_amount(text: str | None) -> bool:
    return bool(text) and bool(_AMOUNT.match(compact(text)))


def is_code(text: str | None) -> bool:
    return bool(text) and bool(_CODE.match(compact(text)))


def is_data_row(cells: list[str]) -> bool:
    """A body row prints an amount with decimals or thousands separators, a code, or 合计/总计."""
    filled = [compact(c) for c in cells if compact(c)]
    if not filled:
        return False
    first = _TOTAL_PREFIX.sub("", filled[0])
    if first in ("合计", "总计"):
        return all(is_amount(c) or _AMOUNT_LIKE.match(c) or _TOTAL_PREFIX.sub("", c) == first
                   for c in filled[1:])
    return any(is_code(c) or (is_amount(c) and ("." in c or "," in c)) for c in filled)


@dataclass
class Cell:
    """Words of one line that print one value (a name with blanks inside stays one cell)."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def numeric(self) -> bool:
        return is_amount(self.text)

    @property
    def bbox(self) -> str:
        return f"{self.x0:.1f},{self.top:.1f},{self.x1:.1f},{self.bottom:.1f}"


@dataclass
class Line:
    cells: list[Cell]

    @property
    def top(self) -> float:
        return min(c.top for c in self.cells)

    @property
    def bottom(self) -> float:
        return max(c.bottom for c in self.cells)

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.cells]

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.cells)


def group_lines(words: list[Word]) -> list[Line]:
    """Words → lines by baseline; within a line, words of one name are joined into one cell."""
    # A line's band is its first (topmost) word's: a band grown by every member would let an
    # amount centred between the two lines of a wrapped name chain both lines into one, and the
    # name's lines would then be ordered by x, not by line (row 2's start before row 1's).
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.top, w.x0)):
        cy = (w.top + w.bottom) / 2
        for line in reversed(lines[-3:]):
            if line[0].top <= cy <= line[0].bottom:
                line.append(w)
                break
        else:
            lines.append([w])
    out = []
    for line in lines:
        line.sort(key=lambda w: w.x0)
        cells: list[Cell] = []
        for w in line:
            prev = cells[-1] if cells else None
            if (prev is not None and not prev.numeric and not is_amount(w.text)
                    and w.x0 - prev.x1 < 0.35 * max(prev.height, w.bottom - w.top)):
                prev.text += (" " if w.x0 - prev.x1 > 0.15 * prev.height else "") + w.text
                prev.x1, prev.top, prev.bottom = w.x1, min(prev.top, w.top), max(prev.bottom, w.bottom)
            else:
                cells.append(Cell(w.text, w.x0, w.top, w.x1, w.bottom))
        out.append(Line(cells))
    out.sort(key=lambda ln: ln.top)
    return out


@dataclass
class Columns:
    """Column tiles of a table: content span and the left/right bounds that assign cells."""

    spans: list[tuple[float, float]]
    bounds: list[tuple[float, float]]
    amount: list[bool] = field(default_factory=list)  # formed by numbers (an amount/code column)

    def index(self, cell: Cell) -> int:
        for j, (lo, hi) in enumerate(self.bounds):
            if lo <= cell.cx < hi:
                return j
        return len(self.bounds) - 1 if cell.cx >= self.bounds[-1][1] else 0

    @property
    def centers(self) -> list[float]:
        return [(a + b) / 2 for a, b in self.spans]


def _vertical_rules(rules: list[Rule], top: float, bottom: float) -> list[float]:
    """x of vertical rules drawn over most of the band [top, bottom], merged within 2 pt."""
    xs = []
    height = max(bottom - top, 1.0)
    for r in rules:
        if r.is_horizontal:
            continue
        covered = min(r.bottom, bottom) - max(r.top, top)
        if covered >= 0.5 * height:
            xs.append((r.x0 + r.x1) / 2)
    xs.sort()
    merged: list[float] = []
    for x in xs:
        if merged and x - merged[-1] < 2:
            continue
        merged.append(x)
    return merged


def _clusters(cells: list[Cell]) -> list[list[Cell]]:
    """Cells whose horizontal spans overlap (transitively) form one column."""
    groups: list[list[Cell]] = []
    hi = float("-inf")
    for c in sorted(cells, key=lambda c: c.x0):
        if groups and c.x0 < hi - 0.5:
            groups[-1].append(c)
            hi = max(hi, c.x1)
        else:
            groups.append([c])
            hi = c.x1
    return groups


def _is_numbering(line: Line) -> bool:
    """The 栏次 line under a header: column numbers 1 2 3 …, not header text."""
    texts = [compact(t) for t in line.texts]
    marks = ("栏次", "行次", "栏", "次")
    return all(t.isdigit() or t in marks for t in texts) and any(t.isdigit() for t in texts)


def join_wrapped(header: list[Line]) -> list[Line]:
    """Header cells wrapped within their column (the next line centred under them, no gap
    between) become one cell on the upper line."""
    lines = [Line(list(ln.cells)) for ln in header]
    for i, ln in enumerate(lines):
        for c in ln.cells:
            for m in range(i + 1, min(i + 4, len(lines))):
                for d in list(lines[m].cells):
                    siblings = [e for e in lines[m].cells
                                if e is not d and e.x1 > c.x0 - 2 and e.x0 < c.x1 + 2]
                    if (abs(d.cx - c.cx) < 3 and -0.5 < d.top - c.bottom < 0.5 * c.height
                            and not d.numeric and not c.numeric and not siblings):
                        c.text += d.text
                        c.x0, c.x1 = min(c.x0, d.x0), max(c.x1, d.x1)
                        c.bottom = d.bottom
                        lines[m].cells.remove(d)
    return [ln for ln in lines if ln.cells]


def infer_columns(body: list[Line], header: list[Line], rules: list[Rule],
                  numbering: list[Line] | None = None) -> Columns:
    """Columns from the body's alignment, split at vertical rules, plus header-only columns."""
    cells = [c for line in body for c in line.cells]
    numeric = [c for c in cells if c.numeric]
    spans = [(min(c.x0 for c in g), max(c.x1 for c in g)) for g in _clusters(numeric)]
    num_spans = list(spans)

    def overlaps(c: Cell, span_list: list[tuple[float, float]]) -> bool:
        return any(c.x0 < b - 0.5 and c.x1 > a + 0.5 for a, b in span_list)

    text = [c for c in cells if not c.numeric and not overlaps(c, spans)]
    spans += [(min(c.x0 for c in g), max(c.x1 for c in g)) for g in _clusters(text)]
    if body:
        vx = _vertical_rules(rules, min(ln.top for ln in body), max(ln.bottom for ln in body))
    else:
        vx = []
    # a column whose cells lie on both sides of a vertical rule is two columns
    split: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        inner = [x for x in vx if a + 1 < x < b - 1]
        if not inner:
            split.append((a, b))
            continue
        edges = [a, *inner, b]
        members = [c for c in cells if a <= c.cx <= b]
        for lo, hi in zip(edges, edges[1:], strict=False):
            part = [c for c in members if lo <= c.cx < hi]
            if part:
                split.append((min(c.x0 for c in part), max(c.x1 for c in part)))
    spans = split
    # a leaf header cell over no body column heads a column printed blank on this page
    body_spans = list(spans)
    for i, line in enumerate(header + (numbering or [])):
        for c in line.cells:
            t = compact(c.text)
            if t in ("栏次", "行次") or (t.isdigit() and i < len(header)) or overlaps(c, spans):
                continue
            if any(d.x0 < c.x1 and d.x1 > c.x0 for ln in header[i + 1:] for d in ln.cells):
                continue  # a group header: its columns are the ones below it
            near = [(max(a - c.x1, c.x0 - b, 0), (a, b)) for a, b in body_spans]
            gap, (a, b) = min(near, default=(float("inf"), (0.0, 0.0)))
            headed = any(d is not c and d.x0 < b and d.x1 > a for ln in header for d in ln.cells
                         if not any(e.x0 < d.x1 and e.x1 > d.x0 for ln2 in header[header.index(ln) + 1:]
                                    for e in ln2.cells))
            if gap < 6 + 0.5 * (c.x1 - c.x0) and not headed:
                continue  # a centred header beside its (right-aligned) column
            spans.append((c.x0, c.x1))
    spans.sort()
    merged: list[tuple[float, float]] = []
    for a, b in spans:
        if merged and a < merged[-1][1] - 0.5:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    bounds = []
    for j, (_, b) in enumerate(merged):
        lo = float("-inf") if j == 0 else bounds[-1][1]
        if j + 1 < len(merged):
            nxt = merged[j + 1][0]
            between = [x for x in vx if b - 1 <= x <= nxt + 1]
            hi = between[0] if between else (b + nxt) / 2
        else:
            hi = float("inf")
        bounds.append((lo, hi))
    amount = [any(a <= (p + q) / 2 <= b for p, q in num_spans) for a, b in merged]
    return Columns(spans=merged, bounds=bounds, amount=amount)


@dataclass
class Grid:
    """One table region read: header paths per column and body rows with per-cell boxes."""

    column_paths: list[list[str]]
    rows: list[list[str]] = field(default_factory=list)
    boxes: list[list[str]] = field(default_factory=list)
    columns: Columns | None = None


def _horizontal_rules(rules: list[Rule], x0: float, x1: float) -> list[float]:
    """y of horizontal rules across most of [x0, x1]; collinear pieces (one per cell, as
    Excel and Word draw them) count together."""
    width = max(x1 - x0, 1.0)
    pieces = sorted(((r.top + r.bottom) / 2, max(0.0, min(r.x1, x1) - max(r.x0, x0)))
                    for r in rules if r.is_horizontal)
    out: list[float] = []
    k = 0
    while k < len(pieces):
        y, covered = pieces[k][0], 0.0
        m = k
        while m < len(pieces) and pieces[m][0] - y < 2:
            covered += pieces[m][1]
            m += 1
        if covered >= 0.5 * width:
            out.append(y)
        k = m
    return out


def body_rows(body: list[Line], cols: Columns, rules: list[Rule]) -> tuple[list[list[str]], list[list[str]]]:
    """Body lines → rows of cell texts and boxes; wrapped names joined to their row."""
    if not body:
        return [], []
    x0 = min(a for a, _ in cols.spans)
    x1 = max(b for _, b in cols.spans)
    hy = _horizontal_rules(rules, x0, x1)
    top, bottom = body[0].top, body[-1].bottom
    inner = [y for y in hy if top - 1 < y < bottom + 1]
    groups: list[list[Line]] = []
    if len(inner) >= max(2, len(body) // 2):
        # a rule between rows: the lines between two rules are one row
        for line in body:
            band = sum(1 for y in inner if y <= line.cy)
            if groups and sum(1 for y in inner if y <= groups[-1][0].cy) == band:
                groups[-1].append(line)
            else:
                groups.append([line])
    else:
        anchors = [i for i, ln in enumerate(body) if any(c.numeric for c in ln.cells)]
        # the row pitch: most rows print one line, so the median distance between lines
        pitch = median([b.cy - a.cy for a, b in zip(body, body[1:], strict=False)]
                       or [2 * body[0].cells[0].height])
        owner: dict[int, int] = {}
        for i, ln in enumerate(body):
            if i in anchors or not anchors:
                continue
            near = min(anchors, key=lambda a: (abs(body[a].cy - ln.cy), a > i))
            if abs(body[near].cy - ln.cy) < 0.8 * pitch:
                owner[i] = near
        order: dict[int, list[Line]] = {}
        for i, ln in enumerate(body):
            key = owner.get(i, i)
            order.setdefault(key, []).append(ln)
        groups = [order[k] for k in sorted(order)]
    rows, boxes = [], []
    n = len(cols.spans)
    vrules = [r for r in rules if not r.is_horizontal]
    for group in groups:
        parts: list[list[Cell]] = [[] for _ in range(n)]
        spread: list[tuple[Cell, set[int]]] = []
        for line in sorted(group, key=lambda ln: ln.top):
            for c in line.cells:
                k = cols.index(c)
                parts[k].append(c)
                if not c.numeric:
                    spread.append((c, {k}))
        for c, _ in spread:
            _spread_label(c, parts, cols, vrules)
        rows.append([_join(p) for p in parts])
        boxes.append([_box(p) for p in parts])
    return rows, boxes


def _spread_label(cell: Cell, parts: list[list[Cell]], cols: Columns, vrules: list[Rule]) -> None:
    """A label printed in an amount column is a cell merged over several columns: it fills the
    columns between the rules around it, or the run of empty columns it is centred over."""
    k = cols.index(cell)
    n = len(parts)
    cy = (cell.top + cell.bottom) / 2
    at = sorted((r.x0 + r.x1) / 2 for r in vrules if r.top - 1 <= cy <= r.bottom + 1)
    left = [x for x in at if x <= cell.x0 + 1]
    right = [x for x in at if x >= cell.x1 - 1]
    if left and right and len(at) >= 4:
        run = [j for j, (a, b) in enumerate(cols.spans) if left[-1] <= (a + b) / 2 <= right[0]]
    elif not (cols.amount and cols.amount[k]):
        return
    else:
        a = k
        while a - 1 >= 0 and not parts[a - 1]:
            a -= 1
        b = k
        while b + 1 < n and not parts[b + 1]:
            b += 1
        best, best_d = [k], float("inf")
        for s in range(a, k + 1):
            for e in range(k, b + 1):
                d = abs((cols.spans[s][0] + cols.spans[e][1]) / 2 - cell.cx)
                if d < best_d:
                    best, best_d = list(range(s, e + 1)), d
        run = best
    for j in run:
        if j != k and not parts[j]:
            parts[j].append(cell)


def _join(cells: list[Cell]) -> str:
    if not cells:
        return ""
    if all(c.numeric for c in cells) and len(cells) > 1:
        return " ".join(c.text for c in cells)
    return "".join(c.text for c in cells)


def _box(cells: list[Cell]) -> str:
    if not cells:
        return ""
    return (f"{min(c.x0 for c in cells):.1f},{min(c.top for c in cells):.1f},"
            f"{max(c.x1 for c in cells):.1f},{max(c.bottom for c in cells):.1f}")


def cell_extents(cols: Columns, lo_x: float, hi_x: float) -> list[tuple[float, float]]:
    """Where each column's printed cells lie: an amount column (right-aligned) runs from its
    left neighbour's content to just past its own numbers; a text column (left-aligned) from
    just before its text to its right neighbour's content."""
    n = len(cols.spans)
    out = []
    for j, (a, b) in enumerate(cols.spans):
        if cols.amount and cols.amount[j]:
            left = cols.spans[j - 1][1] if j else lo_x
            out.append((min(left, a), b + 3))
        else:
            right = cols.spans[j + 1][0] if j + 1 < n else hi_x
            out.append((a - 3, max(right, b)))
    return out


def _home(c: Cell, tiles: list[tuple[float, float]]) -> int:
    inside = [j for j, (a, b) in enumerate(tiles) if a <= c.cx <= b]
    if inside:
        return min(inside, key=lambda j: abs((tiles[j][0] + tiles[j][1]) / 2 - c.cx))
    return min(range(len(tiles)), key=lambda j: min(abs(tiles[j][0] - c.cx), abs(tiles[j][1] - c.cx)))


def header_paths(header: list[Line], cols: Columns, rules: list[Rule]) -> list[list[str]]:
    """Per column, the header texts from top to bottom.

    Where vertical rules bound a header cell, it covers every column between them (a merged
    cell); otherwise a cell covers the column under its centre, and a group header (one with
    cells printed below it) the run of columns it is centred over. Lines of one cell wrapped
    within its column are joined.
    """
    n = len(cols.spans)
    if not header or not n:
        return [[] for _ in range(n)]
    lo_x = min(min(c.x0 for ln in header for c in ln.cells), cols.spans[0][0])
    hi_x = max(max(c.x1 for ln in header for c in ln.cells), cols.spans[-1][1])
    tiles = cell_extents(cols, lo_x, hi_x)
    vrules = [r for r in rules if not r.is_horizontal]
    hy = _horizontal_rules(rules, lo_x, hi_x)
    own: list[list[tuple[int, Cell]]] = [[] for _ in range(n)]  # column → (line, cell)
    claims: dict[int, set[int]] = {}
    cells = [(i, c) for i, ln in enumerate(header) for c in ln.cells]
    home = {id(c): _home(c, tiles) for _, c in cells}
    lines_of = [{home[id(c)] for c in ln.cells} for ln in header]
    for i, c in cells:
        cy = (c.top + c.bottom) / 2
        at = sorted((r.x0 + r.x1) / 2 for r in vrules if r.top - 1 <= cy <= r.bottom + 1)
        left = [x for x in at if x <= c.x0 + 1]
        right = [x for x in at if x >= c.x1 - 1]
        if left and right:
            span = {j for j, (a, b) in enumerate(tiles) if left[-1] - 1 <= (a + b) / 2 <= right[0] + 1}
            claims[id(c)] = span or {home[id(c)]}
            continue
        k = home[id(c)]
        below = any(k in lines_of[m] for m in range(i + 1, len(header)))
        # a cell wrapped onto the next line (centred under it, no gap) is one cell, not a group
        wrapped = any(abs(d.cx - c.cx) < 3 and 0 <= d.top - c.bottom < 0.5 * c.height
                      for m in range(i + 1, min(i + 3, len(header))) for d in header[m].cells)
        below = below and not wrapped
        best = {k}
        if below:
            def free(j: int, line: int = i) -> bool:
                return j not in lines_of[line] and any(j in lines_of[m] for m in range(line + 1, len(header)))
            a = k
            while a - 1 >= 0 and free(a - 1):
                a -= 1
            b = k
            while b + 1 < n and free(b + 1):
                b += 1
            best_d = abs((tiles[k][0] + tiles[k][1]) / 2 - c.cx)
            for s in range(a, k + 1):
                for e in range(k, b + 1):
                    d = abs((tiles[s][0] + tiles[e][1]) / 2 - c.cx)
                    if d < best_d - 0.5:
                        best, best_d = set(range(s, e + 1)), d
        claims[id(c)] = best
    for i, c in cells:
        for j in claims[id(c)]:
            own[j].append((i, c))
    paths = []
    for j in range(n):
        entries = sorted(own[j], key=lambda e: (e[1].top, e[1].x0))
        texts: list[str] = []
        prev: Cell | None = None
        for _, c in entries:
            t = compact(c.text)
            if not t:
                continue
            wrapped = (prev is not None and claims[id(prev)] == claims[id(c)]
                       and -1 < c.top - prev.bottom < 0.5 * c.height
                       and not any(prev.bottom - 1 < y < c.top + 1 for y in hy))
            if wrapped and texts:
                texts[-1] += t
            else:
                texts.append(t)
            prev = c
        path: list[str] = []
        for t in texts:
            if t == "栏次" or t.isdigit():
                continue
            if not path or path[-1] != t:
                path.append(t)
        paths.append(path)
    return paths


def read_grid(header: list[Line], body: list[Line], rules: list[Rule],
              columns: Columns | None = None) -> Grid:
    """Header and body lines of one region → a grid (columns inferred unless given)."""
    numbering = [ln for ln in header if _is_numbering(ln)]
    header = join_wrapped([ln for ln in header if not _is_numbering(ln)])
    cols = columns or infer_columns(body, header, rules, numbering)
    rows, boxes = body_rows(body, cols, rules)
    paths = header_paths(header, cols, rules) if columns is None else [[] for _ in cols.spans]
    keep = [j for j in range(len(cols.spans))
            if columns is not None or paths[j] or any(r[j] for r in rows)]
    return Grid(
        column_paths=[paths[j] for j in keep],
        rows=[[r[j] for j in keep] for r in rows],
        boxes=[[b[j] for j in keep] for b in boxes],
        columns=Columns([cols.spans[j] for j in keep], [cols.bounds[j] for j in keep],
                        [cols.amount[j] for j in keep] if cols.amount else []),
    )
