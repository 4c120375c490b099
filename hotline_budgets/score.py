"""Scoring published line_items against gold files (the yardstick of the corpus)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from hotline_budgets.load.publish import ALL_YEARS_DB

Key = tuple[str, str, str, str, str, str]


class GoldError(ValueError):
    """No gold to score against: a score of nothing must never read as F1 1.000."""


@dataclass(frozen=True)
class Score:
    gold: int
    got: int
    matched: int

    @property
    def precision(self) -> float:
        return self.matched / self.got if self.got else (1.0 if not self.gold else 0.0)

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else (1.0 if not self.got else 0.0)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def read_gold(gold_dir: Path) -> dict[str, dict[Key, tuple[Decimal, str]]]:
    """{report_id: {key: (amount, method)}} for every GOLD_DIR/<report_id>/gold.csv; raises
    GoldError when the folder is missing, holds no gold file, or a gold file has no rows."""
    if not gold_dir.is_dir():
        raise GoldError(f"gold folder {gold_dir} does not exist")
    out = {}
    paths = sorted(gold_dir.glob("*/gold.csv"))
    if not paths:
        raise GoldError(f"no gold files in {gold_dir} (expected {gold_dir}/<report_id>/gold.csv)")
    for path in paths:
        rows = {}
        with path.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                key = (path.parent.name, r["statement"], r["classification"], r["code"],
                       r["item"], r["measure"])
                rows[key] = (Decimal(r["amount_wan"]), r["method"])
        if not rows:
            raise GoldError(f"gold file {path} has no rows")
        out[path.parent.name] = rows
    return out


def read_published(warehouse: Path) -> dict[Key, tuple[Decimal, str]]:
    con = duckdb.connect(str(warehouse / ALL_YEARS_DB), read_only=True)
    try:
        rows = con.execute(
            "SELECT report_id, statement, classification, coalesce(code, ''), coalesce(item, ''),"
            " measure, amount_wan, method, source_text FROM line_items").fetchall()
    finally:
        con.close()
    return {tuple(r[:6]): (Decimal(r[6]), reader(r[7], r[8])) for r in rows}


_CJK = re.compile(r"[\u4e00-\u9fff]")


def reader(method: str | None, source_text: str | None) -> str | None:
    """table / narrative: which reader produced a line item. Gold says how a value is printed;
    an OCR value is scored with the reader that read it (a table cell's source_text is the
    amount, a text value's the sentence)."""
    if method != "ocr":
        return method
    text = source_text or ""
    return "table" if re.search(r"\d", text) and not _CJK.search(text) else "narrative"


def score(gold: dict[Key, tuple[Decimal, str]], got: dict[Key, tuple[Decimal, str]],
          method: str | None = None) -> Score:
    g = {k: v[0] for k, v in gold.items() if method is None or v[1] == method}
    p = {k: v[0] for k, v in got.items() if method is None or v[1] == method}
    matched = sum(1 for k, v in p.items() if k in g and g[k] == v)
    return Score(len(g), len(p), matched)


def score_warehouse(gold_dir: Path, warehouse: Path) -> tuple[list[tuple[str, str, Score]], Score]:
    """Per (report, method) scores and the overall score over every gold report."""
    gold = read_gold(gold_dir)
    published = read_published(warehouse)
    lines = []
    all_gold: dict = {}
    all_got: dict = {}
    for report_id, rows in gold.items():
        got = {k: v for k, v in published.items() if k[0] == report_id}
        all_gold |= rows
        all_got |= got
        for method in ("table", "narrative", None):
            s = score(rows, got, method)
            if method is None or s.gold or s.got:
                lines.append((report_id, method or "all", s))
    return lines, score(all_gold, all_got)


def format_scores(lines: list[tuple[str, str, Score]], overall: Score) -> str:
    out = [f"{'report':<42} {'method':<9} {'gold':>5} {'got':>5} {'match':>5}"
           f" {'P':>6} {'R':>6} {'F1':>6}"]
    for report_id, method, s in lines:
        out.append(f"{report_id:<42} {method:<9} {s.gold:>5} {s.got:>5} {s.matched:>5}"
                   f" {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f}")
    out.append(f"F1 {overall.f1:.3f}")
    return "\n".join(out)
