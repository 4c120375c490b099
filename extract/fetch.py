"""Fetching a registry url and keeping its exact bytes, content-addressed by SHA-256.

Government sites serve error pages with status 200, stall, drip, loop on redirects, cut bodies
short and replace files silently. Everything here is bounded — a size cap checked while
streaming (the body is never held whole in memory), a stall timeout per read and a total
deadline per fetch, a redirect limit — and every failure is a :class:`FetchError` whose message
describes what came back without quoting a byte of it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hotline_budgets.registry import RegistryEntry

USER_AGENT = "hotline-budgets/0.1 (+open data pipeline)"
CHUNK = 64 * 1024
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # two letters or more: C:\ is a path


class FetchError(Exception):
    """The report could not be fetched, or what came back is not the report.

    ``is_transient`` says whether trying again may help (a timeout, a 5xx, a reset, a body cut
    short) or not (a 404, a missing local file, a refused scheme, a sha256 pin mismatch).
    """

    def __init__(self, message: str, *, is_transient: bool = False) -> None:
        super().__init__(message)
        self.is_transient = is_transient


TRANSIENT_HTTP = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Limits:
    """Bounds on one fetch; the defaults suit a nightly run over government sites."""

    max_bytes: int = 50 * 1024 * 1024
    stall_timeout_s: float = 30.0  # no byte for this long: give up on the attempt
    deadline_s: float = 300.0  # the whole attempt, however the bytes trickle in
    max_redirects: int = 5
    retries: int = 2  # extra attempts for transient failures
    backoff_s: float = 1.0  # first wait; doubles each retry

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, with the size cap from ``HOTLINE_MAX_MB`` when set."""
        mb = os.environ.get("HOTLINE_MAX_MB")
        return cls(max_bytes=int(float(mb) * 1024 * 1024)) if mb else cls()


@dataclass(frozen=True)
class Validators:
    """What the last fetch of a url returned, for a conditional GET (ETag / Last-Modified)."""

    sha256: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchedReport:
    url: str
    sha256: str
    size_bytes: int
    fetched_at: datetime
    archive_path: Path
    was_new: bool  # False when these exact bytes were already archived
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # the server answered 304: the archived bytes are current
    attempts: int = 1

    def read_bytes(self) -> bytes:
        return self.archive_path.read_bytes()


def url_kind(url: str) -> str:
    """``http`` for http(s) urls, ``local`` for paths; any other scheme is refused by name."""
    m = _SCHEME.match(url)
    if m is None:
        return "local"
    scheme = m.group(1).lower()
    if scheme in ("http", "https"):
        return "http"
    raise FetchError(f"url scheme '{scheme}:' is refused: only http, https and local paths are fetched")


def archive_path(archive_dir: Path, sha: str) -> Path:
    return archive_dir / sha[:2] / f"{sha}.pdf"


