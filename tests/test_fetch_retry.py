"""The fetch task retries what may pass on a second try, and only that (real loopback HTTP)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import SAMPLES

from hotline_budgets.extract.fetch import FetchError
from hotline_budgets.registry import RegistryEntry

PDF_BYTES = (SAMPLES / "sanming-12345-2024-budget.pdf").read_bytes()


class FlakyHandler(BaseHTTPRequestHandler):
    """/flaky: a 503, then an HTML error page served as 200, then the PDF. /gone: always 404."""

    hits: dict[str, int] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        n = self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path == "/gone":
            self.send_error(404)
            return
        if n == 1:
            self.send_error(503)
            return
        body = b"<html>busy, try later</html>" if n == 2 else PDF_BYTES
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FlakyHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _entry(url: str) -> RegistryEntry:
    return RegistryEntry("flaky", "测试中心", "350400", 2024, "budget", "unit", url, SAMPLES)


def test_transient_failures_are_retried_until_the_pdf_comes(server, tmp_path):
    from hotline_budgets.prefect_env import configure_prefect

    configure_prefect()
    from prefect import flow

    from hotline_budgets.flows.pipeline import fetch_task

    @flow(retries=0)
    def fetch_once(entry: RegistryEntry):
        return fetch_task(entry, tmp_path)

    fetched = fetch_once(_entry(f"{server}/flaky"))
    assert fetched.read_bytes() == PDF_BYTES
    assert FlakyHandler.hits["/flaky"] == 3

    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_once(_entry(f"{server}/gone"))
    assert FlakyHandler.hits["/gone"] == 1, "a 404 is final: it is not retried"
