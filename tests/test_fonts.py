"""Text printed in a font the PDF does not embed: read when the machine has a font with its glyphs,
reported per page as ``unreadable_text`` when it has none (pdfium then drops those characters).

Liuzhou's report prints its Chinese in STSong-Light without embedding it. The "no fonts" case runs
in a subprocess whose pdfium is given no system fonts (``FPDF_SetSystemFontInfo(NULL)``), as on a
machine without a CJK font.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import SAMPLES

from hotline_budgets.registry import load_registry
from hotline_budgets.transform.report import read_pdf, unreadable_text_issues

REPORT = "liuzhou-12345-2024-final_accounts"

_WITHOUT_FONTS = f"""
import json, sys
import pypdfium2.raw as R
R.FPDF_SetSystemFontInfo(None)
from pathlib import Path
from hotline_budgets.registry import load_registry
from hotline_budgets.transform.report import read_pdf, unreadable_text_issues
entry = next(e for e in load_registry(Path(sys.argv[1]) / "registry.yaml") if e.report_id == {REPORT!r})
pdf = read_pdf((Path(sys.argv[1]) / {REPORT + ".pdf"!r}).read_bytes())
print(json.dumps([(i["page"], i["detail"]) for i in unreadable_text_issues(entry, pdf.layer_pages)]))
"""


def _issues_here() -> list[dict]:
    entry = next(e for e in load_registry(SAMPLES / "registry.yaml") if e.report_id == REPORT)
    pdf = read_pdf((SAMPLES / f"{REPORT}.pdf").read_bytes())
    return unreadable_text_issues(entry, pdf.layer_pages)


def test_text_in_a_font_not_embedded_is_read_with_a_cjk_font_installed():
    assert _issues_here() == [], ("install a CJK font (Debian: fonts-wqy-zenhei): pdfium drops "
                                  "Chinese printed in fonts the PDF does not embed")


def test_without_the_font_the_pages_missing_characters_are_reported():
    out = subprocess.run([sys.executable, "-c", _WITHOUT_FONTS, str(SAMPLES)], check=True,
                         capture_output=True, text=True).stdout
    issues = json.loads(out.strip().splitlines()[-1])
    pages = [page for page, _ in issues]
    assert pages == sorted(set(pages)) and len(pages) >= 1, issues
    assert {3, 5, 7, 10} <= set(pages), issues  # 附件 titles and table labels printed in STSong
    assert all("not embedded" in detail for _, detail in issues)
