"""hotline-budgets: budgets and final accounts of China's budget units as an open dataset.

The stage packages (``extract``, ``transform``, ``load``, ``flows``) and the data the pipeline
reads (``expectations``, ``samples``) sit at the top of the source repository, where a newcomer
sees the data flow at a glance. In a wheel they are installed *inside* this package (see
``[tool.hatch.build.targets.wheel.force-include]`` in pyproject.toml), so nothing generic such
as ``extract`` lands at the top of site-packages. In a source checkout the checkout's root is
added to this package's ``__path__``: ``hotline_budgets.extract`` then names the top-level
``extract/`` folder, and the same imports work in both layouts.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_DIR = _PACKAGE_DIR.parent

if not (_PACKAGE_DIR / "extract").is_dir() and (_CHECKOUT_DIR / "extract" / "__init__.py").is_file():
    __path__.append(str(_CHECKOUT_DIR))  # noqa: F821 (the package's own __path__)
