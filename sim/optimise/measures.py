"""From a trial's runs to the numbers a search compares: paired differences from BASE, made robust.

Every trial runs on the same seeds as BASE (and, with draws of the assumptions, at the same draws), so a
trial's difference from BASE at one draw is a paired difference: the run-to-run noise it shares with BASE
cancels. The arrays here are ``(draws, replications)`` per metric; replications are averaged first (they
estimate one expected value per draw), then the draws are summarised by the robustness measure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.experiment.paired import horizon_values
from sim.optimise.spec import Constraint, Objective, Robustness

#: A trial's (or BASE's) results: metric -> array of shape (draws, replications).
Values = dict[str, np.ndarray]


def values_by_label(metrics: pd.DataFrame, horizon: int, names: Sequence[str], n_draws: int,
                    reps: int) -> dict[str, Values]:
    """Each stored label's metrics at the horizon as ``(draws, replications)`` arrays; a label missing
    any run (one failed) is left out, so that no trial is judged on part of its runs."""
    if metrics.empty:
        return {}
    at = horizon_values(metrics, horizon, list(names))
    out: dict[str, Values] = {}
    for label, part in at.groupby("scenario", sort=False):
        if len(part) != n_draws * reps:
            continue
        ordered = part.sort_values(["point_id", "replication"])
        out[str(label)] = {name: ordered[name].to_numpy(dtype=float).reshape(n_draws, reps) for name in names}
    return out


def per_draw(values: Values, base: Values, metric: str, relative: bool = True) -> np.ndarray:
    """The trial's mean over replications at each draw, minus BASE's when ``relative`` (paired)."""
    own = values[metric].mean(axis=1)
    return own - base[metric].mean(axis=1) if relative else own


def _tail(diffs: np.ndarray, percent: float, higher_is_better: bool) -> float:
    """The value in the worst ``percent`` per cent of draws: a low percentile where higher is better."""
    return float(np.percentile(diffs, percent if higher_is_better else 100 - percent))


def objective_measure(values: Values, base: Values, objective: Objective, robust: Robustness) -> float:
    """The number the search optimises for one objective (regret is computed across trials instead:
    :func:`regrets`)."""
    diffs = per_draw(values, base, objective.metric)
    if robust.kind == "percentile":
        assert robust.percent is not None
        return _tail(diffs, robust.percent, objective.direction == "max")
    return float(diffs.mean())


def constraint_measure(values: Values, base: Values, constraint: Constraint, robust: Robustness) -> float:
    """The number a constraint is checked on: the difference from BASE (relative) or the level, averaged
    over the draws, or in their worst tail for a percentile search (regret has no tail: the mean)."""
    measured = per_draw(values, base, constraint.metric, constraint.relative)
    if robust.kind == "percentile":
        assert robust.percent is not None
        return _tail(measured, robust.percent, constraint.op == ">=")
    return float(measured.mean())


def best_per_draw(trials: Mapping[str, Values], objective: Objective) -> np.ndarray:
    """The best mean over replications at each draw, among the given designs (BASE among them)."""
    stacked = np.stack([v[objective.metric].mean(axis=1) for v in trials.values()])
    return stacked.max(axis=0) if objective.direction == "max" else stacked.min(axis=0)


def regret(values: Values, best: np.ndarray, objective: Objective) -> float:
    """The largest shortfall over the draws against ``best`` (Savage's minimax regret; zero or more)."""
    own = values[objective.metric].mean(axis=1)
    shortfall = (best - own) * objective.sign
    return float(max(shortfall.max(), 0.0))


def regrets(trials: Mapping[str, Values], objectives: Sequence[Objective]) -> dict[str, list[float]]:
    """Every design's regret on every objective, against the best of ``trials`` at each draw."""
    best = {o.metric: best_per_draw(trials, o) for o in objectives}
    return {label: [regret(v, best[o.metric], o) for o in objectives] for label, v in trials.items()}


def interval(values: np.ndarray, conf_level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-interval of the expected value over every (draw, replication) pair; NaN bounds with
    fewer than two values, the mean itself when they do not vary."""
    from scipy import stats

    flat = np.asarray(values, dtype=float).ravel()
    mean = float(flat.mean())
    if flat.size < 2:
        return mean, np.nan, np.nan
    sd = float(flat.std(ddof=1))
    if sd == 0:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + conf_level / 2, flat.size - 1) * sd / np.sqrt(flat.size))
    return mean, mean - half, mean + half


def pareto_mask(scores: np.ndarray) -> np.ndarray:
    """Which rows of ``scores`` (rows = designs, columns = objectives, all to be maximised) no other row
    dominates: at least as good on every objective and better on one. Duplicates are all kept."""
    scores = np.asarray(scores, dtype=float)
    keep = np.ones(len(scores), dtype=bool)
    for i, row in enumerate(scores):
        others = np.delete(scores, i, axis=0)
        dominated = np.all(others >= row, axis=1) & np.any(others > row, axis=1)
        keep[i] = not bool(dominated.any())
    return keep
