"""Benchmark: wall time and peak memory of the stages on the bundled samples.

Prints one line per figure. The whole-command time (including Prefect start-up) is measured from
outside, e.g. `/usr/bin/time -v uv run hotline-budgets run --warehouse /tmp/bench-wh`.
"""

from __future__ import annotations

import resource
import time

from hotline_budgets.registry import SAMPLE_REGISTRY, load_registry
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.report import read_pdf
from hotline_budgets.transform.table_facts import facts_from_table


def main() -> None:
    catalog = load_catalog()
    pages = 0
    started = time.perf_counter()
    for entry in load_registry(SAMPLE_REGISTRY):
        data = (entry.base_dir / entry.url).read_bytes()
        try:
            pdf = read_pdf(data)  # opened once: text layer and tables from the same pages
        except Exception:
            continue
        pages += pdf.text.page_count
        for table in pdf.scan.tables:
            facts_from_table(table, catalog)
    elapsed = time.perf_counter() - started
    print(f"pages_with_text {pages}")
    print(f"extract_seconds {elapsed:.2f}")
    print(f"ms_per_page {1000 * elapsed / pages:.1f}")
    print(f"peak_rss_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
