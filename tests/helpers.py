"""Shared test helpers (import with ``from helpers import ...``): small scenarios, the CLI, paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sim.params import Scenario
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def small(name: str, *overrides: str, scale: float = 0.05, quarters: int = 12) -> Scenario:
    """A shipped scenario at reduced scale and length, for fast tests."""
    return load_scenario(name, [f"run.scale={scale}", f"run.quarters={quarters}", *overrides])


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python run_sim.py ARGS`` as a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_sim.py"), *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
