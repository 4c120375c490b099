"""The open-data release built from a real run of the flow: layout, checksums, datapackage,
descriptions inside the files, the diff against a previous release, licences."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from hotline_budgets.load.release import TEMPLATES
from hotline_budgets.schema import data_dictionary_rows, load_schema, load_views, render_data_dictionary

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DUCKDB_SPELLING = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}  # how duckdb_columns() names it


def test_layout_and_latest(releases):
    root, first, second = releases
    assert (root / "latest").resolve() == second.directory.resolve()
    assert (root / "LATEST").read_text().strip() == "2026-01-02"
    d = second.directory
    for path in ("README.md", "LICENSE", "LICENSE-DATA.md", "datapackage.json", "SHA256SUMS",
                 "index.html", "data_dictionary.md", "data_dictionary.csv", "diff.md", "diff.json",
                 "quality/data_docs/index.html", "all/hotline_budgets.duckdb",
                 "2026/hotline_budgets_2026.duckdb", "2024/datapackage.json"):
        assert (d / path).is_file(), path
    for name in [*load_schema(), *load_views()]:
        assert (d / "all" / "csv" / f"{name}.csv").is_file()
        assert (d / "2024" / "csv" / f"{name}.csv").is_file()
    for name in load_schema():
        assert (d / "all" / f"{name}.parquet").is_file()
    assert first.years == [2024] and second.years == [2024, 2026]
    assert not list(root.glob(".*")), "no staging folder is left behind"


def test_sha256sum_verifies_every_file(releases):
    _, _, second = releases
    d = second.directory
    listed = {line.split("  ", 1)[1] for line in (d / "SHA256SUMS").read_text().splitlines()}
    on_disk = {p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert listed == on_disk
    done = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=d, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_datapackages_are_valid_frictionless(releases, tmp_path):
    from frictionless import Package

    _, _, second = releases
    for path in (second.directory / "datapackage.json", second.directory / "2026" / "datapackage.json"):
        report = Package(str(path)).validate()
        assert report.valid, report.flatten(["resourcePath", "rowNumber", "fieldName", "type", "note"])[:10]
    package = json.loads((second.directory / "datapackage.json").read_text())
    assert package["licenses"][0]["name"] == "CC-BY-4.0"
    fields = {f["name"]: f for r in package["resources"] if r["name"] == "line_items"
              for f in r["schema"]["fields"]}
    assert fields["amount_wan"]["description"] == load_schema()["line_items"].columns[7].description
    # a changed byte is caught: the package says the file's size and hash
    broken = tmp_path / "pkg"
    shutil.copytree(second.directory / "2026", broken)
    csv_path = broken / "csv" / "line_items.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b"624.000000", b"625.000000", 1))
    assert not Package(str(broken / "datapackage.json")).validate().valid


def test_csv_has_bom_and_round_trips(releases):
    _, _, second = releases
    raw = (second.directory / "all" / "csv" / "reports.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with (second.directory / "all" / "csv" / "line_items.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == pq.read_metadata(second.directory / "all" / "line_items.parquet").num_rows
    assert any("一般公共服务" in r["item_name"] for r in rows)


def test_descriptions_are_inside_parquet_and_duckdb(releases):
    _, _, second = releases
    schema, views = load_schema(), load_views()
    for name, table in schema.items():
        arrow = pq.read_schema(second.directory / "2024" / f"{name}.parquet")
        assert arrow.metadata[b"description"].decode() == table.description
        for col in table.columns:
            assert arrow.field(col.name).metadata[b"description"].decode() == col.description
    con = duckdb.connect(str(second.directory / "all" / "hotline_budgets.duckdb"), read_only=True)
    try:
        comments = {(t, c): (dt, cm) for t, c, dt, cm in con.execute(
            "SELECT table_name, column_name, data_type, comment FROM duckdb_columns()").fetchall()}
        objects = {name: cm for name, cm in con.execute(
            "SELECT table_name, comment FROM duckdb_tables() UNION ALL "
            "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall()}
    finally:
        con.close()
    for name, obj in {**schema, **views}.items():
        assert objects[name] == obj.description
        declared = [(c.name, DUCKDB_SPELLING.get(c.duckdb_type(), c.duckdb_type()), c.description)
                    for c in obj.columns]
        actual = [(c, *comments[(name, c)]) for c, *_ in declared]
        assert actual == declared, f"{name} drifted from schema.yaml"
    undeclared = set(objects) - set(schema) - set(views)
    assert not undeclared, f"views without a declaration in schema.yaml: {undeclared}"


def test_dictionary_files_are_generated(releases):
    _, _, second = releases
    markdown = (second.directory / "data_dictionary.md").read_text(encoding="utf-8")
    assert markdown == render_data_dictionary() + "\n"
    with (second.directory / "data_dictionary.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert list(csv.DictReader(fh)) == data_dictionary_rows()


def test_diff_against_previous_release(releases):
    _, first, second = releases
    assert first.previous_id is None and second.previous_id == "2026-01-01"
    diff = second.diff
    assert diff["reports_by_change"]["added"] == ["haikou-12345-2026-budget"]
    assert diff["reports_by_change"]["removed"] == ["sanming-12345-2024-budget-scanned"]
    assert diff["reports_by_change"]["gone_stale"] == ["liuzhou-12345-2024-final_accounts"]
    changed = [c for c in diff["line_item_changes"] if c["change"] == "changed"]
    assert len(changed) == 1 and changed[0]["code"] == "2013150"
    assert changed[0]["current_wan"] - changed[0]["previous_wan"] == Decimal("1")
    added = [c for c in diff["line_item_changes"] if c["change"] == "added"]
    assert {c["report_id"] for c in added} == {"haikou-12345-2026-budget"}
    rows = {(r["table"], r["fiscal_year"]): r for r in diff["rows"]}
    assert rows[("line_items", 2026)]["previous"] == 0 and rows[("line_items", 2026)]["current"] == 35
    assert rows[("reports", 2024)]["change"] == -1
    text = (second.directory / "diff.md").read_text(encoding="utf-8")
    assert "gone stale: liuzhou-12345-2024-final_accounts" in text


def test_readme_and_licences_in_release(releases):
    _, _, second = releases
    readme = (second.directory / "README.md").read_text(encoding="utf-8")
    for needed in ("万元", "CC BY 4.0", "How to cite", "SELECT", "source_sha256", "2026-01-02"):
        assert needed in readme
    licence = (second.directory / "LICENSE-DATA.md").read_text(encoding="utf-8")
    assert "remain the publishing governments'" in licence
    for name in ("LICENSE", "LICENSE-DATA.md"):
        assert (PROJECT_ROOT / name).read_text() == (TEMPLATES / name).read_text(), (
            f"{name} at the repository root differs from load/release_templates/{name}")


def test_cli_release_without_data_is_one_line(tmp_path, capsys):
    from hotline_budgets.cli import main

    assert main(["release", "--warehouse", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hotline-budgets: error: no published data") and "\n" not in err


def test_coverage_never_drops_an_unreadable_report(tmp_path):
    """A needs_ocr report whose kind no other report shows statements for still has a row."""
    from hotline_budgets.load.release import write_duckdb

    schema = load_schema()
    tables = {name: t.to_arrow([]) for name, t in schema.items()}
    tables["reports"] = schema["reports"].to_arrow([schema["reports"].row(
        report_id="scan", fiscal_year=2025, report_kind="final_accounts", scope="unit",
        entity_name="单位", region_code="000000", source_url="scan.pdf", status="needs_ocr",
        status_reason="needs OCR")])
    write_duckdb(tables, tmp_path / "one.duckdb")
    con = duckdb.connect(str(tmp_path / "one.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT report_id, statement, coverage, report_status FROM coverage").fetchall()
        assert rows == [("scan", None, "missing", "needs_ocr")]
        assert con.execute("SELECT spending_wan, basis FROM total_spending").fetchall() == [(None, "none")]
    finally:
        con.close()
