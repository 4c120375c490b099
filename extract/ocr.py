"""OCR of scanned pages into positioned words (PageWords), the same input the readers take.

A page without a usable text layer is rendered with pypdfium2, straightened (scans are rotated
by a degree or two), cleaned of JPEG/sensor noise where the noise is high enough to matter, and
read by RapidOCR (PP-OCRv4 Chinese models shipped inside the ``rapidocr_onnxruntime`` wheel: no
download at run time). Line boxes are split into words at blanks and wide gaps using the engine's
per-character boxes, converted to PDF points, and carry the engine's confidence. Ruling lines are
found in the image by morphology and returned as Rule hints. docs/OCR.md has the measurements.

Coordinates are those of the straightened page (rotation about the page centre), so rows are
level for the readers; on a 1° scan a box is at most a few points from where the ink is.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from functools import cache

import numpy as np
import pypdfium2 as pdfium

from hotline_budgets.extract.words import PageWords, Rule, Word

MAX_SIDE_PX = 2000  # RapidOCR shrinks larger images to this; render no larger
MAX_DPI = 200.0
MAX_SKEW_DEG = 3.0
NOISE_SIGMA_DENOISE = 6.0  # grey levels; clean scans measure ≈ 1–3, JPEG-noisy ones 8+
TEXT_SCORE_MIN = 0.3  # keep low-confidence reads (they carry their confidence) rather than drop them
_NUMBER_GLUE = re.compile(r"[\d.,，。．]")


@dataclass(frozen=True)
class OcrPageStats:
    """What OCR of one page cost and did (for bench/ocr.py and quality notes)."""

    page: int
    dpi: float
    skew_deg: float
    denoised: bool
    words: int
    render_ms: float
    prep_ms: float
    ocr_ms: float


@cache
def engine():
    """One RapidOCR engine per process (loading the models takes ≈ 1 s)."""
    import logging

    from rapidocr_onnxruntime import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    threads = max(1, min(2, os.cpu_count() or 1))
    # detection at full render size: shrunk to 1280 px it merged "147.45" with the next cell's
    # "支出合计" across a rule on the bundled scan (docs/OCR.md)
    return RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, text_score=TEXT_SCORE_MIN)


def render_dpi(width_pt: float, height_pt: float) -> float:
    """Resolution at which the page's long side fits the engine's input (no wasted pixels)."""
    return min(MAX_DPI, MAX_SIDE_PX * 72.0 / max(width_pt, height_pt, 1.0))


def render_gray(page: pdfium.PdfPage, dpi: float) -> np.ndarray:
    """The page as an 8-bit grey image at ``dpi``."""
    bitmap = page.render(scale=dpi / 72.0, grayscale=True)
    return np.array(bitmap.to_pil().convert("L"))


def _ink(gray: np.ndarray) -> np.ndarray:
    import cv2

    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return ink


def _rotate(img: np.ndarray, angle_deg: float, border: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle_deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border)


def estimate_skew(gray: np.ndarray) -> float:
    """Rotation (degrees, counter-clockwise positive as cv2) that makes text lines level.

    Projection profile: printed lines give the sharpest row-sum profile when level. Coarse
    then fine search on a small copy keeps it at a few milliseconds.
    """
    import cv2

    scale = 1000.0 / max(gray.shape)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    ink = _ink(small)
    if ink.mean() < 0.5:  # blank page
        return 0.0

    def sharpness(angle: float) -> float:
        profile = _rotate(ink, angle, 0).sum(axis=1, dtype=np.float64)
        return float(np.square(np.diff(profile)).sum())

    best = max(np.arange(-MAX_SKEW_DEG, MAX_SKEW_DEG + 1e-9, 0.5), key=sharpness)
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    return round(float(max(fine, key=sharpness)), 2)


def noise_sigma(gray: np.ndarray) -> float:
    """Noise of the paper: spread of (image − median-filtered image) where the page is blank."""
    import cv2

    med = cv2.medianBlur(gray, 3)
    background = med > 200
    if background.sum() < 1000:
        return 0.0
    diff = (gray.astype(np.int16) - med.astype(np.int16))[background]
    # median absolute deviation: ink edges next to the blank paper do not count as noise
    return float(1.4826 * np.median(np.abs(diff - np.median(diff))))


def straighten(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """The page rotated so its lines are level, and the rotation applied (degrees)."""
    angle = estimate_skew(gray)
    if abs(angle) >= 0.05:
        gray = _rotate(gray, angle, 255)
    return gray, angle


def denoise(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """A 3×3 median filter when the paper is noisy (it would thin 1-px rules, so rules are found
    before it); clean scans are left alone."""
    import cv2

    if noise_sigma(gray) <= NOISE_SIGMA_DENOISE:
        return gray, False
    return cv2.medianBlur(gray, 3), True


def detect_rules(gray: np.ndarray, px_per_pt: float) -> list[Rule]:
    """Long straight horizontal and vertical ink runs (table rules), in PDF points."""
    import cv2

    ink = _ink(gray)
    rules: list[Rule] = []
    for kernel, horizontal in (((max(20, int(30 * px_per_pt)), 1), True),
                               ((1, max(12, int(12 * px_per_pt))), False)):
        k = cv2.getStructuringElement(cv2.MORPH_RECT, kernel)
        lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, k)
        # bridge gaps that JPEG or a faint print leaves in a rule
        bridge = (9, 1) if horizontal else (1, 9)
        lines = cv2.morphologyEx(lines, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, bridge))
        n, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        for x, y, w, h, _area in stats[1:n]:
            thick = h if horizontal else w
            if thick > 6 * max(px_per_pt, 1.0):  # a filled block, not a rule
                continue
            rules.append(Rule(x / px_per_pt, y / px_per_pt, (x + w) / px_per_pt, (y + h) / px_per_pt))
    return rules


def _is_number_blank(text: str, i: int) -> bool:
    """A blank between number fragments ("147. 45"): kept inside the word for the repair step."""
    left = text[:i].rstrip()
    right = text[i:].lstrip()
    return bool(left) and bool(right) and bool(_NUMBER_GLUE.fullmatch(left[-1])) \
        and right[0].isdigit() and any(c.isdigit() for c in left[-3:])


def split_line(text: str, box: list, char_boxes: list | None) -> list[tuple[str, float, float]]:
    """Words of one OCR line as (text, x0, x1) in image pixels.

    Splits at blanks (except inside numbers) and at gaps wider than the line is high, which is
    where the detector merged two cells of a table row.
    """
    xs = [p[0] for p in box]
    ys = [p[1] for p in box]
    x0, x1, height = min(xs), max(xs), max(ys) - min(ys)
    chars = [(i, c) for i, c in enumerate(text) if not c.isspace()]
    if not chars:
        return []
    if not char_boxes or len(char_boxes) != len(chars):
        spans, pos = [], 0
        for part in text.split():
            start = text.index(part, pos)
            pos = start + len(part)
            spans.append((part, start, pos))
        n = max(len(text), 1)
        return [(p, x0 + (x1 - x0) * s / n, x0 + (x1 - x0) * e / n) for p, s, e in spans]
    words: list[tuple[str, float, float]] = []
    cur, cx0, cx1 = "", 0.0, 0.0
    prev_i = -1
    for (i, c), cb in zip(chars, char_boxes, strict=True):
        bx0 = min(p[0] for p in cb)
        bx1 = max(p[0] for p in cb)
        blank = prev_i >= 0 and i > prev_i + 1
        if cur and ((blank and not _is_number_blank(text, prev_i + 1)) or bx0 - cx1 > max(height, 1.0)):
            words.append((cur, cx0, cx1))
            cur = ""
        if not cur:
            cur, cx0, cx1 = c, bx0, bx1
        else:
            cur += (" " if blank else "") + c
            cx1 = max(cx1, bx1)
        prev_i = i
    if cur:
        words.append((cur, cx0, cx1))
    return words


def _split_at_rules(entries: list, rgb: np.ndarray, rules: list[Rule], px_per_pt: float) -> list:
    """Line boxes that a vertical table rule crosses, cut at the rule and read again part by part.

    The detector sometimes joins two cells of a row across their rule ("147.45支出合计"), and
    the recogniser then loses characters at the rule; each part read alone is read whole.
    """
    verticals = [((r.x0 + r.x1) / 2 * px_per_pt, r.top * px_per_pt, r.bottom * px_per_pt)
                 for r in rules if not r.is_horizontal]
    out = []
    for entry in entries:
        box = entry[0]
        x0, x1 = min(p[0] for p in box), max(p[0] for p in box)
        y0, y1 = min(p[1] for p in box), max(p[1] for p in box)
        # a table rule runs well past the line (a tall glyph's stroke does not)
        cuts = sorted(x for x, top, bottom in verticals
                      if top < y0 - 2 and bottom > y1 + 2 and bottom - top > 2.5 * (y1 - y0)
                      and x0 + 4 < x < x1 - 4)
        if not cuts:
            out.append(entry)
            continue
        edges = [x0, *cuts, x1]
        parts = [(int(a) + 2, int(b) - 1) for a, b in zip(edges, edges[1:], strict=False) if b - a > 6]
        crops = [np.ascontiguousarray(rgb[int(y0):int(y1) + 1, a:b]) for a, b in parts]
        rec, _ = engine().text_rec(crops, False)
        for (a, b), (text, score, *_rest) in zip(parts, rec, strict=True):
            if text.strip() and float(score) >= TEXT_SCORE_MIN:
                out.append([[[a, y0], [b, y0], [b, y1], [a, y1]], text, float(score), None])
    return out


def ocr_image(gray: np.ndarray, page_no: int, px_per_pt: float,
              rules: list[Rule] | None = None) -> list[Word]:
    """Words of a prepared page image, boxes in PDF points, confidence from the engine."""
    rgb = np.ascontiguousarray(np.stack([gray] * 3, axis=-1))
    result, _ = engine()(rgb, use_cls=False, return_word_box=True)
    result = _split_at_rules(list(result or []), rgb, rules or [], px_per_pt)
    words: list[Word] = []
    for entry in result:
        box, text, score = entry[0], entry[1], float(entry[2])
        char_boxes = entry[3] if len(entry) > 3 else None
        top = min(p[1] for p in box) / px_per_pt
        bottom = max(p[1] for p in box) / px_per_pt
        for word, wx0, wx1 in split_line(text, box, char_boxes):
            words.append(Word(word, wx0 / px_per_pt, top, wx1 / px_per_pt, bottom, page_no,
                              confidence=round(score, 4)))
    words.sort(key=lambda w: (round(w.top), w.x0))
    return words


def ocr_page(pdf: pdfium.PdfDocument, page_no: int) -> tuple[PageWords, OcrPageStats]:
    """OCR one page (1-based) of an open document into PageWords (origin "ocr")."""
    page = pdf[page_no - 1]
    width, height = page.get_size()
    dpi = render_dpi(width, height)
    px_per_pt = dpi / 72.0
    t0 = time.perf_counter()
    gray = render_gray(page, dpi)
    t1 = time.perf_counter()
    gray, skew = straighten(gray)
    rules = detect_rules(gray, px_per_pt)
    gray, denoised = denoise(gray)
    t2 = time.perf_counter()
    words = ocr_image(gray, page_no, px_per_pt, rules)
    t3 = time.perf_counter()
    stats = OcrPageStats(page_no, round(dpi, 1), skew, denoised, len(words),
                         (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000)
    return PageWords(page=page_no, width=width, height=height, words=words, rules=rules,
                     origin="ocr"), stats
