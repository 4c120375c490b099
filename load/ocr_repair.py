"""Settling OCR cells with more than one reading by the report's own accounting identities.

An engine can leave a blank inside a number ("147. 45"), read a digit as a letter ("1O5.20"), or
drop a decimal point ("14745" for 147.45). transform.ocr_readings proposes the readings; here each
is tried against the identities (identities.sql) over the report's other line items:

- a blank inside a number is removed unless the identities contradict the result (more failures
  than leaving the cell out);
- a letter read as a digit is repaired only when that reading makes strictly fewer identities
  fail than any other choice, leaving the cell out included;
- a decimal point is inserted only when that makes strictly fewer identities fail than the
  integer as read (which is published otherwise).

Every repair becomes an ``ocr_repair`` quality issue; a reading the identities do not confirm is
not published and becomes an ``unmapped_cell`` issue with the printed text.
"""

from __future__ import annotations

from decimal import Decimal

from hotline_budgets.load.checks import evaluate_identities
from hotline_budgets.schema import load_schema
from hotline_budgets.transform.report import ReportResult


def _failures(items: list[dict]) -> int:
    table = load_schema()["line_items"].to_arrow(items)
    return sum(1 for c in evaluate_identities(table) if c["status"] == "failed")


def _with(items: list[dict], li: dict, amount: Decimal | None) -> list[dict]:
    return items if amount is None else items + [li | {"amount_wan": amount}]


def _issue(li: dict, kind: str, detail: str) -> dict:
    return dict(report_id=li["report_id"], fiscal_year=li["fiscal_year"], kind=kind,
                statement=li["statement"], page=li["page"], detail=detail)


def _where(li: dict) -> str:
    key = "/".join(str(li[k]) for k in ("statement", "classification", "code", "item", "measure")
                   if li.get(k))
    return f"{key} (printed {li['source_text']!r} at {li['source_bbox']})"


def settle(result: ReportResult, choice: Decimal | None, li: dict, detail: str) -> None:
    """Publish ``choice`` with an ocr_repair note, or (None) record the cell as unmapped."""
    if choice is not None:
        result.line_items.append(li | {"amount_wan": choice})
        result.quality_issues.append(_issue(li, "ocr_repair", detail))
    else:
        result.quality_issues.append(_issue(li, "unmapped_cell", detail))


def confirm_repairs(result: ReportResult) -> None:
    """Publish or reject every pending OCR reading of ``result`` (in place)."""
    pending, result.pending_repairs = result.pending_repairs, []
    for p in pending:
        li, as_read, alts, kind = p["line_item"], p["as_read"], list(p["alternatives"]), p["kind"]
        base = result.line_items
        left_out = _failures(base)
        where = _where(li)
        if kind == "blank":
            with_it = _failures(_with(base, li, as_read))
            if with_it <= left_out:
                settle(result, as_read, li,
                       f"OCR blank inside a number removed: {where} → {as_read}; "
                       f"identities failing {with_it} (without it {left_out})")
            else:
                settle(result, None, li,
                       f"OCR reading {where} as {as_read} contradicts the identities "
                       f"({with_it} failing, {left_out} without it): not published")
        elif kind == "decimal":
            scores = {as_read: _failures(_with(base, li, as_read))}
            scores |= {a: _failures(_with(base, li, a)) for a in alts}
            best = min(scores, key=lambda a: (scores[a], a != as_read))
            if best != as_read and scores[best] < scores[as_read]:
                settle(result, best, li,
                       f"OCR lost a decimal point: {where} read as {as_read}, published {best}: "
                       f"identities failing {scores[best]} instead of {scores[as_read]}")
            else:
                result.line_items.append(li | {"amount_wan": as_read})
        else:  # chars
            scores = {a: _failures(_with(base, li, a)) for a in alts}
            best = min(scores, key=scores.get) if scores else None
            others = [v for a, v in scores.items() if a != best] + [left_out]
            if best is not None and scores[best] < min(others):
                settle(result, best, li,
                       f"OCR letters read as digits: {where} → {best}; identities failing "
                       f"{scores[best]} (without it {left_out})")
            else:
                settle(result, None, li,
                       f"OCR text {where} is not a number and no reading "
                       f"({', '.join(map(str, alts)) or 'none'}) is confirmed by the identities: "
                       "not published")
    result.report["line_item_count"] = len(result.line_items)
