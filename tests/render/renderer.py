"""Render a report's content as a PDF in a given print style (reportlab canvas, real fonts).

Producers differ in how they draw the same statement: full grid, horizontal rules only or no
rules; which font; thousands separators; full- or half-width brackets; indentation by U+3000 or
by spaces; where a table breaks across pages and whether the header is repeated. ``Style``
names those choices; ``render`` draws a ``ReportContent`` under one of them. Used by the variant
tests and reusable for synthetic corpora (content + style → PDF bytes).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from .content import ReportContent, StatementContent

CID_FONT = "STSong-Light"
TTF_CANDIDATES = [
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
]


@dataclass(frozen=True)
class Style:
    """How a producer prints a report."""

    name: str = "grid"
    rules: str = "grid"  # grid | horizontal | none
    font: str = "cid"  # cid (reportlab's built-in STSong-Light) | ttf (an embedded TrueType CJK font)
    thousands: bool = True  # 1,165.30 or 1165.30
    halfwidth_parens: bool = False  # （室） printed as (室)
    indent: str = "ideographic"  # ideographic (U+3000) | padding (spaces) | none
    rows_per_page: int | None = None  # force a page break after this many body rows
    bottom_margin: float = 50.0  # a larger margin breaks tables at other rows
    repeat_header: bool = True  # print the header again on continuation pages
    repeat_title: bool = False  # print the title (and unit line) again on continuation pages
    font_size: float = 8.0


def ttf_font_path() -> Path | None:
    """A TrueType CJK font reportlab can embed, when one is installed (fonts-wqy-zenhei)."""
    return next((p for p in TTF_CANDIDATES if p.exists()), None)


STYLES: dict[str, Style] = {
    s.name: s for s in [
        Style("grid"),
        Style("horizontal", rules="horizontal"),
        Style("norules", rules="none"),
        Style("ttf_font", font="ttf", rules="horizontal"),
        Style("no_separators", thousands=False, rules="none"),
        Style("halfwidth_parens", halfwidth_parens=True, rules="horizontal"),
        Style("padding_indent", indent="padding", rules="none"),
        Style("split_rows", rows_per_page=11, bottom_margin=120.0, rules="horizontal"),
        Style("no_repeated_header", rows_per_page=13, repeat_header=False, rules="none"),
        Style("repeated_title", rows_per_page=12, repeat_title=True, rules="grid"),
    ]
}


def _font(style: Style) -> str:
    if style.font == "ttf":
        path = ttf_font_path()
        if path is None:
            raise FileNotFoundError("no TrueType CJK font installed (apt-get install fonts-wqy-zenhei)")
        if "WQY" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("WQY", str(path), subfontIndex=0))
        return "WQY"
    if CID_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def _is_number(text: str) -> bool:
    t = text.replace(",", "")
    try:
        float(t)
    except ValueError:
        return False
    return bool(t)


def _is_code(text: str) -> bool:
    return text.isdigit() and len(text) in (3, 5, 7)


def _restyle(text: str, style: Style) -> str:
    if not style.thousands and _is_number(text):
        text = text.replace(",", "")
    if style.halfwidth_parens:
        text = text.replace("（", "(").replace("）", ")")
    return text


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break text into lines no wider than ``width`` (CJK text breaks anywhere)."""
    lines, cur = [], ""
    for ch in text:
        if cur and pdfmetrics.stringWidth(cur + ch, font, size) > width:
            lines.append(cur)
            cur = ch
        else:
            cur += ch
    return lines + [cur] if cur else lines or [""]


@dataclass
class _Layout:
    widths: list[float]
    kinds: list[str]  # code | label | amount


