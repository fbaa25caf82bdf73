"""Small stored experiments made with the real model and the real store, shared by the chart and report tests.

Each is built once per test session (a few seconds at 3% scale and 8 quarters) in a temporary SQLite file,
through :mod:`sim.experiment` exactly as the CLI would, and read back with
``sim.experiment.load_experiment``: the charts are tested on the frames users get, not on hand-made ones.
"""

from __future__ import annotations

import atexit
import functools
import io
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SMALL = ("run.scale=0.03", "run.quarters=8")
FOUR = ("status_quo", "delegation", "qof_outcomes", "white_paper")
VARY = ("assumptions.practice.gaming_propensity=0.2:1.2:3", "levers.qof.outcome_weight=0.0:0.6:2")


@dataclass(frozen=True)
class Stored:
    db: str
    compare: str = "four"
    sweep: str = "sweep"
    sobol: str = "sobol"
    morris: str = "morris"


def build_store(folder: Path) -> Stored:
    """Run a four-scenario comparison, a 3x2 sweep and small Sobol and Morris analyses into one store."""
    from sim.experiment import compare, sensitivity, sweep

    db = f"sqlite:///{folder / 'crsim.db'}"
    stored = Stored(db)
    common = {"overrides": SMALL, "workers": 1, "db": db, "progress": False}
    compare(list(FOUR), reps=3, name=stored.compare, snapshots="first", **common)
    sweep("status_quo", list(VARY), reps=2, name=stored.sweep, **common)
    sensitivity("status_quo", list(VARY), method="sobol", samples=8, name=stored.sobol,
                metrics=("quality_mean", "outcome_mean"), **common)
    sensitivity("status_quo", list(VARY), method="morris", samples=4, name=stored.morris,
                metrics=("quality_mean", "outcome_mean"), **common)
    return stored


@functools.cache
def shared_store() -> Stored:
    """One store per test session, shared by the chart and report tests, removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="crsim-report-tests-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return build_store(folder)


def png_of(fig, dpi: int = 300) -> Image.Image:
    """Render a figure to PNG in memory, turning any warning into an error."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    return Image.open(buf)


def ink(image: Image.Image) -> tuple[float, float]:
    """(pixel variance, share of non-white pixels) of an image in grey levels: both 0 for a blank one."""
    grey = np.asarray(image.convert("L"), dtype=float)
    return float(grey.var()), float((grey < 245).mean())
