"""Synthetic corpus: N distinct reports rendered to PDF with exact gold, deterministic from a seed.

    uv run python -m bench.synth OUT_DIR --reports 1000 --seed 7

writes OUT_DIR/registry.yaml, OUT_DIR/pdf/<report_id>.pdf and OUT_DIR/gold/<report_id>/gold.csv
(the corpus format of tests/fixtures/gold, scored by ``hotline-budgets score``). Nothing is
committed: the corpus is made on demand.

Each report prints the general-budget expenditure statement and the expenditure statement of
one entity, region, year and kind, with function codes of that year taken from the bundled
catalog. Amounts satisfy SCHEMA.md's identities by construction: every 类/款 is the sum of its
children, 合计 = 基本支出 + 项目支出 on every row, the bottom 合计 row is the sum of the 类.
Long tables continue over the next page (with or without a repeated header). The print style
(fully ruled / three-line / no rules) varies per report.

Rendering is one swappable function (``Renderer``): the reportlab renderer here draws what
``Report`` holds; a renderer with other print styles can be passed to ``generate``.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from hotline_budgets.transform.catalog import load_catalog

STYLES = ("ruled", "three_line", "open")
DEFAULT_STYLES = ("ruled", "three_line", "open")  # every print style the table reader reads
TITLES = {  # statement → printed title per report kind (titles from extract/statement_titles.yaml)
    "general_budget_expenditure": {"final_accounts": "一般公共预算财政拨款支出决算表",
                                   "budget": "一般公共预算财政拨款支出预算表"},
    "expenditure": {"final_accounts": "支出决算表", "budget": "支出预算总表"},
}
HEADER = ["科目编码", "科目名称", "合计", "基本支出", "项目支出"]
MEASURES = ("total", "basic", "project")
ENTITY_STEMS = ("政务服务热线管理中心", "市民热线受理中心", "政务服务中心", "信访局", "数据资源局",
                "机关事务管理局", "统计局", "档案馆", "城市管理局", "司法局")
REGIONS = (("海口市", "460100"), ("柳州市", "450200"), ("聊城市", "371500"), ("三明市", "350400"),
           ("烟台市", "370600"), ("西安市", "610100"), ("广州市", "440100"), ("深圳市", "440300"),
           ("南京市", "320100"), ("成都市", "510100"), ("长沙市", "430100"), ("昆明市", "530100"))


@dataclass
class Row:
    code: str
    name: str
    basic: int  # cents of 万元
    project: int


@dataclass
class Report:
    report_id: str
    entity_name: str
    region_code: str
    fiscal_year: int
    report_kind: str
    style: str
    repeat_header: bool
    row_height: int = 18  # points
    flowing: bool = False  # statements one after another, no page break: tables cross pages
    prose_lines: int = 0  # lines of duty description (no amounts) before the first statement
    rows: list[Row] = field(default_factory=list)  # in print order: 类, its 款, their 项, …

    def total(self) -> tuple[int, int]:
        top = [r for r in self.rows if len(r.code) == 3]
        return sum(r.basic for r in top), sum(r.project for r in top)


Renderer = Callable[[Report, Path], None]


def _amount(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def _codes_for_year(year: int) -> dict[str, list]:
    """The catalog's function codes in force in ``year``, children by parent code."""
    children: dict[str, list] = {}
    for entry in load_catalog().function.values():
        if entry.first_year <= year <= entry.last_year:
            children.setdefault(entry.parent, []).append(entry)
    for kids in children.values():
        kids.sort(key=lambda e: e.code)
    return children


def make_report(seed: int, index: int, children_cache: dict[int, dict],
                styles: tuple[str, ...] = DEFAULT_STYLES) -> Report:
    """Report number ``index`` of the corpus of ``seed``: the same inputs give the same report."""
    rng = random.Random(f"{seed}:{index}")
    city, region = rng.choice(REGIONS)
    year = rng.randint(2019, 2026)
    kind = rng.choice(("budget", "final_accounts"))
    rid = f"synth-{seed}-{index:05d}-{year}-{kind}"
    report = Report(rid, f"{city}{rng.choice(ENTITY_STEMS)}（样本{index:05d}）", region, year, kind,
                    rng.choice(styles), rng.random() < 0.5)
    children = children_cache.setdefault(year, _codes_for_year(year))
    classes = [c for c in children.get("", []) if c.code in children]
    # about a third print their statements one after another without page breaks, in taller
    # rows, so a table continues on the next page
    long = rng.random() < 0.3
    n_classes, n_kuans, n_items = (10, 4, 8) if long else (6, 3, 5)
    report.row_height, report.flowing = (rng.choice((22, 26, 30)), True) if long else (18, False)
    report.prose_lines = rng.randint(20, 50) if long else 0
    for cls in sorted(rng.sample(classes, k=min(len(classes), rng.randint(2, n_classes))),
                      key=lambda e: e.code):
        block: list[Row] = []
        kuans = [k for k in children[cls.code] if k.code in children]
        for kuan in sorted(rng.sample(kuans, k=min(len(kuans), rng.randint(1, n_kuans))),
                           key=lambda e: e.code):
            items = children[kuan.code]
            leaves = [Row(i.code, i.name, rng.choice((0, rng.randint(100, 5_000_000))),
                          rng.choice((0, 0, rng.randint(100, 2_000_000))))
                      for i in sorted(rng.sample(items, k=min(len(items), rng.randint(1, n_items))),
                                      key=lambda e: e.code)]
            leaves = ([r for r in leaves if r.basic or r.project]
                      or [Row(items[0].code, items[0].name, 100, 0)])
            block += [Row(kuan.code, kuan.name, sum(r.basic for r in leaves),
                          sum(r.project for r in leaves)), *leaves]
        if block:
            kuan_rows = [r for r in block if len(r.code) == 5]
            report.rows += [Row(cls.code, cls.name, sum(r.basic for r in kuan_rows),
                                sum(r.project for r in kuan_rows)), *block]
    return report


