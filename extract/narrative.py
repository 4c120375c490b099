"""Facts from the explanation text (情况说明): "label + A万元" sentences mapped onto statement cells.

The mechanics live here; which section explains which statement, which labels mean which cell and
which sentences are comparisons are data in ``narrative_rules.yaml``. Codes come only from the
catalog, resolved from the printed 类/款/项 names.
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

from hotline_budgets.transform.catalog import Catalog, NameResolver
from hotline_budgets.transform.facts import Fact

RULES_FILE = Path(__file__).parent / "narrative_rules.yaml"
LEVELS = ("类", "款", "项")
_FULL_WIDTH = str.maketrans({"(": "（", ")": "）", ":": "：", ";": "；"})


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class LabelRule:
    """A whole-label pattern and the cells it names."""

    pattern: re.Pattern[str]
    facts: tuple[dict[str, Any], ...]
    statement: str | None = None
    from_context: str | None = None
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatementRules:
    """Everything one section kind may extract (see the YAML header)."""

    labels: tuple[LabelRule, ...] = ()
    paths: tuple[LabelRule, ...] = ()
    class_measure: str | None = None
    coded_measure: str | None = None
    subjects: tuple[tuple[str, re.Pattern[str]], ...] = ()
    measures: tuple[tuple[re.Pattern[str], Any], ...] = ()


@dataclass(frozen=True)
class Rules:
    layout: dict[str, Any]  # patterns, and the *_chars strings
    label: dict[str, Any]
    sections: tuple[tuple[str | None, tuple[str, ...]], ...]
    statements: dict[str, StatementRules]


def _full(pattern: str) -> re.Pattern[str]:
    return re.compile(f"(?:{pattern})")


def _label_rule(raw: dict[str, Any], key: str) -> LabelRule:
    facts = raw.get("facts") or [{"item": raw.get("item"), "measure": raw["measure"]}]
    if key == "suffix":
        facts = [{"measure": raw["measure"], "levels": raw.get("levels", list(LEVELS))}]
    return LabelRule(_full(raw[key]), tuple(facts), raw.get("statement"), raw.get("from_context"),
                     tuple(raw.get("kinds", ())))


def _statement_rules(raw: dict[str, Any]) -> StatementRules:
    return StatementRules(
        labels=tuple(_label_rule(r, "label") for r in raw.get("labels", [])),
        paths=tuple(_label_rule(r, "suffix") for r in raw.get("paths", [])),
        class_measure=(raw.get("class_names") or {}).get("measure"),
        coded_measure=(raw.get("coded") or {}).get("measure"),
        subjects=tuple((item, _full(p)) for item, p in (raw.get("subjects") or {}).items()),
        measures=tuple((_full(m["label"]), m["measure"]) for m in raw.get("measures", [])),
    )


@cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    """Compile narrative_rules.yaml once; patterns are whole-label matches."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    layout = {k: v if k.endswith("_chars") else re.compile(v) for k, v in data["layout"].items()}
    label = dict(data["label"])
    for key in ("amount", "enumerator", "year", "trailing", "path_marker", "coded"):
        label[key] = re.compile(label[key])
    sections = tuple((s["statement"], tuple(s["keywords"])) for s in data["sections"])
    statements = {name: _statement_rules(raw) for name, raw in data["statements"].items()}
    return Rules(layout, label, sections, statements)


def _measure_for(spec: Any, report_kind: str) -> str | None:
    """A measure may depend on the report kind (三公 "支出" is 预算 in a budget, 决算 otherwise)."""
    return spec.get(report_kind) if isinstance(spec, dict) else spec


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


def page_lines(page: str, rules: Rules) -> list[tuple[str, bool]]:
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


def join_pages(pages: list[str], rules: Rules) -> Document:
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


def explanation_span(doc: Document, rules: Rules) -> tuple[int, int]:
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


