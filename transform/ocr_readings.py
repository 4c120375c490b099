"""Other readings of an OCR'd amount: the artefacts an engine leaves in printed digits.

Only proposals are made here. Which reading is published is decided by the report's
accounting identities (load/ocr_repair.py), and every repair is recorded as a quality issue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from hotline_budgets.text import compact

# Letters and marks an engine confuses with digits and number punctuation.
_CONFUSABLE = str.maketrans({
    "O": "0", "o": "0", "D": "0", "〇": "0", "Q": "0",
    "l": "1", "I": "1", "|": "1", "丨": "1", "i": "1", "!": "1",
    "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8",
    "，": ",", "。": ".", "．": ".", "·": ".", "、": ".", ":": ".",
})
_BLANK_IN_NUMBER = re.compile(r"\d[.,]?\s+[.,]?\d")
_NUMBER = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


@dataclass(frozen=True)
class Readings:
    """How an OCR cell may be read. ``kind`` is empty when the text is an ordinary number."""

    as_read: Decimal | None  # the text as printed, blanks removed (None: not a number)
    alternatives: tuple[Decimal, ...] = ()
    kind: str = ""  # "" | blank | chars | decimal


def _number(text: str) -> Decimal | None:
    c = compact(text)
    if not _NUMBER.match(c):
        return None
    try:
        return Decimal(c.replace(",", ""))
    except InvalidOperation:
        return None


def ocr_readings(text: str, decimals_expected: bool) -> Readings:
    """Readings of one OCR cell; ``decimals_expected`` when the table's amounts print decimals
    (then a long integer may have lost its decimal point)."""
    raw = str(text).strip()
    as_read = _number(raw)
    if as_read is not None:
        if _BLANK_IN_NUMBER.search(raw):
            return Readings(as_read, (), "blank")
        digits = compact(raw).replace(",", "").lstrip("-")
        if decimals_expected and "." not in digits and len(digits) >= 3 and as_read != 0:
            return Readings(as_read, (as_read / 100,), "decimal")
        return Readings(as_read)
    fixed = compact(raw).translate(_CONFUSABLE)
    fixed = re.sub(r"\.{2,}", ".", fixed).strip(".,")
    candidates: list[Decimal] = []
    value = _number(fixed)
    if value is not None:
        candidates.append(value)
    elif re.fullmatch(r"\d+,\d{2}", fixed):  # a decimal comma ("1165,30")
        candidates.append(Decimal(fixed.replace(",", ".")))
    elif re.fullmatch(r"\d{1,3}([.,]\d{3})+\.\d{2}", fixed):  # a thousands comma read as a dot
        candidates.append(Decimal(re.sub(r"[.,](?=\d{3}[.,])", "", fixed)))
    return Readings(None, tuple(c for c in candidates if c != 0), "chars" if candidates else "")
