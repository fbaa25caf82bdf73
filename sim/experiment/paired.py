"""Comparing scenarios across replications: means with intervals, and paired differences from a baseline.

Replication ``k`` of every scenario uses the same seed, so it shares its population and its random shocks
with replication ``k`` of the baseline (common random numbers). The difference within each pair then
carries little of the run-to-run noise, and the interval of the mean paired difference (a t-interval on
the per-replication differences) is much narrower than the interval that ignores the pairing (Welch's).
Both are reported, so the gain is visible: :func:`interval_width_ratio`.

How a metric is read at a horizon follows :data:`sim.metrics.METRICS`: a *level* at the horizon quarter,
a *flow* summed over the four quarters ending there (a yearly figure).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiment.errors import ExperimentError
from sim.metrics import METRIC_NAMES, METRICS_BY_NAME

SUMMARY_COLUMNS: tuple[str, ...] = (
    "metric", "scenario", "baseline", "quarter", "n", "mean", "ci_low", "ci_high", "diff_mean",
    "diff_ci_low", "diff_ci_high", "unpaired_ci_low", "unpaired_ci_high", "significant",
)

_RUN_KEYS = ("scenario", "point_id", "replication", "seed", "run_id")


def horizon_values(
    metrics: pd.DataFrame, horizon_quarter: int | None = None, names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per run with each metric read at the horizon (levels at it, flows over its year).

    Args:
        metrics: quarterly metrics with ``scenario``, ``replication``, ``quarter`` and metric columns.
        horizon_quarter: the quarter to read; default the last quarter in ``metrics``.
        names: metrics to read; default every known metric present.

    Raises:
        ExperimentError: the horizon lies outside the runs.
    """
    if metrics.empty:
        raise ExperimentError("No stored metrics to summarise (the experiment has no finished runs).")
    last = int(metrics["quarter"].max())
    horizon = last if horizon_quarter is None else int(horizon_quarter)
    if not 0 <= horizon <= last:
        raise ExperimentError(f"Horizon quarter {horizon} is outside the runs, which cover quarters 0 to {last}.")
    names = [n for n in (names or METRIC_NAMES) if n in metrics.columns]
    keys = [k for k in _RUN_KEYS if k in metrics.columns]
    levels = [n for n in names if METRICS_BY_NAME[n].kind == "level"]
    flows = [n for n in names if METRICS_BY_NAME[n].kind == "flow"]

    at = metrics[metrics["quarter"] == horizon].set_index(keys)[levels]
    window = metrics[(metrics["quarter"] > max(horizon - 4, 0)) & (metrics["quarter"] <= horizon)]
    if flows:
        summed = window.groupby(keys, sort=False)[flows].sum(min_count=1)
        at = at.join(summed, how="outer")
    out = at.reset_index()
    out.insert(len(keys), "quarter", horizon)
    return out[[*keys, "quarter", *names]]


def _t_interval(values: np.ndarray, conf_level: float) -> tuple[float, float, float]:
    """Mean and t-interval; the interval is NaN with fewer than two values."""
    n = values.size
    if n == 0:
        return np.nan, np.nan, np.nan
    mean = float(values.mean())
    if n < 2:
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(0.5 + conf_level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def _welch_interval(a: np.ndarray, b: np.ndarray, conf_level: float) -> tuple[float, float]:
    """Welch's interval for mean(a) - mean(b), ignoring any pairing."""
    if a.size < 2 or b.size < 2:
        return np.nan, np.nan
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff = float(a.mean() - b.mean())
    se2 = va + vb
    if se2 == 0:
        return diff, diff
    df = se2**2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + conf_level / 2, df) * np.sqrt(se2))
    return diff - half, diff + half


