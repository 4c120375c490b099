"""Consistency checks a reviewer of a report runs beyond arithmetic (issue 11).

Five families, all driven by ``consistency_rules.yaml``: the explanation text against the tables,
the wording of a sentence against its numbers, the entity name and the year, the completeness of
the statement set, and 元/万元 unit errors. Each comparison is one row of ``consistency_checks``
with both sides (value, page, bbox) and a verdict, so a reader sees what was compared, not only
what failed. The tables win: nothing here changes a published line item.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from hotline_budgets.extract import narrative
from hotline_budgets.text import normalize_name
from hotline_budgets.transform.facts import Fact
from hotline_budgets.transform.narrative_facts import read_narrative

RULES_FILE = Path(__file__).parent / "consistency_rules.yaml"
_NUM = re.compile(r"[\d,]+(?:\.\d+)?")
_BLANKS = re.compile(r"\s+")


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleInfo:
    id: str
    family: str
    severity: str
    description: str


@dataclass(frozen=True)
class Rules:
    rules: dict[str, RuleInfo]
    raw: dict[str, Any]


@cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    """The rule catalogue and its parameters (read once)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    infos = {r["id"]: RuleInfo(r["id"], r["family"], r["severity"], " ".join(r["description"].split()))
             for r in data["rules"]}
    return Rules(infos, data)


# --------------------------------------------------------------------------- result rows


@dataclass(frozen=True)
class Side:
    """One side of a comparison: where it comes from, what it says, where it is printed."""

    source: str  # text | table:<statement> | registry | cover | heading | statements
    value: str | None = None
    wan: Decimal | None = None
    page: int | None = None
    bbox: str | None = None


@dataclass(frozen=True)
class Finding:
    rule_id: str
    subject: str
    left: Side
    right: Side
    verdict: str  # pass | failed | unit_error | not_evaluated
    tolerance: str | None = None
    detail: str | None = None


def _fmt(amount: Decimal) -> str:
    """An amount as a report prints it (two decimals, thousands separators)."""
    return f"{amount:,.2f}"


# --------------------------------------------------------------------------- where on the page


@dataclass
class Locator:
    """Finds the box of a printed string on a page (PDF opened once, words read per page).

    ``read``: text-layer pages the report's reading already parsed (extract.layer); a page
    found there is not read from ``pdf_bytes`` again (the same pdfium reading, so the same words).
    """

    pdf_bytes: bytes | None
    read: Mapping[int, Any] = field(default_factory=dict)
    _words: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    _pdf: Any = None

    def _page(self, page: int) -> Any:
        """The parsed page ``page`` (1-based), or None when there is no such page."""
        if page in self.read:
            return self.read[page]
        if self.pdf_bytes is None:
            return None
        if self._pdf is None:
            from hotline_budgets.extract.layer import PdfLayer

            self._pdf = PdfLayer(self.pdf_bytes)
        return self._pdf.page(page) if 1 <= page <= len(self._pdf) else None

    def words(self, page: int) -> list[tuple[str, str]]:
        if page not in self._words:
            self._words[page] = []
            parsed = self._page(page)
            if parsed is not None:
                self._words[page] = [
                    (_BLANKS.sub("", w["text"]),
                     f"{w['x0']:.1f},{w['top']:.1f},{w['x1']:.1f},{w['bottom']:.1f}")
                    for w in parsed.extract_words()]
        return self._words[page]

    def find(self, page: int | None, needles: Iterable[str]) -> str | None:
        """bbox of the first word that is (or, failing that, contains) one of ``needles``."""
        if page is None:
            return None
        words = self.words(page)
        needles = [n for n in needles if n]
        for exact in (True, False):
            for needle in needles:
                for text, bbox in words:
                    if (text == needle) if exact else (needle in text):
                        return bbox
        return None

    def amount(self, page: int | None, amount: Decimal | None) -> str | None:
        if amount is None:
            return None
        plain = f"{amount:.2f}"
        return self.find(page, [_fmt(amount), plain, plain.rstrip("0").rstrip("."), str(amount)])

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()


