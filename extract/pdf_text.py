"""Opening a PDF once and reading each page from its text layer, or by OCR when it has none.

A report can mix typed and scanned pages, so the decision is per page: a page whose text layer
holds (almost) no usable characters but that draws an image, or whose characters are unmapped
glyphs, is OCRed; every other page costs no OCR time. The text layer is read through pdfium
(``extract.layer``): pdfminer's parse cost 20–60× more per page for the same words.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from hotline_budgets.extract.layer import LayerPage, PdfLayer
from hotline_budgets.extract.words import PageWords, text_layer_page, words_to_text

MIN_USABLE_CHARS = 10  # fewer legible characters than this is no text layer (a stamp, a page no.)
MIN_IMAGE_SHARE = 0.25  # of the page area: a scan's image covers most of it
MIN_LEGIBLE_WORDS = 5  # a report whose OCR finds fewer words in all is illegible


class NeedsOcr(Exception):
    """Kept for callers of the old API: the PDF has pages but no text layer and OCR was not run."""


class Illegible(Exception):
    """The report has no text layer and OCR found nothing legible on any page."""


@dataclass
class PdfText:
    page_count: int
    pages: list[str]  # text of each page, index 0 = page 1 (text layer, or OCR words as lines)
    ocr_words: dict[int, PageWords] = field(default_factory=dict)  # 1-based page → OCR words
    ocr_stats: list = field(default_factory=list)  # OcrPageStats of every OCRed page

    @property
    def ocr_pages(self) -> list[int]:
        return sorted(self.ocr_words)


@contextmanager
def open_pdf(source: bytes | PdfLayer) -> Iterator[PdfLayer]:
    """The open PDF: opened from bytes (and closed after), or the already open one as is.

    A report is opened once and every reader (text, tables) works on the same read pages.
    Raises ``layer.Unreadable`` when pdfium cannot open the bytes.
    """
    if isinstance(source, PdfLayer):
        yield source
        return
    with PdfLayer(source) as pdf:
        yield pdf


def _bytes_of(source: bytes | PdfLayer) -> bytes:
    """The file's bytes (the renderer opens its own copy of a scanned report)."""
    return source.pdf_bytes if isinstance(source, PdfLayer) else source


def _usable(ch: str) -> bool:
    """A character a reader can use: not blank, not an unmapped glyph (PUA/U+FFFD; pdfminer's
    "(cid:N)" too, for callers that pass its chars)."""
    if ch.isspace() or ch.startswith("(cid:") or ch == "\ufffd":
        return False
    return not (len(ch) == 1 and 0xE000 <= ord(ch) <= 0xF8FF)


def page_needs_ocr(page: LayerPage) -> bool:
    """True when the page shows content its text layer does not carry."""
    chars = page.chars
    usable = 0
    for c in chars:  # a typed page has enough usable chars long before its end
        if _usable(c["text"]):
            usable += 1
            if usable >= MIN_USABLE_CHARS:
                return False
    if chars and usable < len(chars) / 2:  # glyphs without a Unicode mapping: only pixels are left
        return True
    area = float(page.width * page.height) or 1.0
    covered = 0.0
    for im in page.images:
        w = max(0.0, min(float(im["x1"]), float(page.width)) - max(float(im["x0"]), 0.0))
        h = max(0.0, min(float(im["bottom"]), float(page.height)) - max(float(im["top"]), 0.0))
        covered += w * h
    return covered / area >= MIN_IMAGE_SHARE


def read_page_texts(source: bytes | PdfLayer, *, ocr: bool = True) -> PdfText:
    """Text of every page; pages without a usable text layer are OCRed (only those).

    Raises Illegible when OCR was needed and found nothing anywhere; NeedsOcr when ``ocr`` is
    False and some page needs it.
    """
    with open_pdf(source) as pdf:
        need = [i for i, page in enumerate(pdf.pages, start=1) if page_needs_ocr(page)]
        pages = [page.extract_text() if i not in need else ""
                 for i, page in enumerate(pdf.pages, start=1)]
    result = PdfText(page_count=len(pages), pages=pages)
    if not need:
        return result
    if not ocr:
        raise NeedsOcr(f"{len(need)} of the {len(pages)} pages have no text layer (image-only scan)")
    for pw, stats in ocr_pages(_bytes_of(source), need):
        result.ocr_words[pw.page] = pw
        result.ocr_stats.append(stats)
        pages[pw.page - 1] = words_to_text(pw.words)
    typed = any(p.strip() for i, p in enumerate(pages, start=1) if i not in need)
    legible = sum(len(pw.words) for pw in result.ocr_words.values())
    if not typed and legible < MIN_LEGIBLE_WORDS:
        raise Illegible(f"none of the {len(pages)} pages has a text layer and OCR read "
                        f"{legible} word(s) in all (nothing legible)")
    return result


# OCR results of this process by (document sha256, page): a report processed twice in one run
# (a retry, the test session) is read once. Bounded: a few hundred pages of words is small.
_OCR_MEMO: OrderedDict[tuple[str, int], tuple[PageWords, object]] = OrderedDict()
_OCR_MEMO_PAGES = 512


def ocr_pages(pdf_bytes: bytes, pages: list[int]) -> Iterator[tuple[PageWords, object]]:
    """OCR the given 1-based pages (imported lazily: typed reports never load the engine)."""
    import pypdfium2 as pdfium

    from hotline_budgets.extract.ocr import ocr_page

    sha = hashlib.sha256(pdf_bytes).hexdigest()
    doc = None
    try:
        for page_no in pages:
            hit = _OCR_MEMO.get((sha, page_no))
            if hit is None:
                doc = doc or pdfium.PdfDocument(pdf_bytes)
                hit = ocr_page(doc, page_no)
                _OCR_MEMO[(sha, page_no)] = hit
                while len(_OCR_MEMO) > _OCR_MEMO_PAGES:
                    _OCR_MEMO.popitem(last=False)
            yield hit
    finally:
        if doc is not None:
            doc.close()


class PdfWordSource:
    """A report's pages as PageWords: the text layer where usable, OCR words elsewhere."""

    def __init__(self, pdf_bytes: bytes, text: PdfText | None = None):
        self._bytes = pdf_bytes
        self._text = text if text is not None else read_page_texts(pdf_bytes)

    def pages(self) -> Iterator[PageWords]:
        with PdfLayer(self._bytes) as pdf:
            for page_no in range(1, len(pdf) + 1):
                ocr = self._text.ocr_words.get(page_no)
                yield ocr if ocr is not None else text_layer_page(pdf.page(page_no), page_no)
