"""Registry parsing: the bundled registry is valid and bad ones fail with one clear line."""

from __future__ import annotations

import pytest

from hotline_budgets.cli import main
from hotline_budgets.registry import SAMPLE_REGISTRY, RegistryError, load_registry


def test_sample_registry_lists_the_six_reports():
    entries = load_registry(SAMPLE_REGISTRY)
    assert len(entries) == 6
    assert all((e.base_dir / e.url).exists() for e in entries)


@pytest.mark.parametrize("body,message", [
    ("reports: 3", "top-level 'reports' list"),
    ("reports:\n  - report_id: Bad Id\n", "missing"),
    ("reports:\n  - {report_id: a, entity_name: x, region_code: 4502, fiscal_year: 2024,"
     " report_kind: budget, scope: unit, url: a.pdf}\n", "6 digits"),
    ("reports:\n  - {report_id: a, entity_name: x, region_code: '450200', fiscal_year: 2024,"
     " report_kind: plan, scope: unit, url: a.pdf}\n", "report_kind"),
])
def test_bad_registry_is_rejected(tmp_path, body, message):
    path = tmp_path / "r.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RegistryError, match=message):
        load_registry(path)


def test_cli_reports_a_bad_registry_in_one_line(tmp_path, capsys):
    path = tmp_path / "r.yaml"
    path.write_text("reports: 3", encoding="utf-8")
    assert main(["run", "--registry", str(path), "--warehouse", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hotline-budgets: error:") and "\n" not in err