# --------------------------------------------------------------------------- the report's evidence


@dataclass
class Evidence:
    """Everything the checks read about one report."""

    report_kind: str
    fiscal_year: int
    entity_name: str
    pages: list[str]
    table_facts: list[Fact]
    text_facts: list[Fact]
    statements: list[dict]
    locator: Locator
    _doc: narrative.Document | None = None

    def document(self) -> narrative.Document:
        """The joined, compacted text of all pages (built once)."""
        if self._doc is None:
            self._doc = narrative.join_pages(self.pages, narrative.load_layout())
        return self._doc

    def explanation(self) -> tuple[int, int]:
        return narrative.explanation_span(self.document(), narrative.load_layout())


def _fact_path(fact: Fact) -> str:
    return f"{fact.statement}/{fact.item or fact.code}/{fact.measure}"


def _fact_label(fact: Fact) -> str:
    return f"{'/'.join(p for p in fact.key if p)} ({fact.item_name})"


# --------------------------------------------------------------------------- text vs table, units


def _is_unit_error(a: Decimal, b: Decimal, rules: Rules) -> bool:
    """True when one amount is ``factor`` times the other (元 printed as 万元, or the reverse)."""
    units = rules.raw["units"]
    factor, rel = Decimal(units["factor"]), Decimal(units["relative_tolerance"])
    if a == 0 or b == 0:
        return False
    big, small = max(a, b), min(a, b)
    return abs(big / small - factor) <= factor * rel


def _compare_amounts(rule_id: str, text: Fact, table: Fact, ev: Evidence, rules: Rules,
                     by_amount: dict[Decimal, list[Fact]]) -> Finding:
    tvt = rules.raw["text_vs_table"]
    tol = Decimal(tvt["same_fact_tolerance_wan" if rule_id == "text_table.same_fact"
                      else "tolerance_wan"])
    left = Side("text", _fmt(text.amount_wan), text.amount_wan, text.page,
                ev.locator.amount(text.page, text.amount_wan))
    right = Side(f"table:{table.statement}", _fmt(table.amount_wan), table.amount_wan, table.page,
                 ev.locator.amount(table.page, table.amount_wan))
    subject = (f"text {_fact_path(text)} vs table {_fact_path(table)}"
               if rule_id == "text_table.same_fact" else f"text vs table {_fact_label(table)}")
    diff = text.amount_wan - table.amount_wan
    if abs(diff) <= tol:
        return Finding(rule_id, subject, left, right, "pass", f"{tol} 万元")
    if _is_unit_error(text.amount_wan, table.amount_wan, rules):
        factor = rules.raw["units"]["factor"]
        return Finding("units.scale", subject, left, right, "unit_error",
                       f"×{factor} ± {rules.raw['units']['relative_tolerance']}",
                       f"text p.{text.page} says {left.value} 万元, table p.{table.page} prints "
                       f"{right.value} 万元: {factor}× apart (元 vs 万元); table kept")
    detail = (f"text p.{text.page} says {left.value} 万元 for {_fact_label(text)}, table "
              f"p.{table.page} prints {right.value} (table kept)")
    others = [f for f in by_amount.get(text.amount_wan, []) if f.key != table.key]
    if others:
        detail += "; the text's figure is the table's " + ", ".join(
            f"{_fact_path(f)} ({f.item_name}, p.{f.page})" for f in others[:3])
    return Finding(rule_id, subject, left, right, "failed", f"{tol} 万元", detail)


