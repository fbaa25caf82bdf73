"""Computing the quarterly metrics (:data:`sim.metrics.METRICS`) from the model's arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

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


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    return float((values * weights).sum() / total) if total > 0 else 0.0


def compute_metrics(model: CommissioningModel) -> dict[str, float]:
    """Every metric for the quarter just stepped (flows are this quarter's totals)."""
    ps, cs, n = model.practices, model.consortia, model.practices.n
    rows = np.flatnonzero(ps.open[:n])
    lists = ps.list_size[rows]
    q = ps.quality[rows]
    y = ps.outcome_per_1000[rows]
    dep = ps.deprivation[rows]
    q10, q90 = np.percentile(q, [10, 90])
    y10, y90 = np.percentile(y, [10, 90])
    most, least = dep >= 0.8, dep < 0.2
    rx = model.warranted_rx_gbp + ps.unwarranted_gbp[rows]
    flows = model._flows
    out: dict[str, float] = {
        "quality_mean": _weighted_mean(q, lists),
        "quality_sd": float(q.std()),
        "quality_p10": float(q10),
        "quality_p90": float(q90),
        "achievement_mean": float(ps.achievement[rows].mean()),
        "achievement_sd": float(ps.achievement[rows].std()),
        "recorded_gap_mean": float((ps.recorded_achievement[rows] - q).mean()),
        "exception_rate": _weighted_mean(ps.exception_rate[rows], lists),
        "recording_effort_mean": float(ps.effort_record[rows].mean()),
        "improvement_effort_mean": float(ps.effort_improve[rows].mean()),
        "outcome_mean": _weighted_mean(y, lists),
        "outcome_sd": float(y.std()),
        "outcome_p10": float(y10),
        "outcome_p90": float(y90),
        "deprivation_gap": _weighted_mean(y[most], lists[most]) - _weighted_mean(y[least], lists[least]),
        "deprivation_gap_quality": _weighted_mean(q[least], lists[least]) - _weighted_mean(q[most], lists[most]),
        "funnel_outliers": float(model._outcome_outliers),
        "prescribing_per_head_gbp": _weighted_mean(rx, lists),
        "consortium_balance_gbp": float(cs.balance_ytd_gbp.sum()),
        "consortia_in_deficit": float((cs.balance_ytd_gbp < 0).sum()),
        "practice_reserves_gbp": float(ps.reserves_gbp[rows].sum()),
        "consortia_delegated": float(cs.delegated.sum()),
        "lead_credibility_mean": float(cs.credibility.mean()),
        "practices": float(rows.size),
        "patients": float(lists.sum()),
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
