"""A PDF's text layer and ruling lines read through pdfium, shaped as pdfplumber's objects.

pdfminer (under pdfplumber) parses each page's content stream in Python: ~70–300 ms a page,
97 % of a report's extraction time. pdfium reads the same characters in a few ms. Each char
here gets the box pdfminer would give it (origin, advance width, the font's descent and size,
the page's /Rotate and MediaBox applied the way pdfminer applies them) in pdfplumber's
coordinates (origin top left), and each path is cut into the edges pdfplumber would make of it
(a line, a rectangle's four sides, a curve's segments). pdfplumber's own algorithms — words,
text, the ruled-table finder — then run on these dicts unchanged, so the readings match the
pdfminer ones (see docs/BENCHMARKS.md for the differences measured on the bundled PDFs).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import pypdfium2 as pdfium
import pypdfium2.raw as R
from pdfplumber.utils import chars_to_textmap, crop_to_bbox, extract_words

_TEXT, _PATH, _IMAGE, _FORM = (R.FPDF_PAGEOBJ_TEXT, R.FPDF_PAGEOBJ_PATH, R.FPDF_PAGEOBJ_IMAGE,
                                R.FPDF_PAGEOBJ_FORM)
# pdfium computes in single precision: coordinates closer than this are the same number in
# pdfminer's double-precision reading of the same content (an edge's orientation, a rectangle).
_SAME = 1e-3


# pdfium is not thread-safe: a process that reads reports in threads reads one page at a time
_LOCK = threading.RLock()


class Unreadable(Exception):
    """pdfium cannot open the bytes (damaged, not a PDF, password-protected)."""


_ERRORS = {
    R.FPDF_ERR_PASSWORD: "the PDF is password-protected",
    R.FPDF_ERR_SECURITY: "the PDF is encrypted in a way that cannot be read",
    R.FPDF_ERR_FORMAT: "the file is not a readable PDF (damaged or truncated)",
    R.FPDF_ERR_FILE: "the file cannot be read",
}

Matrix = tuple[float, float, float, float, float, float]


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """m then n (PDF row-vector convention, as pdfminer's mult_matrix)."""
    a, b, c, d, e, f = m
    a1, b1, c1, d1, e1, f1 = n
    return (a * a1 + b * c1, a * b1 + b * d1, c * a1 + d * c1, c * b1 + d * d1,
            e * a1 + f * c1 + e1, e * b1 + f * d1 + f1)


def _page_ctm(mediabox: tuple[float, float, float, float], rotate: int) -> Matrix:
    """pdfminer's initial CTM (PDFPageInterpreter.process_page): MediaBox origin and /Rotate."""
    x0, y0, x1, y1 = mediabox
    if rotate == 90:
        return (0, -1, 1, 0, -y0, x1)
    if rotate == 180:
        return (-1, 0, 0, -1, x1, y1)
    if rotate == 270:
        return (0, 1, -1, 0, y1, -x0)
    return (1, 0, 0, 1, -x0, -y0)


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


@dataclass
class LayerPage:
    """One page: chars and edges as pdfplumber dicts, plus what the OCR decision needs."""

    page: int  # 1-based
    width: float
    height: float
    chars: list[dict] = field(default_factory=list)
    line_edges: list[dict] = field(default_factory=list)
    rect_edges: list[dict] = field(default_factory=list)
    curve_edges: list[dict] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)  # x0, top, x1, bottom of each image
    unreadable_glyphs: int = 0  # printed text objects the text layer gives no text for

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return (0.0, 0.0, self.width, self.height)

    @cached_property
    def edges(self) -> list[dict]:
        """pdfplumber's ``Page.edges`` (lines, then rectangle sides, then curve segments)."""
        return self.line_edges + self.rect_edges + self.curve_edges

    @cached_property
    def text(self) -> str:
        """pdfplumber's ``Page.extract_text()`` on these chars (read once: triage, the
        narrative and the ruled reader all ask for it)."""
        if not self.chars:
            return ""
        return chars_to_textmap(self.chars, layout_bbox=self.bbox, layout_width=self.width,
                                layout_height=self.height).as_string

    def extract_text(self) -> str:
        return self.text

    def chars_in(self, bbox: tuple[float, float, float, float]) -> list[dict]:
        """The chars whose centre lies in ``bbox`` (half-open, as pdfplumber's Table.extract)."""
        x0, top, x1, bottom = bbox
        return [c for c in self.chars if x0 <= (c["x0"] + c["x1"]) / 2 < x1
                and top <= (c["top"] + c["bottom"]) / 2 < bottom]

    def extract_words(self, **kwargs: float | bool) -> list[dict]:
        """pdfplumber's ``Page.extract_words(**kwargs)`` on these chars (read once per settings:
        the word reader and the ruled reader's overflow test ask for the same words)."""
        key = tuple(sorted(kwargs.items()))
        cache = self.__dict__.setdefault("_words", {})
        if key not in cache:
            cache[key] = extract_words(self.chars, **kwargs)
        return cache[key]

    def text_between(self, top: float, bottom: float) -> str:
        """pdfplumber's ``page.crop((0, top, width, bottom)).extract_text()``."""
        if bottom <= top:
            return ""
        box = (0.0, top, self.width, bottom)
        chars = crop_to_bbox(self.chars, box)
        if not chars:
            return ""
        return chars_to_textmap(chars, layout_bbox=box, layout_width=self.width,
                                layout_height=bottom - top).as_string


