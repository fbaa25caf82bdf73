"""Money rules: the QOF payment formula, the quality premium and contract funding.

Written as small pure functions so each can be checked against a hand calculation.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from sim.params import QOF, ContractModel, Contracts, PremiumDistribution, QualityPremium

# The 2010/11 QOF (1,000 points at GBP 126.77): the QOF income practices built their costs on at the start.
REFERENCE_QOF_POT_GBP = 1000 * 126.77



def outcome_weight_at(qof: QOF, years_elapsed: float) -> float:
    """Share of QOF points paid on outcomes, phased in linearly over ``phase_in_years``."""
    if qof.phase_in_years <= 0:
        return qof.outcome_weight
    return qof.outcome_weight * min(1.0, max(0.0, years_elapsed) / qof.phase_in_years)


def _lognormal_below(x: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """For a log-normal factor F with mean 1 and log SD ``sigma``: P(F < x) and E[F; F < x]."""
    with np.errstate(divide="ignore"):
        log_x = np.log(x)
    return ndtr((log_x + 0.5 * sigma**2) / sigma), ndtr((log_x - 0.5 * sigma**2) / sigma)


def _lognormal_partial_mean(x: np.ndarray, sigma: float) -> np.ndarray:
    """E[F; F < x] of :func:`_lognormal_below` alone (the same values), for callers that need no P(F < x):
    ``ndtr`` is most of the cost of the expected-value signals."""
    with np.errstate(divide="ignore"):
        log_x = np.log(x)
    return ndtr((log_x - 0.5 * sigma**2) / sigma)


# The last band computed: (thresholds and spread, the recorded achievement it was computed at, then what
# _paying_band returns, the P terms None when only the E terms were needed). The share at the end of a
# quarter is mostly followed by the slope (or the year's payment) at the same recorded achievement, so the
# four ndtr passes need not be repeated; a hit requires equal values, so results are unchanged. One tuple,
# replaced whole, so a reader never sees half of an entry.
_last_band: tuple | None = None


def _paying_band(
    recorded: np.ndarray, qof: QOF, spread: float, *, with_p: bool = True
) -> tuple[np.ndarray | None, ...]:
    """A practice's shortfall from 100%, and for the factors beyond which its indicators earn all points
    (``full``) or none (``none``): P(F < full), E[F; F < full], P(F < none), E[F; F < none] (the two P
    terms may be None when ``with_p`` is false)."""
    global _last_band
    key = (qof.upper_threshold, qof.lower_threshold, spread)
    last = _last_band
    if (
        last is not None
        and last[0] == key
        and (last[3] is not None or not with_p)
        and last[1].shape == recorded.shape
        and np.array_equal(last[1], recorded)
    ):
        return last[2:]
    shortfall = np.maximum(1.0 - recorded, 1e-12)
    full, none = (1.0 - qof.upper_threshold) / shortfall, (1.0 - qof.lower_threshold) / shortfall
    if with_p:
        p_full, e_full = _lognormal_below(full, spread)
        p_none, e_none = _lognormal_below(none, spread)
    else:
        p_full = p_none = None
        e_full, e_none = _lognormal_partial_mean(full, spread), _lognormal_partial_mean(none, spread)
    band = (shortfall, p_full, e_full, p_none, e_none)
    _last_band = (key, recorded.copy(), *band)
    return band


def process_points_share(recorded: np.ndarray, qof: QOF, spread: float) -> np.ndarray:
    """Share of process points earned at mean recorded achievement ``recorded``.

    Each indicator pays linearly between the lower and upper thresholds. A practice's indicators spread
    about its mean on the *shortfall* from 100% (log-normally, log SD ``spread``, mean shortfall
    ``1 - recorded``): a practice near 100% has every indicator near it, so full points are reachable,
    as they were for the practices that scored 1,000 of 1,000. Computed in closed form (a continuum of
    indicators), so the share and its slope are smooth in ``recorded``.
    """
    span = max(qof.upper_threshold - qof.lower_threshold, 1e-9)
    if spread <= 0:
        return np.clip((recorded - qof.lower_threshold) / span, 0.0, 1.0)
    shortfall, p_full, e_full, p_none, e_none = _paying_band(recorded, qof, spread)
    paying = ((1.0 - qof.lower_threshold) * (p_none - p_full) - shortfall * (e_none - e_full)) / span
    return np.clip(p_full + paying, 0.0, 1.0)


def process_points_slope(recorded: np.ndarray, qof: QOF, spread: float) -> np.ndarray:
    """d(process points share) / d(mean recorded achievement): what one more point of recorded
    achievement earns. Indicators beyond either threshold add nothing, so a practice with every
    indicator above the upper threshold gains nothing from more of the same (the threshold channel)."""
    span = max(qof.upper_threshold - qof.lower_threshold, 1e-9)
    if spread <= 0:
        inside = (recorded > qof.lower_threshold) & (recorded < qof.upper_threshold)
        return inside / span
    _, _, e_full, _, e_none = _paying_band(recorded, qof, spread, with_p=False)
    return np.where(recorded < 1.0, (e_none - e_full) / span, 0.0)


def outcome_points_share(observed_to_expected: np.ndarray, qof: QOF) -> np.ndarray:
    """Share of outcome points: all at or below ``outcome_band_low``, none at or above ``outcome_band_high``."""
    span = max(qof.outcome_band_high - qof.outcome_band_low, 1e-9)
    return np.clip((qof.outcome_band_high - observed_to_expected) / span, 0.0, 1.0)


def outcome_points_slope(ratio: np.ndarray, ratio_sd: np.ndarray, qof: QOF) -> np.ndarray:
    """Expected d(outcome points share) / d(latent ratio): the chance the *observed* ratio, noisy on a
    small list, lands inside the paying band, over the band's width."""
    span = max(qof.outcome_band_high - qof.outcome_band_low, 1e-9)
    sd = np.maximum(ratio_sd, 1e-9)
    inside = ndtr((qof.outcome_band_high - ratio) / sd) - ndtr((qof.outcome_band_low - ratio) / sd)
    return inside / span


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
