"""Positioned words: the one input of the table and narrative readers, whatever printed them.

A page is a list of words with their boxes (PDF points, pdfplumber's coordinates: origin at the
top left, ``top``/``bottom`` growing downwards) plus the ruling lines drawn on it. The PDF text
layer is one source of pages; OCR of a scanned page is another (it fills ``confidence``). The
readers never ask where a word came from, so a scanned report goes through the same code as a
typed one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

WordOrigin = Literal["text", "ocr"]


@dataclass(frozen=True, slots=True)
class Word:
    """One printed token with its box on its page."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    page: int  # 1-based
    confidence: float | None = None  # OCR engine's confidence 0–1; None for the text layer

    @property
    def bbox(self) -> str:
        """``x0,top,x1,bottom`` with one decimal (SCHEMA.md ``source_bbox``)."""
        return f"{self.x0:.1f},{self.top:.1f},{self.x1:.1f},{self.bottom:.1f}"


@dataclass(frozen=True, slots=True)
class Rule:
    """A ruling line or a rectangle's edge: a hint for column and row boundaries, never required."""

    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def is_horizontal(self) -> bool:
        return (self.x1 - self.x0) >= (self.bottom - self.top)


@dataclass(slots=True)
class PageWords:
    """Everything a reader needs from one page."""

    page: int  # 1-based
    width: float
    height: float
    words: list[Word] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    origin: WordOrigin = "text"


class WordSource(Protocol):
    """Anything that yields a report's pages as positioned words (text layer, OCR, …)."""

    def pages(self) -> Iterator[PageWords]: ...


def words_to_text(words: list[Word]) -> str:
    """Words as text lines (grouped by vertical overlap), each line left to right."""
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.top + w.bottom) / 2):
        mid = (w.top + w.bottom) / 2
        if lines and min(x.top for x in lines[-1]) <= mid <= max(x.bottom for x in lines[-1]):
            lines[-1].append(w)
        else:
            lines.append([w])
    return "\n".join(" ".join(w.text for w in sorted(line, key=lambda w: w.x0)) for line in lines)


def rules_from_edges(edges: list[dict]) -> list[Rule]:
    """Straight horizontal or vertical segments of lines, rectangles and curves (Guangzhou draws
    its grids with curves); slanted pieces are no hint for a grid and are left out."""
    out = []
    for e in edges:
        width, height = e["x1"] - e["x0"], e["bottom"] - e["top"]
        if (width < 2 and height >= 3) or (height < 2 and width >= 3):
            out.append(Rule(e["x0"], e["top"], e["x1"], e["bottom"]))
    return out


# An amount as a cell prints it: 1,839,311.66 / 1839311.66 / 17,159,700
AMOUNT_CHAR_SET = frozenset("0123456789.,-")
AMOUNT_CHARS = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d+$|^-?\d{1,3}(?:,\d{3})+$")


def _words_at_rules(word: dict, vrules: list[tuple[float, float, float]], page_no: int) -> list[Word]:
    """A word as one or two Words: where a cell's text overflows its ruled cell and runs into
    the amount beside it ('…服务保障中18心39311.66': the name's last chars and the amount's
    digits interleaved, one word by position), the digits printed past the vertical rule that
    form an amount are that cell's own word; the overflowing text stays with its word.
    ``vrules``: the page's vertical rules as (x, top, bottom)."""
    text = word["text"]
    whole = Word(text, word["x0"], word["top"], word["x1"], word["bottom"], page_no)
    if not any(ch.isdigit() for ch in text) or all(ch in AMOUNT_CHAR_SET for ch in text):
        return [whole]  # no digits, or nothing but an amount: nothing to split (most words)
    chars = word.get("chars") or []
    mid_y = (word["top"] + word["bottom"]) / 2
    crossing = sorted(x for x, top, bottom in vrules
                      if top - 1 <= mid_y <= bottom + 1 and word["x0"] + 1 < x < word["x1"] - 1)
    if not crossing or not chars:
        return [whole]
    cut = crossing[0]
    past = [c for c in chars if (c["x0"] + c["x1"]) / 2 > cut and c["text"] in AMOUNT_CHAR_SET]
    digits = "".join(c["text"] for c in sorted(past, key=lambda c: c["x0"]))
    if not AMOUNT_CHARS.match(digits):
        return [whole]
    taken = {id(c) for c in past}
    rest = sorted((c for c in chars if id(c) not in taken), key=lambda c: c["x0"])
    if not rest:
        return [whole]
    out = [Word("".join(c["text"] for c in rest), min(c["x0"] for c in rest), min(c["top"] for c in rest),
                max(c["x1"] for c in rest), max(c["bottom"] for c in rest), page_no),
           Word(digits, min(c["x0"] for c in past), min(c["top"] for c in past),
                max(c["x1"] for c in past), max(c["bottom"] for c in past), page_no)]
    return sorted(out, key=lambda w: w.x0)


def text_layer_page(page, page_no: int) -> PageWords:  # noqa: ANN001 - extract.layer.LayerPage
    """One text-layer page (pdfplumber's word grouping on pdfium's chars, see extract.layer)
    as positioned words and rules: the PDF text-layer word source."""
    rules = rules_from_edges(page.edges)
    vrules = [((r.x0 + r.x1) / 2, r.top, r.bottom) for r in rules if not r.is_horizontal]
    words = [w for d in page.extract_words(x_tolerance=1.5, y_tolerance=2, return_chars=True)
             for w in _words_at_rules(d, vrules, page_no)]
    return PageWords(page=page_no, width=float(page.width), height=float(page.height),
                     words=words, rules=rules, origin="text")
