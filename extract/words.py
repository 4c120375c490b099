"""Positioned words: the one input of the table and narrative readers, whatever printed them.

A page is a list of words with their boxes (PDF points, pdfplumber's coordinates: origin at the
top left, ``top``/``bottom`` growing downwards) plus the ruling lines drawn on it. The PDF text
layer is one source of pages; OCR of a scanned page is another (it fills ``confidence``). The
readers never ask where a word came from, so a scanned report goes through the same code as a
typed one.
"""

from __future__ import annotations

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


def text_layer_page(page, page_no: int) -> PageWords:  # noqa: ANN001 - extract.layer.LayerPage
    """One text-layer page (pdfplumber's word grouping on pdfium's chars, see extract.layer)
    as positioned words and rules: the PDF text-layer word source."""
    words = [
        Word(w["text"], w["x0"], w["top"], w["x1"], w["bottom"], page_no)
        for w in page.extract_words(x_tolerance=1.5, y_tolerance=2)
    ]
    return PageWords(page=page_no, width=float(page.width), height=float(page.height),
                     words=words, rules=rules_from_edges(page.edges), origin="text")