class _Reader:
    """ctypes out-parameters reused for every char of a page (allocation is most of the cost)."""

    def __init__(self) -> None:
        self.x, self.y = ctypes.c_double(), ctypes.c_double()
        self.m = R.FS_MATRIX()
        self.f1, self.f2 = ctypes.c_float(), ctypes.c_float()
        self.rect = R.FS_RECTF()
        self.fl, self.fb, self.fr, self.ft = (ctypes.c_float() for _ in range(4))
        self.n_img = ctypes.c_uint()


def _char_box(ctm: Matrix, height: float, lin: tuple[float, float, float, float],
              ox: float, oy: float, size: float, adv: float, descent: float, text: str,
              unmapped: bool, obj: int) -> dict:
    """pdfminer's LTChar box (two corners of the glyph cell through the char's matrix and the
    page CTM) in pdfplumber's coordinates."""
    ca, cb, cc, cd, _, _ = _mul((*lin, 0.0, 0.0), ctm)
    px, py = _apply(ctm, ox, oy)
    lo = descent * size
    x0, y0 = px + cc * lo, py + cd * lo
    x1, y1 = px + ca * adv + cc * (lo + size), py + cb * adv + cd * (lo + size)
    if x1 < x0:
        x0, x1 = x1, x0
    if y1 < y0:
        y0, y1 = y1, y0
    top, bottom = height - y1, height - y0
    upright = ca * cd > 0 and cb * cc <= 0
    return {"text": text, "x0": x0, "x1": x1, "top": top, "bottom": bottom, "doctop": top,
            "width": x1 - x0, "height": bottom - top, "size": bottom - top,
            "upright": upright, "unmapped": unmapped, "obj": obj}


def _descent(font: object, fonts: dict[int, float], rd: _Reader) -> float:
    """The font's descent per unit of size, negative as pdfminer forces it."""
    key = ctypes.cast(font, ctypes.c_void_p).value or 0
    if key not in fonts:
        ok = R.FPDFFont_GetDescent(font, ctypes.c_float(1000.0), ctypes.byref(rd.f2))
        fonts[key] = -abs(rd.f2.value) / 1000.0 if ok else 0.0
    return fonts[key]


