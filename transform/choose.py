"""Choosing between readings of one statement: the one under which its identities hold.

A page may be read more than one way (its ruled grid, or its words by alignment). Each reading
is turned into facts, and a light in-memory form of ``load/identities.sql`` (hierarchy, grand
total, summary balance, 三公) counts how many of the statement's identities hold and fail. The
reading that reconciles best wins; then the one that leaves fewer cells unexplained; then the
one that publishes more.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hotline_budgets.transform.facts import Fact
from hotline_budgets.transform.table_facts import TableFacts

_TOL = Decimal("0.01")


def _close(a: Decimal, b: Decimal, terms: int) -> bool:
    return abs(a - b) <= _TOL * max(terms, 1)


def identity_tally(facts: list[Fact]) -> tuple[int, int]:
    """(identities that hold, identities that fail) among ``facts`` of one statement."""
    held = failed = 0

    def check(expected: Decimal, parts: list[Decimal]) -> None:
        nonlocal held, failed
        if _close(expected, sum(parts, Decimal(0)), len(parts)):
            held += 1
        else:
            failed += 1

    coded: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)  # (cls, measure) → code → v
    items: dict[tuple[str, str], Decimal] = {}
    for f in facts:
        if f.code:
            coded[(f.classification, f.measure)][f.code] = f.amount_wan
        elif f.item:
            items[(f.item, f.measure)] = f.amount_wan
    for (_, measure), by_code in coded.items():
        for code, value in by_code.items():
            children = [v for c, v in by_code.items() if len(c) == len(code) + 2 and c.startswith(code)]
            if children:
                check(value, children)
        top = [v for c, v in by_code.items() if len(c) == 3]
        if ("grand_total", measure) in items and top:
            check(items[("grand_total", measure)], top)
    for measure in {m for _, m in items}:
        inc, exp = items.get(("income.grand_total", measure)), items.get(("expense.grand_total", measure))
        if inc is not None and exp is not None:
            check(inc, [exp])
        total = items.get(("three_public.total", measure))
        if total is not None:
            check(total, [items.get((k, measure), Decimal(0)) for k in
                          ("three_public.travel_abroad", "three_public.vehicles", "three_public.reception")])
    return held, failed


def reading_rank(result: TableFacts) -> tuple[bool, int, int, int]:
    """Sort key (larger is better) of one reading of a statement: a reading that publishes
    something, with the fewest failed identities and unexplained cells, the most identities
    held, the most facts."""
    held, failed = identity_tally(result.facts)
    return (bool(result.facts), -failed - len(result.unmapped), held, len(result.facts))
