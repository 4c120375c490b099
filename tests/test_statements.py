"""Statements are declared once (hotline_budgets/statements.yaml) and every stage reads it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from hotline_budgets.extract.tables import TITLES_FILE
from hotline_budgets.load.checks import load_identity_queries
from hotline_budgets.schema import load_schema
from hotline_budgets.statements import (
    ENV_VAR,
    STATEMENTS_FILE,
    all_measures,
    expected_statements,
    load_statements,
)
from hotline_budgets.transform.narrative_facts import load_rules

TESTS = Path(__file__).resolve().parent
MADE_UP = TESTS / "fixtures" / "statements" / "made_up_statement.yaml"


def test_schema_vocabularies_come_from_the_declaration():
    columns = {c.name: c for c in load_schema()["line_items"].columns}
    assert columns["statement"].values == tuple(load_statements())
    assert columns["measure"].values == tuple(all_measures())
    assert expected_statements("budget")[-1] == "three_public"
    assert "execution" in expected_statements("final_accounts")
    assert "general_budget_economic" not in expected_statements("final_accounts")


def test_every_rule_file_names_declared_statements_and_identities():
    declared = set(load_statements())
    titles = yaml.safe_load(TITLES_FILE.read_text(encoding="utf-8"))["statements"]
    assert set(titles) <= declared
    rules = load_rules()
    assert set(rules.statements) <= declared
    assert {s for s, _ in rules.sections if s} <= declared
    families = {f for s in load_statements().values() for f in s.identities}
    assert families == set(load_identity_queries()), "every identity is declared and exists"


def test_every_gold_row_is_a_declared_measure_and_item_of_its_statement():
    specs = load_statements()
    bad = []
    for gold in sorted((TESTS / "fixtures").glob("*/*/gold.csv")):
        with gold.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                spec = specs[row["statement"]]
                if row["measure"] not in spec.measures or (row["item"] and row["item"] not in spec.items):
                    bad.append((gold.parent.name, row["statement"], row["item"], row["measure"]))
    assert bad == []


PROBE = r"""
import json, sys
from pathlib import Path

sys.path.insert(0, sys.argv[2])
from pdf_builder import write_table_pdf

from hotline_budgets.extract.fetch import fetch_report
from hotline_budgets.load.checks import evaluate_identities
from hotline_budgets.load.validate import build_suite, validate_table
from hotline_budgets.registry import RegistryEntry
from hotline_budgets.schema import load_schema
from hotline_budgets.transform.catalog import load_catalog
from hotline_budgets.transform.report import process_report

folder = Path(sys.argv[1])
write_table_pdf(folder / "made_up.pdf", [("公开11表 热线专项支出预算表", [
    ["科目编码", "科目名称", "合计", "基本支出", "项目支出"],
    ["201", "一般公共服务支出", "30.00", "10.00", "20.00"],
    ["20103", "政府办公厅（室）及相关机构事务", "30.00", "10.00", "20.00"],
    ["2010301", "行政运行", "30.00", "10.00", "20.00"],
    ["合计", "", "30.00", "10.00", "20.00"],
])])
entry = RegistryEntry("made-up", "测试中心", "450200", 2024, "budget", "unit", "made_up.pdf", folder)
result = process_report(entry, fetch_report(entry, folder / "raw"), load_catalog())
line_items = load_schema()["line_items"]
table = line_items.to_arrow(result.line_items)
print(json.dumps({
    "status": result.report["status"],
    "items": sorted([li["statement"], li["code"] or li["item"], li["measure"], str(li["amount_wan"])]
                    for li in result.line_items),
    "presence": {s["statement"]: s["presence"] for s in result.statements},
    "checks": sorted([c["check_id"], c["status"]] for c in evaluate_identities(table)),
    "suite_failures": validate_table("line_items", table, build_suite(line_items)),
    "issues": [i["kind"] for i in result.quality_issues],
}, ensure_ascii=False))
"""


def test_a_made_up_statement_needs_only_its_declaration(tmp_path):
    """Append the made-up entry to the declaration; the real code then finds its table, keys its
    cells, lists it for budgets, accepts it in the schema and suites and checks its identities."""
    declaration = yaml.safe_load(STATEMENTS_FILE.read_text(encoding="utf-8"))
    declaration["statements"] |= yaml.safe_load(MADE_UP.read_text(encoding="utf-8"))
    path = tmp_path / "statements.yaml"
    path.write_text(yaml.safe_dump(declaration, allow_unicode=True), encoding="utf-8")
    assert "hotline_special" not in load_statements(), "the bundled declaration does not have it"

    env = os.environ | {ENV_VAR: str(path)}
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), str(TESTS)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["status"] == "published"
    assert got["presence"]["hotline_special"] == "table"
    assert got["presence"]["summary"] == "absent"
    special = [row for row in got["items"] if row[0] == "hotline_special"]
    assert ["hotline_special", "2010301", "project", "20.00"] in special
    assert ["hotline_special", "grand_total", "total", "30.00"] in special
    assert len(special) == 12
    checks = dict(got["checks"])
    assert checks["hier:hotline_special:201:total"] == "exact"
    assert checks["gt:hotline_special:function:total"] == "exact"
    assert checks["split:hotline_special:2010301:total"] == "exact"
    assert got["suite_failures"] == [] and "unmapped_cell" not in got["issues"]
