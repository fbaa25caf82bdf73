"""Sensitivity indices from a stored design and its outcomes (SALib).

Sobol analysis gives, for each metric, how much of its variance each assumption explains alone (first
order, S1) and with all its interactions (total, ST), with bootstrap confidence intervals. Morris gives the
mean absolute elementary effect (mu*, with an interval) and its spread (sigma): cheaper, for screening.
With several replications per point, the outcome of a point is the mean over its replications, so the
indices describe the model's expected response rather than one draw of its noise.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.experiment.design import Design
from sim.experiment.errors import ExperimentError
from sim.experiment.store import SENSITIVITY_COLUMNS


def analyse(design: Design, outcomes: pd.DataFrame, names: Sequence[str], seed: int = 0,
            conf_level: float = 0.95) -> pd.DataFrame:
    """Sobol or Morris indices of each metric with respect to each varied parameter.

    Args:
        design: the design the runs followed (kind ``sobol`` or ``morris``).
        outcomes: one row per run with ``point_id`` and the metrics at the horizon.
        names: the metrics to analyse.
        seed: seed of SALib's bootstrap, so that confidence intervals repeat exactly.
        conf_level: coverage of the intervals.

    Returns:
        Rows of ``metric, parameter, method, S1, S1_conf, ST, ST_conf, mu_star, mu_star_conf, sigma``
        (NaN where the method does not give one, or where the metric does not vary at all).
    """
    if design.kind not in ("sobol", "morris"):
        raise ExperimentError(f"Sensitivity indices need a sobol or morris design, not {design.kind}.")
    per_point = outcomes.groupby("point_id")[list(names)].mean().reindex(range(design.n_points))
    missing = int(per_point.isna().all(axis=1).sum())
    if missing:
        raise ExperimentError(
            f"{missing} of {design.n_points} design points have no finished run; the analysis needs all. "
            "Run the same command again to finish them."
        )
    rows: list[dict[str, object]] = []
    for name in names:
        y = per_point[name].to_numpy(dtype=float)
        result = _indices(design, y, seed, conf_level)
        for j, param in enumerate(design.paths):
            row: dict[str, object] = {"metric": name, "parameter": param, "method": design.kind}
            for key in SENSITIVITY_COLUMNS[3:]:
                row[key] = float(result[key][j]) if key in result else np.nan
            rows.append(row)
    return pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))


def _indices(design: Design, y: np.ndarray, seed: int, conf_level: float) -> dict[str, np.ndarray]:
    nan = np.full(len(design.specs), np.nan)
    if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
        # A metric that never moves (or failed to compute) has no variance to apportion.
        return {"S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan, "mu_star": nan, "mu_star_conf": nan,
                "sigma": nan}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if design.kind == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(design.problem(), y, calc_second_order=False, conf_level=conf_level,
                                print_to_console=False, seed=seed)
            return {k: np.asarray(res[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        from SALib.analyze import morris

        res = morris.analyze(design.problem(), design.sampled, y, conf_level=conf_level,
                             print_to_console=False, num_levels=int(design.options.get("num_levels", 4)),
                             seed=seed)
        return {k: np.asarray(res[k], dtype=float) for k in ("mu_star", "mu_star_conf", "sigma")}
