"""Bad input gets a clear reason and never stops the other reports."""

from __future__ import annotations

import shutil

import duckdb
from conftest import SAMPLES
from pdf_builder import write_table_pdf

GOOD = "sanming-12345-2024-budget"


def _registry(tmp_path):
    shutil.copy(SAMPLES / f"{GOOD}.pdf", tmp_path / "good.pdf")
    (tmp_path / "error.pdf").write_text("<html><body>500 Internal Server Error</body></html>")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 50)
    # a ruled table under a title that names no statement
    write_table_pdf(tmp_path / "unknown.pdf",
                    [("某某中心物资盘点统计表", [["项目", "数量"], ["桌椅", "12.00"], ["电脑", "3.00"]])])
    entries = {"good": "good.pdf", "error-page": "error.pdf", "missing": "missing.pdf",
               "broken": "broken.pdf", "unknown-layout": "unknown.pdf"}
    lines = ["reports:"]
    for rid, url in entries.items():
        lines.append(f"  - {{report_id: {rid}, entity_name: 测试中心, region_code: '350400',"
                     f" fiscal_year: 2024, report_kind: budget, scope: unit, url: {url}}}")
    path = tmp_path / "registry.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_one_bad_report_never_stops_the_others(tmp_path):
    from hotline_budgets.prefect_env import configure_prefect

    configure_prefect()
    from hotline_budgets.flows.pipeline import pipeline_flow

    warehouse = tmp_path / "warehouse"
    summary = pipeline_flow(registry=_registry(tmp_path), warehouse=warehouse, years=None)
    by_id = {r.report["report_id"]: r.report for r in summary.results}
    assert by_id["good"]["status"] == "published"
    assert by_id["error-page"]["status"] == "rejected"
    assert "not a PDF" in by_id["error-page"]["status_reason"]
    assert "cannot read" in by_id["missing"]["status_reason"]
    assert by_id["broken"]["status"] == "rejected"
    assert by_id["unknown-layout"]["status"] == "rejected"
    reason = by_id["unknown-layout"]["status_reason"]
    assert "page 1" in reason and "某某中心物资盘点统计表" in reason, reason
    con = duckdb.connect(str(warehouse / "hotline_budgets.duckdb"), read_only=True)
    try:
        published = dict(con.execute(
            "SELECT report_id, count(*) FROM line_items GROUP BY ALL").fetchall())
        statuses = dict(con.execute("SELECT report_id, status FROM reports").fetchall())
    finally:
        con.close()
    assert set(published) == {"good"}, "nothing of a rejected report reaches line_items"
    assert statuses["broken"] == "rejected", "a rejected report is still listed, marked"
