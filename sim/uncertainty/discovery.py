"""Where a scenario fails: scenario discovery with PRIM over the draws of the uncertain assumptions.

Variance drivers say which assumptions the difference hinges on; a policy reader also wants to know
*under which assumptions* the scenario does harm (or fails to reach a target). PRIM (Friedman & Fisher
1999, as used for scenario discovery by Bryant & Lempert 2010) answers with boxes: simple ranges on a few
assumptions inside which most draws are cases of interest. Each box is read by two numbers: *density*,
the share of draws in the box that are cases, and *coverage*, the share of all cases the box holds.

We use EMA Workbench's PRIM (peeling, then pasting, lenient objective) and its covering: after a box
is chosen its draws are removed and PRIM looks for the next one among the rest, so the coverage and
density of box 2 are counted over the draws outside box 1 (coverage stays a share of *all* cases).
On each box's peeling trajectory we choose the point with the highest coverage whose density reaches
the threshold: the simplest statement that is still mostly right. Restrictions on it that are not
significant (quasi-p > 0.05) are then dropped, one at a time, while the density still reaches the
threshold. If even the first box never reaches the threshold we keep its densest point and flag it;
later boxes that do not reach it end the search. When no draw is a case, every draw is, or the share
of cases already reaches the threshold, there is no box, and the message says why.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.experiment.errors import ExperimentError
from sim.uncertainty.pool import map_tasks

BOX_COLUMNS: tuple[str, ...] = ("box", "parameter", "low", "high", "coverage", "density")
TRAJECTORY_COLUMNS: tuple[str, ...] = ("box", "step", "coverage", "density", "mass", "res_dim", "chosen")
_TOLERANCE = 1e-12
QUASI_P = 0.05  # restrictions less significant than this are dropped (Bryant & Lempert 2010)


@dataclass(frozen=True)
class Discovery:
    """The boxes PRIM found for one per-draw difference, and how it found them.

    Attributes:
        boxes: ``BOX_COLUMNS``; boxes numbered from 1, one row per restricted parameter.
        trajectory: ``TRAJECTORY_COLUMNS``; each box's peeling and pasting trajectory, ``chosen`` marking
            the point reported.
        n_cases: draws that are cases of interest.
        n_draws: all draws.
        condition: what makes a case, e.g. ``"below 0"``.
        message: a plain summary (also says why there is no box, when there is none).
        threshold: the density asked for.
        ranges: each varying parameter's (min, max) over the draws, to tell restricted ends apart.
        short_of_threshold: boxes whose density falls short of the threshold (only ever box 1).
    """

    boxes: pd.DataFrame
    trajectory: pd.DataFrame
    n_cases: int
    n_draws: int
    condition: str
    message: str
    threshold: float = 0.8
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    short_of_threshold: tuple[int, ...] = ()

    @property
    def n_boxes(self) -> int:
        return int(self.boxes["box"].nunique()) if len(self.boxes) else 0


def fmt(value: float) -> str:
    """A number to three significant figures, without scientific notation for everyday magnitudes."""
    v = float(value)
    if v == 0 or not np.isfinite(v):
        return f"{v:g}"
    rounded = float(f"{v:.3g}")
    if abs(rounded) >= 1000:
        return f"{rounded:,.0f}"
    return f"{rounded:g}"


def _percent(share: float) -> str:
    return f"{100 * share:.0f}%" if share >= 0.1 or share == 0 else f"{100 * share:.2g}%"


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c == "parameter" else float) for c in columns})


def _validate(
    draws: pd.DataFrame, y: np.ndarray | pd.Series, below: float | None, above: float | None, threshold: float,
    max_boxes: int,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, str]:
    if (below is None) == (above is None):
        raise ExperimentError("Scenario discovery needs exactly one of below= or above= (what counts as a case).")
    if not 0 < threshold <= 1:
        raise ExperimentError(f"The density threshold must be in (0, 1]; got {threshold}.")
    if max_boxes < 1:
        raise ExperimentError(f"max_boxes must be at least 1; got {max_boxes}.")
    values = np.asarray(y, dtype=float).reshape(-1)
    if len(values) != len(draws):
        raise ExperimentError(f"There are {len(draws)} draws but {len(values)} differences; they must pair up.")
    if not np.all(np.isfinite(values)):
        raise ExperimentError("Some differences are missing or not finite; PRIM needs one for every draw.")
    try:
        x = draws.astype(np.float64).reset_index(drop=True)
    except (TypeError, ValueError) as exc:
        raise ExperimentError(f"Every assumption column must be numeric: {exc}") from exc
    x.columns = [str(c) for c in x.columns]
    if below is not None:
        return x, values, values < float(below), f"below {fmt(below)}"
    return x, values, values > float(above), f"above {fmt(above)}"  # type: ignore[arg-type]


def _choose(traj: pd.DataFrame, threshold: float) -> tuple[int, bool]:
    """Row of the trajectory to report, and whether it reaches the threshold."""
    dense = traj[traj["density"] >= threshold - _TOLERANCE]
    if len(dense):
        best = dense.sort_values(["coverage", "density", "step"], ascending=[False, False, True], kind="stable")
        return int(best.index[0]), True
    best = traj.sort_values(["density", "coverage", "step"], ascending=[False, False, True], kind="stable")
    return int(best.index[0]), False


def discover(
    draws: pd.DataFrame,
    y: np.ndarray | pd.Series,
    *,
    below: float | None = None,
    above: float | None = None,
    threshold: float = 0.8,
    max_boxes: int = 3,
    peel_alpha: float = 0.05,
    min_mass: float = 0.05,
) -> Discovery:
    """Boxes of assumptions in which the difference is mostly below (or above) a value.

    Args:
        draws: one row per draw, one column per uncertain assumption; constant columns are ignored.
        y: the difference for each draw, in the same order.
        below, above: a case is a draw with ``y < below`` (or ``y > above``); give exactly one.
        threshold: the density a box must reach.
        max_boxes: most boxes to look for.
        peel_alpha: share of the box peeled off at each step.
        min_mass: smallest share of the draws a box may hold.

    Raises:
        ExperimentError: both or neither of below/above, bad settings, or differences that do not pair up.
    """
    x, _, cases, condition = _validate(draws, y, below, above, threshold, max_boxes)
    n, k = len(cases), int(cases.sum())
    ranges = {c: (float(x[c].min()), float(x[c].max())) for c in x.columns if np.ptp(x[c].to_numpy()) > 0}
    common = {"n_cases": k, "n_draws": n, "condition": condition, "threshold": threshold, "ranges": ranges}
    no_box = {"boxes": _empty(BOX_COLUMNS), "trajectory": _empty(TRAJECTORY_COLUMNS)}
    what = f"the difference {condition}"
    if k == 0:
        return Discovery(**no_box, **common, message=f"No draw has {what} (0 of {n}): there is nothing to explain.")
    if k == n:
        return Discovery(**no_box, **common,
                         message=f"Every draw has {what} ({n} of {n}): it holds whatever the assumptions.")
    if not ranges:
        return Discovery(**no_box, **common, message=f"{k} of {n} draws have {what}, but no assumption varies "
                                                     "across the draws, so no region of assumptions can explain it.")
    if k / n >= threshold - _TOLERANCE:  # the whole space is the highest-coverage box dense enough
        return Discovery(**no_box, **common, message=f"{k} of {n} draws ({_percent(k / n)}) have {what}: that is "
                                                     f"already at least {_percent(threshold)} of all draws, so no "
                                                     "region of assumptions is needed to single them out.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ipyparallel missing; pandas deprecations inside the workbench
        from ema_workbench.analysis import prim

        engine = prim.Prim(
            x.loc[:, list(ranges)], cases.astype(int), threshold=_TOLERANCE, threshold_type=prim.ABOVE,
            peel_alpha=peel_alpha, paste_alpha=peel_alpha, mass_min=min_mass,
        )  # a tiny PRIM threshold keeps every box holding a case: the density threshold is applied in _cover
        boxes, trajectories, short = _cover(engine, threshold, max_boxes, ranges)
    if not boxes:
        return Discovery(**no_box, **common, message=f"{k} of {n} draws have {what}, but PRIM found no box of "
                                                     "assumptions that singles them out.")
    table = pd.DataFrame(boxes, columns=list(BOX_COLUMNS))
    trajectory = pd.concat(trajectories, ignore_index=True).loc[:, list(TRAJECTORY_COLUMNS)]
    stats = table.groupby("box")["coverage"].first()
    message = (f"{len(stats)} box{'es' if len(stats) != 1 else ''} of assumptions "
               f"hold{'s' if len(stats) == 1 else ''} "
               f"{_percent(float(stats.sum()))} of the {k} draws (of {n}) where the difference is {condition}.")
    if short:
        message += (f" Box 1 reaches only {_percent(float(table['density'].iloc[0]))} density, short of the "
                    f"{_percent(threshold)} asked for.")
    return Discovery(table, trajectory, **common, message=message, short_of_threshold=tuple(short))


#: One search for :func:`discover_each`: the draws, the differences and :func:`discover`'s keyword arguments.
Search = tuple[pd.DataFrame, np.ndarray, dict[str, float]]


def discover_each(searches: list[Search], workers: int | None = 1) -> list[Discovery]:
    """:func:`discover` for each search, in order, over ``workers`` local processes (None: one per core;
    :mod:`sim.uncertainty.pool`); the boxes are the same as one search at a time."""
    return map_tasks(_discover_task, searches, workers)


def _discover_task(search: Search) -> Discovery:
    draws, y, options = search
    return discover(draws, y, **options)


def _cover(
    engine: object, threshold: float, max_boxes: int, ranges: dict[str, tuple[float, float]],
) -> tuple[list[tuple], list[pd.DataFrame], list[int]]:
    """PRIM's covering: find a box, keep the chosen point of its trajectory, remove its draws, repeat."""
    rows: list[tuple] = []
    trajectories: list[pd.DataFrame] = []
    short: list[int] = []
    for number in range(1, max_boxes + 1):
        box = engine.find_box()  # type: ignore[attr-defined]
        if box is None or not len(box.peeling_trajectory):
            break
        traj = _trajectory(box, number)
        index, dense = _choose(traj, threshold)
        if not dense and number > 1:
            break
        box.select(index)  # so the covering removes the draws of the reported box, not of the last step
        if dense:
            index = _prune(box, index, threshold)
            traj = _trajectory(box, number)
        limits = box.box_lims[index]
        restricted = [c for c in ranges if limits.loc[0, c] > ranges[c][0] or limits.loc[1, c] < ranges[c][1]]
        if not restricted:  # the whole space already reaches the density: no region to single out
            break
        traj["chosen"] = traj["step"] == index
        trajectories.append(traj)
        coverage, density = float(traj.loc[index, "coverage"]), float(traj.loc[index, "density"])
        rows.extend((number, c, float(limits.loc[0, c]), float(limits.loc[1, c]), coverage, density)
                    for c in restricted)
        if not dense:
            short.append(number)
            break
    return rows, trajectories, short