class _Doc:
    def __init__(self, content: ReportContent, style: Style) -> None:
        self.content = content
        self.style = style
        self.font = _font(style)
        self.buf = io.BytesIO()
        self.canvas = Canvas(self.buf, pagesize=A4)
        self.page_no = 0
        self.size = A4
        self.y = 0.0

    # pages -------------------------------------------------------------------------------
    def new_page(self, size: tuple[float, float]) -> None:
        if self.page_no:
            self._footer()
            self.canvas.showPage()
        self.page_no += 1
        self.size = size
        self.canvas.setPageSize(size)
        self.y = size[1] - 50

    def _footer(self) -> None:
        self.canvas.setFont(self.font, 9)
        self.canvas.drawCentredString(self.size[0] / 2, 25, f"- {self.page_no} -")

    def finish(self) -> bytes:
        self._footer()
        self.canvas.showPage()
        self.canvas.save()
        return self.buf.getvalue()

    def text(self, x: float, y: float, s: str, size: float, align: str = "left") -> None:
        self.canvas.setFont(self.font, size)
        if align == "right":
            self.canvas.drawRightString(x, y, s)
        elif align == "center":
            self.canvas.drawCentredString(x, y, s)
        else:
            self.canvas.drawString(x, y, s)

    # narrative ---------------------------------------------------------------------------
    def narrative(self) -> None:
        size, lead = 10.5, 17.0
        self.new_page(A4)
        self.text(A4[0] / 2, self.y, self.content.entity_name, 16, "center")
        self.y -= 40
        width = A4[0] - 144
        for para in self.content.narrative:
            para = re.sub(r"^(#+|-|\*)\s+(?=\D)", "", para)  # the seed's markdown marks are not printed
            for line in _wrap("\u3000\u3000" + _restyle(para, self.style), self.font, size, width):
                if self.y < 60:
                    self.new_page(A4)
                self.text(72, self.y, line, size)
                self.y -= lead
            self.y -= 4

    # tables ------------------------------------------------------------------------------
    def _layout(self, st: StatementContent) -> _Layout:
        fs = self.style.font_size
        n = len(st.header)
        kinds = []
        widths = []
        for j in range(n):
            cells = [r[j] for r in st.rows if j < len(r) and r[j]]
            codes = [c for c in cells if _is_code(c)]
            if codes and all(_is_code(c) or c in ("合计", "总计") for c in cells):
                kind = "code"
            elif cells and sum(_is_number(c) for c in cells) >= len(cells) / 2:
                kind = "amount"
            else:
                kind = "label"
            kinds.append(kind)
            body = max([pdfmetrics.stringWidth(_restyle(c, self.style), self.font, fs) for c in cells] or [0])
            if kind == "label":
                body = min(body + 3 * fs, 11 * fs)
            leaf = st.header[j][-1] if st.header[j] else ""
            head = min(pdfmetrics.stringWidth(leaf, self.font, fs), 6 * fs)
            widths.append(max(body, head, 3 * fs) + 8)
        return _Layout(widths, kinds)

    def _header_cells(self, st: StatementContent) -> tuple[int, list[tuple[int, int, int, int, str]]]:
        """(depth, [(level0, level1, col0, col1, text)]) with merged spans."""
        depth = max((len(p) for p in st.header), default=1) or 1
        grid: list[list[str | None]] = []
        for p in st.header:
            col: list[str | None] = []
            for level in range(depth):
                if level < len(p):
                    col.append(p[level])
                else:
                    col.append(None)  # covered by the cell above (vertical span)
            grid.append(col)
        cells = []
        seen = set()
        n = len(st.header)
        for level in range(depth):
            j = 0
            while j < n:
                t = grid[j][level]
                if t is None or (j, level) in seen:
                    j += 1
                    continue
                k = j
                while (k + 1 < n and grid[k + 1][level] == t
                       and st.header[k + 1][:level] == st.header[j][:level]):
                    k += 1
                bottom = level
                if level == len(st.header[j]) - 1:
                    bottom = depth - 1
                for jj in range(j, k + 1):
                    seen.add((jj, level))
                cells.append((level, bottom, j, k, t))
                j = k + 1
        return depth, cells

    def statement(self, st: StatementContent) -> None:
        fs = self.style.font_size
        lay = self._layout(st)
        total = sum(lay.widths)
        size = A4 if total <= A4[0] - 80 else landscape(A4)
        if total > size[0] - 60:  # squeeze to the page
            scale = (size[0] - 60) / total
            lay.widths = [w * scale for w in lay.widths]
            total = sum(lay.widths)
        self.new_page(size)
        x0 = (size[0] - total) / 2
        xs = [x0]
        for w in lay.widths:
            xs.append(xs[-1] + w)
        self._caption(st, xs)
        self._draw_header(st, xs)
        count = 0
        for row in st.rows:
            lines = self._row_lines(row, lay, xs)
            height = max(len(v) for v in lines) * fs * 1.15 + fs * 0.9
            forced = self.style.rows_per_page is not None and count >= self.style.rows_per_page
            if self.y - height < self.style.bottom_margin or forced:
                self._rule(xs[0], xs[-1], self.y, bottom=True)
                self.new_page(size)
                count = 0
                if self.style.repeat_title:
                    self._caption(st, xs)
                if self.style.repeat_header or self.style.repeat_title:
                    self._draw_header(st, xs)
                else:
                    self._rule(xs[0], xs[-1], self.y)
            self._draw_row(row, lines, lay, xs, height)
            count += 1
        self._rule(xs[0], xs[-1], self.y, bottom=True)
        if st.empty_note:
            self.y -= 16
            self.text(x0, self.y, st.empty_note, 9)

    def _caption(self, st: StatementContent, xs: list[float]) -> None:
        self.text(self.size[0] / 2, self.y, _restyle(st.title, self.style), 14, "center")
        self.y -= 22
        self.text(xs[0], self.y, f"编制单位：{_restyle(self.content.entity_name, self.style)}", 9)
        self.text(xs[-1], self.y, f"单位：{st.unit}", 9, "right")
        self.y -= 8

    def _rule(self, xa: float, xb: float, y: float, bottom: bool = False) -> None:
        if self.style.rules == "none":
            return
        self.canvas.setLineWidth(0.6 if bottom else 0.4)
        self.canvas.line(xa, y, xb, y)

    def _draw_header(self, st: StatementContent, xs: list[float]) -> None:
        fs = self.style.font_size
        depth, cells = self._header_cells(st)
        wrapped = {}
        level_h = [fs * 2.2] * depth
        for c in cells:
            lv0, lv1, j0, j1, t = c
            lines = _wrap(_restyle(t, self.style), self.font, fs, xs[j1 + 1] - xs[j0] - 6)
            wrapped[c] = lines
            need = len(lines) * fs * 1.15 + fs * 0.9
            if lv0 == lv1 and need > level_h[lv0]:
                level_h[lv0] = need
        top = self.y
        ys = [top]
        for h in level_h:
            ys.append(ys[-1] - h)
        self._rule(xs[0], xs[-1], top, bottom=True)
        for c in cells:
            lv0, lv1, j0, j1, _ = c
            lines = wrapped[c]
            cy = (ys[lv0] + ys[lv1 + 1]) / 2
            block = len(lines) * fs * 1.15
            y = cy + block / 2 - fs * 0.95
            for ln in lines:
                self.text((xs[j0] + xs[j1 + 1]) / 2, y, ln, fs, "center")
                y -= fs * 1.15
            if self.style.rules == "grid":
                self.canvas.setLineWidth(0.4)
                self.canvas.rect(xs[j0], ys[lv1 + 1], xs[j1 + 1] - xs[j0], ys[lv0] - ys[lv1 + 1])
            elif self.style.rules == "horizontal" and lv1 + 1 < depth:
                self.canvas.setLineWidth(0.4)
                self.canvas.line(xs[j0] + 2, ys[lv1 + 1], xs[j1 + 1] - 2, ys[lv1 + 1])
        self.y = ys[-1]
        self._rule(xs[0], xs[-1], self.y)

    def _row_lines(self, row: list[str], lay: _Layout, xs: list[float]) -> list[list[str]]:
        fs = self.style.font_size
        out = []
        for j, raw in enumerate(row):
            text = _restyle(raw, self.style)
            if lay.kinds[j] == "label" and text:
                code = next((row[k] for k in range(j) if _is_code(row[k])), "")
                level = {5: 1, 7: 2}.get(len(code), 0)
                pads = {"ideographic": "\u3000" * level, "padding": "  " * level, "none": ""}
                text = pads[self.style.indent] + text
                out.append(_wrap(text, self.font, fs, xs[j + 1] - xs[j] - 6))
            else:
                out.append([text])
        return out

    def _draw_row(self, row: list[str], lines: list[list[str]], lay: _Layout, xs: list[float],
                  height: float) -> None:
        fs = self.style.font_size
        n = len(row)
        j = 0
        while j < n:
            k = j
            # equal adjacent labels are one merged cell (合计 across code and name columns)
            while (k + 1 < n and row[k + 1] and row[k + 1] == row[j] and not _is_number(row[j])):
                k += 1
            y = self.y - fs * 1.35
            if k > j:
                self.text((xs[j] + xs[k + 1]) / 2, y, _restyle(row[j], self.style), fs, "center")
            elif lay.kinds[j] == "amount" and _is_number(row[j]):
                self.text(xs[j + 1] - 3, y, lines[j][0], fs, "right")
            elif lay.kinds[j] == "amount":
                self.text((xs[j] + xs[j + 1]) / 2, y, lines[j][0], fs, "center")
            else:
                for ln in lines[j]:
                    self.text(xs[j] + 3, y, ln, fs)
                    y -= fs * 1.15
            if self.style.rules == "grid":
                self.canvas.setLineWidth(0.4)
                self.canvas.rect(xs[j], self.y - height, xs[k + 1] - xs[j], height)
            j = k + 1
        self.y -= height
        if self.style.rules == "horizontal":
            self._rule(xs[0], xs[-1], self.y)


def render(content: ReportContent, style: Style) -> bytes:
    """The report as a PDF: the explanation text, then one statement per page (or more)."""
    doc = _Doc(content, style)
    if content.narrative:
        doc.narrative()
    for st in content.statements:
        doc.statement(st)
    if doc.page_no == 0:
        doc.new_page(A4)
    return doc.finish()


def variant(style: Style, **changes: object) -> Style:
    return replace(style, **changes)
