"""The source registry (REGISTRY.md): which reports to process and where they live.

A registry that is wrong in any way refuses the whole run, with the file, the line and the field
named: a typo (``sha265:``) must never silently drop a pin, and a key given twice must never
silently keep one of its values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from hotline_budgets.paths import data_dir

SAMPLE_REGISTRY = data_dir("samples") / "registry.yaml"
_ID = re.compile(r"^[a-z0-9_-]+$")
_REQUIRED = ("report_id", "entity_name", "region_code", "fiscal_year", "report_kind", "scope", "url")
_OPTIONAL = ("sha256",)


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


class _Mapping(dict):
    """A YAML mapping that remembers the line of each key (1-based) and of itself."""

    line: int = 0
    key_lines: dict[str, int]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and records where every key was written."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    out = _Mapping()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in out:
            raise RegistryError(f"{line}: key {key!r} is given twice"
                                f" (first on line {out.key_lines[key]})")
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = line
    return out


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _entry(raw: dict, index: int, base_dir: Path, where_file: str) -> RegistryEntry:
    line = getattr(raw, "line", 0)
    rid_hint = raw.get("report_id") if isinstance(raw, dict) else None
    where = f"{where_file}:{line}: entry {index + 1}" + (f" ({rid_hint})" if rid_hint else "")
    if not isinstance(raw, dict):
        raise RegistryError(f"{where}: an entry must be a mapping of fields")

    def fail(field: str, message: str) -> RegistryError:
        at = getattr(raw, "key_lines", {}).get(field, line)
        return RegistryError(f"{where_file}:{at}: entry {index + 1}"
                             + (f" ({rid_hint})" if rid_hint else "") + f": field {field!r}: {message}")

    unknown = [k for k in raw if k not in _REQUIRED + _OPTIONAL]
    if unknown:
        allowed = ", ".join(_REQUIRED + _OPTIONAL)
        raise fail(str(unknown[0]), f"unknown key (allowed: {allowed})")
    missing = [k for k in _REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise RegistryError(f"{where}: missing field {', '.join(repr(m) for m in missing)}")
    rid = str(raw["report_id"])
    if not _ID.match(rid):
        raise fail("report_id", f"{rid!r} must match [a-z0-9_-]+")
    region = str(raw["region_code"])
    if not re.fullmatch(r"\d{6}", region):
        raise fail("region_code", f"{region!r} must be 6 digits (quote it in YAML)")
    if raw["report_kind"] not in ("budget", "final_accounts"):
        raise fail("report_kind", "must be budget or final_accounts")
    if raw["scope"] not in ("unit", "department"):
        raise fail("scope", "must be unit or department")
    year = raw["fiscal_year"]
    if isinstance(year, bool) or not re.fullmatch(r"(19|20)\d\d", str(year)):
        raise fail("fiscal_year", f"{year!r} is not a year")
    pin = raw.get("sha256")
    if pin is not None and not re.fullmatch(r"[0-9a-f]{64}", str(pin)):
        raise fail("sha256", "a pin must be 64 lowercase hex digits")
    return RegistryEntry(
        report_id=rid,
        entity_name=str(raw["entity_name"]),
        region_code=region,
        fiscal_year=int(year),
        report_kind=raw["report_kind"],
        scope=raw["scope"],
        url=str(raw["url"]),
        base_dir=base_dir,
        sha256=str(pin) if pin else None,
    )


def load_registry(path: Path) -> list[RegistryEntry]:
    """Parse and validate a registry file; raises RegistryError with a one-line reason."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RegistryError(f"registry not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"registry {path} cannot be read: {type(exc).__name__}") from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except RegistryError as exc:
        raise RegistryError(f"{path}:{exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise RegistryError(f"{path}{at}: not valid YAML: {problem}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("reports"), list):
        raise RegistryError(f"registry {path} must have a top-level 'reports' list")
    extra = [k for k in data if k != "reports"]
    if extra:
        raise RegistryError(f"{path}:{data.key_lines[extra[0]]}: unknown top-level key {extra[0]!r}")
    base = path.resolve().parent
    entries = [_entry(raw, i, base, str(path)) for i, raw in enumerate(data["reports"])]
    first: dict[str, int] = {}
    for i, (raw, e) in enumerate(zip(data["reports"], entries, strict=True)):
        if e.report_id in first:
            raise RegistryError(f"{path}:{raw.line}: entry {i + 1}: duplicate report_id"
                                f" {e.report_id!r} (also entry {first[e.report_id] + 1})")
        first[e.report_id] = i
    return entries
