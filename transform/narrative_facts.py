"""Facts from the explanation text: printed "label + A万元" mentions mapped onto statement cells.

``extract.narrative`` finds what is printed (sections, amounts, their labels and sentences, the
类/款/项 names before them); here the section title gives the statement, the label rules of
``narrative_rules.yaml`` give item and measure, and the catalog (with the codes the report's own
tables print) turns 类/款/项 names into codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from hotline_budgets.extract.narrative import (
    LEVELS,
    AmountMention,
    Layout,
    PrintedSection,
    SentenceEnd,
    Subheading,
    clean_name,
    load_layout,
    read_explanation,
)
from hotline_budgets.statements import load_statements
from hotline_budgets.transform.catalog import Catalog, NameResolver
from hotline_budgets.transform.facts import Fact

RULES_FILE = Path(__file__).parent / "narrative_rules.yaml"


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
    layout: Layout  # how the text is printed (extract/narrative_layout.yaml)
    label: dict[str, Any]  # reject_words, year_tolerance, coded
    sections: tuple[tuple[str | None, tuple[str, ...]], ...]
    statements: dict[str, StatementRules]
    containers: tuple[str, ...] = ()  # titles of sections read by their sub-headings


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
    label = dict(data["label"])
    coded = label["coded"]
    label["coded"] = [re.compile(c) for c in (coded if isinstance(coded, list) else [coded])]
    sections = tuple((s["statement"], tuple(s["keywords"])) for s in data["sections"])
    statements = {name: _statement_rules(raw) for name, raw in data["statements"].items()}
    return Rules(load_layout(), label, sections, statements, tuple(data.get("containers") or ()))


def _measure_for(spec: Any, report_kind: str) -> str | None:
    """A measure may depend on the report kind (三公 "支出" is 预算 in a budget, 决算 otherwise)."""
    return spec.get(report_kind) if isinstance(spec, dict) else spec


_NO_ENTRY = "?"


def _section_entry(title: str, rules: Rules) -> str | None:
    """The statement of the first entry with a keyword in ``title``; ``_NO_ENTRY`` when none has."""
    for statement, keywords in rules.sections:
        if any(k in title for k in keywords):
            return statement
    return _NO_ENTRY


def section_statement(title: str, rules: Rules) -> str | None:
    """The statement a section explains, from the words of its title (first matching entry wins)."""
    statement = _section_entry(title, rules)
    return None if statement == _NO_ENTRY else statement


def subsections(section: PrintedSection, rules: Rules) -> list[PrintedSection]:
    """A section as read: itself, or — when its title names no entry but a container ("七、2019年
    部门预算收支说明") — the parts between its outermost sub-headings, each titled by its sub-heading
    (a nested "1.一般公共预算当年拨款规模变化情况。" stays inside its part)."""
    title = section.title
    if _section_entry(title, rules) != _NO_ENTRY or not any(c in title for c in rules.containers):
        return [section]
    levels = [e.level for e in section.events if isinstance(e, Subheading) and e.level is not None]
    outer = min(levels, default=None)
    parts: list[PrintedSection] = []
    first = read = 0  # number of the part's first amount, of the amounts read
    for event in section.events:
        if isinstance(event, Subheading) and event.level == outer:
            parts.append(PrintedSection(event.text, ()))
            first = read
            continue
        if isinstance(event, AmountMention):
            read += 1
            # numbered within its part; a part of an amount of another part is none
            within = event.part_of - first if event.part_of is not None else -1
            event = replace(event, part_of=within if within >= 0 else None)
        if parts:
            parts[-1] = PrintedSection(parts[-1].title, (*parts[-1].events, event))
    return parts


def label_candidates(raw: str, rules: Rules, report_kind: str, fiscal_year: int) -> list[str]:
    """Cleaned readings of a label, or none when it is a comparison or a prior-year amount.

    Years are dropped in two ways: every year token removed ("公务接待费2024年预算安排"), or everything
    up to the last year (an entity name printed before "2026年收入预算").
    """
    label, year = rules.label, rules.layout.label["year"]
    if any(word in raw for word in label["reject_words"]):
        return []
    oldest = fiscal_year - label["year_tolerance"].get(report_kind, 0)
    years = list(year.finditer(raw))
    if any(not oldest <= int(y["year"]) <= fiscal_year for y in years):
        return []
    readings = [year.sub("", raw)]
    if years:
        readings.append(raw[years[-1].end():])
    return list(dict.fromkeys(c for c in (clean_name(r, rules.layout) for r in readings) if c))


# --------------------------------------------------------------------------- section meaning


@dataclass(frozen=True)
class NarrativeNote:
    """An amount the text states that could not be placed on a cell (for the quality tables)."""

    kind: str  # ambiguous_name | unresolved_name
    statement: str
    page: int
    detail: str


@dataclass
class SectionFacts:
    """Replays one printed section, keeping the 三公 subject, and maps each amount onto cells."""

    section: PrintedSection
    statement: str
    rules: Rules
    report_kind: str
    fiscal_year: int
    catalog: Catalog
    resolver: NameResolver
    subject: tuple[str, str] | None = None  # (item, printed name) of the 三公 category just named
    facts: list[Fact] = field(default_factory=list)
    notes: list[NarrativeNote] = field(default_factory=list)
    mention: AmountMention | None = None  # the amount being placed
    keep_zeros: bool = False  # "0万元" kept as a fact (consistency checks), not for line items
    mentions: list[AmountMention] = field(default_factory=list)  # the amounts read so far
    placed: dict[int, list[Fact]] = field(default_factory=dict)  # number of an amount → its facts

    @property
    def srules(self) -> StatementRules:
        """The rules of the statement this section explains."""
        return self.rules.statements[self.statement]

    @property
    def path(self) -> tuple[str, ...]:
        return self.mention.path if self.mention else ()

    def run(self) -> list[Fact]:
        """Every fact of the section, in reading order (duplicates are removed by the caller)."""
        for event in self.section.events:
            if isinstance(event, SentenceEnd):
                self.subject = None
            elif isinstance(event, Subheading):
                self.subject = self.match_subject(event.text)
            else:
                self.mentions.append(event)
                self.on_amount(event)
        return self.facts

    def resolve(self, depth: int, amount: Decimal, page: int) -> str | None:
        """The code of the current path cut at ``depth`` levels; None (and a note) when the names
        are unknown or ambiguous, so the amount is reported instead of silently lost."""
        if depth < 1 or len(self.path) < depth:
            return None
        code, problem = self.resolver.resolve_path(list(self.path[:depth]))
        if problem:
            kind = "ambiguous_name" if problem.startswith("ambiguous") else "unresolved_name"
            self.notes.append(NarrativeNote(
                kind, self.statement, page,
                f"{amount}万元 after {'/'.join(self.path[:depth])!r} not stored: {problem}"))
        return code

    def on_amount(self, mention: AmountMention) -> None:
        """Map one "label + A万元" onto statement cells, if the label means one."""
        amount = mention.amount
        if (amount == 0 and not self.keep_zeros) or mention.is_loose:
            return
        self.mention = mention
        if mention.path_depth is not None:
            self.on_path_amount(mention.label, mention.path_suffix or "", mention.path_depth, amount,
                                mention.page)
            return
        for label in label_candidates(mention.label, self.rules, self.report_kind, self.fiscal_year):
            if self.on_label(label, amount, mention.page):
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
        code = self.catalog.resolve_class(label, self.fiscal_year)
        if code is None:
            return False
        self.add(self.statement, "function", code, None, self.srules.class_measure, amount, label, page)
        return True

    def by_code(self, label: str, amount: Decimal, page: int) -> bool:
        """"2010350-事业运行": a printed code is taken only when the catalog gives it that name."""
        m = next((m for p in self.rules.label["coded"] if (m := p.match(label))), None)
        if self.srules.coded_measure is None or m is None:
            return False
        if not self.catalog.name_matches("function", m["code"], m["name"], self.fiscal_year):
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
        """Record one fact (none when the rule has no measure for this report kind, or when a split
        column is printed as a part of something other than its row's total)."""
        if measure is None:
            return
        fact = Fact(statement, classification, code, item, measure, amount, name, page, "narrative",
                    source_text=self.mention.sentence if self.mention else None)
        if self.is_misplaced_part(fact):
            return
        self.facts.append(fact)
        self.placed.setdefault(len(self.mentions) - 1, []).append(fact)

    def parent_of(self, mention: AmountMention) -> int | None:
        """The amount ``mention`` is a part of; a comparison printed between ("1,165.30万元，较上年
        增加161.88万元。其中：基本支出…") is skipped, the parts are those of the amount before it."""
        parent = mention.part_of
        while parent is not None and parent > 0 and not label_candidates(
                self.mentions[parent].label, self.rules, self.report_kind, self.fiscal_year):
            parent -= 1
        return parent

    def is_misplaced_part(self, fact: Fact) -> bool:
        """Split columns (基本支出, 项目支出, 经营支出 …) are parts of their row's total only: one
        printed as "其中" of another amount ("项目支出…其中：事业单位经营支出900万元") is a part of that
        amount, not a column beside it, so storing it would break total = sum of the columns."""
        spec = load_statements().get(fact.statement)
        if (self.mention is None or self.mention.part_of is None or spec is None
                or fact.measure not in spec.split_measures):
            return False
        parent = self.parent_of(self.mention)
        return not any(f.statement == fact.statement and f.code == fact.code and f.item == fact.item
                       and f.measure == "total" for f in self.placed.get(parent, []))


# --------------------------------------------------------------------------- entry point


@dataclass
class NarrativeFacts:
    facts: list[Fact]
    notes: list[NarrativeNote]


def narrative_facts(sections: list[PrintedSection], *, report_kind: str, fiscal_year: int,
                    catalog: Catalog, printed_codes: dict[str, str] | None = None,
                    keep_zeros: bool = False) -> NarrativeFacts:
    """All facts the printed sections state for the current year, one per natural key (first
    wins), and the amounts whose 类/款/项 names could not be resolved.

    ``printed_codes`` (function code → name printed in the report's tables) helps resolve names
    the catalog lacks. Table amounts are not consulted: the caller drops the facts a table of the
    report already gives. ``keep_zeros`` keeps "0万元" statements too, for the consistency checks
    (a zero stated against a printed total is worth comparing; it is not a line item).
    """
    rules = load_rules()
    resolver = NameResolver(catalog, dict(printed_codes or {}), fiscal_year)
    facts: list[Fact] = []
    notes: list[NarrativeNote] = []
    for section in (part for printed in sections for part in subsections(printed, rules)):
        statement = section_statement(section.title, rules)
        if statement is None or statement not in rules.statements:
            continue
        reader = SectionFacts(section, statement, rules, report_kind, fiscal_year, catalog, resolver,
                              keep_zeros=keep_zeros)
        facts += reader.run()
        notes += reader.notes
    unique: dict[tuple[str, str, str, str, str], Fact] = {}
    for fact in facts:
        unique.setdefault(fact.key, fact)
    return NarrativeFacts(list(unique.values()), list(dict.fromkeys(notes)))


def read_narrative(pages: list[str], *, report_kind: str, fiscal_year: int, catalog: Catalog,
                   printed_codes: dict[str, str] | None = None,
                   keep_zeros: bool = False) -> NarrativeFacts:
    """:func:`narrative_facts` of the explanation part of these page texts."""
    return narrative_facts(read_explanation(pages), report_kind=report_kind,
                           fiscal_year=fiscal_year, catalog=catalog, printed_codes=printed_codes,
                           keep_zeros=keep_zeros)


def extract_narrative_facts(pages: list[str], *, report_kind: str, fiscal_year: int,
                            catalog: Catalog) -> list[Fact]:
    """The facts of :func:`read_narrative`, resolved with the catalog alone."""
    return read_narrative(pages, report_kind=report_kind, fiscal_year=fiscal_year,
                          catalog=catalog).facts
