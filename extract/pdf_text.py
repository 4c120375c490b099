"""Opening a PDF once and reading what its text layer says, page by page."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pdfplumber
from pdfplumber.pdf import PDF


class NeedsOcr(Exception):
    """The PDF has pages but no text layer (a scan): nothing can be read without OCR."""


@dataclass(frozen=True)
class PdfText:
    page_count: int
    pages: list[str]  # extract_text() of each page, index 0 = page 1


@contextmanager
def open_pdf(source: bytes | PDF) -> Iterator[PDF]:
    """The parsed PDF: opened from bytes (and closed after), or the already open one as is.

    A report is opened once and every reader (text, tables) works on the same parsed pages.
    """
    if isinstance(source, PDF):
        yield source
        return
    with pdfplumber.open(io.BytesIO(source)) as pdf:
        yield pdf


def read_page_texts(source: bytes | PDF) -> PdfText:
    """Text of every page; raises NeedsOcr when no page has any text."""
    with open_pdf(source) as pdf:
        pages = [page.extract_text() or "" for page in pdf.pages]
    if pages and not any(p.strip() for p in pages):
        raise NeedsOcr(f"none of the {len(pages)} pages has a text layer (image-only scan)")
    return PdfText(page_count=len(pages), pages=pages)
