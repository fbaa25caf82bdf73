"""What a scenario's difference from the baseline hinges on: variance-based drivers from the given draws.

Every compared scenario is run at the same N draws of the uncertain assumptions, so for each (scenario,
metric) there is one paired difference per draw. We want Sobol indices of that difference: the share of
its variance across draws that one assumption explains alone (first order) and with all its interactions
(total). A Saltelli design would need ``N * (D + 2)`` model runs for D assumptions (about 40,000 for 77
assumptions at N = 512), which we cannot afford; so the indices are estimated from the draws already run,
through a surrogate:

1. Fit three candidate surrogates on (draws -> difference) and keep the one that best predicts draws it was
   not fitted on: extra trees and a random forest (150 trees each, 100 above 512 draws;
   ``random_state=seed``; bootstrap, scored by out-of-bag R²; the forest only if it beats extra trees by
   more than 0.02), and a sparse linear model (the lasso on standardised inputs, its penalty and its score
   from 5-fold cross-validation). ``explained`` is the winner's out-of-sample R² clipped to [0, 1]: the
   share of the variance of the difference the surrogate reproduces. The rest is replication noise or
   structure it missed.
2. Compute Sobol first-order and total indices *of the surrogate* with SALib (Saltelli sample on a
   scrambled Sobol sequence, base N = 512, first and total order; SALib's Saltelli/Jansen estimators),
   drawing each input from the draws' empirical marginal (``np.quantile(column, u)``). Indices are
   shares of the surrogate's variance, clipped to [0, 1], with total >= first order enforced. So when
   ``explained`` is low, the indices describe only the part of the spread the surrogate caught (and
   the largest are overstated: a tree ensemble on 256 draws misses many small effects).

Why a lasso as well as trees: the model's differences are mostly additive in the assumptions. On the
national 128-draw comparison (model 0.3.0) the lasso explains 61-87% of the variance of the headline
differences out of sample, the tree ensembles 17-56%; and with 77 inputs and a hundred-odd draws an
ensemble that explains little still hands its few splits to one or two assumptions (the premium's quality
gain came out 81% "peer internalisation" from a forest explaining 17%, and 20% from the lasso explaining
87%). Trees stay for what a linear model cannot see, interactions and thresholds; a linear surrogate has no
interactions, so where it wins first order and total coincide.

Between the two ensembles, measured on synthetic functions with known indices, as the largest absolute
error over all parameters (first order / total): y = x0 - 0.4, y = 2 x0 + x1 and a pure interaction
(x0 - 0.5)(x1 - 0.5) among 20 parameters, Ishigami among 20, and 10 linear effects among 77.

    draws (ensembles)   x0-0.4     2x0+x1     x0*x1      Ishigami   linear-10-of-77
    256 Sobol           0.00/0.00  0.03/0.03  0.03/0.34  0.37/0.36  0.22/0.24
    256 uniform         0.00/0.00  0.04/0.04  0.21/0.27  0.23/0.20  0.19/0.22
    1024 Sobol          0.00/0.00  0.01/0.01  0.01/0.06  0.10/0.06  0.13/0.15

With the lasso among the candidates it wins the linear cases: 10 linear effects among 77 now have a
largest error of 0.015 at 128 and at 256 Sobol draws (tests/test_uncertainty_analysis.py). Neither
ensemble wins alone. Extra trees are better on the interaction (uniform draws: 0.04 against
0.20) and are not fooled when a scrambled Sobol design aliases it with an unrelated column (the forest
gave a noise parameter S1 = 0.66 at 256 Sobol draws); forests are better on curved effects (Ishigami
0.23 against 0.49) and at 1,024 draws. Out-of-bag R² picks the forest where it helps; the 0.02 margin
keeps extra trees where the two are as good. Given-data first-order estimators were also tried: bias-
corrected bins and SALib's RBD-FAST were more accurate on uniform draws (max error 0.03-0.07; a GCV
smoothing spline per parameter missed Ishigami, 0.44, and is slow), but they measure shares of the
*observed* variance, noise included, so they would not sit on the same scale as surrogate totals; and
on scrambled Sobol draws they gave noise parameters up to 0.25 (77 dimensions) and 0.57 (the aliased
interaction): a 256-point design in 77 dimensions has column pairs correlated up to 0.38, a 64-point
one up to 0.84. So first order comes from the surrogate too.

Cost at 77 parameters on this 2-core machine: 1.5-1.8 s of CPU at 256 draws and 3.1 s at 1,024 (so no
more wall time than that when the machine is idle); measured while other jobs kept the load average at
6, the wall times were 3.1 s and 4-6 s. The Saltelli sample is cached, so a drivers table reuses it.

Each ensemble fits and predicts in one thread: a forest's threads add their trees' predictions in the
order they finish, so on a loaded machine the indices could differ in the last bits from run to run.
:func:`drivers_frame` spreads its pairs over processes instead (:mod:`sim.uncertainty.pool`), and keeps the
last results by their inputs, so a briefing pack built after the comparison reuses the comparison's.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from sim.experiment.errors import ExperimentError
from sim.uncertainty.pool import map_tasks

DRIVER_COLUMNS: tuple[str, ...] = ("parameter", "first_order", "total")
FRAME_COLUMNS: tuple[str, ...] = ("scenario", "metric", "parameter", "first_order", "total", "explained")
MIN_DRAWS = 16
BASE_SAMPLES = 512  # Saltelli base N on the surrogate: N * (D + 2) cheap predictions
N_TREES = 150  # per ensemble up to 512 draws
N_TREES_LARGE = 100  # above 512 draws, where more data steadies each tree and fitting costs most
FOREST_MARGIN = 0.02  # out-of-bag R² a random forest must gain over extra trees to be used


@dataclass(frozen=True)
class DriversResult:
    """Sobol indices of one per-draw difference.

    Attributes:
        table: one row per assumption (``DRIVER_COLUMNS``), largest total first.
        explained: out-of-bag R² of the surrogate, in [0, 1] (1.0 when the difference does not vary).
        n_draws: draws the indices were estimated from.
        method: how they were estimated, for the record.
    """

    table: pd.DataFrame
    explained: float
    n_draws: int
    method: str


def _inputs(draws: pd.DataFrame, y: pd.Series | np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    if not isinstance(draws, pd.DataFrame):
        raise ExperimentError("The draws must be a table with one column per uncertain assumption.")
    values = np.asarray(y, dtype=float).reshape(-1)
    if len(values) != len(draws):
        raise ExperimentError(f"There are {len(draws)} draws but {len(values)} differences; they must pair up.")
    if len(draws) < MIN_DRAWS:
        raise ExperimentError(f"Variance drivers need at least {MIN_DRAWS} draws; got {len(draws)}.")
    if not np.all(np.isfinite(values)):
        bad = int((~np.isfinite(values)).sum())
        raise ExperimentError(f"{bad} of {len(values)} differences are missing or not finite; "
                              "drivers need a finite difference for every draw.")
    try:
        x = draws.astype(float)
    except (TypeError, ValueError) as exc:
        raise ExperimentError(f"Every assumption column must be numeric: {exc}") from exc
    if not np.all(np.isfinite(x.to_numpy())):
        raise ExperimentError("The draws hold missing or non-finite assumption values.")
    return x, values


def _table(columns: list[str], first: dict[str, float], total: dict[str, float]) -> pd.DataFrame:
    table = pd.DataFrame({
        "parameter": columns,
        "first_order": [float(first.get(c, 0.0)) for c in columns],
        "total": [float(total.get(c, 0.0)) for c in columns],
    })
    return table.sort_values(["total", "first_order"], ascending=False, kind="stable").reset_index(drop=True)


def _trees(n: int) -> int:
    return N_TREES if n <= 512 else N_TREES_LARGE


def _lasso(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[object, float, str]:
    """A sparse linear model (standardised inputs, penalty chosen by 5-fold cross-validation).

    Its score is the cross-validated R² at the chosen penalty: like the ensembles' out-of-bag R², a measure
    of how well it predicts draws it was not fitted on.
    """
    from sklearn.linear_model import LassoCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    lasso = LassoCV(cv=5, random_state=seed, max_iter=20_000, n_jobs=1)
    model = make_pipeline(StandardScaler(), lasso)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings at the weakest penalties
        model.fit(x, y)
    mse = float(np.min(lasso.mse_path_.mean(axis=1)))
    return model, 1.0 - mse / float(np.var(y)), "sparse linear (lasso)"


def _surrogate(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[object, float, str]:
    """The candidate that best predicts unseen draws (see the module docstring).

    Extra trees, or a random forest if it predicts clearly better; or the lasso, where the difference is
    mostly additive in the assumptions (as the model's differences mostly are: on the national 128-draw
    comparison the lasso explains 75-83% of the variance of the headline differences, the ensembles 17-56%).
    """
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    trees = _trees(len(y))

    def fit(cls: type) -> object:
        model = cls(n_estimators=trees, bootstrap=True, oob_score=True, random_state=seed, n_jobs=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "some inputs do not have OOB scores" at tiny N
            model.fit(x, y)
        return model

    # One ensemble in memory at a time (each grows with the draws): extra trees are scored, dropped, and
    # refitted (identically, with the same seed) only if the forest does not beat them.
    extra_score = float(fit(ExtraTreesRegressor).oob_score_)  # type: ignore[attr-defined]
    forest = fit(RandomForestRegressor)
    forest_score = float(forest.oob_score_)  # type: ignore[attr-defined]
    if forest_score > extra_score + FOREST_MARGIN:
        trees_best: tuple[object, float, str] = (forest, forest_score, "random forest")
    else:
        del forest
        trees_best = (fit(ExtraTreesRegressor), extra_score, "extra trees")
    linear = _lasso(x, y, seed)
    return linear if linear[1] > trees_best[1] else trees_best


@lru_cache(maxsize=8)
def _unit_sample(d: int, seed: int) -> np.ndarray:
    """Saltelli's sample on the unit cube (shared by every pair of a drivers table: same d, same seed)."""
    from SALib.sample import sobol as sobol_sample

    sample = sobol_sample.sample(_problem(d), BASE_SAMPLES, calc_second_order=False, scramble=True, seed=seed)
    sample.setflags(write=False)
    return sample