def check_text_vs_table(ev: Evidence, rules: Rules) -> list[Finding]:
    """Every text amount against the table's amount of the same cell, and of the same fact."""
    skip = set(rules.raw["text_vs_table"]["skip_statements"])
    tables = {f.key: f for f in ev.table_facts}
    by_path = {_fact_path(f): f for f in ev.table_facts}
    by_amount: dict[Decimal, list[Fact]] = {}
    for f in ev.table_facts:
        by_amount.setdefault(f.amount_wan, []).append(f)
    groups = [list(g) for g in rules.raw.get("same_facts", [])]
    presence = {s["statement"]: s["presence"] for s in ev.statements}
    found: list[Finding] = []
    for text in ev.text_facts:
        if text.statement in skip:
            continue
        table = tables.get(text.key)
        if table is not None:
            found.append(_compare_amounts("text_table.amount", text, table, ev, rules, by_amount))
        elif presence.get(text.statement) == "empty" and text.amount_wan != 0:
            found.append(Finding(
                "text_table.amount", f"text vs table {_fact_label(text)}",
                Side("text", _fmt(text.amount_wan), text.amount_wan, text.page,
                     ev.locator.amount(text.page, text.amount_wan)),
                Side(f"table:{text.statement}", "empty", Decimal(0), None), "failed",
                rules.raw["text_vs_table"]["tolerance_wan"] + " 万元",
                f"text p.{text.page} says {_fmt(text.amount_wan)} 万元 for {_fact_label(text)}; "
                "the table is printed empty"))
        path = _fact_path(text)
        for group in groups:
            if path not in group:
                continue
            for other in group:
                twin = by_path.get(other)
                if other != path and twin is not None and twin.key != text.key:
                    found.append(_compare_amounts("text_table.same_fact", text, twin, ev, rules,
                                                  by_amount))
    return found


# --------------------------------------------------------------------------- sentences


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offset in the document
    page_of: tuple[int, ...]  # page of every character

    @property
    def page(self) -> int:
        return self.page_of[0]

    def page_at(self, offset: int) -> int:
        return self.page_of[min(offset, len(self.page_of) - 1)]


def sentences(ev: Evidence, rules: Rules) -> list[Sentence]:
    """The explanation text cut at sentence ends and before every enumerated or heading line
    (a section title carries no "。"), each character with its page."""
    doc = ev.document()
    begin, end = ev.explanation()
    end_char = rules.raw["wording"]["sentence_end"]
    layout = narrative.load_layout().layout
    breaks = {s for s, e in doc.lines if begin < s < end and (
        layout["enumerated_line"].match(doc.text[s:e]) or layout["section_heading"].match(doc.text[s:e]))}
    out: list[Sentence] = []
    start = begin
    for i in range(begin, end):
        if doc.text[i] == end_char or i == end - 1 or i + 1 in breaks:
            if i + 1 > start:
                out.append(Sentence(doc.text[start:i + 1], start, tuple(doc.page_of[start:i + 1])))
            start = i + 1
    return out


def _amounts(sentence: Sentence, rules: Rules) -> list[tuple[int, Decimal, str, str]]:
    """(offset in sentence, amount, printed, clause before it) for every "A万元" of a sentence."""
    w = rules.raw["wording"]
    clause_chars = w["clause_chars"]
    found = []
    for m in re.finditer(w["amount"], sentence.text):
        before = sentence.text[:m.start()]
        cut = max(before.rfind(c) for c in clause_chars)
        found.append((m.start(), Decimal(m["num"].replace(",", "")), m["num"], before[cut + 1:]))
    return found


def _side(clause: str, rules: Rules) -> str | None:
    w = rules.raw["wording"]
    if any(word in clause for word in w["actual_words"]):
        return "actual"
    if any(word in clause for word in w["budget_words"]):
        return "budget"
    return None


def _context(sents: list[Sentence], i: int, rules: Rules, back: int = 2) -> list[Sentence]:
    """The sentence and up to ``back`` before it, never reaching back over an item start."""
    item = re.compile(rules.raw["wording"]["item_start"])
    out = [sents[i]]
    for j in range(i - 1, max(i - back, 0) - 1, -1):
        if item.match(out[0].text):
            break
        out.insert(0, sents[j])
    return out