def fetched_now() -> datetime:
    """The fetch time; SOURCE_DATE_EPOCH (reproducible builds) pins it for byte-identical output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC).replace(microsecond=0)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"


class _Sink:
    """Streams bytes into a temporary file beside the archive while hashing and counting."""

    def __init__(self, archive_dir: Path, limits: Limits) -> None:
        archive_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=archive_dir, prefix=".incoming-", suffix=".tmp")
        self.path = Path(name)
        self.fh = os.fdopen(fd, "wb")
        self.digest = hashlib.sha256()
        self.size = 0
        self.limits = limits

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limits.max_bytes:
            raise FetchError(f"larger than the size cap of {_mb(self.limits.max_bytes)}:"
                             " stopped while downloading")
        self.digest.update(chunk)
        self.fh.write(chunk)

    def discard(self) -> None:
        self.fh.close()
        self.path.unlink(missing_ok=True)


def _read_local(url: str, base_dir: Path, sink: _Sink) -> None:
    path = Path(url)
    if not path.is_absolute():
        path = base_dir / path
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                sink.write(chunk)
    except IsADirectoryError as exc:
        raise FetchError(f"cannot read {path}: it is a folder") from exc
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from exc


class _LimitedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, max_redirects: int) -> None:
        self.max_redirections = max_redirects
        self.max_repeats = 1


def _read_http(url: str, sink: _Sink, limits: Limits, previous: Validators | None,
               archive_dir: Path) -> tuple[str | None, str | None, bool]:
    """Download into the sink; returns (etag, last_modified, not_modified)."""
    headers = {"User-Agent": USER_AGENT}
    if previous is not None and archive_path(archive_dir, previous.sha256).exists():
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
    opener = urllib.request.build_opener(_LimitedRedirects(limits.max_redirects))
    started = time.monotonic()
    try:
        with opener.open(urllib.request.Request(url, headers=headers),
                         timeout=limits.stall_timeout_s) as response:
            declared = response.headers.get("Content-Length")
            declared_n = int(declared) if declared and declared.isdigit() else None
            if declared_n is not None and declared_n > limits.max_bytes:
                raise FetchError(f"declares {_mb(declared_n)}, over the size cap of"
                                 f" {_mb(limits.max_bytes)}: not downloaded")
            while True:
                if time.monotonic() - started > limits.deadline_s:
                    raise FetchError(f"not complete after the {limits.deadline_s:g} s deadline"
                                     f" ({sink.size} bytes received)", is_transient=True)
                chunk = response.read1(CHUNK)  # returns what arrived: a drip cannot hide here
                if not chunk:
                    break
                sink.write(chunk)
            if declared_n is not None and sink.size != declared_n:
                raise FetchError(f"body cut short: {sink.size} of {declared_n} bytes received",
                                 is_transient=True)
            return response.headers.get("ETag"), response.headers.get("Last-Modified"), False
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and previous is not None:
            return previous.etag, previous.last_modified, True
        if 300 <= exc.code < 400:
            raise FetchError(f"too many redirects (more than {limits.max_redirects},"
                             " or a loop)") from None
        raise FetchError(f"HTTP {exc.code}", is_transient=exc.code in TRANSIENT_HTTP) from None
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError(f"no data for {limits.stall_timeout_s:g} s (stalled)",
                         is_transient=True) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise FetchError(f"no answer within {limits.stall_timeout_s:g} s",
                             is_transient=True) from None
        why = reason.strerror if isinstance(reason, OSError) and reason.strerror else type(reason).__name__
        raise FetchError(f"cannot reach the server: {why}", is_transient=True) from None
    except (OSError, ValueError) as exc:  # reset mid-body, IncompleteRead, bad chunking
        raise FetchError(f"connection failed while downloading: {type(exc).__name__}",
                         is_transient=True) from None


def describe_content(head: bytes, size: int) -> str:
    """What a non-PDF body looks like, in words (never its bytes)."""
    if size == 0:
        return "an empty response (0 bytes)"
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text[:512]:
        return f"an HTML page ({size} bytes), probably an error page served in place of the PDF"
    if text.startswith(b"<"):
        return f"an XML/HTML document ({size} bytes)"
    try:
        head.decode("utf-8")
        return f"{size} bytes of text"
    except UnicodeDecodeError:
        return f"{size} bytes of binary data"


def check_pdf(path: Path, size: int) -> None:
    """A PDF starts with %PDF- (within its first KiB) and ends with %%EOF; else say what it is."""
    with path.open("rb") as fh:
        head = fh.read(1024)
        fh.seek(max(0, size - 4096))
        tail = fh.read()
    if b"%PDF-" not in head:
        raise FetchError(f"not a PDF: {describe_content(head, size)}")
    if b"%%EOF" not in tail:
        raise FetchError(f"truncated PDF: {size} bytes without the end-of-file marker",
                         is_transient=True)


def fetch_report(entry: RegistryEntry, archive_dir: Path, limits: Limits | None = None,
                 previous: Validators | None = None) -> FetchedReport:
    """One attempt: fetch, check it is a whole PDF (and the pinned sha256), archive the bytes."""
    limits = limits or Limits()
    kind = url_kind(entry.url)
    sink = _Sink(archive_dir, limits)
    try:
        etag = last_modified = None
        not_modified = False
        if kind == "http":
            etag, last_modified, not_modified = _read_http(entry.url, sink, limits, previous,
                                                          archive_dir)
        else:
            _read_local(entry.url, entry.base_dir, sink)
        sink.fh.close()
        fetched_at = fetched_now()
        if not_modified:
            sink.discard()
            assert previous is not None
            target = archive_path(archive_dir, previous.sha256)
            return FetchedReport(entry.url, previous.sha256, target.stat().st_size, fetched_at,
                                 target, False, etag, last_modified, True)
        check_pdf(sink.path, sink.size)
        sha = sink.digest.hexdigest()
        if entry.sha256 and entry.sha256 != sha:
            raise FetchError(f"sha256 {sha[:12]}… does not match the registry pin {entry.sha256[:12]}…")
        target = archive_path(archive_dir, sha)
        was_new = not target.exists()
        if was_new:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(sink.path, target)
        else:
            sink.discard()
        return FetchedReport(entry.url, sha, sink.size, fetched_at, target, was_new,
                             etag, last_modified)
    except BaseException:
        sink.discard()
        raise


def fetch_with_retries(entry: RegistryEntry, archive_dir: Path, limits: Limits | None = None,
                       previous: Validators | None = None,
                       sleep: Callable[[float], None] = time.sleep) -> FetchedReport:
    """Retry only what may pass on a second try, waiting backoff, 2×backoff, … between tries."""
    limits = limits or Limits()
    attempt = 0
    while True:
        attempt += 1
        try:
            fetched = fetch_report(entry, archive_dir, limits, previous)
            return FetchedReport(**{**fetched.__dict__, "attempts": attempt})
        except FetchError as exc:
            if not exc.is_transient or attempt > limits.retries:
                if attempt > 1:
                    raise FetchError(f"{exc} (after {attempt} attempts)",
                                     is_transient=exc.is_transient) from None
                raise
            sleep(limits.backoff_s * 2 ** (attempt - 1))


def cleanup_incoming(archive_dir: Path) -> int:
    """Remove downloads left half-written by a killed run; returns how many."""
    removed = 0
    for path in archive_dir.glob(".incoming-*.tmp") if archive_dir.is_dir() else []:
        path.unlink(missing_ok=True)
        removed += 1
    return removed