def _chars(tp: object, ctm: Matrix, height: float, rd: _Reader,
           fonts: dict[int, float]) -> list[dict]:
    """Every char pdfium's text page reads, boxed like pdfminer's LTChar.

    A text object's chars share its matrix, size and font, so those are asked once per object
    and a glyph's width once per font, size and char: most of a page's ctypes calls."""
    out: list[dict] = []
    last_obj = None
    lin: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 1.0)
    size = descent = 0.0
    font = None
    key = 0
    widths: dict[tuple[int, int, float], float] = {}
    for i in range(R.FPDFText_CountChars(tp)):
        if R.FPDFText_IsGenerated(tp, i):
            # a space or line break pdfium infers from a gap: pdfminer has no such char, and
            # pdfplumber's readers make their own breaks from the gaps
            continue
        u = R.FPDFText_GetUnicode(tp, i)
        unmapped = bool(R.FPDFText_HasUnicodeMapError(tp, i))
        # pdfium turns a hyphen that ends a line into U+0002: the PDF prints a hyphen there
        text = "\ufffd" if unmapped or u == 0 else "-" if u == 2 else chr(u)
        R.FPDFText_GetCharOrigin(tp, i, rd.x, rd.y)
        obj = R.FPDFText_GetTextObject(tp, i)
        obj_key = ctypes.cast(obj, ctypes.c_void_p).value or 0 if obj else 0
        if not obj or obj_key != last_obj:
            last_obj = obj_key if obj else None
            size = R.FPDFText_GetFontSize(tp, i)
            R.FPDFText_GetMatrix(tp, i, rd.m)
            m = rd.m
            lin = (m.a, m.b, m.c, m.d)
            font = R.FPDFTextObj_GetFont(obj) if obj else None
            key = ctypes.cast(font, ctypes.c_void_p).value or 0 if font else 0
            descent = _descent(font, fonts, rd) if font else 0.0
        adv = 0.0
        if font and u:
            wkey = (key, u, size)
            adv = widths.get(wkey, -1.0)
            if adv < 0:
                ok = R.FPDFFont_GetGlyphWidth(font, u, ctypes.c_float(size), ctypes.byref(rd.f1))
                adv = widths[wkey] = rd.f1.value if ok else 0.0
        out.append(_char_box(ctm, height, lin, rd.x.value, rd.y.value, size,
                             adv, descent, text, unmapped, obj_key))
    return out


def _skipped_text(obj: object, parent: Matrix, ctm: Matrix, height: float, rd: _Reader,
                  fonts: dict[int, float]) -> dict | None:
    """A blank for a text object pdfium's text page drops because it draws nothing (its box
    has no width: spaces, tabs, zero-width glyphs). pdfminer keeps its chars, and a blank
    char is where pdfplumber ends a word, so the blank keeps the same words apart."""
    if not R.FPDFPageObj_GetBounds(obj, rd.fl, rd.fb, rd.fr, rd.ft):
        return None
    if abs(rd.fr.value - rd.fl.value) > 1e-3:
        return None  # drawn, but dropped for another reason (a duplicate of the one before)
    m = _mul(_obj_matrix(obj, rd), parent)
    size = rd.f1.value if R.FPDFTextObj_GetFontSize(obj, ctypes.byref(rd.f1)) else 0.0
    font = R.FPDFTextObj_GetFont(obj)
    descent = _descent(font, fonts, rd) if font else 0.0
    scale = (m[0] ** 2 + m[1] ** 2) ** 0.5 or 1.0  # the object's matrix carries the size's scale
    lin = (m[0] / scale, m[1] / scale, m[2] / scale, m[3] / scale)
    return _char_box(ctm, height, lin, m[4], m[5], size * scale, 0.0, descent, " ", False, -1)


def _prints_blanks(obj: object, text_page: object) -> bool:
    """Does a text object pdfium's text page dropped print only blanks (spaces, tabs)? A glyph
    pdfium cannot place (a font neither embedded nor installed: Chinese text in STSong-Light on
    a machine without a CJK font) is dropped too, and its text reads as nothing."""
    if not text_page:
        return True
    n = R.FPDFTextObj_GetText(obj, text_page, None, 0)  # bytes of UTF-16LE with its NUL
    if n <= 2:
        return False
    buf = ctypes.create_string_buffer(n)
    R.FPDFTextObj_GetText(obj, text_page, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)), n)
    text = buf.raw[: n - 2].decode("utf-16-le", "replace").replace("\x00", "")
    return bool(text) and text.isspace()


def _merge(chars: list[dict], blanks: list[tuple[int, dict]], order: dict[int, int]) -> list[dict]:
    """Blanks put back where their text object comes in the content stream."""
    out: list[dict] = []
    k = 0
    for ch in chars:
        at = order.get(ch.pop("obj"), -1)
        while k < len(blanks) and blanks[k][0] < at:
            out.append(blanks[k][1])
            k += 1
        out.append(ch)
    out.extend(b for _, b in blanks[k:])
    for b in out:
        b.pop("obj", None)
    return out


