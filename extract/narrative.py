"""The explanation text (情况说明) as printed: its sections, sentences, amounts and 类/款/项 names.

Only what is printed is found here — where the explanation part and its sections start, every
"label + A万元" with the label's text, the sentence and page it is printed on, and the 类/款/项
path names printed before it. What a section or a label *means* (statement, item, measure, code)
is decided in ``transform.narrative_facts``. The layout is data: ``narrative_layout.yaml``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LAYOUT_FILE = Path(__file__).parent / "narrative_layout.yaml"
LEVELS = ("类", "款", "项")
_FULL_WIDTH = str.maketrans({"(": "（", ")": "）", ":": "：", ";": "；"})
_LABEL_PATTERNS = ("amount", "enumerator", "year", "trailing", "path_marker")


@dataclass(frozen=True)
class Layout:
    """The compiled layout: line patterns (``layout``) and label patterns (``label``)."""

    layout: dict[str, Any]  # patterns, and the *_chars strings
    label: dict[str, Any]


@cache
def load_layout(path: Path = LAYOUT_FILE) -> Layout:
    """Compile narrative_layout.yaml once."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    layout = {k: v if k.endswith("_chars") else
              [re.compile(p) for p in v] if isinstance(v, list) else re.compile(v)
              for k, v in data["layout"].items()}
    label = dict(data["label"])
    for key in _LABEL_PATTERNS:
        label[key] = re.compile(label[key])
    return Layout(layout, label)


# --------------------------------------------------------------------------- text model


@dataclass
class Document:
    """The compacted text of all pages, with the page of every character and the line starts."""

    text: str
    page_of: list[int]
    lines: list[tuple[int, int]]  # (start, end) offsets of every kept line
    loose: list[tuple[int, int]] = field(default_factory=list)  # detached digit lines not put back

    def is_loose(self, offset: int) -> bool:
        """True when the character at ``offset`` is a digit printed away from its words."""
        return any(s <= offset < e for s, e in self.loose)


def _compact_line(line: str) -> str:
    """No blanks ("2024 年度" → "2024年度"), except one between two digits so numbers never merge."""
    line = re.sub(r"(?<=\d)[\s\u3000]+(?=\d)", " ", line.strip())
    return re.sub(r"(?<!\d) | (?!\d)|[^\S ]|\u3000", "", line).translate(_FULL_WIDTH)


def _refill_before_units(gaps: list[str], tokens: list[str], unit_chars: str) -> str | None:
    """Plain numbers into exactly the blanks that precede a unit; the other blanks are dropped."""
    before_unit = [i for i, g in enumerate(gaps[1:]) if g[:1] and g[0] in unit_chars]
    if len(before_unit) != len(tokens) or not all(re.fullmatch(r"[\d.,]+", t) for t in tokens):
        return None
    fill = dict(zip(before_unit, tokens, strict=True))
    return "".join(g + fill.get(i, "") for i, g in enumerate(gaps))


def _refill(line: str, tokens: list[str], lead_chars: str, unit_chars: str) -> str | None:
    """``line`` with detached ``tokens`` put back into its blanks, or None when they do not fit."""
    gaps = line.split(" ")
    if re.search(r"\d", line):
        return None
    if len(tokens) < len(gaps) - 1:
        return _refill_before_units(gaps, tokens, unit_chars)
    if len(tokens) > len(gaps):
        return None
    lead = ""
    if len(tokens) == len(gaps):
        if not (line[:1] in lead_chars or tokens[0] in "“‘\""):
            return None
        lead, tokens = tokens[0], tokens[1:]
    return lead + "".join(g + t for g, t in zip(gaps, [*tokens, ""], strict=True))


