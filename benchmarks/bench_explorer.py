"""The explorer as a policy team meets it: the time from pressing Run to the new chart and table, measured in
headless Chromium against ``run_sim.py explore`` at national scale, 5 replications.

Three presses, each timed from the click to the moment the page shows the new experiment's table and chart:

1. **cold**: status_quo against quality_premium at GBP 10 a head; the worker pool starts, 10 runs computed.
2. **fresh**: delegation against quality_premium at GBP 15; the pool is warm, 10 runs computed.
3. **one side new**: delegation against quality_premium at GBP 20; 5 runs computed, the baseline's 5 reused.
4. **all reused**: the same again; all 10 runs from the store.

Run: ``python benchmarks/bench_explorer.py`` (``--screenshot docs/explorer.png`` also saves the page after
the last press; ``--scale`` and ``--reps`` change the comparison). Needs Debian's chromium and chromedriver
(``bash .ci/install_chromium.sh``) and the test extra.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PREMIUM = ".crsim-control-levers-quality_premium-per_head_gbp input"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except Exception:  # an element replaced while being read
            found = None
        if found:
            return found
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1.0")
    parser.add_argument("--reps", default="5")
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    work = Path(tempfile.mkdtemp(prefix="crsim-explorer-bench-"))
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "run_sim.py"), "explore", "--port", str(port),
         "--db", f"sqlite:///{work / 'bench.db'}"], cwd=work, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "MPLBACKEND": "Agg"})
    url = f"http://127.0.0.1:{port}/"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={work / 'profile'}", "--window-size=1400,1350"):
        options.add_argument(flag)
    driver = None
    try:
        _until(lambda: urllib.request.urlopen(url, timeout=2).status == 200, 90, "the server")
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
        driver.get(url)

        def css(selector: str) -> list[Any]:
            return driver.find_elements(By.CSS_SELECTOR, selector)

        def type_into(selector: str, value: str, echo: str, where: str) -> None:
            for _ in range(4):
                field = _until(lambda: css(selector), 30, selector)[0]
                field.click()
                field.send_keys(Keys.CONTROL, "a")
                field.send_keys(Keys.DELETE)
                field.send_keys(value)
                time.sleep(0.5)
                field.send_keys(Keys.ENTER)
                try:
                    _until(lambda: echo in css(where)[0].text, 5, echo)
                    return
                except SystemExit:
                    continue
            raise SystemExit(f"could not type {value} into {selector}")

        def choose_baseline(name: str) -> None:
            css(".v-select")[0].click()
            _until(lambda: [i for i in css(".v-list-item") if i.text == name], 10, name)[0].click()
            time.sleep(0.5)

        def press() -> float:
            before = [t.get_attribute("data-experiment") for t in css("#crsim-differences")]
            start = time.perf_counter()
            css(".crsim-run")[0].click()
            _until(lambda: [t.get_attribute("data-experiment") for t in css("#crsim-differences")] not in ([], before)
                   and css("img.crsim-fan"), 600, "the result")
            return time.perf_counter() - start

        _until(lambda: css(".crsim-run"), 60, "the page")
        type_into(".crsim-scale input", args.scale, f"{float(args.scale):g} of England", ".crsim-settings")
        type_into(".crsim-reps input", args.reps, f"{args.reps} replications", ".crsim-settings")
        presses = (("cold", None, "10"), ("fresh", "delegation", "15"), ("one side new", None, "20"),
                   ("all reused", None, "20"))
        for label, baseline, premium in presses:
            if baseline:
                choose_baseline(baseline)
            type_into(PREMIUM, premium, f"per_head_gbp={float(premium)}", ".crsim-changed")
            seconds = press()
            caption = css(".crsim-result-caption")[0].text
            row = css("#crsim-differences tr[data-metric=outcome_mean]")[0].text
            print(f"{label:>13}: {seconds:5.2f} s from Run to chart | {caption} | {row}")
        if args.screenshot:
            time.sleep(1.0)
            driver.execute_script("window.scrollTo(0, 0); document.querySelectorAll('*').forEach("
                                  "e => { if (e.scrollTop) e.scrollTop = 0; });")
            time.sleep(0.3)
            driver.save_screenshot(str(args.screenshot))
            print(f"screenshot: {args.screenshot}")
    finally:
        if driver is not None:
            driver.quit()
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
