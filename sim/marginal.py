"""What a unit of effort is expected to earn a practice: the money channel of every incentive.

Each payment reaches a practice's effort choice only through the *expected marginal payment* that effort
earns that practice (issue 9, ODD 7.2): money per point or per unit of outcome, times the chance the
effort changes the payment (indicator thresholds, the attainability of a collective target, the noise of
an outcome measured on a small list), times the share of the payment the practice receives. The result
is in GBP per registered patient per year for one unit of effort sustained over the practice's planning
horizon; :mod:`sim.agents.practice` turns it into an attraction by ``incentive_responsiveness`` over
``money_scale_gbp``. A payment the practice cannot change, cannot receive or cannot earn adds nothing.

The chain from effort to payment uses the model's own stock rules, linearised at the practice's state:
improvement effort raises latent quality by ``improvement_efficiency x (1 - q)`` a quarter, recording
effort raises the recording stock by ``recording_efficiency x (1 - recording)``, prescribing effort
lowers unwarranted cost by ``efficiency_effect x unwarranted``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from sim.params import Assumptions, PremiumDistribution, QualityPremium


@dataclass(frozen=True)
class EffortValue:
    """Expected marginal payment of a unit of each kind of effort, GBP per patient per year, by source."""

    improve_qof: np.ndarray  # process points through better care, and outcome points
    record_qof: np.ndarray  # process points through recording and exception reporting
    improve_premium: np.ndarray  # the practice's own expected share of a premium on admissions
    prescribe_premium: np.ndarray  # ... of a premium on prescribing cost
    improve_capitation: np.ndarray  # patients won from other practices by better care, net of their cost

    @property
    def improve(self) -> np.ndarray:
        return self.improve_qof + self.improve_premium + self.improve_capitation

    @property
    def record(self) -> np.ndarray:
        return self.record_qof

    @property
    def prescribe(self) -> np.ndarray:
        return self.prescribe_premium


def _normal_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


# ------------------------------------------------------------------------------------- the premium


@dataclass(frozen=True)
class PremiumOutlook:
    """Each consortium's view of this year's premium: the chance of earning it and how sharply that
    chance moves with its measure (per unit of the measure, lower being better)."""

    chance: np.ndarray
    density: np.ndarray  # d chance / d(fall in the measure)
    at_stake_gbp: np.ndarray  # premium per head if earned (0 where it cannot be earned)
    sd: np.ndarray  # uncertainty of the year's measure


def premium_outlook(
    expected: np.ndarray, last_year: np.ndarray, sd: np.ndarray, eligible: np.ndarray, premium: QualityPremium
) -> PremiumOutlook:
    """Chance that each consortium's measure beats the target, given its expected level and uncertainty.

    The premium is earned when this year's measure is at most ``(1 - required_improvement)`` of last
    year's and the consortium is within budget (``eligible``). An unattainable target (far beyond what is
    expected) or a consortium that cannot be eligible gives chance and density near zero: no pull.
    """
    if premium.per_head_gbp <= 0:
        zero = np.zeros(expected.shape)
        return PremiumOutlook(zero, zero, zero, sd)
    target = (1.0 - premium.required_improvement) * last_year
    sd = np.maximum(sd, 1e-9)
    z = (target - expected) / sd
    ok = eligible.astype(float)
    return PremiumOutlook(
        chance=ok * ndtr(z),
        density=ok * _normal_pdf(z) / sd,
        at_stake_gbp=ok * premium.per_head_gbp,
        sd=sd,
    )


def premium_value_per_patient(
    outlook: PremiumOutlook,
    consortium: np.ndarray,
    list_size: np.ndarray,
    population: np.ndarray,
    measure_slope: np.ndarray,
    contributions: np.ndarray,
    premium: QualityPremium,
) -> np.ndarray:
    """A practice's own expected marginal premium income, GBP per patient per year per unit of effort.

    ``measure_slope`` is how much a unit of the practice's effort lowers its own measure (per 1,000 or per
    head). Per head: the practice's effort moves its consortium's measure by its share of the population
    (free-riding grows with the number of members), and it receives the premium on its own list. By
    contribution: once earned, the premium follows each practice's share of the improvement, so the
    practice is paid for its own gain, ``chance x premium x population / total improvement``.
    Retained (none, review capacity): practices receive nothing, so there is no money channel.
    """
    rule = premium.distribution
    if premium.per_head_gbp <= 0 or rule in (PremiumDistribution.NONE, PremiumDistribution.REVIEW_CAPACITY):
        return np.zeros(list_size.shape)
    share_of_measure = list_size / np.maximum(population[consortium], 1.0)
    collective = outlook.at_stake_gbp[consortium] * outlook.density[consortium] * share_of_measure * measure_slope
    if rule is PremiumDistribution.PER_HEAD:
        return collective
    own = (
        outlook.chance[consortium]
        * outlook.at_stake_gbp[consortium]
        * population[consortium]
        * measure_slope
        / np.maximum(contributions[consortium], 1e-9)
    )
    return collective + own


def premium_stake_per_patient(outlook: PremiumOutlook, consortium: np.ndarray, measure_slope: np.ndarray) -> np.ndarray:
    """What a unit of a member's effort is worth to the *consortium* (GBP per patient of that member per
    year): the undiluted collective gain a lead can ask members to act on, whoever gets the money."""
    return outlook.at_stake_gbp[consortium] * outlook.density[consortium] * measure_slope


# ------------------------------------------------------------------------------------ effort chain


def quality_gain_per_effort(quality: np.ndarray, a: Assumptions) -> np.ndarray:
    """Latent quality gained over the planning horizon by one unit of improvement effort."""
    b = a.practice
    return b.improvement_efficiency * (1.0 - quality) * b.planning_horizon_quarters


def recording_gain_per_effort(recording: np.ndarray, a: Assumptions) -> np.ndarray:
    """Recording stock gained over the planning horizon by one unit of recording effort."""
    return a.recording.recording_efficiency * (1.0 - recording) * a.practice.planning_horizon_quarters


def unwarranted_fall_per_effort(unwarranted: np.ndarray, a: Assumptions) -> np.ndarray:
    """Unwarranted prescribing (GBP per head a year) removed over the horizon by one unit of effort."""
    return a.prescribing.efficiency_effect * unwarranted * a.practice.planning_horizon_quarters
