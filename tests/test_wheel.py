"""The built wheel installs into a fresh venv and runs the bundled samples from any directory.

No network: the wheel is built with the cached build backend (``uv build --offline``) and
installed without dependencies; the fresh venv reaches the project's already installed
dependencies through one ``.pth`` line (a path entry: the project's own editable ``.pth`` in
that folder is not processed, so the checkout never leaks onto ``sys.path``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STAGES = ("extract", "transform", "load", "flows")
UV = shutil.which("uv")

pytestmark = pytest.mark.skipif(UV is None, reason="uv builds and installs the wheel")


def _run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The venv's bin folder after installing the freshly built wheel."""
    out = tmp_path_factory.mktemp("dist")
    _run([UV, "build", "--wheel", "--offline", "--quiet", "--out-dir", str(out)], PROJECT_ROOT)
    wheel = next(out.glob("hotline_budgets-*.whl"))
    venv = tmp_path_factory.mktemp("venv")
    _run([UV, "venv", "--offline", "--quiet", "--python", sys.executable, str(venv)], out)
    python = venv / "bin" / "python"
    _run([UV, "pip", "install", "--offline", "--quiet", "--no-deps", "--python", str(python),
          str(wheel)], out)
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     out).stdout.strip())
    (site / "_project_deps.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    return venv / "bin"


def test_wheel_has_no_generic_top_level_package(installed):
    site = next((installed.parent / "lib").glob("python3*/site-packages"))
    assert not [s for s in STAGES + ("expectations", "samples") if (site / s).exists()]
    (record,) = site.glob("hotline_budgets-*.dist-info/RECORD")
    tops = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}
    assert tops - {"..", record.parent.name} == {"hotline_budgets"}, tops  # ".." = bin/ scripts
    for data in ("expectations/line_items.json", "samples/registry.yaml", "schema.yaml",
                 "statements.yaml", "transform/catalogs/function_codes.csv",
                 "transform/narrative_rules.yaml", "extract/statement_titles.yaml",
                 "extract/narrative_layout.yaml", "load/identities.sql", "load/views.sql"):
        assert (site / "hotline_budgets" / data).is_file(), data


def test_installed_command_runs_the_samples_from_any_directory(installed, tmp_path):
    env = os.environ | {"PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PYTHONPATH", None)
    where = _run([str(installed / "python"), "-c",
                  "import importlib.util, hotline_budgets.extract as e;"
                  " print(e.__file__); print(importlib.util.find_spec('extract'))"], tmp_path, env)
    module_file, top_level = where.stdout.split()
    assert Path(module_file).is_relative_to(installed.parent) and top_level == "None"

    done = _run([str(installed / "hotline-budgets"), "run", "--year", "2026"], tmp_path, env)
    assert "haikou-12345-2026-budget" in done.stdout and "published" in done.stdout
    warehouse = tmp_path / "warehouse"
    assert (warehouse / "2026" / "line_items.parquet").is_file()
    assert (warehouse / "hotline_budgets.duckdb").is_file()
    assert not list(installed.parent.rglob("warehouse")), "nothing is written into the venv"

    scored = _run([str(installed / "hotline-budgets"), "score",
                   str(PROJECT_ROOT / "tests" / "fixtures" / "gold")], tmp_path, env)
    assert scored.stdout.strip().splitlines()[-1].startswith("F1 ")