def _problem(d: int) -> dict[str, object]:
    return {"num_vars": d, "names": [f"x{j}" for j in range(d)], "bounds": [[0.0, 1.0]] * d}


def _surrogate_sobol(model: object, x: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """First-order and total Sobol indices of the surrogate over the draws' empirical marginals."""
    from SALib.analyze import sobol as sobol_analyze

    n, d = x.shape
    u = _unit_sample(d, seed)
    # np.quantile(column, u) with linear interpolation, done once per column on the sorted draws
    ranks = np.arange(n, dtype=float)
    z = np.column_stack([np.interp(u[:, j] * (n - 1), ranks, np.sort(x[:, j])) for j in range(d)])
    pred = np.asarray(model.predict(z), dtype=float)  # type: ignore[attr-defined]
    if np.ptp(pred) == 0:
        return np.zeros(d), np.zeros(d)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sobol_analyze.analyze(_problem(d), pred, calc_second_order=False, num_resamples=10, seed=seed)
    first = np.clip(np.nan_to_num(np.asarray(res["S1"], float)), 0.0, 1.0)
    total = np.clip(np.nan_to_num(np.asarray(res["ST"], float)), 0.0, 1.0)
    return first, np.maximum(total, first)


def variance_drivers(draws: pd.DataFrame, y: pd.Series | np.ndarray, *, seed: int = 0) -> DriversResult:
    """Sobol first-order and total indices of a per-draw difference, estimated through a surrogate.

    Args:
        draws: one row per draw, one column per uncertain assumption (the values the model saw).
            Constant columns (fixed assumptions) get zeros.
        y: the difference for each draw, in the same order.
        seed: seeds the surrogate and its Sobol sample, so the indices repeat exactly.

    Raises:
        ExperimentError: fewer than 16 draws, a missing or non-finite difference, or non-numeric draws.
    """
    x, values = _inputs(draws, y)
    columns = [str(c) for c in x.columns]
    n = len(values)
    if np.ptp(values) == 0:
        return DriversResult(_table(columns, {}, {}), 1.0, n,
                             "none: the difference is the same in every draw, so no assumption drives it")
    varying = [c for c, col in zip(columns, x.columns, strict=True) if np.ptp(x[col].to_numpy()) > 0]
    if not varying:
        return DriversResult(_table(columns, {}, {}), 0.0, n,
                             "none: no assumption varies across the draws, so the spread is replication noise")
    xv = x.loc[:, [col for c, col in zip(columns, x.columns, strict=True) if c in set(varying)]].to_numpy()
    model, score, name = _surrogate(xv, values, seed)
    first, total = _surrogate_sobol(model, xv, seed)
    explained = float(np.clip(score, 0.0, 1.0))
    method = (f"{name} surrogate (out-of-sample R² {score:.3f}); Sobol indices of the surrogate "
              f"from a Saltelli sample of {BASE_SAMPLES} x ({len(varying)} + 2) over the draws' marginals")
    return DriversResult(_table(columns, dict(zip(varying, first, strict=True)),
                                dict(zip(varying, total, strict=True))), explained, n, method)


def drivers_frame(
    per_draw: pd.DataFrame, draws: pd.DataFrame, *, value: str = "difference", seed: int = 0,
    workers: int | None = 1,
) -> pd.DataFrame:
    """Drivers of every (scenario, metric) of a long per-draw table: the rows of ``drivers.csv``.

    Args:
        per_draw: columns ``scenario, metric, draw, <value>``, one row per scenario x metric x draw.
        draws: the assumption values, indexed by draw id (the ``draw`` column refers to this index).
        value: the column holding the difference.
        seed: passed to :func:`variance_drivers` for every pair.
        workers: local processes to fit the pairs in (None: one per core); the result is the same.

    Returns:
        ``FRAME_COLUMNS``: one block of rows per (scenario, metric), in the order they first appear.
    """
    missing = [c for c in ("scenario", "metric", "draw", value) if c not in per_draw.columns]
    if missing:
        raise ExperimentError(f"The per-draw table lacks columns {', '.join(missing)}; "
                              f"it has {', '.join(map(str, per_draw.columns))}.")
    pairs: list[tuple[str, str]] = []
    inputs: list[tuple[pd.DataFrame, np.ndarray, int]] = []
    for (scenario, metric), group in per_draw.groupby(["scenario", "metric"], sort=False):
        ids = group["draw"]
        if ids.duplicated().any():
            raise ExperimentError(f"Scenario {scenario}, metric {metric}: draw ids repeat "
                                  f"({', '.join(map(str, ids[ids.duplicated()].unique()[:5]))}).")
        unknown = ids[~ids.isin(draws.index)]
        if len(unknown):
            raise ExperimentError(f"Scenario {scenario}, metric {metric}: draws "
                                  f"{', '.join(map(str, unknown.unique()[:5]))} are not in the draws table.")
        pairs.append((scenario, metric))
        inputs.append((draws.loc[ids.to_numpy()], group[value].to_numpy(float), seed))
    if not pairs:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("first_order", "total", "explained") else object)
                             for c in FRAME_COLUMNS})
    blocks: list[pd.DataFrame] = []
    for (scenario, metric), result in zip(pairs, _remembered(inputs, workers), strict=True):
        if isinstance(result, ExperimentError):
            raise ExperimentError(f"Scenario {scenario}, metric {metric}: {result}") from result
        block = result.table.assign(scenario=scenario, metric=metric, explained=result.explained)
        blocks.append(block.loc[:, list(FRAME_COLUMNS)])
    return pd.concat(blocks, ignore_index=True)


