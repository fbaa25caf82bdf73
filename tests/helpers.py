"""Shared test helpers (import with ``from helpers import ...``): small scenarios, the CLI, paths."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.params import Scenario
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def small(name: str, *overrides: str, scale: float = 0.05, quarters: int = 12) -> Scenario:
    """A shipped scenario at reduced scale and length, for fast tests."""
    return load_scenario(name, [f"run.scale={scale}", f"run.quarters={quarters}", *overrides])


def fresh(*overrides: str, scenario: str = "status_quo", scale: float = 0.05, seed: int = 7) -> Any:
    """A small model just after initialisation (quarter 0), for driving one process by hand (the rule pins)."""
    from sim.model import CommissioningModel

    return CommissioningModel(small(scenario, *overrides, scale=scale, quarters=8), seed=seed, snapshots=False)


def hand_state(n: int, **columns: Any) -> Any:
    """``n`` open practices of 5,000 patients, every other column zero unless given, for a rule by hand."""
    from sim.state import PracticeState

    ps = PracticeState(capacity=n + 2)
    ps.add_rows(n)
    ps.open[:n] = True
    ps.list_size[:n] = 5000.0
    for name, values in columns.items():
        getattr(ps, name)[:n] = values
    return ps


class MeanPoisson:
    """A model's streams with the Poisson draws of one ``site`` at their expectation, for a hand calculation
    of the counts; every other draw is the real stream's."""

    class _Mean:
        @staticmethod
        def poisson(lam: Any) -> Any:
            import numpy as np

            return np.asarray(lam, dtype=float)

    def __init__(self, real: Any, site: str) -> None:
        self.real, self.site = real, site

    def __getitem__(self, site: str) -> Any:
        return self._Mean() if site == self.site else self.real[site]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python run_sim.py ARGS`` as a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_sim.py"), *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def chromium_paths(*modules: str) -> tuple[str, str]:
    """Debian's chromium and chromedriver, with selenium (and ``modules``) importable: fail in CI, where
    ``.ci/run`` installs them, and skip elsewhere."""
    import importlib

    import pytest

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        for name in ("selenium", *modules):
            importlib.import_module(name)
    except ImportError:
        browser = None
    if browser and driver:
        return browser, driver
    why = (f"headless Chromium, chromedriver, {', '.join(('selenium', *modules))} are needed "
           "(bash .ci/install_chromium.sh; pip install -e '.[test]')")
    if IN_CI:
        pytest.fail(f"CI must run the browser tests: {why}")
    pytest.skip(why)


@contextlib.contextmanager
def headless_chromium(width: int, height: int, *modules: str) -> Iterator[Any]:
    """A headless Chromium driven by selenium through Debian's chromedriver, with a throwaway profile and
    the browser's console log kept (tests read its errors); quit and cleaned up however the test ends."""
    browser, driver_path = chromium_paths(*modules)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    profile = tempfile.mkdtemp(prefix="crsim-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        chrome.set_page_load_timeout(60)
        yield chrome
    finally:
        chrome.quit()
        shutil.rmtree(profile, ignore_errors=True)
