"""Text that overflows its ruled cell (Excel prints a label wider than its cell across the rules
beside it): the ruled reader gives it to the cell it is centred in, and keeps an amount it runs
into in the amount's own cell. Built with reportlab: a real PDF through the real reader."""

from __future__ import annotations

from pathlib import Path

from pdfplumber.table import Table, TableFinder, TableSettings
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from hotline_budgets.extract.layer import PdfLayer
from hotline_budgets.extract.ruled import RULED_TABLE_SETTINGS, _CharsOnly, cell_texts
from hotline_budgets.extract.words import text_layer_page

FONT = "STSong-Light"
COLS = [40.0, 150.0, 200.0, 270.0, 340.0]  # four ruled columns
ROWS = [700.0, 680.0, 660.0, 640.0]  # three ruled rows (PDF y, growing upwards)


def _overflow_pdf(path: Path) -> Path:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    c = canvas.Canvas(str(path), pagesize=(380, 742))
    c.setLineWidth(0.5)
    for x in COLS:
        c.line(x, ROWS[0], x, ROWS[-1])
    for y in ROWS:
        c.line(COLS[0], y, COLS[-1], y)
    c.setFont(FONT, 9)
    # header: a label wider than its cell, centred in it, over the rules on both sides
    c.drawString(45, 686, "项目")
    c.drawCentredString(235, 686, "政府预算支出经济科目（按大类）")
    # a name running over the rule into the amount beside it (their chars interleave), the
    # amount right-aligned in its cell
    c.drawString(45, 666, "西安市人工影响天气服务保障中心")
    c.drawRightString(197, 666, "1839311.66")
    c.drawRightString(335, 666, "12.50")
    # two cells' texts a hair apart across a rule: two cells, not one overflow
    c.drawString(96, 646, "公务用车购置")
    c.drawString(150.9, 646, "运行维护")
    c.drawRightString(335, 646, "3.00")
    c.showPage()
    c.save()
    return path


def _grid(pdf: PdfLayer) -> list[list[str | None]]:
    page = pdf.page(1)
    settings = TableSettings.resolve(RULED_TABLE_SETTINGS)
    (found,) = TableFinder(page, settings).tables
    table = Table(_CharsOnly(page.chars_in(found.bbox)), found.cells)
    return cell_texts(table, table.page.chars)


def test_overflowing_labels_belong_to_the_cell_they_are_centred_in(tmp_path):
    with PdfLayer(_overflow_pdf(tmp_path / "overflow.pdf").read_bytes()) as pdf:
        grid = _grid(pdf)
        plain = pdf.page(1)
        settings = TableSettings.resolve(RULED_TABLE_SETTINGS)
        (found,) = TableFinder(plain, settings).tables
        cut = Table(_CharsOnly(plain.chars_in(found.bbox)), found.cells).extract(x_tolerance=1.5)
    header, name_row, near_row = ([(t or "").replace("\n", "") for t in row] for row in grid)
    # pdfplumber alone cuts the header at the rules
    assert cut[0][2] != "政府预算支出经济科目（按大类）"
    assert header == ["项目", "", "政府预算支出经济科目（按大类）", ""]
    assert cut[1][0] != "西安市人工影响天气服务保障中心"
    assert name_row == ["西安市人工影响天气服务保障中心", "1839311.66", "", "12.50"]
    assert near_row == ["公务用车购置", "运行维护", "", "3.00"]


def test_the_word_reader_splits_an_amount_off_an_overflowing_name(tmp_path):
    with PdfLayer(_overflow_pdf(tmp_path / "overflow.pdf").read_bytes()) as pdf:
        words = [w.text for w in text_layer_page(pdf.page(1), 1).words]
    assert "1839311.66" in words
    assert not any("1839311.66" in w and w != "1839311.66" for w in words)
