"""Per-report budgets: a pathological PDF is stopped and reported, the next report goes on."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from conftest import SAMPLES

from hotline_budgets.extract.fetch import fetch_report
from hotline_budgets.flows.isolation import Budget, ExtractionStopped, Extractor
from hotline_budgets.flows.nightly import RunContext, process_entry
from hotline_budgets.registry import RegistryEntry
from hotline_budgets.transform.catalog import load_catalog


def bomb_pdf(path: Path, megabytes: int) -> Path:
    """A one-page PDF whose content stream inflates to ``megabytes`` MB (a decompression bomb)."""
    comp = zlib.compressobj(9)
    chunk = b"0 0 m " * 10000
    parts = [comp.compress(chunk) for _ in range(megabytes * 1024 * 1024 // len(chunk))]
    stream = b"".join(parts) + comp.flush()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def entry(rid: str, url: str, base: Path, kind: str = "final_accounts") -> RegistryEntry:
    return RegistryEntry(rid, "测试中心", "450200", 2024, kind, "unit", url, base)


def test_wall_clock_budget_stops_a_slow_report_and_the_worker_goes_on(tmp_path):
    slow = entry("slow", "liuzhou-12345-2024-final_accounts.pdf", SAMPLES)
    quick = entry("quick", "haikou-12345-2026-budget.pdf", SAMPLES, "budget")
    with Extractor(Budget(seconds=0.3, memory_mb=2048)) as extractor:
        with pytest.raises(ExtractionStopped, match=r"stopped after 0.3 s \(the wall-clock budget"):
            extractor.run(slow, fetch_report(slow, tmp_path))
        extractor.budget = Budget(seconds=120)
        result = extractor.run(quick, fetch_report(quick, tmp_path))
    assert result.report["status"] == "published" and result.line_items


def test_memory_budget_stops_a_decompression_bomb(tmp_path):
    bomb = entry("bomb", "bomb.pdf", tmp_path)
    bomb_pdf(tmp_path / "bomb.pdf", 300)
    ctx = RunContext(tmp_path / "warehouse", load_catalog(), {}, budget=Budget(seconds=120, memory_mb=150))
    try:
        outcome = process_entry(bomb, ctx)
        good = process_entry(entry("good", "liuzhou-12345-2024-final_accounts.pdf", SAMPLES), ctx)
    finally:
        ctx.close()
    assert outcome.status == "rejected"
    assert "over the memory budget per report" in outcome.reason, outcome.reason
    assert good.status == "published", "the night goes on"