def _trajectory(box: object, number: int) -> pd.DataFrame:
    traj = box.peeling_trajectory.reset_index(drop=True)  # type: ignore[attr-defined]
    return pd.DataFrame({
        "box": number, "step": np.arange(len(traj)), "coverage": traj["coverage"].astype(float),
        "density": traj["density"].astype(float), "mass": traj["mass"].astype(float),
        "res_dim": traj["res_dim"].astype(int),
    })


def _prune(box: object, index: int, threshold: float) -> int:
    """Drop restrictions that are not significant (quasi-p > 0.05) while the box keeps the density.

    Peeling on a few hundred draws also trims assumptions that merely happened to hold few cases at one
    edge; Bryant & Lempert's quasi-p value (a one-sided binomial test of the box against the box without
    that limit) tells them apart. Each dropped restriction adds a point to the trajectory.
    """
    while True:
        qp = {name: max(values) for name, values in box.qp[index].items()}  # type: ignore[attr-defined]
        if len(qp) == 1:
            return index
        weak = sorted((p for p in qp.items() if p[1] > QUASI_P), key=lambda p: (-p[1], p[0]))
        for name, _ in weak:
            box.drop_restriction(name, index)  # type: ignore[attr-defined]
            last = len(box.peeling_trajectory) - 1  # type: ignore[attr-defined]
            if float(box.peeling_trajectory["density"].iloc[last]) >= threshold - _TOLERANCE:  # type: ignore[attr-defined]
                index = last
                break
            box.select(index)  # type: ignore[attr-defined]
        else:
            return index