def _pct_unit(printed: str) -> Decimal:
    """One unit of the last printed digit of a percentage ("98.20" → 0.01, "2.1" → 0.1)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return Decimal(1).scaleb(-decimals)


def _pct_range(fn: Callable[[Decimal, Decimal], Decimal | None], a: Decimal, b: Decimal,
               rounding: Decimal) -> tuple[Decimal, Decimal] | None:
    """The range of fn(a, b) × 100 when a and b each move by the printed rounding."""
    values = [fn(a + da, b + db) for da in (-rounding, rounding) for db in (-rounding, rounding)]
    if any(v is None for v in values):
        return None
    return min(values) * 100, max(values) * 100


def _within(stated: Decimal, span: tuple[Decimal, Decimal], unit: Decimal) -> bool:
    return span[0] - unit <= stated <= span[1] + unit


def _text_side(ev: Evidence, s: Sentence, amount: Decimal, printed: str, label: str) -> Side:
    at = s.text.find(printed + "万元")
    page = s.page_at(max(at, 0))
    return Side(f"text:{label}", printed, amount, page,
                ev.locator.find(page, [printed, printed.replace(",", "")]))


def _pct_side(ev: Evidence, s: Sentence, printed: str, at: int) -> Side:
    page = s.page_at(at)
    return Side("text:percent", f"{printed}%", None, page,
                ev.locator.find(page, [f"{printed}%", printed]))


def check_wording(ev: Evidence, rules: Rules) -> list[Finding]:
    """Comparison words, changes with percentages, completion rates and shares against the numbers."""
    w = rules.raw["wording"]
    sents = sentences(ev, rules)
    comparisons = [(re.compile(c["pattern"]), c["relation"]) for c in w["comparisons"]]
    eq_tol, level_rel = Decimal(w["equal_tolerance_wan"]), Decimal(w["level_relative"])
    rounding = Decimal(w["amount_rounding_wan"])
    found: list[Finding] = []
    for i, s in enumerate(sents):
        for pattern, relation in comparisons:
            m = pattern.search(s.text)
            if m is None:
                continue
            sides = _budget_actual(ev, _context(sents, i, rules), rules, upto=(s, m.start()))
            if sides is None:
                break
            (actual, a_s, a_p), (budget, b_s, b_p) = sides
            diff = actual - budget
            tolerance = eq_tol if relation == "eq" else max(eq_tol, abs(budget) * level_rel)
            ok = {"gt": diff > eq_tol, "lt": diff < -eq_tol, "eq": abs(diff) <= eq_tol,
                  "level": abs(diff) <= tolerance}[relation]
            tol_text = (f"{eq_tol} 万元" if relation in ("eq", "gt", "lt")
                        else f"{level_rel:%} of the budget (≥ {eq_tol} 万元)")
            found.append(Finding(
                "wording.comparison", f"p.{s.page} {m.group(0)}",
                _text_side(ev, a_s, actual, a_p, "actual"), _text_side(ev, b_s, budget, b_p, "budget"),
                "pass" if ok else "failed", tol_text,
                None if ok else f"text p.{s.page} says {m.group(0)!r} but the actual amount "
                f"{a_p} 万元 and the budget {b_p} 万元 differ by {_fmt(diff)}"))
            break
        found += _check_change(ev, sents, i, rules, rounding)
        found += _check_rates(ev, sents, i, rules, rounding)
    return found


def _budget_actual(ev: Evidence, context: list[Sentence], rules: Rules,
                   upto: tuple[Sentence, int] | None = None):
    """The last actual-side and budget-side amounts of the context (before ``upto``), or None."""
    actual = budget = None
    for s in context:
        for pos, amount, printed, clause in _amounts(s, rules):
            if upto is not None and s is upto[0] and pos > upto[1]:
                continue
            if any(word in clause for word in rules.raw["wording"]["change"]["not_current_words"]):
                continue
            side = _side(clause, rules)
            if side == "actual":
                actual = (amount, s, printed)
            elif side == "budget":
                budget = (amount, s, printed)
    if actual is None or budget is None:
        return None
    return actual, budget


def _check_change(ev: Evidence, sents: list[Sentence], i: int, rules: Rules,
                  rounding: Decimal) -> list[Finding]:
    """"增加/减少 X万元，增长/下降 p%": the direction words agree and p = X / prior."""
    c = rules.raw["wording"]["change"]
    s = sents[i]
    found: list[Finding] = []
    for m in re.finditer(c["amount"], s.text):
        pm = re.compile(c["percent"]).search(s.text, m.end())
        if pm is None or re.search(r"万元", s.text[m.end():pm.start()]):
            continue
        change = Decimal(m["num"].replace(",", ""))
        up, down = m["dir"] in c["up"], m["dir"] in c["down"]
        p_up = pm["dir"] in c["up"]
        current = _current_before(sents, i, m.start(), rules)
        subject = f"p.{s.page} {s.text[m.start():pm.end()]}"
        pct = Decimal(pm["pct"])
        right = _pct_side(ev, s, pm["pct"], pm.start("pct"))
        left = _text_side(ev, s, change, m["num"], "change")
        if (up and not p_up) or (down and p_up):
            found.append(Finding("wording.change", subject, left, right, "failed", None,
                                 f"text p.{s.page} says {m['dir']} {m['num']} 万元 but {pm['dir']}"
                                 f" {pm['pct']}%"))
            continue
        if current is None:
            continue
        cur, cur_p, is_prior = current

        def ratio(x: Decimal, now: Decimal, up: bool = up, is_prior: bool = is_prior) -> Decimal | None:
            prior = now if is_prior else (now - x if up else now + x)
            return x / prior if prior > 0 else None

        span = _pct_range(ratio, change, cur, rounding)
        if span is None:
            continue
        ok = _within(pct, span, _pct_unit(pm["pct"]))
        found.append(Finding(
            "wording.change", subject, left, right, "pass" if ok else "failed",
            f"1 in the last printed digit of {pm['pct']}% + rounding of the amounts",
            None if ok else f"text p.{s.page}: {m['dir']} {m['num']} 万元 from "
            f"{'a prior' if is_prior else 'a current'} {cur_p} "
            f"万元 is {span[0]:.2f}–{span[1]:.2f}%, the text says {pm['pct']}%"))
    return found


def _current_before(sents: list[Sentence], i: int, pos: int, rules: Rules):
    """(amount, printed, is_prior) a change is about: the last amount before it whose clause is
    no change itself; is_prior when its clause makes it the compared (earlier) amount."""
    c = rules.raw["wording"]["change"]
    for j, s in ((j, sents[j]) for j in range(i, max(i - 2, -1), -1)):
        candidates = [(a, p, any(w in clause for w in c["prior_words"]))
                      for off, a, p, clause in _amounts(s, rules)
                      if (j < i or off < pos) and not any(w in clause for w in c["not_current_words"])]
        if candidates:
            return candidates[-1]
    return None


def _check_rates(ev: Evidence, sents: list[Sentence], i: int, rules: Rules,
                 rounding: Decimal) -> list[Finding]:
    """"完成年初预算的p%" = actual / budget; "A万元，占p%" = A / the sentence's first amount."""
    r = rules.raw["wording"]["rate"]
    s = sents[i]
    found: list[Finding] = []
    for m in re.finditer(r["completion"], s.text):
        sides = _budget_actual(ev, _context(sents, i, rules), rules, upto=(s, m.start()))
        if sides is None:
            continue
        (actual, a_s, a_p), (budget, _, b_p) = sides
        span = _pct_range(lambda a, b: a / b if b > 0 else None, actual, budget, rounding)
        if span is None:
            continue
        ok = _within(Decimal(m["pct"]), span, _pct_unit(m["pct"]))
        found.append(Finding(
            "wording.rate", f"p.{s.page} {m.group(0)}", _text_side(ev, a_s, actual, a_p, "actual"),
            _pct_side(ev, s, m["pct"], m.start("pct")),
            "pass" if ok else "failed", f"1 in the last printed digit of {m['pct']}% + rounding",
            None if ok else f"text p.{s.page}: {a_p} of a budget {b_p} is {span[0]:.2f}–"
            f"{span[1]:.2f}%, the text says {m['pct']}%"))
    amounts = _amounts(s, rules)
    for m in re.finditer(r["share"], s.text):
        if (not amounts or amounts[0][0] >= m.start() or m["base"]
                or re.match(r"万元[，,]?占", s.text[amounts[0][0] + len(amounts[0][2]):])):
            continue  # the base is named, not printed before, or itself a share of something
        base, base_p = amounts[0][1], amounts[0][2]
        part = Decimal(m["num"].replace(",", ""))
        span = _pct_range(lambda a, b: a / b if b > 0 else None, part, base, rounding)
        if span is None:
            continue
        ok = _within(Decimal(m["pct"]), span, _pct_unit(m["pct"]))
        found.append(Finding(
            "wording.rate", f"p.{s.page} {m['num']}万元占{m['pct']}% of {base_p}万元",
            _text_side(ev, s, part, m["num"], "part"),
            _pct_side(ev, s, m["pct"], m.start("pct")),
            "pass" if ok else "failed", f"1 in the last printed digit of {m['pct']}% + rounding",
            None if ok else f"text p.{s.page}: {m['num']} of {base_p} is {span[0]:.2f}–"
            f"{span[1]:.2f}%, the text says {m['pct']}%"))
    return found


