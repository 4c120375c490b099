"""The synthetic benchmark corpus: deterministic from its seed, gold that satisfies the identities."""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

import pytest

from bench.synth import STYLES, generate, gold_rows, make_report, render_reportlab
from hotline_budgets.extract.tables import scan_tables
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.table_facts import facts_from_table


def _digest(folder) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_corpus_other_seed_other_corpus(tmp_path):
    a, b, c = (generate(tmp_path / n, 3, seed, styles=STYLES).parent
               for n, seed in (("a", 11), ("b", 11), ("c", 12)))
    assert _digest(a) == _digest(b)
    assert len(list((a / "pdf").glob("*.pdf"))) == 3
    assert set(_digest(a).values()).isdisjoint(set(_digest(c).values()) - {_digest(a)["registry.yaml"]})


def test_gold_satisfies_the_identities(tmp_path):
    corpus = generate(tmp_path, 4, 5).parent
    for gold in sorted((corpus / "gold").glob("*/gold.csv")):
        amounts: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        with gold.open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                assert Decimal(r["amount_wan"]) != 0  # gold holds non-zero amounts only
                amounts[r["statement"], r["code"] or r["item"], r["measure"]] = Decimal(r["amount_wan"])
        statements = {s for s, _, _ in amounts}
        assert statements == {"general_budget_expenditure", "expenditure"}
        for st in statements:
            keys = {k for s, k, _ in amounts if s == st}
            for key in keys:  # 合计 = 基本支出 + 项目支出
                assert amounts[st, key, "total"] == amounts[st, key, "basic"] + amounts[st, key, "project"]
            codes = {k for k in keys if k.isdigit()}
            for m in ("total", "basic", "project"):
                assert amounts[st, "grand_total", m] == sum(amounts[st, c, m] for c in codes if len(c) == 3)
                for parent in (c for c in codes if len(c) < 7):  # 类 = Σ 款, 款 = Σ 项
                    kids = [c for c in codes if len(c) == len(parent) + 2 and c.startswith(parent)]
                    assert kids and amounts[st, parent, m] == sum(amounts[st, c, m] for c in kids)


@pytest.mark.parametrize("style", STYLES)
def test_a_header_left_at_a_page_foot_heads_the_rows_on_the_next_page(tmp_path, style):
    """Report 8 of seed 7 prints 支出预算总表's title and header as the last lines of a page and
    its rows from the top of the next (no header repeated): the rows are read under that header."""
    report = replace(make_report(7, 8, {}), style=style, repeat_header=False)
    pdf = tmp_path / "r.pdf"
    render_reportlab(report, pdf)
    scan = scan_tables(pdf.read_bytes())
    orphaned = [t for t in scan.tables if t.pages[0] not in {page for page, _ in t.rows}]
    assert [t.statement for t in orphaned] == ["expenditure"]
    assert [path[-1] for path in orphaned[0].column_paths[2:]] == ["合计", "基本支出", "项目支出"]
    facts = [f for t in scan.tables for f in facts_from_table(t, load_catalog()).facts]
    got = {f.key: f.amount_wan for f in facts}
    gold = {(r["statement"], r["classification"], r["code"], r["item"], r["measure"]):
            Decimal(r["amount_wan"]) for r in gold_rows(report)}
    assert got == gold
