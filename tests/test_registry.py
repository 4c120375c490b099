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


GOOD_FIELDS = ("report_id: a\n    entity_name: x\n    region_code: '450200'\n    fiscal_year: 2024\n"
               "    report_kind: budget\n    scope: unit\n    url: a.pdf\n")


@pytest.mark.parametrize("body,message", [
    ("reports:\n  - " + GOOD_FIELDS + "    sha265: " + "0" * 64 + "\n",
     r"r.yaml:9: entry 1 \(a\): field 'sha265': unknown key"),
    ("reports:\n  - " + GOOD_FIELDS + "    url: b.pdf\n",
     r"r.yaml:9: key 'url' is given twice \(first on line 8\)"),
    ("reports:\n  - " + GOOD_FIELDS + "  - " + GOOD_FIELDS,
     r"r.yaml:9: entry 2: duplicate report_id 'a' \(also entry 1\)"),
    ("reports:\n  - " + GOOD_FIELDS.replace("    url: a.pdf\n", ""),
     r"r.yaml:2: entry 1 \(a\): missing field 'url'"),
    ("reports:\n  - {report_id: a, url: [\n", r"r.yaml:\d+: not valid YAML"),
    ("reports:\n  - " + GOOD_FIELDS.replace("2024", "'twenty'"), r"r.yaml:5: .*field 'fiscal_year'"),
    ("reports: []\nextra: 1\n", r"r.yaml:2: unknown top-level key 'extra'"),
])
def test_registry_errors_name_file_line_and_field(tmp_path, body, message):
    path = tmp_path / "r.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RegistryError, match=message):
        load_registry(path)
    assert main(["run", "--registry", str(path), "--warehouse", str(tmp_path / "w")]) == 2
    assert not (tmp_path / "w").exists(), "the whole run refuses before anything is written"
