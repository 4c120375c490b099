"""The stages import in one direction: extract → transform → load → flows, never back.

extract/ knows no meaning (it never imports transform/, load/ or flows/), transform/ never
imports load/ or flows/, and nothing imports the stage folders as top-level packages: they are
``hotline_budgets.extract`` and so on, the names an installed wheel provides.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STAGES = ("extract", "transform", "load", "flows")
FORBIDDEN = {"extract": {"transform", "load", "flows"}, "transform": {"load", "flows"}}
SOURCE_DIRS = ("hotline_budgets", *STAGES, "tests", "bench")


def imported_modules(path: Path) -> list[str]:
    """Every module an import statement of ``path`` names (relative imports made absolute)."""
    parts = list(path.relative_to(PROJECT_ROOT).parent.parts)
    package = parts if parts[:1] == ["hotline_budgets"] else ["hotline_budgets", *parts]
    return modules_in(path.read_text(encoding="utf-8"), package)


def modules_in(source: str, package: list[str]) -> list[str]:
    """The modules the import statements of ``source`` (a module of ``package``) name."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.append(".".join(base + ([node.module] if node.module else [])))
            else:
                found.append(node.module or "")
    return found


def sources(*folders: str) -> list[Path]:
    return [p for f in folders for p in sorted((PROJECT_ROOT / f).rglob("*.py"))
            if ".venv" not in p.parts]


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "hotline_budgets" and len(parts) > 1 and parts[1] in STAGES else None


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_a_stage_never_imports_a_later_one(stage):
    bad = [f"{p.relative_to(PROJECT_ROOT)} imports {m}" for p in sources(stage)
           for m in imported_modules(p) if stage_of(m) in FORBIDDEN[stage]]
    assert bad == []


def test_the_core_imports_no_stage():
    commands = {"cli.py", "score.py"}  # the command line sits on top of every stage
    bad = [f"{p.name} imports {m}" for p in sources("hotline_budgets") if p.name not in commands
           for m in imported_modules(p) if stage_of(m)]
    assert bad == []


def test_no_module_imports_a_stage_as_a_top_level_package():
    bad = [f"{p.relative_to(PROJECT_ROOT)} imports {m}" for p in sources(*SOURCE_DIRS)
           for m in imported_modules(p) if m.split(".")[0] in STAGES]
    assert bad == []


def test_the_checker_sees_forbidden_imports():
    """The rule is not vacuous: absolute, relative and top-level imports are all recognised."""
    source = ("from hotline_budgets.transform import catalog\nfrom ..load import publish\n"
              "import flows.pipeline\n")
    modules = modules_in(source, ["hotline_budgets", "extract"])
    assert modules == ["hotline_budgets.transform", "hotline_budgets.load", "flows.pipeline"]
    assert [stage_of(m) for m in modules] == ["transform", "load", None]
