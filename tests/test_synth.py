"""The synthetic benchmark corpus: deterministic from its seed, gold that satisfies the identities."""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from decimal import Decimal

from bench.synth import STYLES, generate


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
