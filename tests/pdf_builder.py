"""Small ruled-table PDFs built with reportlab for tests (real PDFs through real pdfplumber)."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import PageBreak, SimpleDocTemplate, Table, TableStyle

FONT = "STSong-Light"


def _table_story(tables: list[tuple[str, list[list[str]]]]) -> list:
    """One page per (title, rows): the title as text above a fully ruled table."""
    story = []
    for i, (title, rows) in enumerate(tables):
        if i:
            story.append(PageBreak())
        heading = Table([[title]])
        heading.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 12)]))
        body = Table(rows)
        body.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 9),
                                  ("GRID", (0, 0), (-1, -1), 0.5, "black")]))
        story += [heading, body]
    return story


def write_table_pdf(path: Path, tables: list[tuple[str, list[list[str]]]]) -> Path:
    """One page per (title, rows): the title as text above a fully ruled table."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    story = _table_story(tables)
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    return path


def write_report_pdf(path: Path, tables: list[tuple[str, list[list[str]]]],
                     text_pages: list[list[str]]) -> Path:
    """Ruled statement tables (as :func:`write_table_pdf`), then pages of plain text lines
    (a cover, the explanation text), all in one PDF."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    style = ParagraphStyle("cn", fontName=FONT, fontSize=10, leading=14, wordWrap="CJK")
    story = _table_story(tables)
    for lines in text_pages:
        story.append(PageBreak())
        story += [Paragraph(line, style) for line in lines]
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    return path
