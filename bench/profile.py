"""Where a report's time goes: process_report (what an extraction worker runs) under cProfile.

    uv run python -m bench.profile [--registry R ...] [--top N]

Reads every report of the registries (default: samples/real + samples/real2026) one after
another in this process, as an extraction worker does, and prints the time by part of the code
(own time of the functions of each part: pdfium through ctypes, our text layer, pdfplumber's
word and table algorithms, our readers, transform, …) and the top functions by own time. The
target of issue 13 (60 pages/s on 2 cores) leaves 33 ms per page per core for everything.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from hotline_budgets.paths import data_dir
from hotline_budgets.registry import load_registry

DEFAULT_REGISTRIES = ("real/registry.yaml", "real2026/registry.yaml")

# (part, substring of the function's file) in order: the first that matches names the part
PARTS = (
    ("pdfium (ctypes calls)", "pypdfium2"),
    ("text layer (extract/layer.py)", "extract/layer.py"),
    ("pdfplumber words/tables", "pdfplumber"),
    ("table readers (extract/ruled, grid, tables, words)", "extract/"),
    ("OCR", "rapidocr"),
    ("transform (keying, narrative, conform)", "transform/"),
    ("checks and rows (load/)", "load/"),
    ("other hotline_budgets", "hotline_budgets"),
    ("Python built-ins", "~"),
)


def part_of(filename: str) -> str:
    name = filename.replace("\\", "/")
    for part, marker in PARTS:
        if marker in name:
            return part
    return "other libraries" if "site-packages" in name else "Python stdlib"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--registry", type=Path, action="append")
    ap.add_argument("--top", type=int, default=15, help="functions listed by own time")
    args = ap.parse_args()

    from hotline_budgets.extract.fetch import fetch_report
    from hotline_budgets.transform.catalog import load_catalog
    from hotline_budgets.transform.report import process_report

    registries = args.registry or [data_dir("samples") / r for r in DEFAULT_REGISTRIES]
    entries = [e for r in registries for e in load_registry(r)]
    catalog = load_catalog()
    archive = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    fetched = [(e, fetch_report(e, archive)) for e in entries]
    profile = cProfile.Profile()
    pages = 0
    t0 = time.perf_counter()
    profile.enable()
    for entry, report in fetched:
        result = process_report(entry, report, catalog)
        pages += int(result.report.get("page_count") or 0)
    profile.disable()
    wall = time.perf_counter() - t0

    stats = pstats.Stats(profile)
    by_part: dict[str, float] = defaultdict(float)
    rows = []
    for (filename, line, func), (_, _, own, _cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_part[part_of(filename)] += own
        rows.append((own, f"{Path(filename).name}:{line} {func}"))
    total = sum(by_part.values())
    print(f"reports {len(entries)}  pages {pages}  {wall:.1f} s under cProfile"
          f"  ({1000 * wall / max(pages, 1):.1f} ms/page; cProfile adds its own cost)")
    print(f"{'part':52} {'own s':>7} {'share':>6} {'ms/page':>8}")
    for part, own in sorted(by_part.items(), key=lambda kv: -kv[1]):
        print(f"{part:52} {own:7.1f} {100 * own / total:5.0f}% {1000 * own / max(pages, 1):8.1f}")
    print(f"\ntop {args.top} functions by own time")
    for own, name in sorted(rows, reverse=True)[: args.top]:
        print(f"{own:7.2f} s  {name}")


if __name__ == "__main__":
    main()
