"""Policy: what the board's levers make each practice's effort worth this quarter.

Every payment reaches effort only through its expected marginal value to the practice
(:mod:`sim.marginal`): QOF through its thresholds and the noise of outcomes on a small list, the quality
premium through each consortium's chance of earning it and the practice's share, capitation through the
patients better care attracts. The premium also works through peers: a lead presses members to act on
what their effort is worth to the consortium, as far as the lead's skill, willingness and credibility
and the member's autonomy allow. A delegated consortium in deficit presses on prescribing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import derived, incentives, marginal
from sim.agents import practice as rules
from sim.agents.practice import Signals
from sim.marginal import EffortValue, PremiumOutlook
from sim.params import QOF, PremiumTarget, QualityPremium
from sim.processes import money

if TYPE_CHECKING:
    from sim.model import CommissioningModel

FLOWS: tuple[str, ...] = ()


def quarter_signals(model: CommissioningModel, years: float) -> Signals:
    """The signals of the quarter starting ``years`` after the start, under the scenario's levers."""
    lv = model.levers
    cs, ps, n = model.consortia, model.practices, model.practices.n
    in_deficit = cs.delegated & (cs.balance_ytd_gbp < 0)
    pressure = model.assumptions.prescribing.budget_pressure * in_deficit[ps.consortium[:n]]
    w = incentives.outcome_weight_at(lv.qof, years)
    return signals_for(model, lv.qof, w, lv.quality_premium, pressure.astype(float))


def signals_for(
    model: CommissioningModel, qof: QOF, outcome_weight: float, premium: QualityPremium, budget_pressure: np.ndarray
) -> Signals:
    """Signals under a given QOF (with ``outcome_weight`` of its points on outcomes) and premium."""
    outlook = premium_outlook(model, premium)
    value = effort_value(model, qof, outcome_weight, premium, outlook)
    peer = premium_peer_pressure(model, premium, outlook)
    on_outcome = premium.target is PremiumTarget.OUTCOME
    zero = np.zeros_like(peer)
    model.effort_value = value
    return Signals(
        improve_gbp=value.improve,
        record_gbp=value.record,
        prescribe_gbp=value.prescribe,
        premium_peer_improve=peer if on_outcome else zero,
        premium_peer_prescribe=zero if on_outcome else peer,
        budget_pressure=budget_pressure,
    )


# ------------------------------------------------------------------------------------------ premium


def measure_slope(model: CommissioningModel, target: PremiumTarget) -> np.ndarray:
    """How much a unit of each practice's effort lowers its own premium measure over the horizon:
    admissions per 1,000 (through quality) or prescribing cost per head (through unwarranted cost)."""
    ps, n, a = model.practices, model.practices.n, model.assumptions
    if target is PremiumTarget.PRESCRIBING:
        return marginal.unwarranted_fall_per_effort(ps.unwarranted_gbp[:n], a)
    # As with QOF's outcome points, practices count only what they believe their effort moves.
    gain = marginal.quality_gain_per_effort(ps.quality[:n], a)
    return a.practice.outcome_attribution * a.outcomes.quality_effect * ps.outcome_per_1000[:n] * gain


def premium_outlook(model: CommissioningModel, premium: QualityPremium) -> PremiumOutlook:
    """Each consortium's chance of earning this year's premium and how it turns with the measure.

    The expected measure is the latent one now; its uncertainty is the Poisson noise of a year's
    admissions over the consortium's population (none for prescribing cost) and ``forecast_cv``. A
    consortium expects to be eligible if its allocation covers a year of its current expected spend.
    """
    cs = model.consortia
    if premium.per_head_gbp <= 0:  # nothing to earn: skip the consortium measures and spend
        zero = np.zeros(cs.count)
        return PremiumOutlook(zero, zero, zero, zero)
    expected = money.consortium_measure(model, expected=True, target=premium.target)
    pop = np.maximum(cs.population, 1.0)
    cv = model.assumptions.premium.forecast_cv
    variance = (cv * expected) ** 2
    if premium.target is PremiumTarget.OUTCOME:
        variance = variance + 1000.0 * expected / pop
    spend, _ = derived.commissioning_spend(model)
    eligible = cs.allocation_per_head_gbp * pop >= 4.0 * spend
    return marginal.premium_outlook(expected, cs.measure_last_year, np.sqrt(variance), eligible, premium)


