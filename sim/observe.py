"""Computing the quarterly metrics (:data:`sim.metrics.METRICS`) from the model's arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.model import CommissioningModel


# Metrics accumulated as flows during a quarter (money and counts of events), reset each quarter.
FLOW_KEYS: tuple[str, ...] = (
    "qof_payments_gbp",
    "quality_premium_gbp",
    "core_funding_gbp",
    "prescribing_spend_gbp",
    "unwarranted_prescribing_gbp",
    "acsc_cost_gbp",
    "management_cost_gbp",
    "review_cost_gbp",
    "reviews",
    "successful_challenges",
    "escalations",
    "remedial_notices",
    "terminations",
    "closures",
    "new_entrants",
)


def _weighted_mean(values: np.ndarray, weights: np.ndarray, total: float | None = None) -> float:
    """Weighted mean (0 when the weights sum to 0); pass ``total`` when the weights' sum is already known."""
    total = weights.sum() if total is None else total
    return float((values * weights).sum() / total) if total > 0 else 0.0


def percentiles_of_sorted(sorted_values: np.ndarray, fractions: tuple[float, ...]) -> list[float]:
    """Percentiles of already-sorted values, by numpy's default (linear) method, bit for bit.

    Why not ``np.percentile``: it partitions around four pivots each call, which costs several times a
    plain sort of a few thousand values; sorting once and interpolating here gives the same numbers.
    """
    count = sorted_values.size
    out = []
    for fraction in fractions:
        index = (count - 1) * fraction
        below = int(np.floor(index))
        above = min(below + 1, count - 1)
        t = index - below
        a, b = sorted_values[below], sorted_values[above]
        diff = b - a
        # numpy's _lerp: interpolate from the nearer end, so that t = 0 and t = 1 return the ends exactly.
        out.append(float(b - diff * (1 - t) if t >= 0.5 else a + diff * t))
    return out


def compute_metrics(model: CommissioningModel) -> dict[str, float]:
    """Every metric for the quarter just stepped (flows are this quarter's totals).

    Each practice column is gathered once for the open practices and every measure is a reduction of
    those arrays; this runs every quarter of every run, so it avoids repeated masking and
    ``np.percentile`` (see :func:`percentiles_of_sorted`).
    """
    ps, cs, n = model.practices, model.consortia, model.practices.n
    rows = np.flatnonzero(ps.open[:n])
    lists = ps.list_size[rows]
    patients = lists.sum()
    q = ps.quality[rows]
    y = ps.outcome_per_1000[rows]
    dep = ps.deprivation[rows]
    achievement = ps.achievement[rows]
    q10, q90 = percentiles_of_sorted(np.sort(q), (0.1, 0.9))
    y10, y90 = percentiles_of_sorted(np.sort(y), (0.1, 0.9))
    most, least = np.flatnonzero(dep >= 0.8), np.flatnonzero(dep < 0.2)
    lists_most, lists_least = lists[most], lists[least]
    rx = model.warranted_rx_gbp + ps.unwarranted_gbp[rows]
    balance = cs.balance_ytd_gbp
    flows = model._flows
    out: dict[str, float] = {
        "quality_mean": _weighted_mean(q, lists, patients),
        "quality_sd": float(q.std()),
        "quality_p10": q10,
        "quality_p90": q90,
        "achievement_mean": float(achievement.mean()),
        "achievement_sd": float(achievement.std()),
        "recorded_gap_mean": float((ps.recorded_achievement[rows] - q).mean()),
        "exception_rate": _weighted_mean(ps.exception_rate[rows], lists, patients),
        "recording_effort_mean": float(ps.effort_record[rows].mean()),
        "improvement_effort_mean": float(ps.effort_improve[rows].mean()),
        "outcome_mean": _weighted_mean(y, lists, patients),
        "outcome_sd": float(y.std()),
        "outcome_p10": y10,
        "outcome_p90": y90,
        "deprivation_gap": _weighted_mean(y[most], lists_most) - _weighted_mean(y[least], lists_least),
        "deprivation_gap_quality": _weighted_mean(q[least], lists_least) - _weighted_mean(q[most], lists_most),
        "funnel_outliers": float(model._outcome_outliers),
        "prescribing_per_head_gbp": _weighted_mean(rx, lists, patients),
        "consortium_balance_gbp": float(balance.sum()),
        "consortia_in_deficit": float((balance < 0).sum()),
        "practice_reserves_gbp": float(ps.reserves_gbp[rows].sum()),
        "consortia_delegated": float(cs.delegated.sum()),
        "lead_credibility_mean": float(cs.credibility.mean()),
        "practices": float(rows.size),
        "patients": float(patients),
        "single_contract_share": float(model.convergence),
    }
    for key in FLOW_KEYS:
        out[key] = float(flows.get(key, 0.0))
    out["total_cost_gbp"] = (
        out["core_funding_gbp"]
        + out["qof_payments_gbp"]
        + out["quality_premium_gbp"]
        + out["prescribing_spend_gbp"]
        + out["acsc_cost_gbp"]
        + out["management_cost_gbp"]
    )
    return out


class SnapshotRecorder:
    """Collects the yearly practice snapshots into preallocated columns, framed once at the end.

    Why: a DataFrame per year and a concat at the end (or even arrays and one concatenate) copies every
    value once more than needed; at ten times national scale that is 100 MB of copying and of peak memory.
    Here each year is written straight into its place and the final DataFrame is a view of the columns.

    Args:
        columns: the column names, in order.
        rows_hint: rows to allocate at first (a run's bound: spare practice rows x snapshots); grows if short.
        names: columns holding small integer codes to be shown as these names (e.g. contract types).
    """

    def __init__(self, columns: tuple[str, ...], rows_hint: int, names: dict[str, tuple[str, ...]]) -> None:
        self.columns = columns
        self.names = names
        self.rows = 0
        self._rows_hint = max(int(rows_hint), 1)
        self._data: dict[str, np.ndarray] = {}

    def append(self, values: dict[str, np.ndarray]) -> None:
        """Add one snapshot: an array per column, all of the same length."""
        count = len(values[self.columns[0]])
        if not self._data:
            self._data = {col: np.empty(max(self._rows_hint, count), dtype=values[col].dtype) for col in self.columns}
        size = len(self._data[self.columns[0]])
        if self.rows + count > size:  # more rows than the hint allowed for: grow geometrically
            grown = max(2 * size, self.rows + count)
            self._data = {col: np.resize(data, grown) for col, data in self._data.items()}
        for col in self.columns:
            self._data[col][self.rows : self.rows + count] = values[col]
        self.rows += count

    def frame(self) -> pd.DataFrame:
        """Every snapshot so far as one DataFrame (views of the recorded columns, coded columns named)."""
        if not self._data:
            return pd.DataFrame(columns=list(self.columns))
        columns: dict[str, object] = {col: self._data[col][: self.rows] for col in self.columns}
        for col, names in self.names.items():
            # Names by taking from a short string array: no Python string per row.
            columns[col] = pd.array(list(names), dtype="str").take(columns[col])
        return pd.DataFrame(columns, copy=False)