def page_lines(page: str, rules: Layout) -> list[tuple[str, bool]]:
    """A page's lines without footers and page numbers, with detached digit lines put back.

    Each line comes with a flag: True for a detached digit line that could not be put back.
    """
    layout = rules.layout
    kept: list[tuple[str, bool]] = []
    for line in page.splitlines():
        line = re.sub(r"\s+", " ", line).strip()
        if not line or layout["footer_line"].match(line):
            continue
        tokens = layout["detached_tokens"].match(line) is not None
        if tokens and kept and not kept[-1][1]:
            refilled = _refill(kept[-1][0], line.split(" "), layout["detached_lead_chars"],
                               layout["detached_unit_chars"])
            if refilled is not None:
                kept[-1] = (refilled, False)
                continue
        kept.append((line, tokens and bool(kept)))
    if kept and layout["page_number_line"].match(kept[-1][0]):
        kept.pop()
    return kept


def join_pages(pages: list[str], rules: Layout) -> Document:
    """Join page texts without blanks or line breaks, dropping "- 12 -" footers; keep char → page."""
    parts: list[str] = []
    page_of: list[int] = []
    lines: list[tuple[int, int]] = []
    loose: list[tuple[int, int]] = []
    offset = 0
    for number, page in enumerate(pages, start=1):
        for line, is_loose in page_lines(page, rules):
            compacted = _compact_line(line)
            if not compacted:
                continue
            parts.append(compacted)
            page_of.extend([number] * len(compacted))
            lines.append((offset, offset + len(compacted)))
            if is_loose:
                loose.append(lines[-1])
            offset += len(compacted)
    return Document("".join(parts), page_of, lines, loose)


def explanation_span(doc: Document, rules: Layout) -> tuple[int, int]:
    """The explanation part: after the last "第X部分…情况说明", up to the next line starting a part."""
    line_starts = {s for s, _ in doc.lines}
    starts = [m for m in rules.layout["part_start"].finditer(doc.text) if m.start() in line_starts]
    if not starts:
        return 0, len(doc.text)
    begin = starts[-1].end()
    for start, end in doc.lines:
        if start >= begin and rules.layout["part_end"].match(doc.text[start:end]):
            return begin, start
    return begin, len(doc.text)


@dataclass(frozen=True)
class Section:
    title: str
    start: int
    end: int


def split_sections(doc: Document, span: tuple[int, int], rules: Layout) -> list[Section]:
    """Sections start at lines "一、…" (no amount on the line); the body runs to the next one."""
    heads = [(s, e) for s, e in doc.lines
             if span[0] <= s < span[1] and rules.layout["section_heading"].match(doc.text[s:e])]
    sections = []
    for i, (s, e) in enumerate(heads):
        stop = heads[i + 1][0] if i + 1 < len(heads) else span[1]
        sections.append(Section(doc.text[s:e], e, stop))
    return sections


# --------------------------------------------------------------------------- printed names


def clean_name(text: str, rules: Layout) -> str:
    """A printed name without quotes, leading enumeration, filler words or trailing 为."""
    label = rules.label
    text = text.translate({ord(c): None for c in label["quote_chars"]})
    text = label["enumerator"].sub("", text)
    changed = True
    while changed:
        changed = False
        for filler in label["fillers"]:
            if text.startswith(filler):
                text, changed = text[len(filler):], True
    return label["trailing"].sub("", text)


def clean_path_name(printed: str, rules: Layout) -> str:
    """A 类/款/项 name as printed before its marker, without years, quotes or enumeration."""
    return clean_name(rules.label["year"].sub("", printed), rules)


# --------------------------------------------------------------------------- what a section prints


@dataclass(frozen=True)
class AmountMention:
    """One "label + A万元" as printed, with everything printed before it that may give it meaning."""

    label: str  # the text from the label's start up to the amount (raw, compacted)
    amount_text: str  # the number as printed ("1,770.28")
    page: int
    sentence: str  # the sentence the amount is printed in (compacted)
    path: tuple[str, ...]  # the 类/款/项 names printed before it, cleaned (may be shorter than 3)
    path_depth: int | None = None  # depth (1–3) of the last marker inside the label, if any
    path_suffix: str | None = None  # the label text after that marker
    is_loose: bool = False  # a number printed on a line of its own, away from its words
    # the amount this one is printed as a part of ("A万元，其中：…"): its number among the section's
    # amounts (0 = the first), or None
    part_of: int | None = None

    @property
    def amount(self) -> Decimal:
        return Decimal(self.amount_text.replace(",", ""))