def split_sections(doc: Document, span: tuple[int, int], rules: Rules) -> list[Section]:
    """Sections start at lines "一、…" (no amount on the line); the body runs to the next one."""
    heads = [(s, e) for s, e in doc.lines
             if span[0] <= s < span[1] and rules.layout["section_heading"].match(doc.text[s:e])]
    sections = []
    for i, (s, e) in enumerate(heads):
        stop = heads[i + 1][0] if i + 1 < len(heads) else span[1]
        sections.append(Section(doc.text[s:e], e, stop))
    return sections


def section_statement(title: str, rules: Rules) -> str | None:
    """The statement a section explains, from the words of its title (first matching entry wins)."""
    for statement, keywords in rules.sections:
        if any(k in title for k in keywords):
            return statement
    return None


# --------------------------------------------------------------------------- labels


def clean_name(text: str, rules: Rules) -> str:
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


def label_candidates(raw: str, rules: Rules, report_kind: str, fiscal_year: int) -> list[str]:
    """Cleaned readings of a label, or none when it is a comparison or a prior-year amount.

    Years are dropped in two ways: every year token removed ("公务接待费2024年预算安排"), or everything
    up to the last year (an entity name printed before "2026年收入预算").
    """
    label = rules.label
    if any(word in raw for word in label["reject_words"]):
        return []
    oldest = fiscal_year - label["year_tolerance"].get(report_kind, 0)
    years = list(label["year"].finditer(raw))
    if any(not oldest <= int(y["year"]) <= fiscal_year for y in years):
        return []
    readings = [label["year"].sub("", raw)]
    if years:
        readings.append(raw[years[-1].end():])
    return list(dict.fromkeys(c for c in (clean_name(r, rules) for r in readings) if c))


# --------------------------------------------------------------------------- section scanning


