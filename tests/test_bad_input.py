"""Bad input, one report each, in one real run: every one gets a clear outcome, the good
reports are published, and no byte of a rejected input reaches the published data."""

from __future__ import annotations

import hashlib
import json
import random
import shutil

import duckdb
import pytest
from conftest import SAMPLES
from pdf_builder import FONT, write_table_pdf

from hotline_budgets.flows.nightly import run_pipeline

CANARY = "CANARY-91b2-never-publish"
GOOD = "sanming-12345-2024-budget"
HEADER = ["科目编码", "科目名称", "合计", "基本支出", "项目支出"]


def _encrypted_pdf(path) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    c = canvas.Canvas(str(path), encrypt="secret-password")
    c.setFont(FONT, 12)
    c.drawString(72, 720, "公开05表 一般公共预算财政拨款支出决算表")
    c.showPage()
    c.save()


def build_inputs(folder) -> dict[str, str]:
    """{report_id: file name} of every bad input and two good reports."""
    good = (SAMPLES / f"{GOOD}.pdf").read_bytes()
    rng = random.Random(9)
    (folder / "good.pdf").write_bytes(good)
    (folder / "zero.pdf").write_bytes(b"")
    (folder / "truncated.pdf").write_bytes(good[: len(good) // 2])
    (folder / "random.pdf").write_bytes(rng.randbytes(5000) + CANARY.encode() + rng.randbytes(5000))
    (folder / "random-header.pdf").write_bytes(
        b"%PDF-1.4\n" + rng.randbytes(3000) + f"({CANARY})".encode() + b"\n%%EOF\n")
    (folder / "error.pdf").write_text(f"<html><body>404 页面不存在 {CANARY}</body></html>")
    _encrypted_pdf(folder / "password.pdf")
    shutil.copy(SAMPLES / "sanming-12345-2024-budget-scanned.pdf", folder / "scan.pdf")
    write_table_pdf(folder / "unknown.pdf",
                    [("某某中心物资盘点统计表", [["项目", "数量"], ["桌椅", "12.00"], ["电脑", "3.00"]])])
    write_table_pdf(folder / "badnumber.pdf", [("公开05表 一般公共预算财政拨款支出决算表", [
        HEADER,
        ["201", "一般公共服务支出", "100.00", "60.00", "40.00"],
        ["20103", "政府办公厅（室）及相关机构事务", "100.00", "6O.0O", "40.00"],
        ["2010301", "行政运行", "100.00", "60.00", "40.00"],
        ["合计", "", "100.00", "60.00", "40.00"],
    ])])
    (folder / "big.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024) + b"\n%%EOF\n")
    files = {"good": "good.pdf", "zero-byte": "zero.pdf", "truncated": "truncated.pdf",
             "random-bytes": "random.pdf", "random-after-header": "random-header.pdf",
             "error-page": "error.pdf", "password": "password.pdf", "image-only": "scan.pdf",
             "unknown-layout": "unknown.pdf", "bad-number": "badnumber.pdf", "too-big": "big.pdf",
             "missing": "missing.pdf", "pin-mismatch": "good.pdf", "refused-scheme": "file:///etc/passwd"}
    lines = ["reports:"]
    for rid, url in files.items():
        kind = "budget" if rid in ("good", "image-only", "pin-mismatch") else "final_accounts"
        pin = ", sha256: '" + "0" * 64 + "'" if rid == "pin-mismatch" else ""
        lines.append(f"  - {{report_id: {rid}, entity_name: 测试中心, region_code: '350400',"
                     f" fiscal_year: 2024, report_kind: {kind}, scope: unit, url: '{url}'{pin}}}")
    (folder / "registry.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    build_inputs(folder)
    mp = pytest.MonkeyPatch()
    mp.setenv("HOTLINE_MAX_MB", "5")
    try:
        summary = run_pipeline(folder / "registry.yaml", folder / "warehouse")
    finally:
        mp.undo()
    return folder / "warehouse", {o.entry.report_id: o for o in summary.outcomes}, summary


EXPECTED = {  # report_id: (status, words the reason must contain)
    "good": ("published", None),
    "zero-byte": ("rejected", "not a PDF: an empty response (0 bytes)"),
    "truncated": ("rejected", "truncated PDF"),
    "random-bytes": ("rejected", "bytes of binary data"),
    "random-after-header": ("rejected", "cannot open PDF"),
    "error-page": ("rejected", "not a PDF: an HTML page"),
    "password": ("rejected", "password-protected"),
    "image-only": ("needs_ocr", "needs OCR"),
    "unknown-layout": ("rejected", "layout not understood"),
    "too-big": ("rejected", "larger than the size cap of 5 MB"),
    "missing": ("rejected", "cannot read"),
    "pin-mismatch": ("rejected", "does not match the registry pin"),
    "refused-scheme": ("rejected", "url scheme 'file:' is refused"),
}


@pytest.mark.parametrize("report_id", sorted(EXPECTED))
def test_each_bad_input_has_its_outcome(bad_run, report_id):
    _, outcomes, _ = bad_run
    status, words = EXPECTED[report_id]
    report = outcomes[report_id].result.report
    assert report["status"] == status, report.get("status_reason")
    if words:
        assert words in report["status_reason"], report["status_reason"]
        assert "\n" not in report["status_reason"]


def test_unparseable_number_is_a_quality_issue_not_a_crash(bad_run):
    _, outcomes, _ = bad_run
    o = outcomes["bad-number"]
    assert o.status == "published"
    issues = [q for q in o.result.quality_issues if q["kind"] == "unmapped_cell"]
    assert issues and any("6O.0O" in q["detail"] for q in issues), o.result.quality_issues
    kept = {(li["code"], li["measure"]) for li in o.result.line_items}
    assert ("20103", "basic") not in kept and ("20103", "total") in kept


def test_no_byte_of_a_rejected_input_is_published(bad_run):
    warehouse, _, summary = bad_run
    con = duckdb.connect(str(warehouse / "hotline_budgets.duckdb"), read_only=True)
    try:
        reasons = con.execute(
            "SELECT string_agg(coalesce(status_reason, ''), '|') FROM reports").fetchone()[0]
        published = {r for (r,) in con.execute("SELECT DISTINCT report_id FROM line_items").fetchall()}
        n_reports = con.execute("SELECT count(*) FROM reports").fetchone()[0]
    finally:
        con.close()
    assert CANARY not in reasons
    assert CANARY not in (warehouse / "run_summary.json").read_text(encoding="utf-8")
    assert published == {"good", "bad-number"}
    assert n_reports == len(summary.outcomes), "every report is listed, marked"
    pinned = hashlib.sha256((SAMPLES / f"{GOOD}.pdf").read_bytes()).hexdigest()
    archived = {p.stem for p in (warehouse / "raw").rglob("*.pdf")}
    assert pinned in archived and len(archived) <= 6, "only whole PDFs are archived"
    assert not list((warehouse / "raw").rglob("*.tmp"))


def test_run_summary_and_exit_code(bad_run):
    warehouse, _, summary = bad_run
    data = json.loads((warehouse / "run_summary.json").read_text(encoding="utf-8"))
    assert data["exit_code"] == 3 == summary.exit_code
    by_id = {r["report_id"]: r for r in data["reports"]}
    assert by_id["zero-byte"]["stage"] == "fetch" and by_id["good"]["status"] == "published"
    assert [y["action"] for y in data["years"]] == ["rewritten"]
