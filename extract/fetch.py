"""Fetching a registry url and keeping its exact bytes, content-addressed by SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hotline_budgets.registry import RegistryEntry

USER_AGENT = "hotline-budgets/0.1 (+open data pipeline)"


class FetchError(Exception):
    """The report could not be fetched, or what came back is not the report.

    ``is_transient`` says whether trying again later may help (a timeout, a 5xx, an error page
    served in place of the PDF) or not (a 404, a missing local file, a sha256 pin mismatch).
    """

    def __init__(self, message: str, *, is_transient: bool = False) -> None:
        super().__init__(message)
        self.is_transient = is_transient


TRANSIENT_HTTP = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class FetchedReport:
    url: str
    sha256: str
    size_bytes: int
    fetched_at: datetime
    archive_path: Path
    was_new: bool  # False when these exact bytes were already archived

    def read_bytes(self) -> bytes:
        return self.archive_path.read_bytes()


def read_url(url: str, base_dir: Path, timeout_s: float = 30.0) -> bytes:
    """Bytes behind a registry url: http(s), file://, or a path relative to the registry."""
    if url.startswith(("http://", "https://")):
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            raise FetchError(f"HTTP {exc.code} from {url}",
                             is_transient=exc.code in TRANSIENT_HTTP) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise FetchError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}",
                             is_transient=True) from exc
    path = Path(url.removeprefix("file://"))
    if not path.is_absolute():
        path = base_dir / path
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from exc


def archive_bytes(data: bytes, archive_dir: Path) -> tuple[str, Path, bool]:
    """Store bytes once under raw/<sha[:2]>/<sha>.pdf (atomic rename); returns (sha, path, new)."""
    sha = hashlib.sha256(data).hexdigest()
    target = archive_dir / sha[:2] / f"{sha}.pdf"
    if target.exists():
        return sha, target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    return sha, target, True


def fetch_report(entry: RegistryEntry, archive_dir: Path, timeout_s: float = 30.0) -> FetchedReport:
    """Fetch, check that it is a PDF (and matches a pinned sha256), archive the exact bytes."""
    data = read_url(entry.url, entry.base_dir, timeout_s)
    fetched_at = datetime.now(UTC)
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        head = data[:60].decode("utf-8", "replace").strip().replace("\n", " ")
        raise FetchError(f"not a PDF ({len(data)} bytes starting {head!r})",
                         is_transient=entry.url.startswith(("http://", "https://")))
    sha = hashlib.sha256(data).hexdigest()
    if entry.sha256 and entry.sha256 != sha:
        raise FetchError(f"sha256 {sha} does not match the registry pin {entry.sha256}")
    sha, path, new = archive_bytes(data, archive_dir)
    return FetchedReport(entry.url, sha, len(data), fetched_at, path, new)
