"""The whole Prefect flow on the bundled samples: published files, statuses and gold scores."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import GOLD_DIR, TABLE_REPORTS, TEXT_REPORTS

from hotline_budgets.cli import main
from hotline_budgets.score import read_gold, read_published, score

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_every_year_is_published(flow_run):
    warehouse, _ = flow_run
    for year in (2024, 2026):
        for name in ("reports", "line_items", "statements", "checks", "quality_issues", "codes_seen"):
            assert (warehouse / str(year) / f"{name}.parquet").exists()
        assert (warehouse / str(year) / f"hotline_budgets_{year}.duckdb").exists()
    assert (warehouse / "hotline_budgets.duckdb").exists()
    assert not list(warehouse.rglob(".*.tmp")), "no temporary file is left behind"


def test_amounts_are_exact_decimals_everywhere(flow_run):
    warehouse, _ = flow_run
    field = pq.read_schema(warehouse / "2024" / "line_items.parquet").field("amount_wan")
    assert str(field.type) == "decimal128(20, 6)"
    con = duckdb.connect(str(warehouse / "hotline_budgets.duckdb"), read_only=True)
    try:
        kind = con.execute("SELECT typeof(amount_wan) FROM line_items LIMIT 1").fetchone()[0]
        assert kind == "DECIMAL(20,6)"
        assert con.execute("SELECT count(*) FROM line_items WHERE amount_wan = 0").fetchone()[0] == 0
    finally:
        con.close()


def test_report_statuses(flow_run):
    _, summary = flow_run
    status = {r.report["report_id"]: r.report["status"] for r in summary.results}
    assert set(status.values()) == {"published"}  # the scanned copy too: read by OCR (test_ocr.py)


@pytest.mark.parametrize("report_id", TABLE_REPORTS)
def test_table_facts_score_one(flow_run, report_id):
    warehouse, _ = flow_run
    gold = read_gold(GOLD_DIR)[report_id]
    got = {k: v for k, v in read_published(warehouse).items() if k[0] == report_id}
    assert score(gold, got, "table").f1 == 1.0


@pytest.mark.parametrize("report_id", TEXT_REPORTS)
def test_narrative_facts_score_one(flow_run, report_id):
    warehouse, _ = flow_run
    gold = read_gold(GOLD_DIR)[report_id]
    got = {k: v for k, v in read_published(warehouse).items() if k[0] == report_id}
    assert score(gold, got, "narrative").f1 == 1.0


def test_no_identity_fails_beyond_rounding_on_the_samples(flow_run):
    _, summary = flow_run
    failed = [c["check_id"] for c in summary.checks if c["status"] == "failed"]
    assert failed == []
    assert summary.expectation_failures == {}


def test_statement_coverage_is_recorded(flow_run):
    warehouse, _ = flow_run
    con = duckdb.connect(str(warehouse / "hotline_budgets.duckdb"), read_only=True)
    try:
        rows = dict(con.execute(
            "SELECT statement, presence FROM statements"
            " WHERE report_id = 'liuzhou-12345-2024-final_accounts'").fetchall())
        parse = con.execute(
            "SELECT statement, unmapped_cells, checks_evaluated, checks_failed FROM statements"
            " WHERE presence = 'table'").fetchall()
    finally:
        con.close()
    assert rows["gov_fund"] == "empty" and rows["soe_capital"] == "empty"
    assert rows["expenditure"] == "table" and rows["execution"] == "narrative_only"
    assert parse and all(u == 0 and f == 0 for _, u, _, f in parse), "every table parsed cleanly"
    assert sum(n for _, _, n, _ in parse) > 100, "identities were counted per statement"


def test_score_command_prints_f1_last(flow_run, capsys):
    warehouse, _ = flow_run
    assert main(["score", str(GOLD_DIR), "--warehouse", str(warehouse)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("F1 ") and 0.0 < float(last.split()[1]) <= 1.0


README = PROJECT_ROOT / "README.md"


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_sql_examples_run_on_the_published_database(flow_run):
    warehouse, _ = flow_run
    con = duckdb.connect(str(warehouse / "hotline_budgets.duckdb"), read_only=True)
    try:
        for query in readme_blocks("sql"):
            con.execute(query).fetchall()
        cofog = next(q for q in readme_blocks("sql") if "spending_by_cofog" in q)
        result = con.execute(cofog)
        names = [d[0] for d in result.description]
        rows = [dict(zip(names, r, strict=True)) for r in result.fetchall()]
        by_report = dict(con.execute(
            "SELECT report_id, sum(amount_wan) FROM spending_by_cofog GROUP BY ALL").fetchall())
        classes = dict(con.execute(
            "SELECT report_id, sum(amount_wan) FROM line_items WHERE statement ="
            " 'general_budget_expenditure' AND measure = 'total' AND length(code) = 3"
            " GROUP BY ALL").fetchall())
    finally:
        con.close()
    liuzhou = {r["cofog_division"]: r["amount_wan"] for r in rows
               if r["entity_name"] == "柳州市12345政务服务热线管理中心"}
    assert set(liuzhou) == {"01", "07", "10"} and all(liuzhou.values())
    for report_id, total in classes.items():  # every class amount lands in exactly one division
        assert by_report[report_id] == total, report_id


def test_readme_commands_parse(capsys):
    """Every `hotline-budgets …` line of the README is accepted by the command line parser."""
    from hotline_budgets.cli import build_parser

    parser = build_parser()
    lines = [re.split(r"[#>|]", line)[0].split()
             for block in readme_blocks("sh") for line in block.splitlines()]
    commands = [words[3:] for words in lines if words[:3] == ["uv", "run", "hotline-budgets"]]
    assert len(commands) >= 5
    for args in commands:
        parsed = parser.parse_args(args)
        if getattr(parsed, "registry", None) is not None:
            assert (PROJECT_ROOT / parsed.registry).exists() or parsed.registry.name == "my_registry.yaml"


def test_second_run_reuses_unchanged_reports(flow_run, tmp_path):
    """The same bytes, code and catalog are not extracted again (on a copy of the warehouse, so
    the shared run stays as it was)."""
    from hotline_budgets.flows.pipeline import pipeline_flow
    from hotline_budgets.registry import SAMPLE_REGISTRY

    shared, first = flow_run
    warehouse = tmp_path / "warehouse"
    shutil.copytree(shared, warehouse)
    second = pipeline_flow(registry=SAMPLE_REGISTRY, warehouse=warehouse, years=[2024])
    reused = {r.report["report_id"]: r.report["is_cached"] for r in second.results
              if r.report["status"] == "published"}
    assert reused and all(reused.values())
    before = {r.report["report_id"]: r.line_items for r in first.results}
    for res in second.results:
        assert res.line_items == before[res.report["report_id"]]
    assert (warehouse / "2026" / "reports.parquet").exists(), "--year leaves other years in place"


def test_every_report_passes_the_per_report_gate(flow_run):
    from hotline_budgets.load.rows import validate_report_rows

    _, summary = flow_run
    assert {r.report["report_id"]: validate_report_rows(r) for r in summary.results
            if validate_report_rows(r)} == {}