@dataclass(frozen=True)
class SentenceEnd:
    """A sentence ends ("。"): a 三公 category named in it is not carried over."""


@dataclass(frozen=True)
class Subheading:
    """A sub-heading line ("(二) 公务接待费"), its text cleaned, and the nesting level of its
    enumerator (enumerator_levels; None when it has none of them)."""

    text: str
    level: int | None = None


Event = AmountMention | SentenceEnd | Subheading


@dataclass(frozen=True)
class PrintedSection:
    """One section of the explanation part: its title and what it prints, in reading order."""

    title: str
    events: tuple[Event, ...]


@dataclass
class _SectionReader:
    """Walks one section in reading order, keeping the 类/款/项 names printed so far."""

    doc: Document
    section: Section
    rules: Layout
    path: list[str] = field(default_factory=list)

    def boundaries(self) -> list[int]:
        """Offsets where a label may start: after punctuation, amounts, sub-headings; enumerated lines."""
        text, start, end = self.doc.text, self.section.start, self.section.end
        label, layout = self.rules.label, self.rules.layout
        found = {start}
        found |= {i + 1 for i in range(start, end) if text[i] in label["boundary_chars"]}
        found |= {m.end() + start for m in label["amount"].finditer(text[start:end])}
        for s, e in self.doc.lines:
            if start <= s < end:
                line = text[s:e]
                if layout["enumerated_line"].match(line):
                    found.add(s)
                if layout["subheading_line"].match(line):
                    found.add(e)
        return sorted(found)

    def item_levels(self) -> dict[int, int]:
        """Offset of every enumerated line of the section → its nesting level (0 = outermost)."""
        levels = {}
        for s, e in self.doc.lines:
            if self.section.start <= s < self.section.end:
                level = next((i for i, p in enumerate(self.rules.layout["enumerator_levels"])
                              if p.match(self.doc.text[s:e])), None)
                if level is not None:
                    levels[s] = level
        return levels

    def subheadings(self) -> list[tuple[int, str, Any]]:
        """Sub-heading lines (event at their last character) and inline sub-headings (at their "。")."""
        layout, found = self.rules.layout, []
        for s, e in self.doc.lines:
            if self.section.start <= s < self.section.end:
                line = self.doc.text[s:e]
                m = layout["subheading_line"].match(line)
                if m:
                    found.append((e - self.section.start - 1, "subheading", (s, m.group(0))))
                elif m := layout["inline_subheading"].match(line):
                    found.append((s + m.end() - 1 - self.section.start, "subheading",
                                  (s, m.group(0)[:-1])))
        return found

    def raw_events(self) -> list[tuple[int, str, Any]]:
        """Item starts, path markers, amounts, "其中", sentence ends and sub-headings, in reading order
        (at one offset in that order: a sub-heading closed by "。" comes after that sentence end)."""
        body = self.doc.text[self.section.start:self.section.end]
        label = self.rules.label
        found: list[tuple[int, str, Any]] = [
            (s - self.section.start, "item", level) for s, level in self.item_levels().items()]
        found += [(m.start(), "marker", m) for m in label["path_marker"].finditer(body)]
        found += [(m.start(), "amount", m) for m in label["amount"].finditer(body)]
        found += [(m.start(), "part", m) for m in re.finditer(re.escape(label["part_word"]), body)]
        found += [(m.start(), "end", m) for m in re.finditer(re.escape(label["sentence_end"]), body)]
        found += self.subheadings()
        return sorted(found, key=lambda ev: ev[0])

    def sentence_at(self, at: int) -> str:
        """The sentence around offset ``at``: from the previous "。" to the next one, in the section."""
        text, end_char = self.doc.text, self.rules.label["sentence_end"]
        begin = max(text.rfind(end_char, self.section.start, at) + 1, self.section.start)
        stop = text.find(end_char, at, self.section.end)
        return text[begin:stop + 1 if stop >= 0 else self.section.end]

    def enter_path(self, level: str, printed: str) -> None:
        """A 类/款/项 name replaces that level of the current path and clears the levels below."""
        depth = LEVELS.index(level)
        if depth > len(self.path):
            self.path = []
            return
        self.path = self.path[:depth] + [clean_path_name(printed, self.rules)]

    def read(self) -> PrintedSection:
        """Every amount, sentence end and sub-heading of the section, in reading order."""
        bounds = self.boundaries()
        last_marker_end = self.section.start
        events: list[Event] = []
        levels = self.item_levels()
        parts = _Parts(levels)
        for pos, kind, match in self.raw_events():
            at = pos + self.section.start
            label_start = bounds[bisect.bisect_right(bounds, at) - 1]
            if kind == "item":
                parts.enter_item(at, match)
            elif kind == "part":
                parts.open()
            elif kind == "end":
                events.append(SentenceEnd())
                parts.end_sentence(at + 1)
            elif kind == "subheading":
                line_start, text = match
                events.append(Subheading(clean_name(text, self.rules), levels.get(line_start)))
            elif kind == "marker":
                self.enter_path(match["level"], self.doc.text[max(label_start, last_marker_end):at])
                last_marker_end = at + len(match.group(0))
            else:
                events.append(self.mention(label_start, at, match, last_marker_end, parts.parent))
                parts.amount(at)
        return PrintedSection(self.section.title, tuple(events))

    def mention(self, label_start: int, at: int, match: re.Match[str],
                last_marker_end: int, part_of: int | None) -> AmountMention:
        """The amount at ``at`` with its label; a label reaching back over a marker prints a path."""
        raw = self.doc.text[label_start:at]
        depth = suffix = None
        if last_marker_end > label_start:
            suffix = self.doc.text[last_marker_end:at]
            marker = list(self.rules.label["path_marker"].finditer(raw))[-1]
            depth = LEVELS.index(marker["level"]) + 1
        return AmountMention(raw, match["num"], self.doc.page_of[at], self.sentence_at(at),
                             tuple(self.path), depth, suffix, self.doc.is_loose(at), part_of)