def _obj_matrix(obj: object, rd: _Reader) -> Matrix:
    if R.FPDFPageObj_GetMatrix(obj, ctypes.byref(rd.m)):
        m = rd.m
        return (m.a, m.b, m.c, m.d, m.e, m.f)
    return (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _subpaths(obj: object, rd: _Reader) -> Iterator[tuple[str, list[tuple[float, float]]]]:
    """(pdfminer shape string, end points) of each subpath, in the object's own space."""
    shape, pts, bez = "", [], 0
    for k in range(R.FPDFPath_CountSegments(obj)):
        seg = R.FPDFPath_GetPathSegment(obj, k)
        kind = R.FPDFPathSegment_GetType(seg)
        R.FPDFPathSegment_GetPoint(seg, ctypes.byref(rd.f1), ctypes.byref(rd.f2))
        pt = (rd.f1.value, rd.f2.value)
        closes = bool(R.FPDFPathSegment_GetClose(seg))
        if kind == R.FPDF_SEGMENT_MOVETO:
            if shape:
                yield shape, pts
            shape, pts = "m", [pt]
            continue
        if not shape:
            continue
        if kind == R.FPDF_SEGMENT_BEZIERTO:
            # pdfium gives a curve's two control points and its end as three segments;
            # pdfminer keeps only the end point
            bez = (bez + 1) % 3
            if bez:
                continue
            shape += "c"
            pts.append(pt)
            if closes:
                shape += "h"
                pts.append(pts[0])
            continue
        if closes and _close(pt, pts[0]):
            shape += "h"  # pdfminer: 'h' lands on the start point; a redundant 'l' there is dropped
            pts.append(pts[0])
            continue
        shape += "l"
        pts.append(pt)
        if closes:
            shape += "h"
            pts.append(pts[0])
    if shape:
        yield shape, pts


def _close(p: tuple[float, float], q: tuple[float, float]) -> bool:
    return abs(p[0] - q[0]) < _SAME and abs(p[1] - q[1]) < _SAME


def _edge(kind: str, p0: tuple[float, float], p1: tuple[float, float], orientation: str | None
          ) -> dict:
    x0, x1 = min(p0[0], p1[0]), max(p0[0], p1[0])
    top, bottom = min(p0[1], p1[1]), max(p0[1], p1[1])
    return {"object_type": kind, "x0": x0, "x1": x1, "top": top, "bottom": bottom,
            "doctop": top, "width": x1 - x0, "height": bottom - top, "orientation": orientation}


def _path_edges(page: LayerPage, shape: str, pts: list[tuple[float, float]]) -> None:
    """pdfminer's paint_path classification, then pdfplumber's obj_to_edges, for one subpath."""
    if shape in ("mlh", "ml"):
        p0, p1 = pts[0], pts[1]
        flat = abs(p0[1] - p1[1]) < _SAME
        page.line_edges.append(_edge("line", p0, p1, "h" if flat else "v"))
        return
    if shape in ("mlllh", "mllll") and _close(pts[0], pts[4]):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts[:4]
        e = _SAME
        square = ((abs(x0 - x1) < e and abs(y1 - y2) < e and abs(x2 - x3) < e and abs(y3 - y0) < e)
                  or (abs(y0 - y1) < e and abs(x1 - x2) < e and abs(y2 - y3) < e and abs(x3 - x0) < e))
        if square:
            left, right = min(x0, x2), max(x0, x2)
            top, bottom = min(y0, y2), max(y0, y2)
            page.rect_edges += [_edge("rect_edge", (left, top), (right, top), "h"),
                                _edge("rect_edge", (left, bottom), (right, bottom), "h"),
                                _edge("rect_edge", (left, top), (left, bottom), "v"),
                                _edge("rect_edge", (right, top), (right, bottom), "v")]
            return
    for p0, p1 in zip(pts, pts[1:], strict=False):
        orientation = ("v" if abs(p0[0] - p1[0]) < _SAME
                       else "h" if abs(p0[1] - p1[1]) < _SAME else None)
        page.curve_edges.append(_edge("curve_edge", p0, p1, orientation))


@dataclass
class _Walk:
    """What one pass over a page's objects collects besides edges and images."""

    used: set[int]  # text objects the text page read chars from
    fonts: dict[int, float]
    text_page: object = None  # pdfium's text page, to ask a dropped object what it prints
    order: dict[int, int] = field(default_factory=dict)  # text object → its place in the stream
    blanks: list[tuple[int, dict]] = field(default_factory=list)
    unreadable: int = 0  # dropped text objects that print something other than blanks


def _objects(container: object, in_form: bool, parent: Matrix, ctm: Matrix, page: LayerPage,
             rd: _Reader, walk: _Walk) -> None:
    """Paths, images and dropped text objects of a page or a form XObject (recursively)."""
    count = R.FPDFFormObj_CountObjects(container) if in_form else R.FPDFPage_CountObjects(container)
    for k in range(count):
        obj = R.FPDFFormObj_GetObject(container, k) if in_form else R.FPDFPage_GetObject(container, k)
        kind = R.FPDFPageObj_GetType(obj)
        if kind == _TEXT:
            key = ctypes.cast(obj, ctypes.c_void_p).value or 0
            walk.order[key] = len(walk.order)
            if key not in walk.used:
                blank = _skipped_text(obj, parent, ctm, page.height, rd, walk.fonts)
                if blank is not None:
                    walk.blanks.append((walk.order[key], blank))
                    if not _prints_blanks(obj, walk.text_page):
                        walk.unreadable += 1
        elif kind == _FORM:
            _objects(obj, True, _mul(_obj_matrix(obj, rd), parent), ctm, page, rd, walk)
        elif kind == _PATH:
            m = _mul(_mul(_obj_matrix(obj, rd), parent), ctm)
            for shape, pts in _subpaths(obj, rd):
                flipped = [(x, page.height - y) for x, y in (_apply(m, px, py) for px, py in pts)]
                _path_edges(page, shape, flipped)
        elif kind == _IMAGE:
            m = _mul(_mul(_obj_matrix(obj, rd), parent), ctm)
            corners = [_apply(m, x, y) for x, y in ((0, 0), (1, 0), (0, 1), (1, 1))]
            xs, ys = [p[0] for p in corners], [p[1] for p in corners]
            page.images.append({"x0": min(xs), "x1": max(xs), "top": page.height - max(ys),
                                "bottom": page.height - min(ys)})


class PdfLayer:
    """An open PDF read through pdfium; pages are read on first use and kept until close."""

    def __init__(self, pdf_bytes: bytes):
        self.pdf_bytes = pdf_bytes
        with _LOCK:
            try:
                self._doc = pdfium.PdfDocument(pdf_bytes)
            except pdfium.PdfiumError as exc:
                code = R.FPDF_GetLastError()
                raise Unreadable(f"{_ERRORS.get(code, 'the PDF cannot be opened')} ({exc})") from exc
        self._pages: dict[int, LayerPage] = {}
        self._rd = _Reader()

    def __len__(self) -> int:
        return len(self._doc)

    def __enter__(self) -> PdfLayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pages(self) -> list[LayerPage]:
        return [self.page(i) for i in range(1, len(self) + 1)]

    def read_pages(self) -> dict[int, LayerPage]:
        """The pages read so far by number: plain dicts that outlive :meth:`close`, so a later
        step (the consistency locator) need not open and read the same pages again."""
        return dict(self._pages)

    def page(self, page_no: int) -> LayerPage:
        """The 1-based page ``page_no`` (read once)."""
        hit = self._pages.get(page_no)
        if hit is None:
            with _LOCK:
                hit = self._pages[page_no] = self._read(page_no)
        return hit

    def _read(self, page_no: int) -> LayerPage:
        page = self._doc[page_no - 1]
        try:
            mediabox = page.get_mediabox()
            rotate = page.get_rotation() % 360
            ctm = _page_ctm(mediabox, rotate)
            (ax, ay), (bx, by) = _apply(ctm, *mediabox[:2]), _apply(ctm, *mediabox[2:])
            width, height = abs(ax - bx), abs(ay - by)
            out = LayerPage(page=page_no, width=width, height=height)
            fonts: dict[int, float] = {}
            tp = R.FPDFText_LoadPage(page.raw)
            try:
                chars = _chars(tp, ctm, height, self._rd, fonts) if tp else []
                walk = _Walk(used={c["obj"] for c in chars}, fonts=fonts, text_page=tp)
                _objects(page.raw, False, (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), ctm, out, self._rd, walk)
            finally:
                if tp:
                    R.FPDFText_ClosePage(tp)
            out.chars = _merge(chars, walk.blanks, walk.order)
            out.unreadable_glyphs = walk.unreadable
            return out
        finally:
            page.close()

    def close(self) -> None:
        self._pages.clear()
        with _LOCK:
            self._doc.close()
