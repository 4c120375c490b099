"""The source registry (REGISTRY.md): which reports to process and where they live."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from hotline_budgets.paths import data_dir

SAMPLE_REGISTRY = data_dir("samples") / "registry.yaml"
_ID = re.compile(r"^[a-z0-9_-]+$")
_REQUIRED = ("report_id", "entity_name", "region_code", "fiscal_year", "report_kind", "scope", "url")


class RegistryError(ValueError):
    """The registry itself is unusable: the run cannot happen."""


@dataclass(frozen=True)
class RegistryEntry:
    report_id: str
    entity_name: str
    region_code: str
    fiscal_year: int
    report_kind: str
    scope: str
    url: str
    base_dir: Path  # relative urls resolve against the registry file's folder
    sha256: str | None = None


def _entry(raw: dict, index: int, base_dir: Path) -> RegistryEntry:
    where = f"entry {index + 1}"
    missing = [k for k in _REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise RegistryError(f"{where}: missing {', '.join(missing)}")
    rid = str(raw["report_id"])
    if not _ID.match(rid):
        raise RegistryError(f"{where}: report_id {rid!r} must match [a-z0-9_-]+")
    region = str(raw["region_code"])
    if not re.fullmatch(r"\d{6}", region):
        raise RegistryError(f"{rid}: region_code {region!r} must be 6 digits (quote it in YAML)")
    if raw["report_kind"] not in ("budget", "final_accounts"):
        raise RegistryError(f"{rid}: report_kind must be budget or final_accounts")
    if raw["scope"] not in ("unit", "department"):
        raise RegistryError(f"{rid}: scope must be unit or department")
    try:
        year = int(raw["fiscal_year"])
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"{rid}: fiscal_year {raw['fiscal_year']!r} is not a year") from exc
    pin = raw.get("sha256")
    if pin is not None and not re.fullmatch(r"[0-9a-f]{64}", str(pin)):
        raise RegistryError(f"{rid}: sha256 pin must be 64 lowercase hex digits")
    return RegistryEntry(
        report_id=rid,
        entity_name=str(raw["entity_name"]),
        region_code=region,
        fiscal_year=year,
        report_kind=raw["report_kind"],
        scope=raw["scope"],
        url=str(raw["url"]),
        base_dir=base_dir,
        sha256=str(pin) if pin else None,
    )


def load_registry(path: Path) -> list[RegistryEntry]:
    """Parse and validate a registry file; raises RegistryError with a one-line reason."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RegistryError(f"registry not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise RegistryError(f"registry {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("reports"), list):
        raise RegistryError(f"registry {path} must have a top-level 'reports' list")
    entries = [_entry(raw, i, path.resolve().parent) for i, raw in enumerate(data["reports"])]
    ids = [e.report_id for e in entries]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise RegistryError(f"registry {path}: duplicate report_id {', '.join(dupes)}")
    return entries