#: The last results of :func:`variance_drivers`, by a digest of their inputs (draws, difference, seed).
_RESULTS: OrderedDict[str, DriversResult | ExperimentError] = OrderedDict()
MAX_REMEMBERED = 256


def _digest(draws: pd.DataFrame, y: np.ndarray, seed: int) -> str:
    h = hashlib.sha256(repr((seed, [str(c) for c in draws.columns], draws.dtypes.astype(str).tolist())).encode())
    h.update(pd.util.hash_pandas_object(draws, index=False).to_numpy().tobytes())
    h.update(np.ascontiguousarray(y, dtype=float).tobytes())
    return h.hexdigest()


def _remembered(
    inputs: list[tuple[pd.DataFrame, np.ndarray, int]], workers: int | None
) -> list[DriversResult | ExperimentError]:
    """Each input's drivers (or the error they raised), computing only those not remembered."""
    keys = [_digest(*args) for args in inputs]
    todo = [i for i, key in enumerate(keys) if key not in _RESULTS]
    for i, result in zip(todo, map_tasks(_drivers_task, [inputs[i] for i in todo], workers), strict=True):
        _RESULTS[keys[i]] = result
        while len(_RESULTS) > MAX_REMEMBERED:
            _RESULTS.popitem(last=False)
    found = []
    for key in keys:
        _RESULTS.move_to_end(key)
        found.append(_RESULTS[key])
    return found


def forget_results() -> None:
    """Drop the remembered results (tests that change how drivers are computed)."""
    _RESULTS.clear()


def _drivers_task(args: tuple[pd.DataFrame, np.ndarray, int]) -> DriversResult | ExperimentError:
    """One pair's :func:`variance_drivers`, its error returned rather than raised (the caller names the pair)."""
    draws, y, seed = args
    try:
        return variance_drivers(draws, y, seed=seed)
    except ExperimentError as exc:
        return exc