# --------------------------------------------------------------------------- entity and year


def _clean_entity(name: str, rules: Rules) -> str:
    name = normalize_name(name)
    for noise in rules.raw["entity"]["name_noise"]:
        name = name.replace(normalize_name(noise), "")
    return name


def _lines(ev: Evidence) -> list[tuple[str, int, int]]:
    """(compacted line, page, document offset) of every kept line of the report."""
    doc = ev.document()
    return [(doc.text[s:e], doc.page_of[s], s) for s, e in doc.lines]


def check_entity_and_year(ev: Evidence, rules: Rules) -> list[Finding]:
    """Placeholders, the entity named by every heading, and the report's own year."""
    ent = rules.raw["entity"]
    found: list[Finding] = []
    registry = Side("registry", ev.entity_name)
    placeholders = [re.compile(p) for p in ent["placeholders"]]
    for line, page, _ in _lines(ev):
        for p in placeholders:
            m = p.search(line)
            if m:
                found.append(Finding(
                    "entity.placeholder", f"p.{page} {line[:40]}",
                    Side("text", m.group(0), None, page, ev.locator.find(page, [m.group(0)])),
                    registry, "failed", None,
                    f"p.{page} prints the placeholder {m.group(0)!r} where a name belongs: {line[:60]!r}"))
                break
    heading = re.compile(ent["heading"])
    want = _clean_entity(ev.entity_name, rules)
    lines = _lines(ev)
    for (line, page, _), (after, _, _) in zip(lines, lines[1:], strict=False):
        if (page == 1 and re.match(ent["cover_title"], after) and re.match(ent["cover_name"], line)
                and heading.match(line) is None):
            found.append(_name_finding(ev, rules, "cover", line, page, line, want))
    for line, page, _ in lines:
        m = re.search(ent["caption"], line)
        if m:
            found.append(_name_finding(ev, rules, "caption", m["name"], page, line, want))
    for line, page, _ in lines:
        if len(line) > ent["heading_max_chars"]:
            continue
        m = heading.match(line)
        if m is None or any(m["name"].startswith(w) for w in ent["not_names"]):
            continue
        tail = line[m.end():]
        if len(tail) > ent["heading_tail_max_chars"] or any(c in tail for c in "，。；：、"):
            continue  # a sentence that happens to contain "…年度预算", not a heading
        name = _clean_entity(m["name"], rules)
        if not re.search(r"\D", name):
            continue  # "2024年度部门决算": a year, no name
        ok = name in want or want in name
        source = "cover" if page == 1 else "heading"
        found.append(Finding(
            "entity.name", f"p.{page} {line[:40]}",
            Side(source, m["name"], None, page, ev.locator.find(page, [m["name"]])), registry,
            "pass" if ok else "failed", "one name contains the other (normalised)",
            None if ok else f"p.{page} heading names {m['name']!r}, the report is {ev.entity_name!r}"))
    found += _check_years(ev, rules)
    return found


