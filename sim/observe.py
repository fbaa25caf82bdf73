"""The model's outputs: quarterly metrics (:data:`sim.metrics.METRICS`) and yearly practice snapshots.

Everything here reads the model's public state (its arrays, ``flows``, ``outcome_outliers``,
``convergence``) and :mod:`sim.derived`; nothing private, so the processes can change freely behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import derived
from sim.metrics import METRIC_NAMES
from sim.processes import FLOW_KEYS
from sim.state import CONTRACT_NAMES

if TYPE_CHECKING:
    from sim.model import CommissioningModel


# Columns of the yearly practice-level snapshot.
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "quarter",
    "practice_id",
    "consortium_id",
    "contract",
    "list_size",
    "deprivation",
    "quality",
    "achievement",
    "recorded_achievement",
    "exception_rate",
    "outcome_per_1000",
    "expected_outcome_per_1000",
    "prescribing_per_head_gbp",
    "autonomy",
    "reserves_gbp",
)


def _weighted_mean(values: np.ndarray, weights: np.ndarray, total: float | None = None) -> float:
    """Weighted mean (0 when the weights sum to 0); pass ``total`` when the weights' sum is already known."""
    total = weights.sum() if total is None else total
    return float((values * weights).sum() / total) if total > 0 else 0.0


def order_statistics(values: np.ndarray, ranks: set[int] | list[int]) -> dict[int, float]:
    """``np.sort(values)[r]`` for each rank ``r``, exactly, without sorting everything.

    From the highest rank down, a partition around one rank (numpy's vectorised single-pivot selection,
    several times cheaper than a full sort, whereas a partition around several ranks at once is slower
    than the sort) leaves the values below it in front; the next rank is read from those. A rank just
    below the last one is their maximum.
    """
    out: dict[int, float] = {}
    rest = values
    for rank in sorted(set(ranks), reverse=True):
        if rank == rest.size - 1 and out:
            out[rank] = rest.max()
        else:
            rest = np.partition(rest, rank)
            out[rank] = rest[rank]
            rest = rest[:rank]
    return out


def percentiles(values: np.ndarray, fractions: tuple[float, ...]) -> list[float]:
    """``np.percentile(values, 100 * fractions)`` bit for bit, by :func:`order_statistics`: the same two
    order statistics and interpolation as :func:`percentiles_of_sorted`, at about half the cost of a sort."""
    count = values.size
    pairs = []
    for fraction in fractions:
        below = int(np.floor((count - 1) * fraction))
        pairs.append((below, min(below + 1, count - 1)))
    stats = order_statistics(values, [rank for pair in pairs for rank in pair])
    out = []
    for fraction, (below, above) in zip(fractions, pairs, strict=True):
        t = (count - 1) * fraction - below
        a, b = stats[below], stats[above]
        diff = b - a
        out.append(float(b - diff * (1 - t) if t >= 0.5 else a + diff * t))
    return out


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
    ``np.percentile`` (see :func:`percentiles`).
    """
    ps, cs, n = model.practices, model.consortia, model.practices.n
    rows = np.flatnonzero(ps.open[:n])
    lists = ps.list_size[rows]
    patients = lists.sum()
    q = ps.quality[rows]
    y = ps.outcome_per_1000[rows]
    dep = ps.deprivation[rows]
    achievement = ps.achievement[rows]
    q10, q90 = percentiles(q, (0.1, 0.9))
    y10, y90 = percentiles(y, (0.1, 0.9))
    most, least = np.flatnonzero(dep >= 0.8), np.flatnonzero(dep < 0.2)
    lists_most, lists_least = lists[most], lists[least]
    rx = derived.prescribing_per_head(model)[rows]
    balance = cs.balance_ytd_gbp
    flows = model.flows
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
        "funnel_outliers": float(model.outcome_outliers),
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


def snapshot(model: CommissioningModel) -> dict[str, np.ndarray]:
    """The open practices' snapshot columns (:data:`SNAPSHOT_COLUMNS`) now, as arrays."""
    ps, n = model.practices, model.practices.n
    rows = np.flatnonzero(ps.open[:n])
    return {
        "quarter": np.full(rows.size, model.quarter),
        "practice_id": rows,
        "consortium_id": ps.consortium[rows],
        "contract": ps.contract[rows],  # codes; named by the recorder
        "list_size": ps.list_size[rows],
        "deprivation": ps.deprivation[rows],
        "quality": ps.quality[rows],
        "achievement": ps.achievement[rows],
        "recorded_achievement": ps.recorded_achievement[rows],
        "exception_rate": ps.exception_rate[rows],
        "outcome_per_1000": ps.outcome_per_1000[rows],
        "expected_outcome_per_1000": derived.expected_outcome(model)[rows],
        "prescribing_per_head_gbp": derived.prescribing_per_head(model)[rows],
        "autonomy": ps.autonomy[rows],
        "reserves_gbp": ps.reserves_gbp[rows],
    }


class Observer:
    """A run's outputs as it goes: a metrics row every quarter, a practice snapshot every year end.

    Args:
        start_year: the first financial year (names the rows of :meth:`metrics_frame`).
        snapshots: collect the yearly snapshots (else :meth:`snapshot_frame` is empty).
        rows_hint: rows to allocate for the snapshots (see :class:`SnapshotRecorder`).
    """

    def __init__(self, start_year: int, snapshots: bool, rows_hint: int) -> None:
        self.start_year = start_year
        self.keep_snapshots = snapshots
        self._metric_rows: list[np.ndarray] = []
        self._snapshots = SnapshotRecorder(
            SNAPSHOT_COLUMNS, rows_hint if snapshots else 1, names={"contract": CONTRACT_NAMES}
        )

    def record(self, model: CommissioningModel) -> None:
        """Record the quarter just stepped (quarter 0: the starting state)."""
        values = compute_metrics(model)
        self._metric_rows.append(np.array([values[name] for name in METRIC_NAMES]))
        if self.keep_snapshots and model.quarter % 4 == 0:
            self._snapshots.append(snapshot(model))

    def metrics_frame(self) -> pd.DataFrame:
        """Quarterly metrics, quarter 0 being the starting state (see :data:`sim.metrics.METRICS`)."""
        values = pd.DataFrame(np.vstack(self._metric_rows), columns=list(METRIC_NAMES))
        quarters = np.arange(len(self._metric_rows))
        fy = self.start_year + np.maximum(quarters - 1, 0) // 4
        head = pd.DataFrame(
            {
                "quarter": quarters,
                "time_years": quarters / 4.0,
                "financial_year": [f"{y}/{(y + 1) % 100:02d}" for y in fy],
            }
        )
        return pd.concat([head, values], axis=1)

    def snapshot_frame(self) -> pd.DataFrame:
        """Practice rows at quarter 0 and each year end (:data:`SNAPSHOT_COLUMNS`)."""
        return self._snapshots.frame()
