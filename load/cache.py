"""Skipping reports that have not changed since the last run.

A report's processed rows (extraction, identities, schema conformance) are reused only when the
source bytes (sha256), its registry entry, the code and rules that turn bytes into rows, and the
classification catalog are all the same as when they were made. Together they form the report's
*cache key*; one file per key is kept under ``extracted/<report_id>/<key>.json``, so the last
good version of a report survives a night whose bytes fail (it is what a ``stale`` report keeps
publishing).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from hotline_budgets.paths import data_dir, package_dir
from hotline_budgets.registry import RegistryEntry
from hotline_budgets.schema import SCHEMA_FILE
from hotline_budgets.statements import declaration_file
from hotline_budgets.transform.report import ReportResult

VERSIONED = ("extract", "transform", "load")


@cache
def extractor_version() -> str:
    """Hash of every source and rules file that decides what a report extracts to."""
    return folders_digest({folder: package_dir(folder) for folder in VERSIONED}, declarations())


def settling_files() -> list[Path]:
    """load/ files that decide which values a report publishes: OCR readings are settled by the
    identities before the result is cached (load/ocr_repair.py)."""
    return [package_dir("load") / "ocr_repair.py", package_dir("load") / "identities.sql"]


def declarations() -> list[Path]:
    """The declarations rows are shaped by: the published schema, the statements, the stored
    expectation suites (and the load/ files that settle OCR readings)."""
    return [SCHEMA_FILE, declaration_file(), *sorted(data_dir("expectations").glob("*.json")),
            *settling_files()]


def folders_digest(folders: dict[str, Path], files: Sequence[Path] = ()) -> str:
    """Hash of the code and rules files (.py, .yaml, .csv) under each named folder, and of
    ``files``: the same files give the same hash wherever they are installed; any edit changes it."""
    digest = hashlib.sha256()
    for folder, root in folders.items():
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".yaml", ".csv", ".sql") and "__pycache__" not in path.parts:
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


def cache_key(entry: RegistryEntry, sha256: str, catalog_version: str) -> str:
    """Everything a report's rows depend on, in one short hash."""
    parts = (sha256, entry_fingerprint(entry), extractor_version(), catalog_version)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def cache_path(cache_dir: Path, report_id: str, key: str) -> Path:
    return cache_dir / report_id / f"{key}.json"


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


@dataclass(frozen=True)
class RowCounts:
    """What a run summary says of a report's rows, without the rows: a summary of thousands of
    reports (and an unchanged night) never loads them."""

    line_items: int = 0
    table_items: int = 0  # read from a table (the rest from the text)
    quality_issues: int = 0
    notes: dict[str, list] = field(default_factory=dict)  # kind → [count, first page, first detail]
    consistency_findings: int = 0
    identities: dict[str, int] = field(default_factory=dict)  # check status → count


def count_rows(result: ReportResult, checks: list[dict]) -> RowCounts:
    """The counts of one report's rows (``reader`` decides whether an item is a table one)."""
    from hotline_budgets.score import reader

    notes: dict[str, list] = {}
    for q in result.quality_issues:
        if q.get("kind") in notes:
            notes[q.get("kind")][0] += 1
        else:
            notes[q.get("kind")] = [1, q.get("page"), q.get("detail") or ""]
    return RowCounts(
        line_items=len(result.line_items),
        table_items=sum(1 for li in result.line_items
                        if reader(li.get("method"), li.get("source_text")) == "table"),
        quality_issues=len(result.quality_issues), notes=dict(sorted(notes.items())),
        consistency_findings=sum(1 for c in result.consistency_checks if c.get("verdict") != "pass"),
        identities=dict(sorted(Counter(c.get("status") for c in checks).items())))


def head_path(cache_dir: Path, report_id: str, key: str) -> Path:
    return cache_dir / report_id / f"{key}.head.json"


def _write_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, default=_encode, ensure_ascii=False, sort_keys=True),
                   encoding="utf-8")
    os.replace(tmp, path)


def save_processed(cache_dir: Path, key: str, result: ReportResult, checks: list[dict]) -> Path:
    """Store a report's rows under its key (atomic rename: a killed run leaves no half file),
    and beside them its head: the report row and the counts (read alone on unchanged nights)."""
    path = cache_path(cache_dir, result.report["report_id"], key)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, {"key": key, "result": result.__dict__, "checks": checks})
    _write_atomic(head_path(cache_dir, result.report["report_id"], key),
                  {"key": key, "report": result.report, "counts": asdict(count_rows(result, checks))})
    return path


def load_head(cache_dir: Path, report_id: str, key: str) -> tuple[dict, RowCounts] | None:
    """The stored report row and counts of that key, or None when missing or unreadable (the
    rows themselves must exist too: a head alone is nothing to reuse)."""
    try:
        if not cache_path(cache_dir, report_id, key).is_file():
            return None
        payload = json.loads(head_path(cache_dir, report_id, key).read_text(encoding="utf-8"),
                             object_hook=_decode)
        return payload["report"], RowCounts(**payload["counts"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_processed(cache_dir: Path, report_id: str, key: str) -> tuple[ReportResult, list[dict]] | None:
    """The stored rows of that key, or None when missing or unreadable."""
    try:
        payload = json.loads(cache_path(cache_dir, report_id, key).read_text(encoding="utf-8"),
                             object_hook=_decode)
        return ReportResult(**payload["result"]), payload["checks"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def prune(cache_dir: Path, report_id: str, keep: set[str]) -> None:
    """Drop a report's stored keys other than ``keep`` (tonight's and the last good one)."""
    folder = cache_dir / report_id
    if folder.is_dir():
        for path in folder.iterdir():
            if path.suffix == ".json" and path.name.split(".")[0] not in keep:
                path.unlink(missing_ok=True)
            elif path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)


# The one-key-per-report interface of earlier versions, kept for callers that only need the rows.
def save_result(cache_dir: Path, entry: RegistryEntry, sha256: str, result: ReportResult) -> None:
    save_processed(cache_dir, cache_key(entry, sha256, result.report.get("catalog_version") or ""),
                   result, [])


def load_result(cache_dir: Path, entry: RegistryEntry, sha256: str,
                catalog_version: str) -> ReportResult | None:
    """The cached result when nothing it depends on changed; None when it is stale or missing."""
    got = load_processed(cache_dir, entry.report_id, cache_key(entry, sha256, catalog_version))
    return got[0] if got else None
