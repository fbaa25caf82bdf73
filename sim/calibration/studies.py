"""The simulation studies that validation and calibration read their model values from.

A *study* is one replication of a small, fixed recipe of runs (all with the same seed, so differences
between its runs are paired: common random numbers) that returns named *observations*, plain floats. The
checks in :mod:`sim.calibration.checks` compare observations with published figures. Studies are
top-level functions of ``(settings, seed)`` so that they can run in worker processes.

- ``status_quo``: the status-quo scenario at the settings' scale, for its full length (ten years): the
  population and money at the start, the distributions across practices in year 1 (QOF points,
  exception reporting, their association, the between-consortium share of admissions and prescribing),
  and the path over 2011-2015 and to the end (practices, list sizes, achievement, closures, reserves).
- ``delegation``: the delegation scenario, for contract actions under peer review.
- ``history``: ``history/qof_2004`` (QOF introduced in April 2004) and its counterfactual without QOF,
  which stands in for the pre-QOF secular trend (gains are read above it in years 1 and 3).
- ``challenge``: delegation with peer challenge on against off; practices first challenged successfully in
  year one are followed for a year.
- ``premium``: the status quo with and without a GBP 5 a head premium on prescribing kept by consortia.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.params import Scenario
from sim.scenario import load_scenario

HISTORY_SCENARIO = "history/qof_2004"
# Quarters the paired experiments run: challenges in year one, followed for one more year.
EXPERIMENT_QUARTERS = 8
# Overrides that turn the status quo into the premium experiment: the 2015/16 CCG quality premium on
# antibiotic prescribing was earned by the CCG and could not be passed to practices; its target was a
# 1% fall in items per STAR-PU.
PREMIUM_OVERRIDES: dict[str, Any] = {
    "levers.quality_premium.per_head_gbp": 5.0,
    "levers.quality_premium.target": "prescribing",
    "levers.quality_premium.distribution": "none",
    "levers.quality_premium.required_improvement": 0.01,
}


@dataclass(frozen=True)
class Settings:
    """What every study run shares: the share of England simulated and parameter overrides (calibrated
    values under test, ``--set``). Overrides act as new defaults: they change every scenario except where
    its file sets the value itself. A key ``"SCENARIO:path"`` changes that scenario only, and wins over its
    file. The study's own changes (say, QOF off) come last."""

    scale: float = 1.0
    overrides: Mapping[str, Any] = field(default_factory=dict)


def explicit_paths(ref: str) -> set[str]:
    """Dotted paths a scenario file (with what it extends) sets itself."""
    from sim.scenario import _load_raw, resolve_path

    def walk(node: Mapping[str, Any], prefix: str) -> set[str]:
        out: set[str] = set()
        for key, value in node.items():
            path = f"{prefix}{key}"
            out |= walk(value, path + ".") if isinstance(value, Mapping) else {path}
        return out

    return walk(_load_raw(resolve_path(ref), ()), "")


def split_key(key: str) -> tuple[str | None, str]:
    """``"history/qof_2004:levers.qof.upper_threshold"`` -> (scenario, path); a plain path -> (None, path)."""
    scope, sep, path = key.rpartition(":")
    return (scope or None) if sep else None, path


def _scenario(settings: Settings, ref: str, values: Mapping[str, Any] | None = None) -> Scenario:
    """The scenario ``ref`` with the settings' overrides as new defaults (a value the scenario file sets
    itself, such as the 2004 quality of ``history/qof_2004``, is kept), then overrides scoped to this
    scenario (``"history/qof_2004:path"``, which win over the file), then the study's own ``values``."""
    own = explicit_paths(ref)
    defaults: dict[str, Any] = {}
    scoped: dict[str, Any] = {}
    for key, value in settings.overrides.items():
        scope, path = split_key(key)
        if scope is None:
            if path not in own:
                defaults[path] = value
        elif scope == ref:
            scoped[path] = value
    merged = {"run.scale": settings.scale, **defaults, **scoped, **dict(values or {})}
    return load_scenario(ref, merged)