def _restriction(name: str, low: float, high: float, span: tuple[float, float]) -> str:
    low_cut, high_cut = low > span[0], high < span[1]
    if low_cut and high_cut:
        return f"{name} is between {fmt(low)} and {fmt(high)}"
    if high_cut:
        return f"{name} is below {fmt(high)}"
    return f"{name} is above {fmt(low)}"


def describe_boxes(discovery: Discovery, *, outcome: str, label: Callable[[str], str] = str) -> list[str]:
    """One plain-English sentence per box.

    Example:
        "delegation does harm (difference below 0) when leaders' skill is below 0.35 and practice autonomy
        is above 0.6: 80% of such draws do, and the box holds 64% of all such draws."

    Args:
        discovery: the result of :func:`discover`.
        outcome: what a case means, as the start of a sentence (``"delegation does harm"``).
        label: readable name of a parameter path (e.g. :func:`sim.docs.parameter_label`).
    """
    sentences: list[str] = []
    for number, rows in discovery.boxes.groupby("box", sort=True):
        parts = [_restriction(label(str(r.parameter)), float(r.low), float(r.high),
                              discovery.ranges.get(str(r.parameter), (float(r.low), float(r.high))))
                 for r in rows.itertuples(index=False)]
        when = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        density, coverage = float(rows["density"].iloc[0]), float(rows["coverage"].iloc[0])
        earlier = ", ".join(str(b) for b in range(1, int(number)))
        lead = f"Outside box{'es' if int(number) > 2 else ''} {earlier}, {outcome}" if int(number) > 1 else outcome
        holds = "a further " if int(number) > 1 else ""
        sentence = (f"{lead} (difference {discovery.condition}) when {when}: {_percent(density)} of such draws do, "
                    f"and the box holds {holds}{_percent(coverage)} of all such draws")
        if int(number) in discovery.short_of_threshold:
            sentence += f" (short of the {_percent(discovery.threshold)} density asked for)"
        sentences.append(sentence + ".")
    return sentences
