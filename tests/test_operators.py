"""The command line as an operator meets it: exit codes, one-line errors, progress, the run
summary, the no-op night, the nightly deployment."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

from conftest import PROJECT_ROOT, SAMPLES

from hotline_budgets.cli import DEFAULT_CRON, build_deployment, main


def _cli(*args, cwd=None) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, "-m", "hotline_budgets.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_year_without_entries_says_so(capsys, tmp_path):
    assert main(["run", "--year", "1999", "--warehouse", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no registry entry has fiscal_year 1999 (the registry has 2024, 2026)" in err
    assert "\n" not in err and not (tmp_path / "w").exists()


def test_warehouse_that_is_a_file_is_one_line(capsys, tmp_path):
    (tmp_path / "f").write_text("x")
    assert main(["run", "--warehouse", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"hotline-budgets: error: --warehouse {tmp_path / 'f'} is a file, not a folder"


def test_score_fails_on_missing_or_empty_gold(capsys, tmp_path):
    wh = tmp_path / "w"
    wh.mkdir()
    (wh / "hotline_budgets.duckdb").write_bytes(b"")
    assert main(["score", str(tmp_path / "nope"), "--warehouse", str(wh)]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "gold").mkdir()
    assert main(["score", str(tmp_path / "gold"), "--warehouse", str(wh)]) == 2
    assert "no gold files" in capsys.readouterr().err
    (tmp_path / "gold" / "r1").mkdir()
    (tmp_path / "gold" / "r1" / "gold.csv").write_text(
        "statement,classification,code,item,measure,amount_wan,method\n")
    assert main(["score", str(tmp_path / "gold"), "--warehouse", str(wh)]) == 2
    assert "has no rows" in capsys.readouterr().err


def test_deployment_has_the_nightly_schedule(tmp_path):
    dep = build_deployment(SAMPLES / "registry.yaml", tmp_path, name="nightly")
    assert dep.name == "nightly" and dep.flow_name == "hotline-budgets"
    (schedule,) = dep.schedules
    assert schedule.schedule.cron == DEFAULT_CRON == "30 2 * * *"
    assert schedule.schedule.timezone == "Asia/Shanghai"
    assert dep.parameters["warehouse"] == str(tmp_path.resolve())


def test_a_night_through_the_command_line(tmp_path):
    """First run under Prefect with a bad report: exit 3, progress with a count, one line per
    report with its reason, no traceback or Prefect error line; then a no-op night."""
    shutil.copy(SAMPLES / "haikou-12345-2026-budget.pdf", tmp_path / "good.pdf")
    (tmp_path / "bad.pdf").write_text("<html>error</html>")
    (tmp_path / "registry.yaml").write_text(
        "reports:\n"
        "  - {report_id: good, entity_name: 测试中心, region_code: '460100', fiscal_year: 2026,"
        " report_kind: budget, scope: unit, url: good.pdf}\n"
        "  - {report_id: bad, entity_name: 测试中心, region_code: '460100', fiscal_year: 2026,"
        " report_kind: budget, scope: unit, url: bad.pdf}\n", encoding="utf-8")
    args = ("run", "--registry", str(tmp_path / "registry.yaml"), "--warehouse", str(tmp_path / "w"))
    first = _cli(*args)
    assert first.returncode == 3, first.stderr
    # progress comes in the order reports finish (workers run side by side), counted to 2
    assert re.search(r"^\[[12]/2\] good: published", first.stderr, re.M), first.stderr
    assert re.search(r"^\[[12]/2\] bad: rejected", first.stderr, re.M), first.stderr
    assert "Traceback" not in first.stderr and "ERROR" not in first.stderr
    lines = {line.split()[0]: line for line in first.stdout.splitlines() if line.startswith(("good", "bad"))}
    assert "not a PDF: an HTML page" in lines["bad"] and "published" in lines["good"]
    summary = json.loads((tmp_path / "w" / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["exit_code"] == 3 and {r["report_id"] for r in summary["reports"]} == {"good", "bad"}
    second = _cli(*args)
    assert second.returncode == 3
    assert "nothing changed since the last run" in second.stdout
    assert "Starting temporary server" not in second.stderr, "a no-op night never starts Prefect"
