"""Money rules: the QOF payment formula, the quality premium and contract funding.

Written as small pure functions so each can be checked against a hand calculation.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from sim.params import QOF, ContractModel, Contracts, PremiumDistribution, QualityPremium

# Reference incentive: the 2010/11 QOF (1,000 points at GBP 126.77), against which practices judge
# how strongly QOF pays.
REFERENCE_QOF_POT_GBP = 1000 * 126.77

# Indicators per practice are represented by this many quantiles of their spread about the practice mean.
_INDICATOR_QUANTILES = stats.norm.ppf((np.arange(7) + 0.5) / 7)


def outcome_weight_at(qof: QOF, years_elapsed: float) -> float:
    """Share of QOF points paid on outcomes, phased in linearly over ``phase_in_years``."""
    if qof.phase_in_years <= 0:
        return qof.outcome_weight
    return qof.outcome_weight * min(1.0, max(0.0, years_elapsed) / qof.phase_in_years)


def incentive_intensity(qof: QOF) -> float:
    """How strongly QOF pays, relative to the 2010/11 scheme (1.0 = as then)."""
    return qof.points_max * qof.point_value_gbp / REFERENCE_QOF_POT_GBP


def process_points_share(recorded: np.ndarray, qof: QOF, indicator_spread: float) -> np.ndarray:
    """Share of process points earned: each indicator pays linearly between the lower and upper
    thresholds, and a practice's indicators spread about its mean recorded achievement."""
    span = max(qof.upper_threshold - qof.lower_threshold, 1e-9)
    # levels = recorded + spread x quantile, one row per quantile, computed in place in one (7, n) buffer:
    # this runs every quarter over every practice, and temporaries of this size are slow to allocate.
    levels = np.add(recorded[None, :], indicator_spread * _INDICATOR_QUANTILES[:, None])
    np.subtract(levels, qof.lower_threshold, out=levels)
    np.divide(levels, span, out=levels)
    np.clip(levels, 0.0, 1.0, out=levels)
    return levels.mean(axis=0)


def outcome_points_share(observed_to_expected: np.ndarray, qof: QOF) -> np.ndarray:
    """Share of outcome points: all at or below ``outcome_band_low``, none at or above ``outcome_band_high``."""
    span = max(qof.outcome_band_high - qof.outcome_band_low, 1e-9)
    return np.clip((qof.outcome_band_high - observed_to_expected) / span, 0.0, 1.0)


def qof_payment_gbp(points_share: np.ndarray, list_size: np.ndarray, qof: QOF, reference_list: float) -> np.ndarray:
    """Yearly QOF payment: points achieved x GBP per point x list size relative to the average practice."""
    return points_share * qof.points_max * qof.point_value_gbp * list_size / reference_list


def contract_funding(contracts: Contracts) -> np.ndarray:
    """Core funding per patient per year by contract code (GMS, PMS, APMS)."""
    return np.array(
        [contracts.gms_funding_per_head_gbp, contracts.pms_funding_per_head_gbp, contracts.apms_funding_per_head_gbp]
    )


def convergence_progress(contracts: Contracts, years_elapsed: float) -> float:
    """0 under today's mix; under a single contract, rises linearly to 1 over ``convergence_years``."""
    if contracts.model is ContractModel.CURRENT_MIX:
        return 0.0
    return min(1.0, max(0.0, years_elapsed) / contracts.convergence_years)


def single_rate(contract: np.ndarray, list_size: np.ndarray, contracts: Contracts) -> float:
    """The single funding rate per patient: today's list-weighted mean, so convergence is cost-neutral."""
    funding = contract_funding(contracts)[contract]
    return float(np.average(funding, weights=list_size))


def funding_per_head(contract: np.ndarray, contracts: Contracts, progress: float, single: float) -> np.ndarray:
    """Each practice's funding per patient: its contract's rate moved ``progress`` of the way to the single rate."""
    own = contract_funding(contracts)[contract]
    return (1.0 - progress) * own + progress * single


def premium_earned(
    measure_now: np.ndarray, measure_before: np.ndarray, balance_gbp: np.ndarray, premium: QualityPremium
) -> np.ndarray:
    """Which consortia earn the premium: the target measure (lower is better) fell by the required share
    against the year before, and the consortium has not overspent."""
    if premium.per_head_gbp <= 0:
        return np.zeros(measure_now.shape, dtype=bool)
    improved = measure_now <= (1.0 - premium.required_improvement) * measure_before
    return improved & (balance_gbp >= 0.0)


def distribute_premium(
    amount_gbp: np.ndarray,
    consortium: np.ndarray,
    list_size: np.ndarray,
    improvement: np.ndarray,
    rule: PremiumDistribution,
) -> np.ndarray:
    """Share each consortium's premium among its practices (returns GBP per practice row).

    ``per_head`` pays by list size; ``contribution`` by each practice's improvement in the target measure
    times its list (per head where no practice improved). Under ``none`` and ``review_capacity`` the
    consortium keeps the money, so practices get nothing. The practice amounts add up to the consortium
    amounts exactly: money is conserved.
    """
    out = np.zeros(list_size.shape)
    if rule in (PremiumDistribution.NONE, PremiumDistribution.REVIEW_CAPACITY):
        return out
    count = amount_gbp.shape[0]
    weights = list_size.copy()
    if rule is PremiumDistribution.CONTRIBUTION:
        contrib = np.maximum(improvement, 0.0) * list_size
        totals = np.bincount(consortium, weights=contrib, minlength=count)
        has = totals[consortium] > 0
        weights = np.where(has, contrib, list_size)
    totals = np.bincount(consortium, weights=weights, minlength=count)
    safe = np.where(totals > 0, totals, 1.0)
    out = amount_gbp[consortium] * weights / safe[consortium]
    return out
