"""Making scanned copies of typed reports at test time (nothing generated is committed).

A scan here is what an office scanner gives: the printed page as a grey image at 150 or 300 dpi,
rotated by about a degree, with sensor noise and JPEG artefacts, wrapped as an image-only PDF
(no text layer). ``mixed_pdf`` interleaves scanned and typed pages of one report.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pypdfium2 as pdfium
from PIL import Image


@dataclass(frozen=True)
class ScanStyle:
    dpi: int = 150
    angle_deg: float = 1.0  # counter-clockwise
    noise_sigma: float = 6.0  # grey levels of Gaussian sensor noise
    jpeg_quality: int = 60

    @property
    def label(self) -> str:
        return f"{self.dpi}dpi_{self.angle_deg:+.1f}deg_n{self.noise_sigma:g}_q{self.jpeg_quality}"


def scan_page(page: pdfium.PdfPage, style: ScanStyle, rng: np.random.Generator) -> Image.Image:
    """One page as a scanner would return it (grey, rotated, noisy, JPEG-compressed)."""
    img = page.render(scale=style.dpi / 72.0, grayscale=True).to_pil().convert("L")
    img = img.rotate(style.angle_deg, resample=Image.BICUBIC, fillcolor=255)
    arr = np.asarray(img, dtype=np.float32)
    arr = arr + rng.normal(0.0, style.noise_sigma, arr.shape)
    arr = np.clip(arr, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, "L").save(buf, "JPEG", quality=style.jpeg_quality)
    buf.seek(0)
    return Image.open(buf)


def scan_pdf(pdf_bytes: bytes, style: ScanStyle, pages: list[int] | None = None, seed: int = 0) -> bytes:
    """An image-only PDF of the given 1-based pages (all by default), same page sizes."""
    rng = np.random.default_rng(seed)
    doc = pdfium.PdfDocument(pdf_bytes)
    try:
        numbers = pages or list(range(1, len(doc) + 1))
        images = [scan_page(doc[n - 1], style, rng) for n in numbers]
    finally:
        doc.close()
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=float(style.dpi))
    return out.getvalue()


def mixed_pdf(pdf_bytes: bytes, scanned: set[int], style: ScanStyle) -> bytes:
    """The report with the pages in ``scanned`` (1-based) replaced by their scans."""
    src = pdfium.PdfDocument(pdf_bytes)
    scans = pdfium.PdfDocument(scan_pdf(pdf_bytes, style, sorted(scanned)))
    out = pdfium.PdfDocument.new()
    try:
        order = sorted(scanned)
        for n in range(1, len(src) + 1):
            if n in scanned:
                out.import_pages(scans, [order.index(n)])
            else:
                out.import_pages(src, [n - 1])
        buf = io.BytesIO()
        out.save(buf)
        return buf.getvalue()
    finally:
        out.close()
        scans.close()
        src.close()