def _year_flow(metrics: pd.DataFrame, column: str, year: int) -> float:
    """A flow summed over the four quarters of model year ``year`` (1 = the first)."""
    return float(metrics[column].iloc[4 * year - 3 : 4 * year + 1].sum())


def _at(metrics: pd.DataFrame, column: str, quarter: int) -> float:
    return float(metrics[column].iloc[quarter])


def _snapshot(result: Any, quarter: int) -> pd.DataFrame:
    snaps = result.snapshots
    return snaps[snaps["quarter"] == quarter]


def _log_ratio_by_deprivation(snap: pd.DataFrame, adjust_quality: bool) -> float:
    """Admission rate at the 90th against the 10th centile of deprivation, from a list-weighted log-linear
    regression of practice rates on deprivation rank (and quality, when adjusted), within consortia.

    Within consortia (consortium fixed effects), as Busby et al 2017 adjusted for hospital and area
    factors in a multilevel model: the published 1.16 is the gradient between practices of an area, not
    the area-level gradient (which the area ratio check compares with the King's Fund's)."""
    y = np.log(snap["outcome_per_1000"].to_numpy())
    cols = [snap["deprivation"].to_numpy()]
    if adjust_quality:
        cols.append(snap["quality"].to_numpy())
    w = snap["list_size"].to_numpy()
    groups = snap["consortium_id"].to_numpy()

    def within(values: np.ndarray) -> np.ndarray:  # minus the list-weighted consortium mean
        _, inverse = np.unique(groups, return_inverse=True)
        means = np.bincount(inverse, weights=w * values) / np.bincount(inverse, weights=w)
        return values - means[inverse]

    x = np.column_stack([within(c) for c in cols])
    root = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(x * root[:, None], within(y) * root, rcond=None)
    return float(np.exp(beta[0] * 0.8))


def between_share(values: np.ndarray, groups: np.ndarray) -> float:
    """Share of the variation across practices that lies between groups (consortia): the between-group
    sum of squares over the total (eta squared), practices unweighted; NaN with no variation."""
    values = np.asarray(values, dtype=float)
    codes, inverse = np.unique(np.asarray(groups), return_inverse=True)
    total = float(((values - values.mean()) ** 2).sum())
    if total <= 0.0 or codes.size < 2:
        return float("nan")
    counts = np.bincount(inverse)
    means = np.bincount(inverse, weights=values) / counts
    between = float((counts * (means - values.mean()) ** 2).sum())
    return between / total