@dataclass
class _Parts:
    """Which amount the amounts being read are parts of: "A万元…其中：…B万元" makes B a part of A
    until the item A is printed in ends (an item of its level or an outer one starts), or — when A
    is in no enumerated item — until its sentence ends without an enumerated line following."""

    item_levels: dict[int, int]  # line offset → level of the enumerated item starting there
    level: int | None = None  # level of the item being read
    item_start: int = 0
    count: int = 0  # amounts read so far
    last_at: int = -1  # offset of the last amount read
    parent: int | None = None  # number of the amount the next ones are parts of
    parent_level: int | None = None

    def enter_item(self, at: int, level: int) -> None:
        if self.parent is not None and self.parent_level is not None and level <= self.parent_level:
            self.parent = None
        self.level, self.item_start = level, at

    def open(self) -> None:
        """"其中": the last amount of the current item (if any) is the parent of what follows."""
        if self.count and self.last_at >= self.item_start:
            self.parent, self.parent_level = self.count - 1, self.level

    def end_sentence(self, after: int) -> None:
        if self.parent is not None and self.parent_level is None and after not in self.item_levels:
            self.parent = None

    def amount(self, at: int) -> None:
        self.count, self.last_at = self.count + 1, at


def read_explanation(pages: list[str], rules: Layout | None = None) -> list[PrintedSection]:
    """The sections of the explanation part of a report (page texts, index 0 = page 1)."""
    rules = rules or load_layout()
    doc = join_pages(pages, rules)
    return [_SectionReader(doc, section, rules).read()
            for section in split_sections(doc, explanation_span(doc, rules), rules)]
