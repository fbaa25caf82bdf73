"""Opening a stored experiment in the explorer: its runs for the charts, its paired summary, and (when it
has assumption draws) the probability of improvement and the boxes of assumptions in which a reform fails.

Everything is read through the results store and the uncertainty package's own functions, so the page
shows what ``run_sim.py report`` would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sim.charts.style import display_unit, experiment_scale
from sim.docs import parameter_label
from sim.experiment.results import experiment_data
from sim.experiment.store import ExperimentData, ResultStore
from sim.metrics import DIRECTED_HEADLINE_METRICS, METRICS_BY_NAME
from sim.report_text import fmt_interval, fmt_number
from sim.uncertainty.discovery import describe_boxes, discover
from sim.uncertainty.stored import is_uncertainty, load_uncertainty
from sim.uncertainty.summary import summarise_draws

#: Fewest draws for which the page looks for failure boxes (PRIM on fewer finds noise).
MIN_DRAWS_FOR_BOXES = 16


@dataclass
class StoredView:
    """A stored experiment as the page shows it."""

    name: str
    data: ExperimentData
    baseline: str
    scenarios: list[str]
    probabilities: pd.DataFrame = field(default_factory=pd.DataFrame)  # scenario, metric, probability_better...
    failures: dict[str, list[str]] = field(default_factory=dict)  # scenario -> one sentence per box
    n_draws: int = 0
    scale: float | None = None  # the share of England simulated (None if the scenarios differ in it)


def experiment_table(store: ResultStore) -> pd.DataFrame:
    """The comparisons in the store, newest first (sweeps and sensitivity analyses have no baseline)."""
    table = store.list_experiments()
    if table.empty:
        return table
    return table[table["kind"] == "compare"].iloc[::-1].reset_index(drop=True)


def open_experiment(store: ResultStore, name: str) -> StoredView:
    """Load a stored comparison, with its uncertainty analysis when it has draws."""
    info = store.experiment_info(name)
    data = experiment_data(store, name, snapshots=False)
    scenarios = list(info["scenarios"])
    baseline = info.get("baseline") or scenarios[0]
    view = StoredView(name, data, baseline, [baseline, *[s for s in scenarios if s != baseline]],
                      scale=experiment_scale(data.experiment))
    if is_uncertainty(info) and not data.metrics.empty:
        loaded = load_uncertainty(store, name)
        view.n_draws = loaded.n_draws
        view.probabilities = summarise_draws(loaded.per_draw)
        if loaded.n_draws >= MIN_DRAWS_FOR_BOXES:
            view.failures = failure_boxes(loaded)
    return view


def failure_boxes(loaded: object, metric: str = "quality_mean") -> dict[str, list[str]]:
    """For each reform, where it makes ``metric`` worse: PRIM boxes as sentences (or why there are none)."""
    per_draw, draws = loaded.per_draw, loaded.draws  # type: ignore[attr-defined]
    better = METRICS_BY_NAME[metric].better
    bound = {"below": 0.0} if better == "higher" else {"above": 0.0}
    out: dict[str, list[str]] = {}
    for scenario in loaded.scenarios[1:]:  # type: ignore[attr-defined]
        rows = per_draw[(per_draw["scenario"] == scenario) & (per_draw["metric"] == metric)]
        diff = rows.set_index("draw")["difference"].reindex(draws.index)
        keep = diff.notna().to_numpy()
        if keep.sum() < 2:
            continue
        found = discover(draws.loc[keep], diff[keep].to_numpy(dtype=float), **bound)
        label = METRICS_BY_NAME[metric].label.lower()
        sentences = describe_boxes(found, outcome=f"{scenario} lowers {label}", label=parameter_label)
        out[scenario] = sentences or [found.message]
    return out


def probability_rows(view: StoredView, metrics: tuple[str, ...] = DIRECTED_HEADLINE_METRICS) -> list[dict[str, str]]:
    """Per reform and metric: the probability of improvement and the difference over the draws (mean and
    central 95%), in the pack's units (percentage points, GBP million a year...; money of runs at a scale
    below 1 scaled to England)."""
    table = view.probabilities
    if table.empty:
        return []
    rows = []
    for r in table[table["metric"].isin(metrics)].itertuples(index=False):
        spec = METRICS_BY_NAME[str(r.metric)]
        unit = display_unit(spec, [r.low, r.high], per_year=True, difference=True, scale=view.scale)
        f = unit.factor
        rows.append({"scenario": str(r.scenario), "metric": spec.label, "unit": unit.text,
                     "probability": f"{100 * float(r.probability_better):.0f}%",
                     "mean": fmt_number(float(r.mean_difference) * f),
                     "interval": fmt_interval(float(r.low) * f, float(r.high) * f)})
    return rows
