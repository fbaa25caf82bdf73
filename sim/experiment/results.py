"""What experiments return: result classes and the tables built from stored runs.

Tables are read back from the store rather than kept from the run loop, so a resumed experiment's result
is the same as an uninterrupted one's, and memory does not grow with the number of runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from sim.experiment.design import Design
from sim.experiment.paired import horizon_values, median_width_ratio, summarise
from sim.experiment.running import Outcome
from sim.experiment.store import ExperimentData, ResultStore
from sim.metrics import HEADLINE_METRICS


@dataclass
class ComparisonResult:
    """A finished comparison.

    Attributes:
        name: the experiment's name in the store.
        outcome: counts and timings of the runs.
        summary: :func:`~sim.experiment.paired.summarise` at the horizon and at each chosen year.
        widths: paired and unpaired interval widths and their ratio, per metric and scenario.
        metrics: quarterly metrics of every run (of an uncertainty comparison: of the horizon year only).
        uncertainty: with assumption draws, :func:`~sim.uncertainty.summary.summarise_draws` (mean
            difference, 95% uncertainty interval, probability of improvement), else empty.
        drivers: with draws, the share of each difference's variance due to each assumption, else empty.
        per_draw: with draws, each scenario's difference from the baseline at every draw, else empty.
        draws: with draws, the baseline's assumption values at every draw, else empty.
    """

    name: str
    outcome: Outcome
    summary: pd.DataFrame
    widths: pd.DataFrame
    metrics: pd.DataFrame
    uncertainty: pd.DataFrame = field(default_factory=pd.DataFrame)
    drivers: pd.DataFrame = field(default_factory=pd.DataFrame)
    per_draw: pd.DataFrame = field(default_factory=pd.DataFrame)
    draws: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def width_ratio(self) -> float:
        """Median paired/unpaired interval width over the headline metrics at the horizon."""
        horizon = self.summary["quarter"].max()
        return median_width_ratio(self.summary[self.summary["quarter"] == horizon], HEADLINE_METRICS)


@dataclass
class DesignResult:
    """A finished sweep or sensitivity analysis.

    Attributes:
        name: the experiment's name in the store.
        outcome: counts and timings of the runs.
        design: the points (applied values), indexed by ``point_id``.
        table: one row per run: ``point_id, replication, seed``, the parameters, every metric at the horizon.
        indices: sensitivity indices (empty for sweeps).
    """

    name: str
    outcome: Outcome
    design: pd.DataFrame
    table: pd.DataFrame
    indices: pd.DataFrame = field(default_factory=pd.DataFrame)

def summarise_at(metrics: pd.DataFrame, baseline: str, quarters: Sequence[int] = (),
                 order: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`summarise` at the horizon, then at each extra quarter, stacked."""
    frames = [summarise(metrics, baseline, order=order)]
    frames += [summarise(metrics, baseline, q, order=order) for q in quarters]
    return pd.concat(frames, ignore_index=True)


def design_table(store: ResultStore, experiment_id: int, design: Design | None = None,
                 horizon_quarter: int | None = None) -> pd.DataFrame:
    """The tidy table of a sweep: one row per run with its parameters and every metric at the horizon.

    Reads only the quarters the horizon needs, a chunk of runs at a time, so building it takes little
    memory however many runs the sweep has (the table itself is one short row per run).
    """
    horizon = horizon_quarter if horizon_quarter is not None else store.horizon_quarter(experiment_id)
    if horizon is None:
        return pd.DataFrame()
    quarters = list(range(max(horizon - 3, 0), horizon + 1))
    parts = [horizon_values(chunk, horizon)
             for chunk in store.iter_metrics(experiment_id, quarters=quarters, runs_per_chunk=200)]
    if not parts:
        return pd.DataFrame()
    values = pd.concat(parts, ignore_index=True)
    points = design.frame() if design is not None else store.load_design(experiment_id).set_index("point_id")
    table = points.reset_index().merge(values.drop(columns=["scenario", "run_id"], errors="ignore"),
                                       on="point_id", how="right")
    lead = ["point_id", "replication", "seed", "quarter"]
    return table[lead + [c for c in table.columns if c not in lead]].sort_values(
        ["point_id", "replication"], ignore_index=True)




def experiment_data(store: ResultStore, name: str, *, snapshots: bool = True) -> ExperimentData:
    """A stored experiment as DataFrames, with the paired ``summary`` at the horizon for a comparison."""
    data = store.load_experiment(name, snapshots=snapshots)
    info = data.experiment
    if info["kind"] == "compare" and not data.metrics.empty and info.get("baseline"):
        data.summary = summarise(data.metrics, info["baseline"])
    return data