@dataclass
class Scanner:
    """Walks one section in reading order, keeping the current 类/款/项 path and 三公 subject."""

    doc: Document
    section: Section
    statement: str
    rules: Rules
    report_kind: str
    fiscal_year: int
    catalog: Catalog
    resolver: NameResolver
    path: list[str] = field(default_factory=list)
    subject: tuple[str, str] | None = None  # (item, printed name) of the 三公 category just named
    facts: list[Fact] = field(default_factory=list)
    notes: list[NarrativeNote] = field(default_factory=list)
    keep_zeros: bool = False  # "0万元" kept as a fact (consistency checks), not for line items

    @property
    def srules(self) -> StatementRules:
        """The rules of the statement this section explains."""
        return self.rules.statements[self.statement]

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

    def events(self) -> list[tuple[int, str, re.Match[str]]]:
        """Path markers, amounts, sentence ends and sub-headings, in reading order."""
        body = self.doc.text[self.section.start:self.section.end]
        label, layout = self.rules.label, self.rules.layout
        found = [(m.start(), "marker", m) for m in label["path_marker"].finditer(body)]
        found += [(m.start(), "amount", m) for m in label["amount"].finditer(body)]
        found += [(m.start(), "end", m) for m in re.finditer(re.escape(label["sentence_end"]), body)]
        for s, e in self.doc.lines:
            if self.section.start <= s < self.section.end:
                m = layout["subheading_line"].match(self.doc.text[s:e])
                if m:
                    found.append((e - self.section.start - 1, "subheading", m))
        return sorted(found, key=lambda ev: ev[0])

    def run(self) -> list[Fact]:
        """Every fact of the section, in reading order (duplicates are removed by the caller)."""
        bounds = self.boundaries()
        last_marker_end = self.section.start
        for pos, kind, match in self.events():
            at = pos + self.section.start
            label_start = bounds[bisect.bisect_right(bounds, at) - 1]
            if kind == "end":
                self.subject = None
            elif kind == "subheading":
                self.subject = self.match_subject(clean_name(match.group(0), self.rules))
            elif kind == "marker":
                name = self.doc.text[max(label_start, last_marker_end):at]
                self.enter_path(match["level"], name)
                last_marker_end = at + len(match.group(0))
            else:
                raw = self.doc.text[label_start:at]
                self.on_amount(raw, match, at, last_marker_end if last_marker_end > label_start else None)
        return self.facts

    def enter_path(self, level: str, printed: str) -> None:
        """A 类/款/项 name replaces that level of the current path and clears the levels below."""
        depth = LEVELS.index(level)
        name = clean_name(self.rules.label["year"].sub("", printed), self.rules)
        if depth > len(self.path):
            self.path = []
            return
        self.path = self.path[:depth] + [name]

    def resolve(self, depth: int, amount: Decimal, page: int) -> str | None:
        """The code of the current path cut at ``depth`` levels; None (and a note) when the names
        are unknown or ambiguous, so the amount is reported instead of silently lost."""
        if depth < 1 or len(self.path) < depth:
            return None
        code, problem = self.resolver.resolve_path(self.path[:depth])
        if problem:
            kind = "ambiguous_name" if problem.startswith("ambiguous") else "unresolved_name"
            self.notes.append(NarrativeNote(
                kind, self.statement, page,
                f"{amount}万元 after {'/'.join(self.path[:depth])!r} not stored: {problem}"))
        return code

    def on_amount(self, raw: str, match: re.Match[str], at: int, marker_end: int | None) -> None:
        """Map one "label + A万元" onto statement cells, if the label means one."""
        amount = Decimal(match["num"].replace(",", ""))
        if (amount == 0 and not self.keep_zeros) or self.doc.is_loose(at):
            return
        page = self.doc.page_of[at]
        if marker_end is not None:
            suffix = self.doc.text[marker_end:at]
            marker = list(self.rules.label["path_marker"].finditer(raw))[-1]
            self.on_path_amount(raw, suffix, LEVELS.index(marker["level"]) + 1, amount, page)
            return
        for label in label_candidates(raw, self.rules, self.report_kind, self.fiscal_year):
            if self.on_label(label, amount, page):
                return

    def on_path_amount(self, raw: str, suffix: str, depth: int, amount: Decimal, page: int) -> None:
        """"…（款）2026年预算数为A万元": the path's own amount, at the depth of its last marker."""
        if not label_candidates(raw, self.rules, self.report_kind, self.fiscal_year):
            return
        readings = label_candidates(suffix, self.rules, self.report_kind, self.fiscal_year) or [""]
        for rule in self.srules.paths:
            if self.report_kind not in (rule.kinds or (self.report_kind,)):
                continue
            if LEVELS[depth - 1] not in rule.facts[0]["levels"]:
                continue
            if any(rule.pattern.fullmatch(r) for r in readings):
                code = self.resolve(depth, amount, page)
                if code:
                    self.add(rule.statement or self.statement, "function", code, None,
                             _measure_for(rule.facts[0]["measure"], self.report_kind), amount,
                             self.path[depth - 1], page)
                return

    def on_label(self, label: str, amount: Decimal, page: int) -> bool:
        """Try the statement's label rules, class names, printed codes and 三公 subjects in turn."""
        return (self.by_label_rule(label, amount, page) or self.by_class_name(label, amount, page)
                or self.by_code(label, amount, page) or self.by_subject(label, amount, page))

    def by_label_rule(self, label: str, amount: Decimal, page: int) -> bool:
        """A whole-label rule; execution rules take the 项 printed just before ("年初预算为A万元")."""
        for rule in self.srules.labels:
            if self.report_kind not in (rule.kinds or (self.report_kind,)):
                continue
            if not rule.pattern.fullmatch(label):
                continue
            if rule.from_context:
                code = self.resolve(LEVELS.index(rule.from_context) + 1, amount, page)
                if code and len(self.path) == LEVELS.index(rule.from_context) + 1:
                    measure = _measure_for(rule.facts[0]["measure"], self.report_kind)
                    self.add(rule.statement or self.statement, "function", code, None, measure,
                             amount, self.path[-1], page)
                return True
            for spec in rule.facts:
                self.add(rule.statement or self.statement, "item", None, spec["item"],
                         _measure_for(spec["measure"], self.report_kind), amount, label, page)
            return True
        return False

    def by_class_name(self, label: str, amount: Decimal, page: int) -> bool:
        """"包括一般公共服务支出505.61万元": a class printed by name, without "（类）"."""
        if self.srules.class_measure is None:
            return False
        code = self.catalog.resolve_class(label)
        if code is None:
            return False
        self.add(self.statement, "function", code, None, self.srules.class_measure, amount, label, page)
        return True

    def by_code(self, label: str, amount: Decimal, page: int) -> bool:
        """"2010350-事业运行": a printed code is taken only when the catalog gives it that name."""
        m = self.rules.label["coded"].match(label)
        if self.srules.coded_measure is None or m is None:
            return False
        if not self.catalog.name_matches("function", m["code"], m["name"]):
            return False
        self.add(self.statement, "function", m["code"], None, self.srules.coded_measure, amount,
                 m["name"], page)
        return True

    def match_subject(self, text: str) -> tuple[str, str] | None:
        """The 三公 item a printed category name stands for, with that name."""
        return next(((item, text) for item, p in self.srules.subjects if p.fullmatch(text)), None)

    def by_subject(self, label: str, amount: Decimal, page: int) -> bool:
        """三公: "<subject><measure>", or a bare measure for the subject just named."""
        for pattern, spec in self.srules.measures:
            for split in range(len(label), -1, -1):
                head, tail = label[:split], label[split:]
                if not pattern.fullmatch(tail):
                    continue
                subject = self.match_subject(head) if head else self.subject
                if subject is None:
                    continue
                self.subject = subject
                self.add(self.statement, "item", None, subject[0], _measure_for(spec, self.report_kind),
                         amount, subject[1], page)
                return True
        return False

    def add(self, statement: str, classification: str, code: str | None, item: str | None,
            measure: str | None, amount: Decimal, name: str, page: int) -> None:
        """Record one fact (none when the rule has no measure for this report kind)."""
        if measure is None:
            return
        self.facts.append(Fact(statement, classification, code, item, measure, amount, name, page,
                               "narrative"))


