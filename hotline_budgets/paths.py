"""Where the pipeline's bundled data lives, installed or in a source checkout.

Data that belongs to one stage (titles, labels, rules, catalogs, SQL) sits beside its code and
is found from the module. The folders shared by several stages — ``expectations`` (the suites)
and ``samples`` (the bundled reports and registries) — are package data in a wheel and
top-level folders in a checkout; ``data_dir`` finds them in either.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The bundled data folder ``name``: inside the installed package, else in the checkout."""
    inside = Path(str(files("hotline_budgets") / name))
    if inside.is_dir():
        return inside
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"bundled data folder {name!r} is missing from the installation")


def package_dir(stage: str) -> Path:
    """The folder of a stage package (extract, transform, …), wherever it is installed."""
    import importlib

    module = importlib.import_module(f"hotline_budgets.{stage}")
    return Path(module.__file__).resolve().parent


def default_warehouse() -> Path:
    """``./warehouse`` of the working directory: never inside site-packages."""
    return Path.cwd() / "warehouse"
