"""Same pages, same run: our table extraction against bare library loops and camelot.

    uv run python -m bench.readers [--registry R ...] [--gold DIR] [--camelot-reports K]

For every report of the registries (default: samples/real and samples/real2026) it times, one
process, one after another on the same PDF bytes:

- ``ours``      transform.report.read_pdf + key_tables (text layer, triage, tables → facts);
- ``tables``    a bare pdfplumber ``extract_tables()`` loop over every page;
- ``words``     a bare pdfplumber ``extract_words()`` loop over every page;
- ``pdfium``    every character with its box through pypdfium2 (the floor of any text reader);
- ``camelot``   camelot lattice over every page (optional group ``bench``; first K reports).

and prints pages/s per reader over the reports ours reads (a scan without text layer is left
out of every row) and ``it÷ours``, its time over ours on the same reports (> 1: ours is faster).
With ``--gold`` (a folder of <report_id>/gold.csv) it also prints an amount-level F1 per
reader: the non-zero amounts a reader finds in table cells against the gold's table amounts of
the same reports (a multiset; the same measure for every reader, so a reader that splits or
merges cells loses points).
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from hotline_budgets.paths import data_dir
from hotline_budgets.registry import RegistryEntry, load_registry

AMOUNT = re.compile(r"^-?\d{1,3}(?:,?\d{3})*\.\d{1,6}$")
DEFAULT_REGISTRIES = ("real/registry.yaml", "real2026/registry.yaml")


def _amounts(cells) -> Counter:
    out: Counter = Counter()
    for cell in cells:
        text = (cell or "").replace(" ", "").replace("\n", "")
        if AMOUNT.match(text):
            try:
                value = Decimal(text.replace(",", ""))
            except InvalidOperation:
                continue
            if value:
                out[value] += 1
    return out


def ours(path: Path, entry: RegistryEntry, catalog) -> tuple[int, Counter]:
    from hotline_budgets.transform.report import key_tables, read_pdf

    pdf = read_pdf(path.read_bytes())
    keyed = key_tables(entry, pdf.scan, catalog)
    return pdf.text.page_count, Counter(f.amount_wan for f in keyed.facts if f.amount_wan)


def bare_tables(path: Path, *_) -> tuple[int, Counter]:
    import pdfplumber

    found: Counter = Counter()
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            for table in page.extract_tables():
                found += _amounts(c for row in table for c in row)
            page.close()
        return len(pdf.pages), found


def bare_words(path: Path, *_) -> tuple[int, Counter]:
    import pdfplumber

    found: Counter = Counter()
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            found += _amounts(w["text"] for w in page.extract_words())
            page.close()
        return len(pdf.pages), found


def pdfium_chars(path: Path, *_) -> tuple[int, Counter]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    try:
        for page in doc:
            text = page.get_textpage()
            for i in range(text.count_chars()):
                text.get_charbox(i)
            text.get_text_range()
            text.close()
            page.close()
        return len(doc), Counter()
    finally:
        doc.close()


def camelot_lattice(path: Path, *_) -> tuple[int, Counter]:
    import camelot

    tables = camelot.read_pdf(str(path), pages="all", flavor="lattice")
    found: Counter = Counter()
    for t in tables:
        found += _amounts(c for row in t.df.values.tolist() for c in row)
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    try:
        return len(doc), found
    finally:
        doc.close()


READERS: dict[str, Callable] = {"ours": ours, "tables": bare_tables, "words": bare_words,
                                "pdfium": pdfium_chars, "camelot": camelot_lattice}


def gold_amounts(gold_dir: Path, report_id: str) -> Counter | None:
    path = gold_dir / report_id / "gold.csv"
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as fh:
        return Counter(Decimal(r["amount_wan"]) for r in csv.DictReader(fh)
                       if r["method"] == "table" and Decimal(r["amount_wan"]))


def f1(found: Counter, gold: Counter) -> tuple[float, float, float]:
    matched = sum((found & gold).values())
    p = matched / sum(found.values()) if found else 0.0
    r = matched / sum(gold.values()) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--registry", type=Path, action="append")
    ap.add_argument("--gold", type=Path, help="folder of <report_id>/gold.csv")
    ap.add_argument("--max-reports", type=int, default=0, help="only the first N reports (0: all)")
    ap.add_argument("--camelot-reports", type=int, default=3,
                    help="camelot on the first K reports only (it is slow); 0: skip")
    args = ap.parse_args()
    from hotline_budgets.transform.catalog import load_catalog

    catalog = load_catalog()
    registries = args.registry or [data_dir("samples") / r for r in DEFAULT_REGISTRIES]
    entries = [e for reg in registries for e in load_registry(reg)]
    entries = [e for e in entries if (e.base_dir / e.url).exists()]
    if args.max_reports:
        entries = entries[:args.max_reports]
    try:
        import camelot  # noqa: F401
        has_camelot = args.camelot_reports > 0
    except ImportError:
        has_camelot = False
        print("camelot: not installed (uv sync --group bench)")
    seconds: dict[str, dict[str, float]] = {name: {} for name in READERS}
    pages: dict[str, int] = {}
    found: dict[str, dict[str, Counter]] = {name: {} for name in READERS}
    for n, entry in enumerate(entries):
        path = entry.base_dir / entry.url
        for name, reader in READERS.items():
            if name == "camelot" and not (has_camelot and n < args.camelot_reports):
                continue
            t0 = time.perf_counter()
            try:
                count, amounts = reader(path, entry, catalog)
            except Exception as exc:  # a reader that cannot read a file: noted, not fatal
                print(f"{entry.report_id}: {name} failed: {type(exc).__name__}: {exc}"[:200])
                continue
            seconds[name][entry.report_id] = time.perf_counter() - t0
            pages.setdefault(entry.report_id, count)
            found[name][entry.report_id] = amounts
    print(f"reports {len(entries)}  pages {sum(pages.values())}")
    print(f"{'reader':8} {'reports':>7} {'pages':>6} {'seconds':>8} {'pages/s':>8} {'ms/page':>8}"
          f" {'it÷ours':>8}  {'med ms/page':>11}  F1(P/R) on gold")
    for name in READERS:
        rids = [r for r in seconds[name] if r in seconds["ours"]]  # the same pages as ours
        if not rids:
            continue
        secs = sum(seconds[name].values())
        pg = sum(pages[r] for r in rids)
        ours_secs = sum(seconds["ours"].get(r, 0.0) for r in rids)
        median = statistics.median(1000 * seconds[name][r] / max(pages[r], 1) for r in rids)
        line = (f"{name:8} {len(rids):7} {pg:6} {secs:8.2f} {pg / secs:8.1f} {1000 * secs / pg:8.1f}"
                f" {secs / ours_secs:8.2f}  {median:11.1f}")
        if args.gold and name != "pdfium":
            got, gold = Counter(), Counter()
            for r in rids:
                g = gold_amounts(args.gold, r)
                if g is not None:
                    gold += g
                    got += found[name][r]
            if gold:
                p, rc, f = f1(got, gold)
                line += f"  {f:.3f} ({p:.3f}/{rc:.3f})"
        print(line)


if __name__ == "__main__":
    main()
