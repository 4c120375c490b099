"""Benchmark: what OCR costs, per page and for the whole bundled sample set.

Prints one line per figure: for every sample report its pages, the pages that needed OCR and
its processing wall time (text layer or OCR, tables, text facts, repairs); then OCR cost per page
(render, deskew/denoise/rules, engine) and the whole-sample wall time. With ``--scans`` it also
times our own scans (tests/scans.py) of one typed report at 150 and 300 dpi; with
``--variants`` it scans the other corpus reports whole (the tests' styles) and scores them.

    uv run python bench/ocr.py [--scans] [--variants]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from hotline_budgets.extract.fetch import FetchedReport
from hotline_budgets.extract.pdf_text import read_page_texts
from hotline_budgets.load.ocr_repair import confirm_repairs
from hotline_budgets.registry import SAMPLE_REGISTRY, load_registry
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.report import process_report

ROOT = Path(__file__).resolve().parents[1]


def _fetched(path: Path, data: bytes) -> FetchedReport:
    return FetchedReport(url=path.name, sha256=hashlib.sha256(data).hexdigest(),
                         size_bytes=len(data), fetched_at=datetime.now(UTC), archive_path=path,
                         was_new=True)


def _page_costs(stats: list) -> str:
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    total = [s.render_ms + s.prep_ms + s.ocr_ms for s in stats]
    return (f"pages {len(stats)}  ms/page median {med(total):.0f} mean "
            f"{(sum(total) / len(total)) if total else 0:.0f} max {max(total, default=0):.0f}  "
            f"(render {med([s.render_ms for s in stats]):.0f}, prep "
            f"{med([s.prep_ms for s in stats]):.0f}, engine {med([s.ocr_ms for s in stats]):.0f})")


def bench_samples() -> None:
    catalog = load_catalog()
    all_stats = []
    started = time.perf_counter()
    for entry in load_registry(SAMPLE_REGISTRY):
        path = entry.base_dir / entry.url
        data = path.read_bytes()
        t0 = time.perf_counter()
        text = read_page_texts(data)
        t1 = time.perf_counter()
        result = process_report(entry, _fetched(path, data), catalog)  # OCR memoised: tables+text
        confirm_repairs(result)
        t2 = time.perf_counter()
        all_stats += text.ocr_stats
        print(f"{entry.report_id:<42} pages {text.page_count:>3} ocr_pages {len(text.ocr_pages):>3}"
              f" read_s {t1 - t0:7.2f} rest_s {t2 - t1:6.2f} status {result.report['status']}"
              f" items {len(result.line_items)}")
    wall = time.perf_counter() - started
    print(f"ocr_cost {_page_costs(all_stats)}")
    print(f"whole_sample_wall_s {wall:.1f}")


def bench_scans() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from scans import ScanStyle, scan_pdf  # noqa: E402  (a test helper, not part of the package)

    typed = (ROOT / "samples" / "liuzhou-12345-2024-final_accounts.pdf").read_bytes()
    for dpi in (150, 300):
        pdf = scan_pdf(typed, ScanStyle(dpi=dpi, angle_deg=1.0), pages=[3, 4, 5, 6])
        with tempfile.TemporaryDirectory():
            t0 = time.perf_counter()
            text = read_page_texts(pdf)
            print(f"scan_{dpi}dpi wall_s {time.perf_counter() - t0:.1f} {_page_costs(text.ocr_stats)}"
                  f" skew {[s.skew_deg for s in text.ocr_stats]}"
                  f" denoised {sum(s.denoised for s in text.ocr_stats)}")


def bench_variants() -> None:
    """Whole-report scans of the other corpus reports (tests' styles), F1 against their gold."""
    from decimal import Decimal

    sys.path.insert(0, str(ROOT / "tests"))
    from scans import scan_pdf  # noqa: E402
    from test_ocr import VARIANTS  # noqa: E402

    from hotline_budgets.score import read_gold, reader, score

    catalog = load_catalog()
    entries = {e.report_id: e for e in load_registry(SAMPLE_REGISTRY)}
    gold_all = read_gold(ROOT / "tests" / "fixtures" / "gold")
    for report_id, (style, _pages) in VARIANTS.items():
        entry = entries[report_id]
        pdf = scan_pdf((entry.base_dir / entry.url).read_bytes(), style, seed=7)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{report_id}.pdf"
            path.write_bytes(pdf)
            t0 = time.perf_counter()
            result = process_report(entry, _fetched(path, pdf), catalog)
            confirm_repairs(result)
            wall = time.perf_counter() - t0
        got = {(report_id, li["statement"], li["classification"], li["code"] or "", li["item"] or "",
                li["measure"]): (Decimal(li["amount_wan"]), reader(li["method"], li["source_text"]))
               for li in result.line_items}
        s = score(gold_all[report_id], got)
        print(f"variant {report_id} {style.label} pages {result.report.get('page_count')} "
              f"wall_s {wall:.0f} gold {s.gold} got {s.got} matched {s.matched} F1 {s.f1:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", action="store_true", help="also time generated 150/300 dpi scans")
    parser.add_argument("--variants", action="store_true",
                        help="also score whole-report scans of the other corpus reports (slow)")
    args = parser.parse_args()
    bench_samples()
    if args.scans:
        bench_scans()
    if args.variants:
        bench_variants()


if __name__ == "__main__":
    main()
