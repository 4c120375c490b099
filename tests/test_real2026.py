"""The real2026 yardstick, per report: published; every core statement found or recorded absent;
identities evaluated on every statement found, none failed unless the source prints the
difference (samples/real2026/known_differences.yaml, with its page); every non-zero amount
printed in a recognised statement table published or listed in quality_issues with a reason;
its rows pass the run's per-report gate (load/conform.py), as the run would publish them.
Identities include the per-unit rows (ReportResult.unit_rows) and the text's stated zeros.

Each PDF is read once per session (the real reader, no Prefect flow). Reports whose remaining gap
is documented in samples/real2026/open_gaps.yaml are strict xfails: the day one passes, the
test fails until the gap is removed from the list.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hotline_budgets.extract.fetch import fetch_report
from hotline_budgets.load.checks import evaluate_identities
from hotline_budgets.load.rows import validate_report_rows
from hotline_budgets.registry import load_registry
from hotline_budgets.schema import load_schema
from hotline_budgets.text import compact
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.report import process_report, read_pdf

SET = Path(__file__).resolve().parents[1] / "samples" / "real2026"
ENTRIES = {e.report_id: e for e in load_registry(SET / "registry.yaml")}
KNOWN = yaml.safe_load((SET / "known_differences.yaml").read_text(encoding="utf-8")) or {}
GAPS = yaml.safe_load((SET / "open_gaps.yaml").read_text(encoding="utf-8")) or {}
_AMOUNT = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)\.\d+$|^-?\d{1,3}(,\d{3})+$")
_LISTED = re.compile(r"(?:= |value )(-?[\d,]+(?:\.\d+)?)")


@pytest.fixture(scope="session")
def real2026(tmp_path_factory):
    """report_id → (its reading of the PDF, its processed rows), each PDF read once."""
    archive = tmp_path_factory.mktemp("raw2026")
    catalog = load_catalog()
    out = {}
    for rid, entry in ENTRIES.items():
        fetched = fetch_report(entry, archive)
        pdf = read_pdf(fetched.read_bytes())
        out[rid] = (pdf, process_report(entry, fetched, catalog, pdf))
    return out


def _printed_amounts(pdf, statements: set[str]) -> set[tuple[int, str]]:
    """(page, amount as printed) of every non-zero amount cell in the kept statement tables,
    counted from the reader's grids, independently of the table-facts keying."""
    out = set()
    for table in pdf.scan.tables:
        if table.statement not in statements:
            continue
        for page, cells in table.rows:
            for cell in cells:
                text = compact(cell)
                if _AMOUNT.match(text) and float(text.replace(",", "")) != 0:
                    out.add((page, text))
    return out


def _accounted(result) -> set[tuple[int, str]]:
    """(page, amount) published as a line item or listed in quality_issues with its reason."""
    out = set()
    for li in result.line_items:
        for part in (li.get("source_text") or "").split("+"):
            if part:
                out.add((li["page"], compact(part)))
    for issue in result.quality_issues:
        if issue["page"] is not None:
            out |= {(issue["page"], m) for m in _LISTED.findall(issue["detail"])}
    return out


def _params():
    return [pytest.param(rid, marks=pytest.mark.xfail(strict=True, reason=GAPS[rid]))
            if rid in GAPS else rid for rid in sorted(ENTRIES)]


@pytest.mark.parametrize("report_id", _params())
def test_report_meets_the_yardstick(real2026, report_id):
    pdf, result = real2026[report_id]
    assert result.report["status"] == "published", result.report["status_reason"]
    presence = {s["statement"]: s for s in result.statements}
    assert all(s["presence"] in ("table", "empty", "narrative_only", "absent")
               for s in presence.values())
    checks = evaluate_identities(load_schema()["line_items"].to_arrow(result.line_items),
                                 result.unit_rows, result.stated_zeros)
    with_data = {st for st, s in presence.items() if s["presence"] == "table"}
    evaluated = {c["statement"] for c in checks}
    assert with_data <= evaluated | {"execution"}, f"no identity evaluated on {with_data - evaluated}"
    known = {k["check_id"] for k in KNOWN.get(report_id, [])}
    failed = {c["check_id"] for c in checks if c["status"] == "failed"}
    assert failed - known == set()
    assert known - failed == set(), "a documented source difference no longer shows: update the list"
    assert [i["detail"] for i in result.quality_issues if i["kind"] == "unmapped_cell"] == []
    recognised = {st for st, s in presence.items() if s["presence"] == "table"}
    missing = _printed_amounts(pdf, recognised) - _accounted(result)
    assert sorted(missing) == []
    # the rows (checks included) pass the per-report gate of the run: the report is publishable
    year = result.report["fiscal_year"]
    assert validate_report_rows(result, [c | {"fiscal_year": year} for c in checks]) == []


def test_yuan_with_cents_convert_exactly(real2026):
    """Xi'an prints 元 with cents: 28,384,234.71 元 is 2838.423471 万元, nothing rounded."""
    _, result = real2026["xian-2026-budget-02"]
    assert result.report["source_unit"] == "元"
    amounts = {(li["statement"], li["item"], li["measure"]): li["amount_wan"]
               for li in result.line_items if li["item"]}
    assert str(amounts[("summary", "income.grand_total", "total")]) == "2838.423471"


def test_a_measure_printed_only_as_its_parts_is_their_sum(real2026):
    """Xi'an prints 合计 / 人员经费支出 / 公用经费支出 / 专项业务经费支出 and no 基本支出: basic is
    人员 + 公用 (source_text 'a+b'), project is 专项业务经费, and total = basic + project holds."""
    _, result = real2026["xian-2026-budget-02"]
    grand = {li["measure"]: li for li in result.line_items
             if li["statement"] == "general_budget_expenditure" and li["item"] == "grand_total"}
    assert grand["basic"]["source_text"] == "18,119,247.51+1,208,867.20"
    assert str(grand["basic"]["amount_wan"]) == "1932.811471"
    assert str(grand["project"]["amount_wan"]) == "905.612000"
    assert grand["total"]["amount_wan"] == grand["basic"]["amount_wan"] + grand["project"]["amount_wan"]


def test_known_differences_name_their_page():
    for rid, items in KNOWN.items():
        assert rid in ENTRIES
        for item in items:
            assert {"check_id", "page", "printed"} <= set(item), item


def test_wrapped_names_keep_their_line_order(real2026):
    """A name wrapped onto two lines reads top line first: no published name of a code is a
    rotation of another name published for the same code (Yantai prints 机关事业单位职业年金缴 /
    费支出 with the amount centred between the two lines)."""
    names: dict[str, set[str]] = {}
    for _, result in real2026.values():
        for item in result.line_items:
            if item["code"] and item["item_name"]:
                names.setdefault(item["code"], set()).add(item["item_name"])
    rotated = []
    for code, found in names.items():
        for a in found:
            for b in found:
                if a != b and len(a) == len(b) and b in a + a:
                    rotated.append((code, a, b))
    assert not rotated, rotated
