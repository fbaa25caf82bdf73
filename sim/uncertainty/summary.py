"""How likely a reform is to work: paired differences over the assumption draws, and their summary.

Each compared scenario ran at every draw of the assumptions with the baseline's seeds, so at each draw the
difference from the baseline is paired over both chance and the assumptions. Averaged over the draw's
replications, it is one sample from the distribution of the effect the reform has *given what we do not
know*. The summary gives its mean, the central interval that holds 95% of that distribution (an
*uncertainty interval*: it covers the assumptions' uncertainty and the remaining simulation noise, not the
model's structural limits), and the probability that the reform improves the metric (or improves it by
more than a material amount).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.experiment.errors import ExperimentError
from sim.metrics import METRICS_BY_NAME

UNCERTAINTY_COLUMNS: tuple[str, ...] = (
    "scenario", "metric", "mean_difference", "low", "high", "probability_better", "n_draws", "better",
    "material_delta", "probability_material", "probability_se",
)
PER_DRAW_COLUMNS: tuple[str, ...] = ("scenario", "metric", "draw", "difference", "baseline_value", "value")

_MATERIAL_RE = re.compile(r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<delta>[-+]?(\d+\.?\d*|\.\d+)"
                          r"([eE][-+]?\d+)?)\s*$")


def parse_material(texts: Sequence[str]) -> dict[str, float]:
    """``METRIC=DELTA`` options: the improvement (in the metric's own unit) that counts as material.

    Raises:
        ExperimentError: malformed text, an unknown metric, one without a better direction, a negative
            delta, or a metric given twice.
    """
    out: dict[str, float] = {}
    for text in texts:
        match = _MATERIAL_RE.match(text)
        if match is None:
            raise ExperimentError(f"--material '{text}': expected METRIC=DELTA, for example quality_mean=0.01.")
        name, delta = match["metric"], float(match["delta"])
        spec = METRICS_BY_NAME.get(name)
        if spec is None:
            raise ExperimentError(f"--material '{text}': unknown metric '{name}'. Known: "
                                  f"{', '.join(sorted(METRICS_BY_NAME))}.")
        if spec.better is None:
            raise ExperimentError(f"--material '{text}': '{name}' has no better direction, so an improvement "
                                  "is not defined for it.")
        if delta < 0:
            raise ExperimentError(f"--material '{text}': DELTA is an improvement and must be 0 or more "
                                  f"(in {spec.unit}; the direction comes from the metric).")
        if name in out:
            raise ExperimentError(f"--material: '{name}' is given more than once.")
        out[name] = delta
    return out


def per_draw_differences(values: pd.DataFrame, baseline: str, names: Sequence[str]) -> pd.DataFrame:
    """Each scenario's difference from the baseline at every draw, averaged over the draw's replications.

    Args:
        values: one row per run with ``scenario, point_id, replication`` and the metrics at the horizon.
        baseline: the scenario the differences are taken from.
        names: metrics to difference.

    Returns:
        ``scenario, metric, draw, difference, baseline_value, value`` (non-baseline scenarios only).
    """
    scenarios = list(dict.fromkeys(values["scenario"]))
    if baseline not in scenarios:
        raise ExperimentError(f"Baseline '{baseline}' is not one of the compared scenarios: {', '.join(scenarios)}.")
    names = [n for n in names if n in values.columns]
    keyed = values.set_index(["scenario", "point_id", "replication"])[names]
    base = keyed.xs(baseline, level="scenario")
    frames = []
    for scenario in scenarios:
        if scenario == baseline:
            continue
        own = keyed.xs(scenario, level="scenario")
        joined = own.join(base.add_suffix("__base"), how="inner")
        for name in names:
            pair = joined[[name, f"{name}__base"]].dropna()
            by_draw = pair.groupby(level="point_id").mean()
            frames.append(pd.DataFrame({
                "scenario": scenario, "metric": name, "draw": by_draw.index.to_numpy(dtype=int),
                "difference": (by_draw[name] - by_draw[f"{name}__base"]).to_numpy(dtype=float),
                "baseline_value": by_draw[f"{name}__base"].to_numpy(dtype=float),
                "value": by_draw[name].to_numpy(dtype=float),
            }))
    if not frames:
        return pd.DataFrame(columns=list(PER_DRAW_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(PER_DRAW_COLUMNS)]


def improvement(metric: str, difference: np.ndarray) -> np.ndarray | None:
    """The difference signed so that positive is better (None for a metric with no better direction)."""
    better = METRICS_BY_NAME[metric].better
    if better is None:
        return None
    return difference if better == "higher" else -difference


def summarise_draws(per_draw: pd.DataFrame, material: Mapping[str, float] | None = None,
                    coverage: float = 0.95) -> pd.DataFrame:
    """Mean difference, the central ``coverage`` uncertainty interval, and the probability of improvement.

    ``probability_better`` is the share of draws in which the scenario improves the metric (NaN for a
    metric with no better direction); ``probability_material`` the share in which it improves it by more
    than ``material[metric]``; ``probability_se`` the binomial standard error of ``probability_better``
    (the Monte Carlo error of the estimate, not a spread of outcomes).
    """
    material = dict(material or {})
    rows = []
    tail = (1 - coverage) / 2
    for (scenario, metric), group in per_draw.groupby(["scenario", "metric"], sort=False):
        diffs = group["difference"].to_numpy(dtype=float)
        diffs = diffs[np.isfinite(diffs)]
        n = diffs.size
        if n == 0:
            continue
        gain = improvement(str(metric), diffs)
        p_better = float(np.mean(gain > 0)) if gain is not None else np.nan
        delta = material.get(str(metric))
        p_material = float(np.mean(gain > delta)) if gain is not None and delta is not None else np.nan
        se = float(np.sqrt(p_better * (1 - p_better) / n)) if np.isfinite(p_better) else np.nan
        rows.append((scenario, metric, float(diffs.mean()), float(np.quantile(diffs, tail)),
                     float(np.quantile(diffs, 1 - tail)), p_better, n, METRICS_BY_NAME[str(metric)].better or "",
                     np.nan if delta is None else float(delta), p_material, se))
    return pd.DataFrame(rows, columns=list(UNCERTAINTY_COLUMNS))
