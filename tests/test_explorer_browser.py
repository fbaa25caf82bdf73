"""End to end: ``run_sim.py explore`` serves the page, headless Chromium changes the premium, runs, and sees
the chart and the difference table change; bad input shows the command line's message and the page keeps
working. Always runs in CI (``.ci/run`` installs Chromium); skips elsewhere when the browser is missing."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import IN_CI, ROOT

PREMIUM = ".crsim-control-levers-quality_premium-per_head_gbp input"
START_TIMEOUT_S = 90
RUN_TIMEOUT_S = 180


def _chromium() -> tuple[str, str]:
    """Paths of Debian's chromium and chromedriver; fail in CI (where .ci/run installs them), else skip."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
        import solara  # noqa: F401
    except ImportError:
        browser = None
    if browser and driver:
        return browser, driver
    why = ("headless Chromium, chromedriver, selenium and solara are needed (bash .ci/install_chromium.sh; "
           "pip install -e '.[test]')")
    if IN_CI:
        pytest.fail(f"CI must run the explorer's browser test: {why}")
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def explorer(tmp_path: Path) -> Iterator[str]:
    """``run_sim.py explore`` on a free port of 127.0.0.1 with its own database, stopped afterwards."""
    port = _free_port()
    log = tmp_path / "explorer.log"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "run_sim.py"), "explore", "--port", str(port), "--workers", "1",
             "--db", f"sqlite:///{tmp_path / 'explorer.db'}"],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"the explorer exited with status {server.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the explorer did not answer on {url} within {START_TIMEOUT_S} s:\n{log.read_text()}")
            time.sleep(0.3)
        assert f"open {url}" in log.read_text()
        yield url
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)


def _wait(driver: Any, check: Callable[[], Any], what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except Exception:  # an element replaced while being read: look again
            found = None
        if found:
            return found
        time.sleep(0.1)
    text = driver.execute_script("return document.body.innerText")
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; the page says:\n{text[:3000]}")


@pytest.mark.browser
def test_change_the_premium_run_and_see_the_new_result(explorer: str, tmp_path: Path) -> None:
    browser, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    profile = tempfile.mkdtemp(prefix="crsim-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)

    def css(selector: str) -> list[Any]:
        return driver.find_elements(By.CSS_SELECTOR, selector)

    def type_into(selector: str, value: str, echo: Callable[[], bool]) -> None:
        """Type a value and press Enter, as a person does: Enter commits what the server has of the field,
        and the browser syncs keystrokes to it a moment after they are typed (so a machine typing at once
        can commit a stale value). Until the page's echo shows the server has the value."""
        for _ in range(4):
            field = _wait(driver, lambda: css(selector), selector, 30)[0]
            field.click()
            field.send_keys(Keys.CONTROL, "a")
            field.send_keys(Keys.DELETE)
            field.send_keys(value)
            time.sleep(0.5)
            field.send_keys(Keys.ENTER)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    if echo():
                        return
                except Exception:  # replaced while being read
                    pass
                time.sleep(0.1)
        raise AssertionError(f"typing {value!r} into {selector} did not reach the page: "
                             f"{css('.crsim-settings')[0].text} {css('.crsim-changed')[0].text}")

    def settings(text: str) -> Callable[[], bool]:
        return lambda: text in css(".crsim-settings")[0].text

    def premium(value: str) -> Callable[[], bool]:
        return lambda: f"per_head_gbp={float(value)}" in css(".crsim-changed")[0].text

    def table() -> tuple[str, str]:
        found = css("#crsim-differences")
        return (found[0].get_attribute("data-experiment"),
                css("#crsim-differences tr[data-metric=outcome_mean]")[0].text) if found else ("", "")

    def run_and_wait(before: str) -> tuple[str, str]:
        _wait(driver, lambda: css(".crsim-run")[0].is_enabled(), "the run button", 30)
        css(".crsim-run")[0].click()
        _wait(driver, lambda: table()[0] not in ("", before) and css("img.crsim-fan, .crsim-fan img"),
              "the new chart and table", RUN_TIMEOUT_S)
        time.sleep(0.5)  # the rest of the render's messages
        return table()

    def chart() -> tuple[str, int]:
        img = css("img.crsim-fan, .crsim-fan img")[0]
        return img.get_attribute("src"), int(driver.execute_script("return arguments[0].naturalWidth", img))

    try:
        driver.set_page_load_timeout(60)
        driver.get(explorer)
        _wait(driver, lambda: css(".crsim-run"), "the page to load", 60)
        assert driver.title == "Commissioning Reform Simulator: explorer"
        assert css(PREMIUM)[0].get_attribute("value") == "5.0"  # quality_premium's own value, from the file
        type_into(".crsim-scale input", "0.03", settings("0.03 of England"))
        type_into(".crsim-reps input", "2", settings("2 replications"))
        type_into(".crsim-quarters input", "12", settings("12 quarters"))
        type_into(PREMIUM, "20", premium("20"))
        first, first_row = run_and_wait("")
        src_first, width = chart()
        assert width > 300
        assert "Avoidable emergency admissions" in first_row and "−" in first_row  # the premium lowers them
        caption = css(".crsim-result-caption")[0].text
        assert "4 runs computed" in caption and "quality_premium_edited" in caption

        # a value out of range: the command line's message, the run refused, the last result kept
        type_into(PREMIUM, "500", premium("500"))
        error = _wait(driver, lambda: [e.text for e in css(".crsim-error") if e.text], "the refusal", 30)[0]
        assert "levers.quality_premium.per_head_gbp" in error
        assert "Allowed: a number from 0.0 to 50.0 (GBP per person per year)" in error
        css(".crsim-run")[0].click()
        _wait(driver, lambda: css(".crsim-run-error"), "the failed run's message", 60)
        assert table() == (first, first_row)

        # the page still works: a smaller premium, a new result
        type_into(PREMIUM, "2", premium("2"))
        second, second_row = run_and_wait(first)
        assert second != first
        assert second_row != first_row
        assert chart()[0] != src_first
        assert "2 runs computed and 2 reused" in css(".crsim-result-caption")[0].text
        assert not css(".crsim-run-error")
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert errors == [], errors
        shot = tmp_path / "explorer.png"
        assert driver.save_screenshot(str(shot))
        print(f"screenshot of the explorer: {shot}")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
