"""Skipping reports that have not changed since the last run.

A report's extraction is reused only when the source bytes (sha256), its registry entry, the
extraction code and rules, and the classification catalog are all the same as when it was made.
Changing any of them — a new catalog version, say, or a corrected fiscal_year in the registry —
makes the report stale, so it is extracted and validated again on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from hotline_budgets.paths import package_dir
from hotline_budgets.registry import RegistryEntry
from hotline_budgets.schema import SCHEMA_FILE
from hotline_budgets.statements import declaration_file
from hotline_budgets.transform.report import ReportResult

VERSIONED = ("extract", "transform")


@cache
def extractor_version() -> str:
    """Hash of every source and rules file that decides what a report extracts to."""
    return folders_digest({folder: package_dir(folder) for folder in VERSIONED}, declarations())


def settling_files() -> list[Path]:
    """load/ files that decide which values a report publishes: OCR readings are settled by the
    identities before the result is cached (load/ocr_repair.py)."""
    return [package_dir("load") / "ocr_repair.py", package_dir("load") / "identities.sql"]


def declarations() -> list[Path]:
    """The declarations rows are shaped by: the published schema and the statements (and the
    load/ files that settle OCR readings)."""
    return [SCHEMA_FILE, declaration_file(), *settling_files()]


def folders_digest(folders: dict[str, Path], files: Sequence[Path] = ()) -> str:
    """Hash of the code and rules files (.py, .yaml, .csv) under each named folder, and of
    ``files``: the same files give the same hash wherever they are installed; any edit changes it."""
    digest = hashlib.sha256()
    for folder, root in folders.items():
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".yaml", ".csv") and "__pycache__" not in path.parts:
                digest.update(f"{folder}/{path.relative_to(root).as_posix()}".encode())
                digest.update(path.read_bytes())
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def entry_fingerprint(entry: RegistryEntry) -> str:
    """Hash of the registry fields that end up in the published rows or steer the extraction."""
    fields = (entry.report_id, entry.entity_name, entry.region_code, str(entry.fiscal_year),
              entry.report_kind, entry.scope, entry.url)
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:12]


def cache_path(cache_dir: Path, report_id: str) -> Path:
    return cache_dir / f"{report_id}.json"


def _encode(value):
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    raise TypeError(type(value))


def _decode(obj: dict):
    if "$decimal" in obj:
        return Decimal(obj["$decimal"])
    if "$datetime" in obj:
        return datetime.fromisoformat(obj["$datetime"])
    return obj


def save_result(cache_dir: Path, entry: RegistryEntry, sha256: str, result: ReportResult) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "sha256": sha256,
        "entry": entry_fingerprint(entry),
        "extractor_version": extractor_version(),
        "catalog_version": result.report.get("catalog_version"),
        "result": result.__dict__,
    }
    path = cache_path(cache_dir, result.report["report_id"])
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, default=_encode, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def load_result(cache_dir: Path, entry: RegistryEntry, sha256: str,
                catalog_version: str) -> ReportResult | None:
    """The cached result when nothing it depends on changed; None when it is stale or missing."""
    path = cache_path(cache_dir, entry.report_id)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"), object_hook=_decode)
    except (OSError, ValueError):
        return None
    wanted = (sha256, entry_fingerprint(entry), extractor_version(), catalog_version)
    if tuple(payload.get(k) for k in ("sha256", "entry", "extractor_version",
                                      "catalog_version")) != wanted:
        return None
    return ReportResult(**payload["result"])
