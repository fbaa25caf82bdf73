"""An uncertainty comparison read back from the results store: its draws and per-draw differences.

Everything the analysis needs is recomputed from what the store holds (the runs' metrics and the draws'
values), so a resumed experiment, ``discover`` and the briefing pack all see the same numbers, and nothing
is kept in memory from the run loop. Only the horizon year of each run is read, a chunk of runs at a time.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.experiment.errors import ExperimentError
from sim.experiment.paired import horizon_values
from sim.experiment.store import ResultStore
from sim.metrics import METRIC_NAMES
from sim.uncertainty.summary import per_draw_differences


@dataclass
class UncertaintyData:
    """A stored uncertainty comparison.

    Attributes:
        name: the experiment.
        baseline: the scenario differences are taken from.
        scenarios: the compared scenarios, baseline first.
        draws: the baseline's assumption values at each draw (index ``point_id``; one column per varied
            assumption): the coordinates of the drivers and the failure boxes.
        horizon: one row per run, every metric at the horizon (``scenario, point_id, replication``...).
        per_draw: :func:`~sim.uncertainty.summary.per_draw_differences` of every metric.
        reps: replications per draw.
        options: the experiment's stored options (distributions, seeds).
        last_year: every run's quarterly metrics over the horizon year (what the paired summary reads).
    """

    name: str
    baseline: str
    scenarios: list[str]
    draws: pd.DataFrame
    horizon: pd.DataFrame
    per_draw: pd.DataFrame
    reps: int
    options: dict[str, Any] = field(default_factory=dict)
    last_year: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_draws(self) -> int:
        return len(self.draws)


def is_uncertainty(info: dict[str, Any]) -> bool:
    """Whether a stored experiment (``store.experiment_info``) is an uncertainty comparison."""
    return info.get("kind") == "compare" and bool((info.get("options") or {}).get("draws"))


def last_year_metrics(store: ResultStore, experiment_id: int) -> pd.DataFrame:
    """The quarterly metrics of the horizon year only (what levels and flows at the horizon need)."""
    horizon = store.horizon_quarter(experiment_id)
    if horizon is None:
        return pd.DataFrame()
    quarters = list(range(max(horizon - 3, 0), horizon + 1))
    parts = list(store.iter_metrics(experiment_id, quarters=quarters, runs_per_chunk=500))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def load_uncertainty(store: ResultStore, name: str, names: Sequence[str] | None = None) -> UncertaintyData:
    """Read an uncertainty comparison back.

    Raises:
        StoreError: no experiment of that name.
        ExperimentError: the experiment has no assumption draws (a plain comparison, a sweep) or no runs.
    """
    info = store.experiment_info(name)
    if not is_uncertainty(info):
        raise ExperimentError(
            f"Experiment '{name}' has no assumption draws (it is a {info.get('kind')}"
            f"{' without --uncertainty' if info.get('kind') == 'compare' else ''}). Run "
            "`run_sim.py compare BASELINE OTHER... --uncertainty N` first."
        )
    exp_id = int(info["id"])
    metrics = last_year_metrics(store, exp_id)
    if metrics.empty:
        raise ExperimentError(f"Experiment '{name}' has no finished runs yet; run its command again to finish it.")
    wanted = [n for n in (names or METRIC_NAMES) if n in metrics.columns]
    horizon = horizon_values(metrics, None, wanted)
    draws = store.load_design(exp_id).set_index("point_id").sort_index()
    draws = draws[[c for c in (info["options"].get("varied") or draws.columns) if c in draws.columns]]
    scenarios = list(info["scenarios"])
    baseline = info["baseline"] or scenarios[0]
    per_draw = per_draw_differences(horizon, baseline, wanted)
    return UncertaintyData(name, baseline, [baseline, *[s for s in scenarios if s != baseline]], draws, horizon,
                           per_draw, int(info["reps"]), dict(info["options"]), last_year=metrics)


def select_parameters(columns: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The columns matching any glob pattern (``assumptions.leadership.*``), in their order."""
    return [c for c in columns if any(fnmatch.fnmatchcase(c, p) for p in patterns)]
