"""Network faults against a real HTTP server on 127.0.0.1 (no mocks): every one ends in a clear,
bounded FetchError that never quotes what the server sent, or in the right bytes."""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import SAMPLES

from hotline_budgets.extract.fetch import FetchError, Limits, Validators, fetch_report, fetch_with_retries
from hotline_budgets.registry import RegistryEntry

PDF = (SAMPLES / "sanming-12345-2024-budget.pdf").read_bytes()
ETAG = '"v1-' + hashlib.sha256(PDF).hexdigest()[:8] + '"'
CANARY = "CANARY-7f3a-do-not-publish"
FAST = Limits(stall_timeout_s=0.5, deadline_s=1.5, retries=2, backoff_s=0.01, max_redirects=3)


class Handler(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}
    sent: dict[str, int] = {}

    def log_message(self, *args) -> None:
        pass

    def _body(self, body: bytes, status: int = 200, length: int | None = None, **headers) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in headers.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        n = self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path == "/pdf":
            if self.headers.get("If-None-Match") == ETAG:
                self.send_response(304)
                self.end_headers()
                return
            self._body(PDF, ETag=ETAG, Last_Modified="Mon, 01 Dec 2026 00:00:00 GMT")
        elif self.path == "/gone":
            self.send_error(404)
        elif self.path == "/flaky":
            if n == 1:
                self.send_error(500)
            else:
                self._body(PDF)
        elif self.path == "/always500":
            self.send_error(503)
        elif self.path == "/stall":
            time.sleep(2)
            self._body(PDF)
        elif self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PDF)))
            self.end_headers()
            try:
                for i in range(0, 200):
                    self.wfile.write(PDF[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.02)
            except OSError:
                pass
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop2")
            self.end_headers()
        elif self.path == "/loop2":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif self.path == "/reset":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PDF)))
            self.end_headers()
            self.wfile.write(PDF[:1000])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        elif self.path == "/short":
            self._body(PDF[:5000], length=len(PDF))
            self.close_connection = True
        elif self.path == "/huge":
            self._body(b"", length=100 * 1024 ** 3)
        elif self.path == "/endless":  # no Content-Length: only the cap while streaming stops it
            self.send_response(200)
            self.end_headers()
            chunk = b"%PDF-1.4\n" + b"0" * 65527
            self.sent["/endless"] = 0
            try:
                for _ in range(4000):  # 256 MB if nobody stops reading
                    self.wfile.write(chunk)
                    self.sent["/endless"] += len(chunk)
            except OSError:
                pass
        elif self.path == "/html200":
            self._body(f"<html><body>维护中 {CANARY}</body></html>".encode())
        else:
            self.send_error(400)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def entry(url: str) -> RegistryEntry:
    return RegistryEntry("r1", "测试中心", "350400", 2024, "budget", "unit", url, SAMPLES)


def fails(url: str, tmp_path, limits: Limits = FAST, waits: list | None = None) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch_with_retries(entry(url), tmp_path, limits, sleep=(waits if waits is not None else []).append)
    assert CANARY not in str(info.value)
    assert not list(tmp_path.rglob("*.pdf")) and not list(tmp_path.rglob("*.tmp")), "nothing kept"
    return info.value


def test_404_is_final_and_not_retried(server, tmp_path):
    err = fails(f"{server}/gone", tmp_path)
    assert "HTTP 404" in str(err) and not err.is_transient
    assert Handler.hits["/gone"] == 1


def test_500_then_success_is_retried_with_backoff(server, tmp_path):
    waits: list[float] = []
    got = fetch_with_retries(entry(f"{server}/flaky"), tmp_path, FAST, sleep=waits.append)
    assert got.read_bytes() == PDF and got.attempts == 2 and waits == [0.01]
    waits.clear()
    err = fails(f"{server}/always500", tmp_path / "again", waits=waits)
    assert "HTTP 503" in str(err) and "after 3 attempts" in str(err)
    assert waits == [0.01, 0.02], "the wait doubles between attempts"


def test_stall_times_out(server, tmp_path):
    started = time.monotonic()
    err = fails(f"{server}/stall", tmp_path, Limits(stall_timeout_s=0.3, retries=0))
    assert "within 0.3 s" in str(err) or "stalled" in str(err)
    assert time.monotonic() - started < 1.5


def test_slow_drip_stops_at_the_total_deadline(server, tmp_path):
    started = time.monotonic()
    err = fails(f"{server}/drip", tmp_path, Limits(stall_timeout_s=1, deadline_s=0.5, retries=0))
    assert "deadline" in str(err)
    assert time.monotonic() - started < 1.5, "every byte arrives in time, the whole does not"


def test_redirect_loop(server, tmp_path):
    assert "too many redirects" in str(fails(f"{server}/loop", tmp_path))


def test_reset_mid_body(server, tmp_path):
    err = fails(f"{server}/reset", tmp_path, Limits(retries=0))
    assert err.is_transient and ("connection" in str(err) or "cut short" in str(err))


def test_body_shorter_than_content_length(server, tmp_path):
    err = fails(f"{server}/short", tmp_path, Limits(retries=0))
    assert "cut short: 5000 of" in str(err) and err.is_transient


def test_huge_content_length_is_refused_before_download(server, tmp_path):
    assert "over the size cap of 50 MB" in str(fails(f"{server}/huge", tmp_path))


def test_size_cap_stops_while_streaming(server, tmp_path):
    err = fails(f"{server}/endless", tmp_path, Limits(max_bytes=1024 * 1024, retries=0))
    assert "larger than the size cap of 1 MB" in str(err)
    time.sleep(0.3)
    assert Handler.sent["/endless"] < 64 * 1024 * 1024, "the download was stopped, not read whole"


def test_html_error_page_with_status_200_is_described_never_quoted(server, tmp_path):
    err = fails(f"{server}/html200", tmp_path)
    assert "not a PDF: an HTML page" in str(err)


def test_conditional_get_answers_304_for_unchanged_bytes(server, tmp_path):
    first = fetch_report(entry(f"{server}/pdf"), tmp_path, FAST)
    assert first.etag == ETAG and first.last_modified
    again = fetch_report(entry(f"{server}/pdf"), tmp_path, FAST,
                         Validators(first.sha256, first.etag, first.last_modified))
    assert again.not_modified and again.sha256 == first.sha256 and again.read_bytes() == PDF


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/r.pdf",
                                 "gopher://x/1", "data:application/pdf;base64,JVBERi0="])
def test_other_schemes_are_refused_by_name(url, tmp_path):
    scheme = url.split(":", 1)[0]
    with pytest.raises(FetchError, match=f"url scheme '{scheme}:' is refused"):
        fetch_report(entry(url), tmp_path)
