"""Opening a PDF once and reading what its text layer says, page by page."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pdfplumber


class NeedsOcr(Exception):
    """The PDF has pages but no text layer (a scan): nothing can be read without OCR."""


@dataclass(frozen=True)
class PdfText:
    page_count: int
    pages: list[str]  # extract_text() of each page, index 0 = page 1


def read_page_texts(pdf_bytes: bytes) -> PdfText:
    """Text of every page; raises NeedsOcr when no page has any text."""
    with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
        pages = [page.extract_text() or "" for page in pdf.pages]
    if pages and not any(p.strip() for p in pages):
        raise NeedsOcr(f"none of the {len(pages)} pages has a text layer (image-only scan)")
    return PdfText(page_count=len(pages), pages=pages)