def _name_finding(ev: Evidence, rules: Rules, source: str, name: str, page: int, line: str,
                  want: str) -> Finding:
    """One printed entity name against the registry's (one contains the other, normalised)."""
    got = _clean_entity(name, rules)
    ok = bool(got) and (got in want or want in got)
    return Finding("entity.name", f"p.{page} {source} {line[:40]}",
                   Side(source, name, None, page, ev.locator.find(page, [name])),
                   Side("registry", ev.entity_name), "pass" if ok else "failed",
                   "one name contains the other (normalised)",
                   None if ok else f"p.{page} {source} names {name!r}, the report is "
                   f"{ev.entity_name!r}")


def _check_years(ev: Evidence, rules: Rules) -> list[Finding]:
    y = rules.raw["year"]
    doc = ev.document()
    clause_chars = rules.raw["wording"]["clause_chars"]
    found: list[Finding] = []
    fiscal = Side("registry", str(ev.fiscal_year))
    for m in re.finditer(y["own_year"], doc.text):
        if m.start() > 0 and doc.text[m.start() - 1].isdigit():
            continue
        year = int(m["year"])
        before = doc.text[max(0, m.start() - 30):m.start()]
        clause = before[max(before.rfind(c) for c in clause_chars) + 1:]
        after = doc.text[m.end():m.end() + 4]
        if any(w in clause for w in y["comparison_words"]):
            continue
        if any(after.startswith(w) or w in doc.text[m.start():m.end() + 2]
               for w in y["other_document_words"]):
            continue
        page = doc.page_of[m.start()]
        ok = year == ev.fiscal_year
        if ok:
            continue  # only the years that differ are rows: the rest are many and all alike
        found.append(Finding(
            "year.own_year", f"p.{page} {doc.text[m.start():m.end() + 8]}",
            Side("text", m["year"], None, page, ev.locator.find(page, [m["year"]])), fiscal,
            "failed", None,
            f"p.{page} prints {doc.text[max(m.start() - 8, 0):m.end() + 8]!r} as the report's own "
            f"year; the report is fiscal year {ev.fiscal_year}"))
    return found