def gold_rows(report: Report) -> list[dict]:
    """One gold row per non-zero printed amount, for each statement the report prints."""
    basic, project = report.total()
    out = []
    for statement in TITLES:
        for m, v in zip(MEASURES, (basic + project, basic, project), strict=True):
            if v:
                out.append(dict(statement=statement, classification="item", code="", item="grand_total",
                                measure=m, amount_wan=_amount(v), method="table"))
        for r in report.rows:
            for m, v in zip(MEASURES, (r.basic + r.project, r.basic, r.project), strict=True):
                if v:
                    out.append(dict(statement=statement, classification="function", code=r.code, item="",
                                    measure=m, amount_wan=_amount(v), method="table"))
    return out


def _cells(v: int) -> str:
    return _amount(v) if v else ""


def table_rows(report: Report) -> list[list[str]]:
    basic, project = report.total()
    body = [[r.code, r.name, _cells(r.basic + r.project), _cells(r.basic), _cells(r.project)]
            for r in report.rows]
    return [HEADER, *body, ["合计", "", _cells(basic + project), _cells(basic), _cells(project)]]


def render_reportlab(report: Report, path: Path) -> None:
    """The report as a PDF: a cover line, then each statement titled, with its unit line, in the
    report's print style; tables longer than a page continue on the next one."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle

    font = "STSong-Light"
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    title_style = ParagraphStyle("t", fontName=font, fontSize=14, leading=20)
    text_style = ParagraphStyle("p", fontName=font, fontSize=9, leading=12)
    kind_word = "部门决算" if report.report_kind == "final_accounts" else "部门预算"
    story = [Paragraph(f"{report.entity_name}{report.fiscal_year}年{kind_word}", title_style), PageBreak()]
    if report.prose_lines:  # ~40 characters a line; no digits, so no explanation-text facts
        duty = "本单位主要职责是受理群众诉求，协调督办相关事项，汇总分析社情民意。"
        story.append(Paragraph("一、部门职责　" + duty * (report.prose_lines * 40 // len(duty)),
                               text_style))
    rows = table_rows(report)
    style = [("FONT", (0, 0), (-1, -1), font, 9), ("ALIGN", (2, 0), (-1, -1), "RIGHT")]
    if report.style == "ruled":
        style.append(("GRID", (0, 0), (-1, -1), 0.5, "black"))
    elif report.style == "three_line":
        style += [("LINEABOVE", (0, 0), (-1, 0), 1, "black"), ("LINEBELOW", (0, 0), (-1, 0), 0.5, "black"),
                  ("LINEBELOW", (0, -1), (-1, -1), 1, "black")]
    for number, titles in enumerate(TITLES.values(), 1):
        story += [Paragraph(f"公开{number:02d}表 {titles[report.report_kind]}", title_style),
                  Paragraph(f"编制单位：{report.entity_name}　　单位：万元", text_style)]
        table = Table(rows, colWidths=[60, 200, 70, 70, 70], rowHeights=report.row_height,
                      repeatRows=1 if report.repeat_header else 0)
        table.setStyle(TableStyle(style))
        story += [table, Paragraph("　", text_style) if report.flowing else PageBreak()]
    doc = SimpleDocTemplate(str(path), pagesize=A4, invariant=1)  # no timestamps: same bytes each time
    doc.build(story)


def write_gold(report: Report, gold_dir: Path) -> Path:
    folder = gold_dir / report.report_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gold.csv"
    fields = ["statement", "classification", "code", "item", "measure", "amount_wan", "method"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(gold_rows(report))
    return path


def generate(out: Path, reports: int, seed: int, render: Renderer = render_reportlab,
             start: int = 0, styles: tuple[str, ...] = DEFAULT_STYLES) -> Path:
    """Write reports ``start`` … ``start+reports-1`` of the corpus of ``seed``; returns the registry.

    Reports are made and rendered one at a time (nothing of the corpus is kept in memory); an
    existing PDF is not rendered again, so a bigger corpus extends a smaller one."""
    (out / "pdf").mkdir(parents=True, exist_ok=True)
    cache: dict[int, dict] = {}
    lines = ["# Synthetic corpus (bench/synth.py); regenerate, do not edit.", "reports:"]
    for i in range(start, start + reports):
        report = make_report(seed, i, cache, styles)
        pdf = out / "pdf" / f"{report.report_id}.pdf"
        if not pdf.exists():
            tmp = pdf.with_suffix(".tmp")
            render(report, tmp)
            tmp.replace(pdf)
        write_gold(report, out / "gold")
        lines.append(f"  - {{report_id: {report.report_id}, entity_name: '{report.entity_name}',"
                     f" region_code: '{report.region_code}', fiscal_year: {report.fiscal_year},"
                     f" report_kind: {report.report_kind}, scope: unit, url: 'pdf/{pdf.name}'}}")
    registry = out / "registry.yaml"
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return registry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--reports", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--styles", default=",".join(DEFAULT_STYLES),
                    help=f"comma-separated print styles out of {','.join(STYLES)}")
    args = ap.parse_args()
    styles = tuple(s for s in args.styles.split(",") if s)
    if unknown := set(styles) - set(STYLES):
        ap.error(f"unknown style(s): {', '.join(sorted(unknown))}")
    print(generate(args.out, args.reports, args.seed, styles=styles))


if __name__ == "__main__":
    main()
