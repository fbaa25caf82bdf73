"""End to end: ``run_sim.py explore`` serves the page, headless Chromium changes the premium, runs, and sees
the chart and the difference table change; bad input shows the command line's message and the page keeps
working. Always runs in CI (``.ci/run`` installs Chromium); skips elsewhere when the browser is missing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, headless_chromium

PREMIUM = ".crsim-control-levers-quality_premium-per_head_gbp input"
START_TIMEOUT_S = 90
RUN_TIMEOUT_S = 180


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
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; the page ends:\n{text[-2500:]}")


@pytest.fixture
def driver() -> Iterator[Any]:
    """Headless Chromium through Debian's chromedriver, with a throwaway profile."""
    with headless_chromium(1400, 1400, "solara") as chrome:
        yield chrome


class Page:
    """The explorer's page as a test drives it."""

    def __init__(self, driver: Any, url: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        self.driver, self.by, self.keys = driver, By, Keys
        driver.get(url)
        _wait(driver, lambda: self.css(".crsim-run"), "the page to load", 60)

    def css(self, selector: str) -> list[Any]:
        return self.driver.find_elements(self.by.CSS_SELECTOR, selector)

    def type_into(self, selector: str, value: str, echo: Callable[[], bool]) -> None:
        """Type a value and press Enter, as a person does: Enter commits what the server has of the field,
        and the browser syncs keystrokes to it a moment after they are typed (so a machine typing at once
        can commit a stale value). Until the page's echo shows the server has the value."""
        for _ in range(4):
            field = _wait(self.driver, lambda: self.css(selector), selector, 30)[0]
            field.click()
            field.send_keys(self.keys.CONTROL, "a")
            field.send_keys(self.keys.DELETE)
            field.send_keys(value)
            time.sleep(0.5)
            field.send_keys(self.keys.ENTER)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    if echo():
                        return
                except Exception:  # replaced while being read
                    pass
                time.sleep(0.1)
        raise AssertionError(f"typing {value!r} into {selector} did not reach the page: "
                             f"{self.css('.crsim-settings')[0].text} {self.css('.crsim-changed')[0].text}")

    def settings(self, text: str) -> Callable[[], bool]:
        return lambda: text in self.css(".crsim-settings")[0].text

    def premium(self, value: str) -> Callable[[], bool]:
        return lambda: f"per_head_gbp={float(value)}" in self.css(".crsim-changed")[0].text

    def small_run_settings(self) -> None:
        self.type_into(".crsim-scale input", "0.03", self.settings("0.03 of England"))
        self.type_into(".crsim-reps input", "2", self.settings("2 replications"))
        self.type_into(".crsim-quarters input", "12", self.settings("12 quarters"))

    def table(self) -> tuple[str, str]:
        found = self.css("#crsim-differences")
        return (found[0].get_attribute("data-experiment"),
                self.css("#crsim-differences tr[data-metric=outcome_mean]")[0].text) if found else ("", "")

    def run_and_wait(self, before: str) -> tuple[str, str]:
        def started() -> bool:
            return self.table()[0] not in ("", before) or not self.css(".crsim-run")[0].is_enabled()

        for _ in range(3):  # a click that lands while the page is redrawing is lost: press again
            _wait(self.driver, lambda: self.css(".crsim-run")[0].is_enabled(), "the run button", 30)
            self.css(".crsim-run")[0].click()
            try:
                _wait(self.driver, started, "the run to start", 15)
                break
            except AssertionError:
                continue
        _wait(self.driver, lambda: self.table()[0] not in ("", before) and self.css("img.crsim-fan"),
              "the new chart and table", RUN_TIMEOUT_S)
        time.sleep(0.5)  # the rest of the render's messages
        return self.table()

    def chart(self, selector: str = "img.crsim-fan") -> tuple[str, int]:
        img = self.css(selector)[0]
        return img.get_attribute("src"), int(self.driver.execute_script("return arguments[0].naturalWidth", img))

    def tab(self, name: str) -> None:
        next(t for t in self.css(".v-tab") if t.text.lower() == name.lower()).click()

    def click(self, find: Callable[[], list[Any]], what: str, timeout: float = 30) -> None:
        """Click the first element ``find`` returns once it takes the click: right after a tab switch it
        can still be covered by the tab's transition (ElementNotInteractable), or redrawn under the click."""
        def clicked() -> bool:
            found = find()
            if not found:
                return False
            try:
                found[0].click()
            except Exception:  # not interactable yet, or replaced while clicking: try again
                return False
            return True

        _wait(self.driver, clicked, what, timeout)

    def choose(self, select: str, item: str) -> None:
        self.click(lambda: self.css(select), select)
        self.click(lambda: [i for i in self.css(".v-list-item") if i.text == item], item)

    def severe_errors(self) -> list[Any]:
        return [e for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]


@pytest.mark.browser
def test_change_the_premium_run_and_see_the_new_result(explorer: str, driver: Any, tmp_path: Path) -> None:
    page = Page(driver, explorer)
    css, table, chart, run_and_wait = page.css, page.table, page.chart, page.run_and_wait
    type_into, premium = page.type_into, page.premium
    assert driver.title == "Commissioning Reform Simulator: explorer"
    assert css(PREMIUM)[0].get_attribute("value") == "5.0"  # quality_premium's own value, from the file
    page.small_run_settings()
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
    assert page.severe_errors() == []
    shot = tmp_path / "explorer.png"
    assert driver.save_screenshot(str(shot))
    print(f"screenshot of the explorer: {shot}")


@pytest.mark.browser
def test_open_the_run_as_a_stored_experiment_and_step_a_single_run(explorer: str, driver: Any) -> None:
    page = Page(driver, explorer)
    page.small_run_settings()
    name, _ = page.run_and_wait("")
    page.tab("Stored experiments")
    page.choose(".crsim-stored", name)
    _wait(driver, lambda: page.css("img.crsim-stored-fan"), "the stored experiment's chart", 60)
    assert page.chart("img.crsim-stored-fan")[1] > 300
    assert _wait(driver, lambda: [t for t in page.css("#crsim-differences")
                                  if t.get_attribute("data-experiment") == name], "its table", 30)

    page.tab("Single run")
    page.click(lambda: page.css(".crsim-single-run"), "the single-run tab")
    _wait(driver, lambda: page.css(".crsim-single-caption")[0].text.startswith("Quarter 1:"), "the funnel plot", 120)
    funnel = page.chart("img.crsim-funnel")
    assert funnel[1] > 300
    page.click(lambda: page.css(".crsim-step"), "the step button")
    _wait(driver, lambda: page.css(".crsim-single-caption")[0].text.startswith("Quarter 2:"), "quarter 2", 30)
    _wait(driver, lambda: page.chart("img.crsim-funnel")[0] != funnel[0], "the next quarter's plot", 30)
    assert page.severe_errors() == []
