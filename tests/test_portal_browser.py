"""The release's portal page in a real headless Chromium (Debian's chromium + chromium-driver,
installed by .ci/run): no console errors, both charts drawn, every link resolves, a screenshot."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,1600"]


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("CI"):
            pytest.fail("chromium / chromedriver missing: .ci/run installs them")
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium"
                    " chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_portal_page_in_chromium(releases, browser, tmp_path_factory):
    from selenium.webdriver.common.by import By

    _, _, second = releases
    page = second.directory / "index.html"
    browser.get(page.as_uri())

    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == [], errors

    for chart in ("chart-classes", "chart-execution"):
        svg = browser.find_element(By.ID, chart)
        bars = svg.find_elements(By.TAG_NAME, "rect")
        assert len(bars) >= 3, f"{chart} drew {len(bars)} bars"
        assert svg.size["height"] > 100 and svg.size["width"] > 500
    legend = browser.find_elements(By.CSS_SELECTOR, "#legend-classes span")
    assert len(legend) >= 3

    con = duckdb.connect(str(second.directory / "all" / "hotline_budgets.duckdb"), read_only=True)
    try:
        sources = {u for (u,) in con.execute("SELECT source_url FROM reports").fetchall()}
        n_reports = con.execute("SELECT count(*) FROM reports").fetchone()[0]
    finally:
        con.close()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#reports tbody tr")) == n_reports

    hrefs = [a.get_attribute("href") for a in browser.find_elements(By.TAG_NAME, "a")]
    assert len(hrefs) > 20
    for href in hrefs:
        url = urlparse(href)
        if url.scheme == "file":
            target = Path(unquote(url.path))
            assert target.is_file(), f"broken link {href}"
            assert second.directory.resolve() in target.resolve().parents, f"link leaves the release: {href}"
        else:  # the only links out are the reports' own source documents
            assert href in sources, f"unexpected external link {href}"
    listed = {line.split("  ", 1)[1] for line in (second.directory / "SHA256SUMS").read_text().splitlines()}
    linked = {Path(unquote(urlparse(h).path)).relative_to(second.directory).as_posix()
              for h in hrefs if h.startswith("file:")}
    assert {p for p in listed if p.endswith(".csv") and p.startswith("all/")} <= linked

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height, 6000))
    shot = tmp_path_factory.mktemp("portal") / "portal.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    print(f"portal screenshot: {shot}")
