"""Experiments on top of single runs: comparisons, sweeps and sensitivity analyses, stored in a database.

From Python (each returns DataFrames, and stores every run so that nothing is computed twice):

* :class:`Session` — one database and one place to run for several experiments:
  ``with Session(db=..., workers=...) as s: s.compare(...); s.sweep(...); s.sensitivity(...)``;
* :func:`compare`, :func:`sweep`, :func:`sensitivity`, :func:`optimise` — the same for one experiment, in a
  session of its own (:func:`optimise` searches a scenario's levers: :mod:`sim.optimise`);
* :func:`load_experiment`, :func:`list_experiments` — read what is stored;
* :func:`summarise` — the paired comparison of a metrics frame.

The package by job: :mod:`~sim.experiment.plan` (what to run, checked), :mod:`~sim.experiment.running` (the
run loop: reuse, linking, progress), :mod:`~sim.experiment.results` (result tables),
:mod:`~sim.experiment.session` and :mod:`~sim.experiment.api` (the public face); analysis in
:mod:`~sim.experiment.paired` and :mod:`~sim.experiment.indices`; designs in :mod:`~sim.experiment.design`;
execution backends in :mod:`~sim.experiment.executors`; the database in :mod:`sim.experiment.store`; the
command line in :mod:`~sim.experiment.commands`. Heavy modules load on first use, so
``import sim.experiment`` stays light.
"""

from __future__ import annotations

from typing import Any

from sim.experiment.api import compare, list_experiments, load_experiment, optimise, sensitivity, sweep

__all__ = ["Session", "compare", "list_experiments", "load_experiment", "optimise", "sensitivity", "summarise",
           "sweep"]


def __getattr__(name: str) -> Any:
    if name == "Session":
        from sim.experiment.session import Session

        return Session
    if name == "summarise":
        from sim.experiment.paired import summarise

        return summarise
    raise AttributeError(f"module 'sim.experiment' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