def summarise(
    metrics: pd.DataFrame, baseline: str, horizon_quarter: int | None = None, *,
    names: Sequence[str] | None = None, conf_level: float = 0.95, order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Mean of each metric per scenario, and the paired difference from the baseline, at a horizon.

    Args:
        metrics: quarterly metrics of a comparison (``scenario``, ``replication``, ``quarter``, metrics).
        baseline: the scenario differences are taken from.
        horizon_quarter: default the last quarter.
        names: metrics to summarise; default every known metric present.
        conf_level: coverage of every interval.
        order: scenario order for the rows; default baseline first, then alphabetical.

    Returns:
        One row per (metric, scenario) with ``metric, scenario, baseline, quarter, n, mean, ci_low,
        ci_high, diff_mean, diff_ci_low, diff_ci_high, unpaired_ci_low, unpaired_ci_high, significant``;
        ``significant`` is true where the paired interval excludes zero.

    In an uncertainty comparison (several assumption draws) runs pair by draw and replication, so the
    interval is that of the *expected* difference over the assumptions' distributions; how the difference
    spreads over them is :mod:`sim.uncertainty.summary`'s job.

    Raises:
        ExperimentError: the baseline is not among the scenarios, or the metrics are a sweep's.

    Example:
        >>> summary = summarise(data.metrics, baseline="status_quo")  # doctest: +SKIP
    """
    values = horizon_values(metrics, horizon_quarter, names)
    scenarios = list(dict.fromkeys(values["scenario"]))
    drawn = "point_id" in values.columns and values["point_id"].nunique() > 1
    if drawn and len(scenarios) < 2:
        raise ExperimentError("These metrics come from a sweep (several design points); summarise compares "
                              "scenarios, not design points.")
    if baseline not in scenarios:
        raise ExperimentError(
            f"Baseline '{baseline}' is not one of the compared scenarios: {', '.join(scenarios)}."
        )
    if order is not None:
        scenarios = [s for s in order if s in scenarios] + [s for s in scenarios if s not in order]
    else:
        scenarios = [baseline, *sorted(s for s in scenarios if s != baseline)]
    metric_names = [c for c in values.columns if c in METRICS_BY_NAME]
    horizon = int(values["quarter"].iloc[0])
    # Runs pair by replication (common seeds) and, in an uncertainty comparison, by assumption draw too.
    pair_keys = ["point_id", "replication"] if drawn else "replication"
    by_scenario = {s: values[values["scenario"] == s].set_index(pair_keys) for s in scenarios}
    base = by_scenario[baseline]

    rows = []
    for name in metric_names:
        b_all = base[name].dropna()
        for scenario in scenarios:
            own = by_scenario[scenario][name]
            x = own.dropna().to_numpy(dtype=float)
            mean, lo, hi = _t_interval(x, conf_level)
            paired = pd.concat([own.rename("x"), base[name].rename("b")], axis=1, join="inner").dropna()
            diffs = (paired["x"] - paired["b"]).to_numpy(dtype=float)
            d_mean, d_lo, d_hi = _t_interval(diffs, conf_level)
            if diffs.size >= 2 and np.all(diffs == diffs[0]):
                d_lo = d_hi = d_mean  # no variation at all (e.g. the baseline against itself)
            u_lo, u_hi = _welch_interval(x, b_all.to_numpy(dtype=float), conf_level)
            significant = bool(np.isfinite(d_lo) and np.isfinite(d_hi) and (d_lo > 0 or d_hi < 0))
            rows.append((name, scenario, baseline, horizon, int(x.size), mean, lo, hi, d_mean, d_lo, d_hi,
                         u_lo, u_hi, significant))
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def interval_width_ratio(summary: pd.DataFrame) -> pd.DataFrame:
    """How much narrower the paired intervals are than the unpaired ones, per metric and scenario.

    Returns:
        ``metric, scenario, quarter, paired_width, unpaired_width, ratio`` (paired / unpaired) for every
        non-baseline row with both intervals defined; ``ratio`` below 1 means pairing helped.
    """
    rows = summary[summary["scenario"] != summary["baseline"]].copy()
    rows["paired_width"] = rows["diff_ci_high"] - rows["diff_ci_low"]
    rows["unpaired_width"] = rows["unpaired_ci_high"] - rows["unpaired_ci_low"]
    rows = rows[np.isfinite(rows["paired_width"]) & np.isfinite(rows["unpaired_width"])
                & (rows["unpaired_width"] > 0)]
    rows["ratio"] = rows["paired_width"] / rows["unpaired_width"]
    return rows[["metric", "scenario", "quarter", "paired_width", "unpaired_width", "ratio"]].reset_index(
        drop=True)


def median_width_ratio(summary: pd.DataFrame, names: Sequence[str] | None = None) -> float:
    """The median paired/unpaired width ratio over the given metrics (default all): one headline figure."""
    ratios = interval_width_ratio(summary)
    if names is not None:
        ratios = ratios[ratios["metric"].isin(list(names))]
    return float(ratios["ratio"].median()) if len(ratios) else float("nan")