# --------------------------------------------------------------------------- completeness


def check_completeness(ev: Evidence, rules: Rules) -> list[Finding]:
    """Every required statement printed (with data or empty) or stated as not applicable."""
    comp = rules.raw["completeness"]
    presence = {s["statement"]: s for s in ev.statements}
    doc = ev.document()
    found: list[Finding] = []
    for statement in comp["required"].get(ev.report_kind, []):
        row = presence.get(statement, {})
        state = row.get("presence", "absent")
        pages = row.get("pages")
        page = int(pages.split(",")[0]) if pages else None
        right = Side("statements", state, None, page)
        subject = f"{statement} ({ev.report_kind})"
        if state in ("table", "empty"):
            found.append(Finding("completeness.statement", subject,
                                 Side("format", statement), right, "pass"))
            continue
        stated = _not_applicable(doc, comp, statement)
        if stated is not None:
            text, at = stated
            p = doc.page_of[at]
            found.append(Finding(
                "completeness.statement", subject,
                Side("text", text, None, p, ev.locator.find(p, [text[:6]])), right, "pass", None,
                f"not printed; the text says it does not apply: {text!r}"))
            continue
        found.append(Finding(
            "completeness.statement", subject, Side("format", statement), right, "failed", None,
            f"the {ev.report_kind} format requires {statement}; it is {state} "
            "and the text does not say it does not apply"))
    return found


