"""Write tests/fixtures/render/<report>.json from the bundled corpus (run once, by hand).

The tables are what the sample PDFs print (read by the project's reader and verified against
gold: the corpus scores 1.000), the explanation text is the corpus seed text. Usage:

    uv run python tests/render/make_content.py /path/to/shared/corpus /path/to/shared/seeds
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hotline_budgets.extract.tables import scan_tables

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from render.content import CONTENT_DIR, ReportContent, StatementContent  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
EMPTY_NOTE = "注：本单位本年度无此项收支，故本表无数据。"


def build(corpus: Path, seeds: Path, report_id: str) -> ReportContent:
    meta = json.loads((corpus / report_id / "meta.json").read_text(encoding="utf-8"))
    text = (seeds / meta["seed_file"]).read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.splitlines() if p.strip()]
    scan = scan_tables((SAMPLES / f"{report_id}.pdf").read_bytes())
    best = {}
    for t in scan.tables:
        if t.statement not in best or len(t.rows) > len(best[t.statement].rows):
            best[t.statement] = t
    statements = [
        StatementContent(title=t.title_line.strip(), unit=t.source_unit,
                         header=t.column_paths, rows=[list(r) for _, r in t.rows],
                         empty_note=EMPTY_NOTE if t.printed_empty else "")
        for t in sorted(best.values(), key=lambda t: t.pages[0])
    ]
    return ReportContent(
        report_id=report_id, entity_name=meta["entity_name"], region_code=meta["region_code"],
        fiscal_year=meta["fiscal_year"], report_kind=meta["report_kind"], scope=meta["scope"],
        narrative=paragraphs, statements=statements)


def main() -> None:
    corpus, seeds = Path(sys.argv[1]), Path(sys.argv[2])
    CONTENT_DIR.mkdir(parents=True, exist_ok=True)
    for d in sorted(corpus.iterdir()):
        if (d / "meta.json").exists() and "scanned" not in d.name:
            build(corpus, seeds, d.name).dump(CONTENT_DIR / f"{d.name}.json")
            print(d.name)


if __name__ == "__main__":
    main()
