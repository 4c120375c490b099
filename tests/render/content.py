"""What a report prints, independent of how it is drawn: the renderer's input.

A report is its explanation text (paragraphs) and its statement tables (caption, unit, header
paths per column, body rows of printed strings). Stored as JSON under tests/fixtures/render/.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class StatementContent:
    title: str  # the caption line as printed
    unit: str
    header: list[list[str]]  # per column, header texts from top to bottom
    rows: list[list[str]]  # printed strings; equal adjacent labels are one merged cell
    empty_note: str = ""  # a note printed under an empty statement (本表无数据)


@dataclass
class ReportContent:
    report_id: str
    entity_name: str
    region_code: str
    fiscal_year: int
    report_kind: str
    scope: str
    narrative: list[str] = field(default_factory=list)
    statements: list[StatementContent] = field(default_factory=list)

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> ReportContent:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["statements"] = [StatementContent(**s) for s in raw["statements"]]
        return cls(**raw)


CONTENT_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "render"


def corpus_contents() -> list[ReportContent]:
    return [ReportContent.load(p) for p in sorted(CONTENT_DIR.glob("*.json"))]