def cross_practice_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` on ``x`` across practices (NaN if ``x`` does not vary)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size < 2 or np.ptp(x) == 0.0:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


# Achievement at or above this share of the points counts as the maximum: 999.5 of 1,000 points, i.e.
# the full 1,000 once rounded to whole points, as the published counts of practices at the maximum are.
AT_MAXIMUM = 0.9995


def distribution(snap: pd.DataFrame, suffix: str) -> dict[str, float]:
    """Cross-practice distribution observations of one snapshot: QOF points, exception reporting, the
    association of the two, and the between-consortium share of admissions and prescribing."""
    ach = snap["achievement"].to_numpy()
    exc = snap["exception_rate"].to_numpy()
    rate = snap["outcome_per_1000"].to_numpy()
    expected = snap["expected_outcome_per_1000"].to_numpy()
    cons = snap["consortium_id"].to_numpy()
    q25, q75 = np.percentile(ach, [25, 75])
    e25, e50, e75, e95 = np.percentile(exc, [25, 50, 75, 95])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, rate / expected, np.nan)
    ok = np.isfinite(ratio)
    out = {
        "qof_points_sd": float(ach.std()),
        "qof_points_q25": float(q25),
        "qof_points_q75": float(q75),
        "qof_points_iqr": float(q75 - q25),
        "qof_points_p1": float(np.percentile(ach, 1)),
        "qof_points_p5": float(np.percentile(ach, 5)),
        "qof_points_p10": float(np.percentile(ach, 10)),
        "qof_points_max": float(ach.max()),
        "qof_share_below_90": float(np.mean(ach < 0.90)),
        "qof_share_at_max": float(np.mean(ach >= AT_MAXIMUM)),
        "qof_share_near_max": float(np.mean(ach >= 0.995)),
        "exception_median": float(e50),
        "exception_q25": float(e25),
        "exception_q75": float(e75),
        "exception_iqr": float(e75 - e25),
        "exception_p95": float(e95),
        "exception_slope": cross_practice_slope(exc, snap["recorded_achievement"].to_numpy()),
        "acsc_between_share": between_share(rate, cons),
        "acsc_ratio_between_share": between_share(ratio[ok], cons[ok]) if ok.sum() > 1 else float("nan"),
        "prescribing_between_share": between_share(snap["prescribing_per_head_gbp"].to_numpy(), cons),
    }
    return {f"{key}_{suffix}": value for key, value in out.items()}


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


# ------------------------------------------------------------------------------------------ studies


def status_quo(settings: Settings, seed: int) -> dict[str, float]:
    """Population, money and recorded-quality observations of the status quo, start to end."""
    from sim.runner import run

    scenario = _scenario(settings, "status_quo")
    result = run(scenario, seed)
    m = result.metrics
    last = int(m["quarter"].iloc[-1])
    years = last // 4
    start = _snapshot(result, 0)
    lists = start["list_size"].to_numpy()
    contracts = start["contract"].to_numpy()
    cons_pop = start.groupby("consortium_id")["list_size"].sum().to_numpy()
    year1 = _snapshot(result, 4)
    cons_rate = year1.groupby("consortium_id").apply(
        lambda g: np.average(g["outcome_per_1000"], weights=g["list_size"]), include_groups=False
    )
    cons_dep = year1.groupby("consortium_id").apply(
        lambda g: np.average(g["deprivation"], weights=g["list_size"]), include_groups=False
    )
    fifth = len(cons_dep) // 5 or 1
    order = np.argsort(cons_dep.to_numpy())
    rates = cons_rate.to_numpy()
    qof_y1 = _year_flow(m, "qof_payments_gbp", 1)
    core_y1 = _year_flow(m, "core_funding_gbp", 1)
    per_year = lambda col: float(m[col].iloc[1:].sum()) / max(years, 1)  # noqa: E731
    return {
        "practices_start": _at(m, "practices", 0),
        "practices_year1": _at(m, "practices", 4),
        "practices_end": _at(m, "practices", last),
        "list_mean": float(lists.mean()),
        "list_median": float(np.median(lists)),
        "list_q25": float(np.percentile(lists, 25)),
        "list_q75": float(np.percentile(lists, 75)),
        "list_min": float(lists.min()),
        "list_max": float(lists.max()),
        "gms_share": float(np.mean(contracts == "GMS")),
        "pms_share": float(np.mean(contracts == "PMS")),
        "apms_share": float(np.mean(contracts == "APMS")),
        "consortia": float(result.metadata["consortia"]),
        "consortium_pop_median": float(np.median(cons_pop)),
        "consortium_pop_min": float(cons_pop.min()),
        "consortium_pop_max": float(cons_pop.max()),
        "achievement_start": _at(m, "achievement_mean", 0),
        "achievement_year1": _at(m, "achievement_mean", 4),
        "achievement_end": _at(m, "achievement_mean", last),
        "exception_rate_year1": _at(m, "exception_rate", 4),
        "exception_rate_end": _at(m, "exception_rate", last),
        "qof_spend_year1": qof_y1,
        "qof_spend_mean": per_year("qof_payments_gbp"),
        "qof_income_share_year1": qof_y1 / max(qof_y1 + core_y1, 1.0),
        "prescribing_total_year1": _year_flow(m, "prescribing_spend_gbp", 1),
        "prescribing_per_patient_year1": _at(m, "prescribing_per_head_gbp", 4),
        "unwarranted_total_year1": _year_flow(m, "unwarranted_prescribing_gbp", 1),
        "acsc_cost_year1": _year_flow(m, "acsc_cost_gbp", 1),
        "acsc_consortium_min": float(rates.min()),
        "acsc_consortium_max": float(rates.max()),
        "acsc_consortium_deprivation_ratio": float(rates[order[-fifth:]].mean() / rates[order[:fifth]].mean()),
        "acsc_deprivation_ratio_adjusted": _log_ratio_by_deprivation(year1, adjust_quality=True),
        "acsc_deprivation_ratio_unadjusted": _log_ratio_by_deprivation(year1, adjust_quality=False),
        "terminations_per_year": per_year("terminations"),
        "closures_per_year": per_year("closures"),
        "quality_drift_per_year": (_at(m, "quality_mean", last) - _at(m, "quality_mean", 0)) / max(years, 1),
        **distribution(year1, "year1"),
        **distribution(_snapshot(result, last), "end"),  # reported, not checked: do the shapes hold?
        **_trends(result, m, last),
    }


def _trends(result: Any, m: pd.DataFrame, last: int) -> dict[str, float]:
    """The status quo's path over 2011-2015 (years 1-5, where the published trends are) and to the end:
    practice numbers, list sizes, QOF achievement, closures and practices' reserves."""
    early = min(20, last)  # the end of year 5
    four = min(16, last)  # the end of year 4 (2014/15)
    years_early = max(early // 4, 1)
    yearly = [_at(m, "achievement_mean", q) for q in range(4, early + 1, 4)]
    start_lists = _snapshot(result, 0)["list_size"].to_numpy()
    lists_four = _snapshot(result, four)["list_size"].to_numpy()
    reserves0 = _at(m, "practice_reserves_gbp", 0)
    return {
        "practices_ratio_year4": _ratio(_at(m, "practices", four), _at(m, "practices", 0)),
        "list_mean_ratio_year4": _ratio(float(lists_four.mean()), float(start_lists.mean())),
        "achievement_range_years1_5": float(max(yearly) - min(yearly)) if yearly else float("nan"),
        "closures_per_year_1_5": float(m["closures"].iloc[1 : early + 1].sum()) / years_early,
        "closures_last_year": _year_flow(m, "closures", max(last // 4, 1)),
        "new_entrants_per_year_1_5": float(m["new_entrants"].iloc[1 : early + 1].sum()) / years_early,
        "reserves_ratio_year5": _ratio(_at(m, "practice_reserves_gbp", early), reserves0),
        "reserves_ratio_end": _ratio(_at(m, "practice_reserves_gbp", last), reserves0),
    }


def delegation(settings: Settings, seed: int) -> dict[str, float]:
    """Contract actions when every consortium reviews and challenges its members."""
    from sim.runner import run

    result = run(_scenario(settings, "delegation"), seed)
    m = result.metrics
    years = max(int(m["quarter"].iloc[-1]) // 4, 1)
    return {
        "terminations_per_year": float(m["terminations"].iloc[1:].sum()) / years,
        "notices_per_year": float(m["remedial_notices"].iloc[1:].sum()) / years,
        "escalations_per_year": float(m["escalations"].iloc[1:].sum()) / years,
        "practices_end": float(m["practices"].iloc[-1]),
    }


def history(settings: Settings, seed: int) -> dict[str, float]:
    """QOF introduced in April 2004 against the same practices without it (the pre-QOF trend)."""
    from sim.runner import run

    with_qof = run(_scenario(settings, HISTORY_SCENARIO), seed)
    without = run(_scenario(settings, HISTORY_SCENARIO, {"levers.qof.points_max": 0}), seed)
    m, c = with_qof.metrics, without.metrics
    year1, year1_cf = _snapshot(with_qof, 4), _snapshot(without, 4)

    def population_recorded(snap: pd.DataFrame) -> float:
        """Recorded care over all patients on the registers (exceptions count as not achieved)."""
        return float((snap["recorded_achievement"] * (1.0 - snap["exception_rate"])).mean())

    reported = year1["recorded_achievement"].to_numpy()
    slope = cross_practice_slope(year1["exception_rate"].to_numpy(), reported)
    out = {
        "achievement_2004": _at(m, "achievement_mean", 4),
        "achievement_2005": _at(m, "achievement_mean", 8),
        "achievement_2006": _at(m, "achievement_mean", 12),
        "reported_median_2004": float(np.median(reported)),
        "reported_q25_2004": float(np.percentile(reported, 25)),
        "reported_q75_2004": float(np.percentile(reported, 75)),
        "first_year_gain": population_recorded(year1) - population_recorded(year1_cf),
        "first_year_quality_gain": _at(m, "quality_mean", 4) - _at(c, "quality_mean", 4),
        "outcome_change_year1": _at(m, "outcome_mean", 4) / _at(c, "outcome_mean", 4) - 1.0,
        "outcome_change_year2": _at(m, "outcome_mean", 8) / _at(c, "outcome_mean", 8) - 1.0,
        "exception_gaming_slope": slope,
        "exception_rate_2004": _at(m, "exception_rate", 4),
    }
    last = min(int(m["quarter"].iloc[-1]), 16)
    out["plateau_change"] = _at(m, "achievement_mean", last) - _at(m, "achievement_mean", 8)
    # The pre-QOF secular trend: the run without QOF stands in for care as it would have gone on.
    years = max(last // 4, 1)
    out["pre_qof_trend"] = (_at(c, "quality_mean", last) - _at(c, "quality_mean", 0)) / years
    out["pre_qof_recorded_trend"] = (
        population_recorded(_snapshot(without, last)) - population_recorded(_snapshot(without, 0))
    ) / years
    if last >= 12:
        out["third_year_gain"] = population_recorded(_snapshot(with_qof, 12)) - population_recorded(
            _snapshot(without, 12)
        )
    else:
        out["third_year_gain"] = float("nan")
    return out


def _follow(scenario: Scenario, seed: int, quarters: int) -> list[dict[str, np.ndarray]]:
    """Step a model and keep, after each quarter, what the challenge experiment needs per practice.

    A successful challenge sets the practice's peer pressure to exactly 1 after that quarter's decay (see
    ``CommissioningModel._review_and_challenge``), so ``pressure == 1`` marks a success this quarter.
    """
    from sim.model import CommissioningModel

    model = CommissioningModel(scenario, seed=seed)
    out = []
    for _ in range(quarters):
        model.step()
        ps, n = model.practices, model.practices.n
        recorded_all = ps.recorded_achievement[:n] * (1.0 - ps.exception_rate[:n])
        out.append(
            {
                "open": ps.open[:n].copy(),
                "won_quality": ps.pressure_quality[:n] == 1.0,
                "won_prescribing": ps.pressure_prescribing[:n] == 1.0,
                "recorded_all": recorded_all,
                "quality": ps.quality[:n].copy(),
                "prescribing": model.warranted_rx_gbp + ps.unwarranted_gbp[:n],
                "unwarranted": ps.unwarranted_gbp[:n].copy(),
            }
        )
    return out


def _cohort_effect(
    on: list[dict[str, np.ndarray]], off: list[dict[str, np.ndarray]], flag: str, measure: Callable[..., float]
) -> tuple[float, int]:
    """``measure(on_values, off_values)`` pooled over practices whose first success on ``flag`` came in
    quarter 1-4, each read four quarters after its challenge, in both runs; and the cohort size."""
    pairs: dict[str, list[np.ndarray]] = {}
    seen = np.zeros(0, dtype=bool)
    size = 0
    for t0 in range(4):
        won = on[t0][flag]
        before = np.zeros(won.size, dtype=bool)
        before[: min(seen.size, won.size)] = seen[: won.size]
        first = won & ~before
        seen = before | won
        t1 = t0 + 4
        rows = np.flatnonzero(first)
        rows = rows[(rows < off[t1]["open"].size) & (rows < on[t1]["open"].size)]
        rows = rows[on[t1]["open"][rows] & off[t1]["open"][rows]]
        size += rows.size
        for key in on[t1]:
            pairs.setdefault(f"on_{key}", []).append(on[t1][key][rows])
            pairs.setdefault(f"off_{key}", []).append(off[t1][key][rows])
    if size == 0:
        return float("nan"), 0
    joined = {k: np.concatenate(v) for k, v in pairs.items()}
    return measure(joined), size


def challenge(settings: Settings, seed: int) -> dict[str, float]:
    """Delegation with peer challenge on against off, same seed: the effect of a successful challenge on
    the measure it targeted, one year on."""
    on_scenario = _scenario(settings, "delegation")
    off_scenario = _scenario(settings, "delegation", {"levers.peer_challenge.enabled": False})
    on = _follow(on_scenario, seed, EXPERIMENT_QUARTERS)
    off = _follow(off_scenario, seed, EXPERIMENT_QUARTERS)
    rr, n_quality = _cohort_effect(
        on, off, "won_quality",
        lambda d: float((1 - d["on_recorded_all"]).mean() / (1 - d["off_recorded_all"]).mean()),
    )
    rr_latent, _ = _cohort_effect(
        on, off, "won_quality", lambda d: float((1 - d["on_quality"]).mean() / (1 - d["off_quality"]).mean())
    )
    rx_fall, n_rx = _cohort_effect(
        on, off, "won_prescribing", lambda d: float(1 - d["on_prescribing"].mean() / d["off_prescribing"].mean())
    )
    unwarranted_fall, _ = _cohort_effect(
        on, off, "won_prescribing", lambda d: float(1 - d["on_unwarranted"].mean() / d["off_unwarranted"].mean())
    )
    unwarranted_share, _ = _cohort_effect(
        on, off, "won_prescribing", lambda d: float(d["off_unwarranted"].mean() / d["off_prescribing"].mean())
    )
    return {
        "noncompliance_rr": rr,
        "noncompliance_rr_latent": rr_latent,
        "quality_cohort": float(n_quality),
        "prescribing_fall": rx_fall,
        "prescribing_unwarranted_fall": unwarranted_fall,
        "prescribing_unwarranted_share": unwarranted_share,
        "prescribing_cohort": float(n_rx),
    }


def premium(settings: Settings, seed: int) -> dict[str, float]:
    """A consortium-level premium on prescribing (kept by the consortium, as in 2015/16) against none."""
    from sim.runner import run

    values = {"run.quarters": EXPERIMENT_QUARTERS}
    base = run(_scenario(settings, "status_quo", values), seed).metrics
    paid = run(_scenario(settings, "status_quo", {**values, **PREMIUM_OVERRIDES}), seed).metrics
    out = {}
    for year in (1, 2):
        for column, key in (("unwarranted_prescribing_gbp", "unwarranted"), ("prescribing_spend_gbp", "prescribing")):
            before, after = _year_flow(base, column, year), _year_flow(paid, column, year)
            out[f"{key}_fall_year{year}"] = 1.0 - after / before
    return out


def preflight(settings: Settings) -> None:
    """Fail early, in this process, on overrides the studies cannot take: run settings (the studies fix
    their own lengths; use the scale argument), unknown paths or values out of range."""
    from sim.calibration.targets import CalibrationError

    for key in settings.overrides:
        if split_key(key)[1].startswith("run."):
            raise CalibrationError(
                f"'{key}': validation and calibration fix the run settings themselves; use --scale for the size."
            )
    for ref in ("status_quo", "delegation", HISTORY_SCENARIO):
        _scenario(settings, ref)


STUDIES: dict[str, Callable[[Settings, int], dict[str, float]]] = {
    "status_quo": status_quo,
    "delegation": delegation,
    "history": history,
    "challenge": challenge,
    "premium": premium,
}


def run_study(name: str, settings: Settings, seed: int) -> dict[str, float]:
    """Run one replication of a study (a top-level function, so it can be sent to a worker process)."""
    return STUDIES[name](settings, seed)
