"""What the warehouse remembers between nights (``DIR/.versions/state.json``).

Per report: the validators of its url for a conditional GET, the cache key of the rows last
published for it (its *last good version*, kept while a bad night makes it ``stale``), and every
version of its source bytes ever fetched (the ``report_versions`` table). Written atomically at
the end of a run; a killed run leaves last night's state, which is still true of what is
published.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

STATE_FILE = Path(".versions") / "state.json"


@dataclass
class SourceState:
    url: str | None = None
    sha256: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_good_key: str | None = None
    versions: list[dict] = field(default_factory=list)


def load_state(warehouse: Path) -> dict[str, SourceState]:
    try:
        data = json.loads((warehouse / STATE_FILE).read_text(encoding="utf-8"))
        return {rid: SourceState(**s) for rid, s in data.get("reports", {}).items()}
    except (OSError, ValueError, TypeError):
        return {}


def save_state(warehouse: Path, state: dict[str, SourceState]) -> None:
    path = warehouse / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    payload = {"reports": {rid: s.__dict__ for rid, s in sorted(state.items())}}
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def record_version(src: SourceState, url: str, sha256: str, size: int, seen_at: datetime) -> str | None:
    """Note that ``url`` served these bytes now; returns the previous sha256 when they changed."""
    stamp = seen_at.isoformat()
    current = next((v for v in src.versions if v["superseded_at"] is None), None)
    if current is not None and current["source_sha256"] == sha256:
        current["last_seen_at"] = stamp
        return None
    previous = None
    if current is not None:
        current["superseded_at"] = stamp
        previous = current["source_sha256"]
    known = next((v for v in src.versions if v["source_sha256"] == sha256), None)
    if known is not None:  # an older version came back: it is current again
        known |= {"last_seen_at": stamp, "superseded_at": None}
    else:
        src.versions.append(dict(source_sha256=sha256, first_seen_at=stamp, last_seen_at=stamp,
                                 superseded_at=None, size_bytes=size, source_url=url))
    return previous


def version_rows(state: dict[str, SourceState]) -> list[dict]:
    """report_versions rows, ordered by report and first sighting."""
    rows = []
    for rid, src in sorted(state.items()):
        for v in sorted(src.versions, key=lambda v: (v["first_seen_at"], v["source_sha256"])):
            rows.append({"report_id": rid} | {
                k: (datetime.fromisoformat(v[k]) if k.endswith("_at") and v[k] else v[k])
                for k in ("source_sha256", "first_seen_at", "last_seen_at", "superseded_at",
                          "size_bytes", "source_url")})
    return rows