def premium_peer_pressure(model: CommissioningModel, premium: QualityPremium, outlook: PremiumOutlook) -> np.ndarray:
    """Attraction of effort on the premium's target from the lead's pressure (the premium 'used
    skilfully'): the consortium's stake in the member's effort, as a lead of this skill, willingness and
    credibility makes a member of this autonomy feel it. Nil when leads are unwilling or the premium is
    out of reach."""
    ps, cs, n, a = model.practices, model.consortia, model.practices.n, model.assumptions
    if premium.per_head_gbp <= 0:
        return np.zeros(n)
    cons = ps.consortium[:n]
    stake = marginal.premium_stake_per_patient(outlook, cons, measure_slope(model, premium.target))
    leverage = (cs.skill * cs.willingness * cs.credibility)[cons]
    felt = a.premium.peer_internalisation * leverage * (1.0 - ps.autonomy[:n])
    return felt * stake / a.practice.money_scale_gbp


# ------------------------------------------------------------------------------------ money channel


def effort_value(
    model: CommissioningModel, qof: QOF, outcome_weight: float, premium: QualityPremium, outlook: PremiumOutlook
) -> EffortValue:
    """Expected marginal payment of each kind of effort to each practice, GBP per patient a year."""
    ps, cs, n, a = model.practices, model.consortia, model.practices.n, model.assumptions
    b, rec = a.practice, a.recording
    lists = derived.open_lists(ps)
    quality = ps.quality[:n]
    quality_gain = marginal.quality_gain_per_effort(quality, a)
    pot_per_patient = qof.points_max * qof.point_value_gbp / model.reference_list

    # QOF processes: points per unit of recorded achievement, through care or through recording.
    by_quality, by_recording = rules.recorded_slopes(ps, n, rec)
    points = incentives.process_points_slope(ps.recorded_achievement[:n], qof, rec.indicator_spread)
    process = (1.0 - outcome_weight) * pot_per_patient * points
    improve = b.process_care_link * process * by_quality * quality_gain
    record = b.gaming_propensity * process * by_recording * marginal.recording_gain_per_effort(ps.recording[:n], a)
    # QOF outcomes: points per unit of the admission ratio, as likely to count as the ratio is to land
    # in the paying band given a year's Poisson noise on this list.
    if outcome_weight > 0:
        expected = derived.expected_outcome(model)
        ratio = ps.outcome_per_1000[:n] / expected
        ratio_sd = ratio / np.sqrt(np.maximum(ps.outcome_per_1000[:n] * lists / 1000.0, 1.0))
        outcome = outcome_weight * pot_per_patient * incentives.outcome_points_slope(ratio, ratio_sd, qof)
        improve = improve + b.outcome_attribution * outcome * a.outcomes.quality_effect * ratio * quality_gain

    # The premium, as far as it reaches the practice's own income.
    zero = np.zeros(n)
    premium_value = zero
    if premium.per_head_gbp > 0:
        # By contribution, a practice's share is its improvement over the consortium's: the improvement
        # needed to earn the premium, or the measure's own noise if that is larger.
        contributions = np.maximum(premium.required_improvement * cs.measure_last_year, outlook.sd) * cs.population
        premium_value = marginal.premium_value_per_patient(
            outlook, ps.consortium[:n], lists, cs.population, measure_slope(model, premium.target), contributions,
            premium,
        )
    on_outcome = premium.target is PremiumTarget.OUTCOME

    # Capitation: better care draws patients (patient choice), each worth its funding less its cost.
    capitation = zero
    choice = model.levers.patient_choice
    open_ = ps.open[:n]
    sd_quality = rules.quality_spread(quality, open_)
    if choice.switching_rate_per_year > 0 and choice.quality_sensitivity > 0 and sd_quality > 0:
        income = derived.funding_per_head(model) + ps.qof_income_last_gbp[:n] / np.maximum(lists, 1.0)
        margin = np.maximum(income - ps.cost_per_head_gbp[:n], 0.0)
        patients_per_quality = choice.switching_rate_per_year * choice.quality_sensitivity / sd_quality
        capitation = open_ * margin * patients_per_quality * quality_gain

    return EffortValue(
        improve_qof=improve,
        record_qof=record,
        improve_premium=premium_value if on_outcome else zero,
        prescribe_premium=zero if on_outcome else premium_value,
        improve_capitation=capitation,
    )
