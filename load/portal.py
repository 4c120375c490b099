"""The release's portal page: one self-contained ``index.html`` (no CDN, works offline).

Tables are rendered here in Python; the two charts are drawn as inline SVG by a small inline
script from JSON embedded in the page, so the page needs nothing but a browser.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from hotline_budgets.schema import load_schema, load_views

TEMPLATES = Path(__file__).parent / "release_templates"
_STATUS_CLASS = {"published": "ok", "stale": "warn", "rejected": "bad", "needs_ocr": "warn"}


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _num(value) -> float | None:
    return float(value) if isinstance(value, Decimal | int | float) else None


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _wan(value) -> str:
    return "—" if value is None else f"{float(value):,.2f}"


def _source_link(url: str, sha256: str | None) -> str:
    """A link to the source document when its url is on the web; a local registry path (the
    bundled samples) is shown as text, since the release does not redistribute the PDFs."""
    title = f"sha256 {sha256}" if sha256 else "not fetched"
    if url.startswith(("http://", "https://")):
        return f"<a class='ext' href='{_e(url)}' title='{_e(title)}'>source</a>"
    return f"<span class='muted' title='{_e(title)}'>{_e(Path(url).name)}</span>"


def _reports_section(reports: pa.Table, spending: dict[str, dict]) -> str:
    rows = []
    for r in sorted(
        reports.to_pylist(), key=lambda r: (-r["fiscal_year"], r["entity_name"], r["report_kind"])
    ):
        s = spending.get(r["report_id"], {})
        status = r["status"]
        rows.append(
            f"<tr><td>{r['fiscal_year']}</td><td>{_e(r['entity_name'])}</td><td>{_e(r['report_kind'])}</td>"
            f"<td><span class='badge {_STATUS_CLASS.get(status, 'warn')}'>{_e(status)}</span></td>"
            f"<td class='n'>{r['line_item_count'] or 0}</td><td class='n'>{_wan(s.get('spending_wan'))}</td>"
            f"<td><code>{_e(s.get('basis'))}</code></td>"
            f"<td class='reason'>{_e(r['status_reason'] or r['failed_checks'] or '')}</td>"
            f"<td>{_source_link(r['source_url'], r['source_sha256'])}</td></tr>"
        )
    return (
        "<table><thead><tr><th>year</th><th>entity</th><th>kind</th><th>status</th><th>line items</th>"
        "<th>spending (万元)</th><th>basis</th><th>note</th><th>PDF</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _quality_section(summary: dict, diff: dict) -> str:
    checks = {r["status"]: r["checks"] for r in summary["checks_by_status"]}
    exp_total = sum(r["expectations"] for r in summary["expectations"])
    exp_passed = sum(r["passed"] for r in summary["expectations"])
    coverage = {r["coverage"]: r["statements"] for r in summary["coverage"]}
    statuses = {r["status"]: r["reports"] for r in summary["reports_by_status"]}
    changed = diff["reports_by_change"]
    cards = [
        (
            "Reports",
            " · ".join(f"{n} {s}" for s, n in statuses.items()),
            "ok" if set(statuses) == {"published"} else "warn",
        ),
        (
            "Accounting identities",
            f"{checks.get('exact', 0)} exact · {checks.get('rounding', 0)} rounding · "
            f"{checks.get('failed', 0)} failed",
            "bad" if checks.get("failed") else "ok",
        ),
        (
            "Expectations (GX)",
            f"{exp_passed} of {exp_total} passed",
            "ok" if exp_passed == exp_total else "bad",
        ),
        ("Statements", " · ".join(f"{n} {c}" for c, n in coverage.items()), "ok"),
        (
            "Quality notes",
            " · ".join(f"{r['issues']} {r['kind']}" for r in summary["issues_by_kind"]) or "none",
            "ok",
        ),
        (
            "Since previous release",
            f"{len(changed['added'])} added · {len(changed['removed'])} removed · "
            f"{len(changed['gone_stale'])} gone stale · "
            f"{sum(diff['line_item_change_counts'].values())} amounts changed"
            if diff["previous_release"]
            else "first release",
            "ok",
        ),
    ]
    return (
        "<div class='cards'>"
        + "".join(
            f"<div class='card {cls}'><div class='label'>{_e(label)}</div>"
            f"<div class='value'>{_e(value)}</div></div>"
            for label, value, cls in cards
        )
        + "</div>"
    )


def _downloads_section(files: list, years: list[int]) -> str:
    groups: dict[str, list] = {}
    for f in files:
        top = f.path.split("/", 1)[0] if "/" in f.path else ""
        groups.setdefault(top, []).append(f)
    order = (
        [""] + ["all"] + [str(y) for y in years] + sorted(set(groups) - {"", "all", *map(str, years)})
    )
    labels = {"": "Documentation and package", "all": "All years", "quality": "Quality (Data Docs)"}
    out = []
    for key in order:
        if key not in groups:
            continue
        entries = groups[key]
        if key == "quality":  # the Data Docs site: its index is the one link a reader needs
            entries = [f for f in entries if f.path.endswith(".html")]
        rows = "".join(
            f"<tr><td><a href='{_e(f.path)}'>{_e(f.path)}</a></td><td class='n'>{_size(f.size_bytes)}</td>"
            f"<td><code class='sha'>{f.sha256}</code></td></tr>"
            for f in entries
        )
        total = sum(f.size_bytes for f in groups[key])
        title = labels.get(key, f"Fiscal year {key}")
        is_open = " open" if key == "" else ""
        out.append(
            f"<details{is_open}><summary>{_e(title)} <span class='muted'>({len(groups[key])} files, "
            f"{_size(total)})</span></summary><table class='files'><thead><tr><th>file</th><th>size</th>"
            f"<th>SHA-256</th></tr></thead><tbody>{rows}</tbody></table></details>"
        )
    return "".join(out)


_START_HERE = (
    ("all/hotline_budgets.duckdb", "Every year in one DuckDB database, with the analyst views"),
    ("all/csv/line_items.csv", "Every amount as CSV (opens in Excel)"),
    ("all/csv/total_spending.csv", "One spending figure per report"),
    ("datapackage.json", "Frictionless Data Package: every field typed and described"),
    ("README.md", "Units, licence, how to cite, example queries"),
)


def _start_here(files: list) -> str:
    """The few downloads most readers want, as cards with size and checksum."""
    by_path = {f.path: f for f in files}
    cards = [f"<a class='dl' href='{_e(path)}'><b>{_e(path)}</b><span>{_e(what)}</span>"
             f"<span class='muted'>{_size(f.size_bytes)} · sha256 {f.sha256[:12]}…</span></a>"
             for path, what in _START_HERE if (f := by_path.get(path))]
    return "<div class='cards'>" + "".join(cards) + "</div>"


def _dictionary_section() -> str:
    out = []
    for kind, objects in (("table", load_schema()), ("view", load_views())):
        for t in objects.values():
            rows = "".join(
                f"<tr><td><code>{_e(c.name)}</code></td><td>{_e(c.type)}</td>"
                f"<td>{'yes' if c.required else ''}</td><td>{_e(c.description)}{_allowed(c)}</td></tr>"
                for c in t.columns
            )
            out.append(
                f"<details><summary><code>{_e(t.name)}</code> <span class='muted'>{kind}</span> — "
                f"{_e(t.description)}</summary><table><thead><tr><th>column</th><th>type</th>"
                f"<th>required</th><th>meaning</th></tr></thead><tbody>{rows}</tbody></table></details>"
            )
    return "".join(out)


def _allowed(column) -> str:
    return f" One of: {_e(', '.join(column.values))}." if column.values else ""


def _chart_data(views: dict[str, pa.Table]) -> str:
    classes = [
        {
            "report": f"{r['entity_name']} · {r['fiscal_year']} {r['report_kind']}",
            "code": r["class_code"],
            "name": r["class_name"] or r["class_code"],
            "amount": _num(r["amount_wan"]),
        }
        for r in views["spending_by_function_class"].to_pylist()
    ]
    execution = [
        {
            "report": f"{r['entity_name']} · {r['fiscal_year']}",
            "code": r["item_key"],
            "name": r["item_name"],
            "budget": _num(r["budget_wan"]),
            "actual": _num(r["actual_wan"]),
            "rate": r["execution_rate"],
        }
        for r in views["budget_vs_actual"].to_pylist()
        if r["statement"] == "execution"
    ]
    text = json.dumps({"classes": classes, "execution": execution}, ensure_ascii=False)
    return text.replace("</", "<\\/")


def render_portal(
    *,
    release_id: str,
    created: datetime,
    years: list[int],
    reports: pa.Table,
    views: dict[str, pa.Table],
    summary: dict,
    diff: dict,
    files: list,
) -> str:
    """The whole page. ``files`` are the release's files (path, size, sha256) it links to."""
    spending = {r["report_id"]: r for r in views["total_spending"].to_pylist()}
    kinds = Counter(r["report_kind"] for r in reports.to_pylist())
    headline = (
        f"{reports.num_rows} reports ({kinds.get('budget', 0)} budgets, "
        f"{kinds.get('final_accounts', 0)} final accounts) · fiscal years "
        f"{', '.join(map(str, years))} · {summary['line_items']} line items · amounts in 万元"
    )
    page = (TEMPLATES / "portal.html").read_text(encoding="utf-8")
    css = (TEMPLATES / "portal.css").read_text(encoding="utf-8")
    js = (TEMPLATES / "portal.js").read_text(encoding="utf-8")
    return page.format(
        release_id=_e(release_id),
        created=_e(created.strftime("%Y-%m-%d %H:%M UTC")),
        headline=_e(headline),
        quality=_quality_section(summary, diff),
        reports=_reports_section(reports, spending),
        downloads=_downloads_section(files, years),
        start=_start_here(files),
        dictionary=_dictionary_section(),
        data=_chart_data(views),
        css=css,
        js=js,
    )
