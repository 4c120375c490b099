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


class CellText(str):
    """A table cell's printed text that remembers where it was printed.

    Behaves as ``str`` everywhere (the readers compare and compact it); the statement mappers
    read ``bbox``/``confidence``/``origin`` to give line items their provenance (SCHEMA.md
    ``source_text``, ``source_bbox``, ``ocr_confidence``).
    """

    bbox: str | None
    confidence: float | None
    origin: WordOrigin

    def __new__(cls, text: str, bbox: tuple[float, float, float, float] | None = None,
                confidence: float | None = None, origin: WordOrigin = "text") -> CellText:
        obj = super().__new__(cls, text)
        obj.bbox = (f"{bbox[0]:.1f},{bbox[1]:.1f},{bbox[2]:.1f},{bbox[3]:.1f}"
                    if bbox is not None else None)
        obj.confidence = confidence
        obj.origin = origin
        return obj