def _not_applicable(doc: narrative.Document, comp: dict, statement: str) -> tuple[str, int] | None:
    for topic in comp["topics"].get(statement, []):
        for template in comp["not_applicable"]:
            m = re.search(template.replace("{topic}", re.escape(topic)), doc.text)
            if m:
                return m.group(0), m.start()
    return None


# --------------------------------------------------------------------------- entry point

FAMILIES: tuple[tuple[str, Callable[[Evidence, Rules], list[Finding]]], ...] = (
    ("text_vs_table", check_text_vs_table),
    ("wording_vs_numbers", check_wording),
    ("entity_and_year", check_entity_and_year),
    ("completeness", check_completeness),
)


def run_checks(ev: Evidence, rules: Rules | None = None) -> list[Finding]:
    """Every family's findings; a family that breaks is one ``not_evaluated`` row, not a crash."""
    rules = rules or load_rules()
    found: list[Finding] = []
    for family, check in FAMILIES:
        try:
            found += check(ev, rules)
        except Exception as exc:  # one bad rule must not lose the report
            found.append(Finding(next(r.id for r in rules.rules.values() if r.family == family),
                                 family, Side("checker"), Side("checker"), "not_evaluated", None,
                                 f"{type(exc).__name__}: {exc}"))
    return found


def to_rows(findings: list[Finding], report_id: str, fiscal_year: int,
            rules: Rules | None = None) -> list[dict]:
    """``consistency_checks`` rows (hotline_budgets/schema.yaml)."""
    rules = rules or load_rules()
    rows = []
    seen: set[tuple] = set()
    for f in findings:
        info = rules.rules[f.rule_id]
        key = (f.rule_id, f.subject, f.left, f.right)
        if key in seen:
            continue
        seen.add(key)
        row = dict(report_id=report_id, fiscal_year=fiscal_year, rule_id=f.rule_id,
                   family=info.family, severity=info.severity, subject=f.subject)
        for name, side in (("left", f.left), ("right", f.right)):
            row |= {f"{name}_source": side.source, f"{name}_value": side.value,
                    f"{name}_wan": side.wan, f"{name}_page": side.page, f"{name}_bbox": side.bbox}
        rows.append(row | dict(tolerance=f.tolerance, verdict=f.verdict, detail=f.detail))
    return rows


def check_consistency(entry: Any, pages: list[str], table_facts: list[Fact],
                      statements: list[dict], catalog: Any, pdf_bytes: bytes | None = None,
                      printed_codes: dict[str, str] | None = None,
                      layer_pages: Mapping[int, Any] | None = None,
                      zero_facts: list[Fact] | None = None) -> list[dict]:
    """The ``consistency_checks`` rows of one report (called from transform/report.py).

    The text is read again with zero amounts kept ("支出0万元" against a printed total is a
    finding), so this needs only what the report processing already has; ``zero_facts``: that
    reading, when the caller has it (the same arguments), ``layer_pages``: see :class:`Locator`.
    """
    if zero_facts is None:
        zero_facts = read_narrative(pages, report_kind=entry.report_kind,
                                    fiscal_year=entry.fiscal_year, catalog=catalog,
                                    printed_codes=printed_codes, keep_zeros=True).facts
    locator = Locator(pdf_bytes, layer_pages or {})
    try:
        ev = Evidence(entry.report_kind, entry.fiscal_year, entry.entity_name, pages,
                      [f for f in table_facts if f.method != "narrative"], zero_facts,
                      statements, locator)
        return to_rows(run_checks(ev), entry.report_id, entry.fiscal_year)
    finally:
        locator.close()
