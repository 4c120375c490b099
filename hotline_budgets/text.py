"""Text helpers shared by extract/ and transform/: normalising printed names and whitespace."""

from __future__ import annotations

import re

_PUNCT = str.maketrans({"(": "（", ")": "）", " ": "", "\u3000": "", "\n": "", "\t": ""})
_ENUM_PREFIX = re.compile(
    r"^(?:[一二三四五六七八九十百]+[、.．]|\d+[、.．]|[（(][一二三四五六七八九十\d]+[）)])+"
)


# compiled once: compact() runs ~700k times a night and re.sub's pattern-cache lookup cost more
# than the substitution itself
_SPACE = re.compile(r"\s+")
_BLANK = re.compile(r"[\s\u3000]+")


def normalize_name(name: str) -> str:
    """Full-width brackets, no whitespace, no leading enumeration (一、 / 1. / （一）)."""
    text = name.translate(_PUNCT)
    text = _SPACE.sub("", text)
    # an enumeration whose numeral OCR lost ("、一般公共预算拨款收入") is still an enumeration
    return _ENUM_PREFIX.sub("", text).lstrip("、.．")


def compact(text: str) -> str:
    """Remove all whitespace, as PDF text extraction inserts blanks around Latin digits."""
    return _BLANK.sub("", text)
