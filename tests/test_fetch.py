"""Fetching through a real HTTP server on 127.0.0.1 (no mocks), and from local paths."""

from __future__ import annotations

import hashlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import SAMPLES

from hotline_budgets.extract.fetch import FetchError, fetch_report
from hotline_budgets.registry import RegistryEntry

PDF = "liuzhou-12345-2024-final_accounts.pdf"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / PDF).write_bytes((SAMPLES / PDF).read_bytes())
    (root / "error.pdf").write_text("<html><body>502 Bad Gateway</body></html>")
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def entry(url: str, sha256: str | None = None) -> RegistryEntry:
    return RegistryEntry("r1", "某中心", "450200", 2024, "final_accounts", "unit", url, SAMPLES, sha256)


def test_http_fetch_archives_exact_bytes_once(server, tmp_path):
    first = fetch_report(entry(f"{server}/{PDF}"), tmp_path)
    expected = hashlib.sha256((SAMPLES / PDF).read_bytes()).hexdigest()
    assert first.sha256 == expected and first.was_new
    assert first.archive_path == tmp_path / expected[:2] / f"{expected}.pdf"
    assert first.read_bytes() == (SAMPLES / PDF).read_bytes()
    second = fetch_report(entry(f"{server}/{PDF}"), tmp_path)
    assert not second.was_new and second.archive_path == first.archive_path


def test_error_page_served_as_pdf_is_rejected(server, tmp_path):
    with pytest.raises(FetchError, match="not a PDF"):
        fetch_report(entry(f"{server}/error.pdf"), tmp_path)
    assert not any(tmp_path.rglob("*.pdf")), "nothing is archived for a bad download"


def test_http_404_is_a_clear_error(server, tmp_path):
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_report(entry(f"{server}/missing.pdf"), tmp_path)


def test_sha256_pin_mismatch_is_an_error(tmp_path):
    with pytest.raises(FetchError, match="does not match the registry pin"):
        fetch_report(entry(PDF, sha256="0" * 64), tmp_path)
    assert not any(tmp_path.rglob("*.pdf")), "bytes that are not the pinned report are not archived"


def test_relative_path_resolves_against_registry_folder(tmp_path):
    fetched = fetch_report(entry(PDF), tmp_path)
    assert fetched.size_bytes == (SAMPLES / PDF).stat().st_size


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FetchError, match="cannot read"):
        fetch_report(entry("nope.pdf"), tmp_path)
