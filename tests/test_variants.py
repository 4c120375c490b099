"""The five corpus reports printed in other producers' styles, read by the real pipeline.

Each style (grid, horizontal rules only, no rules, another embedded font, no thousands
separators, half-width brackets, padding indentation, tables split at other rows, continuation
pages without a repeated header) is rendered at test time from tests/fixtures/render/*.json
(cached under the pytest temp dir) and must score table F1 = 1.000 against gold.
"""

from __future__ import annotations

import pytest
from conftest import GOLD_DIR, read_gold_rows
from render.content import corpus_contents
from render.renderer import STYLES, render, ttf_font_path

from hotline_budgets.extract.fetch import fetch_report
from hotline_budgets.registry import RegistryEntry
from hotline_budgets.score import Score
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.report import process_report

CONTENTS = {c.report_id: c for c in corpus_contents()}


def _score(gold: dict, got: dict) -> Score:
    return Score(len(gold), len(got), sum(1 for k, v in got.items() if gold.get(k) == v))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """{(style, report_id): ReportResult}, rendered and processed once per module."""
    root = tmp_path_factory.mktemp("variants")
    catalog = load_catalog()
    out = {}
    for style in STYLES.values():
        if style.font == "ttf" and ttf_font_path() is None:
            continue
        for rid, content in CONTENTS.items():
            pdf = root / f"{style.name}-{rid}.pdf"
            pdf.write_bytes(render(content, style))
            entry = RegistryEntry(rid, content.entity_name, content.region_code, content.fiscal_year,
                                  content.report_kind, content.scope, pdf.name, root)
            out[(style.name, rid)] = process_report(entry, fetch_report(entry, root / "raw"), catalog)
    return out


def _facts(result, method):
    return {(li["statement"], li["classification"], li["code"] or "", li["item"] or "", li["measure"]):
            li["amount_wan"] for li in result.line_items if li["method"] == method}


@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("report_id", sorted(CONTENTS))
def test_table_facts_match_gold_in_every_style(results, style, report_id):
    if STYLES[style].font == "ttf" and ttf_font_path() is None:
        pytest.skip("no TrueType CJK font installed (apt-get install fonts-wqy-zenhei)")
    result = results[(style, report_id)]
    assert result.report["status"] == "published"
    gold = read_gold_rows(report_id, "table", GOLD_DIR)
    got = _facts(result, "table")
    assert {k: v for k, v in gold.items() if got.get(k) != v} == {}
    assert {k: v for k, v in got.items() if gold.get(k) != v} == {}
    assert _score(gold, got).f1 == 1.0
    assert [i for i in result.quality_issues if i["kind"] == "unmapped_cell"] == []


@pytest.mark.parametrize("style", list(STYLES))
def test_every_table_fact_points_at_its_printed_cell(results, style):
    """source_text is the amount as printed in this style and source_bbox lies on the page."""
    if STYLES[style].font == "ttf" and ttf_font_path() is None:
        pytest.skip("no TrueType CJK font installed")
    result = results[(style, "liuzhou-12345-2024-final_accounts")]
    items = [li for li in result.line_items if li["method"] == "table"]
    assert items and all(li["source_text"] and li["source_bbox"] for li in items)
    for li in items:
        x0, top, x1, bottom = map(float, li["source_bbox"].split(","))
        assert 0 <= x0 < x1 <= 842 and 0 <= top < bottom <= 842
        printed = li["source_text"].replace(",", "")
        assert ("," in li["source_text"]) == (STYLES[style].thousands and float(printed) >= 1000)


@pytest.mark.parametrize("style", list(STYLES))
def test_text_facts_survive_every_style(results, style):
    """The explanation text is read as well (narrative F1 ≥ 0.98 per report)."""
    if STYLES[style].font == "ttf" and ttf_font_path() is None:
        pytest.skip("no TrueType CJK font installed")
    for report_id in sorted(CONTENTS):
        gold = read_gold_rows(report_id, "narrative", GOLD_DIR)
        score = _score(gold, _facts(results[(style, report_id)], "narrative"))
        assert score.f1 >= 0.98, (report_id, score)
