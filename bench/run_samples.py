"""Benchmark: wall time and peak memory of the stages on the bundled samples.

Prints one line per figure. ``ms_per_page`` is the whole extraction (text layer, table
reading, keying) as the pipeline runs it: the word reader on the pages triage keeps, plus the
ruled-grid reading where a page draws a grid. For comparison on the same PDFs and the same
machine: ``old_ms_per_page`` is the previous reader (pdfplumber's ``lines`` table finder on
every page, ``extract/ruled.py``) and ``words_only_ms_per_page`` the word reader alone.
The whole-command time (including Prefect start-up) is measured from outside, e.g.
`/usr/bin/time -v uv run hotline-budgets run --warehouse /tmp/bench-wh`.
Usage: uv run python bench/run_samples.py [registry.yaml]
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from hotline_budgets.extract.pdf_text import open_pdf
from hotline_budgets.extract.ruled import scan_ruled
from hotline_budgets.extract.tables import scan_pages, triaged_pages
from hotline_budgets.registry import SAMPLE_REGISTRY, load_registry
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.report import read_pdf
from hotline_budgets.transform.table_facts import facts_from_table


def _readable(registry: Path) -> list[bytes]:
    out = []
    for entry in load_registry(registry):
        data = (entry.base_dir / entry.url).read_bytes()
        try:
            read_pdf(data)
        except Exception:
            continue  # a scan without text layer, a damaged file
        out.append(data)
    return out


def main() -> None:
    registry = Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_REGISTRY
    catalog = load_catalog()
    pdfs = _readable(registry)
    pages = 0
    started = time.perf_counter()
    for data in pdfs:
        pdf = read_pdf(data)  # opened once: text layer and tables from the same pages
        pages += pdf.text.page_count
        for table in pdf.scan.tables + pdf.scan.alternatives:
            facts_from_table(table, catalog)
    elapsed = time.perf_counter() - started

    started = time.perf_counter()
    for data in pdfs:
        with open_pdf(data) as pdf:
            texts = [p.extract_text() or "" for p in pdf.pages]
            scan = scan_pages(triaged_pages(pdf, texts))
        for table in scan.tables:
            facts_from_table(table, catalog)
    words_only = time.perf_counter() - started

    started = time.perf_counter()
    for data in pdfs:
        with open_pdf(data) as pdf:
            _ = [p.extract_text() or "" for p in pdf.pages]
            ruled = scan_ruled(pdf, set(range(1, len(pdf.pages) + 1)))
        for table in ruled:
            facts_from_table(table, catalog)
    old = time.perf_counter() - started

    print(f"pages_with_text {pages}")
    print(f"extract_seconds {elapsed:.2f}")
    print(f"ms_per_page {1000 * elapsed / pages:.1f}")
    print(f"words_only_ms_per_page {1000 * words_only / pages:.1f}")
    print(f"old_ms_per_page {1000 * old / pages:.1f}")
    print(f"peak_rss_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