# --------------------------------------------------------------------------- entry point


@dataclass(frozen=True)
class NarrativeNote:
    """An amount the text states that could not be placed on a cell (for the quality tables)."""

    kind: str  # ambiguous_name | unresolved_name
    statement: str
    page: int
    detail: str


@dataclass
class NarrativeFacts:
    facts: list[Fact]
    notes: list[NarrativeNote]


def read_narrative(pages: list[str], *, report_kind: str, fiscal_year: int, catalog: Catalog,
                   printed_codes: dict[str, str] | None = None,
                   keep_zeros: bool = False) -> NarrativeFacts:
    """All facts the explanation text states for the current year, one per natural key (first
    wins), and the amounts whose 类/款/项 names could not be resolved.

    ``printed_codes`` (function code → name printed in the report's tables) helps resolve names
    the catalog lacks. Table amounts are not consulted: the caller drops the facts a table of the
    report already gives.
    """
    rules = load_rules()
    resolver = NameResolver(catalog, dict(printed_codes or {}))
    doc = join_pages(pages, rules)
    facts: list[Fact] = []
    notes: list[NarrativeNote] = []
    for section in split_sections(doc, explanation_span(doc, rules), rules):
        statement = section_statement(section.title, rules)
        if statement is None or statement not in rules.statements:
            continue
        scanner = Scanner(doc, section, statement, rules, report_kind, fiscal_year, catalog, resolver,
                          keep_zeros=keep_zeros)
        facts += scanner.run()
        notes += scanner.notes
    unique: dict[tuple[str, str, str, str, str], Fact] = {}
    for fact in facts:
        unique.setdefault(fact.key, fact)
    return NarrativeFacts(list(unique.values()), list(dict.fromkeys(notes)))


def extract_narrative_facts(pages: list[str], *, report_kind: str, fiscal_year: int,
                            catalog: Catalog) -> list[Fact]:
    """The facts of :func:`read_narrative`, resolved with the catalog alone."""
    return read_narrative(pages, report_kind=report_kind, fiscal_year=fiscal_year,
                          catalog=catalog).facts
