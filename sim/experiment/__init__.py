"""Experiments on top of single runs: comparisons, sweeps and sensitivity analyses, stored in a database.

Entry points (each returns DataFrames, and stores every run so that nothing is computed twice):

* :func:`compare` — several scenarios, paired by common random numbers, with differences from a baseline;
* :func:`sweep` — a grid or Latin hypercube over numeric parameters;
* :func:`sensitivity` — Sobol or Morris indices of the headline metrics (SALib);
* :func:`load_experiment`, :func:`list_experiments` — read what is stored.

Execution backends are in :mod:`sim.experiment.executors`, the database in :mod:`sim.experiment.store`.
Imports are deferred so that ``import sim.experiment`` stays light for the command line.
"""

from __future__ import annotations

from typing import Any

__all__ = ["compare", "list_experiments", "load_experiment", "sensitivity", "summarise", "sweep"]


def __getattr__(name: str) -> Any:
    if name in ("compare", "sweep", "sensitivity", "load_experiment", "list_experiments"):
        from sim.experiment import experiment

        return getattr(experiment, name)
    if name == "summarise":
        from sim.experiment.compare import summarise

        return summarise
    raise AttributeError(f"module 'sim.experiment' has no attribute '{name}'")
