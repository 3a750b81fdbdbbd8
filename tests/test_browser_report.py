"""The HTML report in headless Chromium: offline, no console errors, every section, not blank.

Skipped when Debian's chromium / chromedriver are missing, unless ENERGYHEDGE_REQUIRE_BROWSER=1
(CI sets it), in which case their absence is a failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from report_sample import HOSTILE, sample_report
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from test_nightly import nightly, write_profile
from test_term_run import term_profile

from energyhedge.cli import main
from energyhedge.report.html import OPTIONAL_SECTION_IDS, SECTION_IDS, render_report

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _require_browser() -> None:
    found = CHROMIUM.exists() and CHROMEDRIVER.exists()
    if not found:
        if os.environ.get("ENERGYHEDGE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ENERGYHEDGE_REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} missing")
        pytest.skip(f"headless Chromium not installed ({CHROMIUM}, {CHROMEDRIVER})")


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory):
    """One headless Chromium for the module, with console and network logging on."""
    _require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield browser
    browser.quit()


def _open_offline(
    driver, page: Path, shot: Path, title: str = "Hedge report", sections=SECTION_IDS
) -> None:
    """Open ``page`` from disk and check: title, every section, no script, no console error,
    no request but the file itself, and a screenshot that is not blank."""
    url = page.as_uri()
    driver.get("about:blank")
    driver.get_log("performance")  # drop earlier traffic (start page, previous test)
    driver.get_log("browser")
    driver.get(url)
    assert driver.title.startswith(title)
    ids = driver.execute_script("return [...document.querySelectorAll('section')].map(s => s.id)")
    assert [i for i in ids if i not in OPTIONAL_SECTION_IDS] == list(sections)
    nav = driver.execute_script("return [...document.querySelectorAll('nav a')].map(a => a.hash)")
    assert nav in ([], [f"#{i}" for i in ids])  # the navigation links every section shown
    assert driver.execute_script("return document.querySelectorAll('script').length") == 0

    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    requested = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
    assert requested and set(requested) == {url}

    assert driver.save_screenshot(str(shot))
    pixels = np.round(mpimg.imread(shot)[:, :, :3] * 255).astype(np.uint8)  # PNG decoded
    assert pixels.shape[0] > 500 and pixels.shape[1] > 800
    non_white = np.any(pixels < 245, axis=2).mean()
    colours = np.unique(pixels.reshape(-1, 3), axis=0).shape[0]
    assert non_white > 0.05
    assert colours > 50


def _cells(driver, selector: str) -> list[str]:
    script = f"return [...document.querySelectorAll({selector!r})].map(e => e.textContent)"
    return driver.execute_script(script)


def _dollars(text: str) -> tuple[float, float]:
    """``$225.51k`` -> (225510.0, 1000.0); ``$225,509`` -> (225509.0, 1.0)."""
    scale = {"k": 1e3, "M": 1e6}.get(text[-1], 1.0)
    number = text.replace("$", "").replace(",", "").rstrip("kM").replace("−", "-")
    return float(number) * scale, scale


def test_fixture_report_with_hostile_names(driver, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report(sample_report(HOSTILE, "call" + HOSTILE)), encoding="utf-8")
    _open_offline(driver, page, tmp_path / "report.png")
    # The hostile campus name is shown as text, never run as a script.
    assert HOSTILE in driver.find_element("css selector", "header h1").text
    svg_count = driver.execute_script("return document.querySelectorAll('svg.chart').length")
    assert svg_count == 6  # frontier, hedge-load, cost CDF, two payoffs, schedule
    alerts = driver.execute_script("return document.querySelectorAll('#alerts tbody tr').length")
    assert alerts == 2


def test_nightly_report_on_shipped_data(driver, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    assert nightly(write_profile(tmp_path), out) == 0
    _open_offline(driver, out / "latest" / "report.html", tmp_path / "report.png")
    assert "tx-100mw" in driver.find_element("css selector", "header h1").text
    rows = driver.execute_script("return document.querySelectorAll('#stress tbody tr').length")
    assert rows == 1
    doc = json.loads((out / "latest" / "recommendation.json").read_text(encoding="utf-8"))
    alerts = driver.execute_script("return document.querySelectorAll('#alerts tbody tr').length")
    assert alerts == len(doc["alerts"]) > 0
    # The frontier's chosen point is the risk table's out-of-sample "both", cell for cell.
    both = _cells(driver, "#risk-out-of-sample tr.recommended td")
    chosen = _cells(driver, "#frontier tr.recommended td")
    for table, frontier in ((both[1], chosen[1]), (both[2], chosen[2])):
        value, scale = _dollars(table.split(" (")[0])
        assert abs(value - _dollars(frontier)[0]) <= 0.005 * scale, (table, frontier)
    assert len(_cells(driver, "#risk-out-of-sample tbody tr")) == 4
    assert driver.execute_script("return document.querySelectorAll('#hedge-load svg').length") == 1
    text = driver.find_element("css selector", "body").text
    assert "99999" not in text and "keep load low" not in text


def test_term_report_on_shipped_data(driver, tmp_path: Path, repo_root: Path) -> None:
    out = tmp_path / "term"
    config = term_profile(tmp_path, repo_root)
    assert main(["optimize", "--config", config, "--out", str(out), "--engine", "ef"]) == 0
    sections = ("recommendation", "by-month", "trades", "risk", "engine")
    _open_offline(driver, out / "term.html", tmp_path / "term.png", "Term hedge report", sections)
    doc = json.loads((out / "term.json").read_text(encoding="utf-8"))
    assert driver.find_element("css selector", ".sentence").text == doc["recommendation"]
    assert driver.execute_script("return document.querySelectorAll('#by-month svg').length") == 1
    trades = driver.execute_script("return document.querySelectorAll('#trades tbody tr').length")
    assert trades == len(doc["trades"])
    # three strategies, out of sample then in sample
    assert len(_cells(driver, "#risk tbody tr")) == 6
