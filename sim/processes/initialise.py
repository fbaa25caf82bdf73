"""Initialisation: settle the drawn population into the behaviour of its baseline regime.

The population (:mod:`sim.population`) draws traits; here efforts, recording, prescribing habits,
admission rates and last year's QOF income are set to where the baseline regime (the 2010 QOF, or no
QOF for a pre-2004 start) would have brought them, independent of the scenario's levers, so that two
scenarios with the same seed start from the same state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from sim import derived, incentives
from sim.agents import practice as rules
from sim.params import QOF, Contracts, Levers, QualityPremium
from sim.processes import money, policy, review
from sim.start_cache import CACHE, capture, restore, start_key

if TYPE_CHECKING:
    from sim.model import CommissioningModel

FLOWS: tuple[str, ...] = ()

# Rounds of settling effort and recording together at the start, each moving effort this share of the
# way to its target (a numerical device: the settled state does not depend on them once converged).
SETTLE_ROUNDS = 40
SETTLE_DAMPING = 0.2
# Quarters of the baseline regime's review, challenge and notices run before the start: long enough for
# peer pressure, remedial pressure and goodwill to reach their steady levels (goodwill recovers slowest).
SPIN_UP_QUARTERS = 24


def settle(model: CommissioningModel) -> None:
    """Set the starting state and the model's fixed references (list size, quality, single rate,
    warranted prescribing cost); then delegation, budgets and last year's premium measures."""
    ps, cs, a = model.practices, model.consortia, model.assumptions
    n = ps.n
    baseline_qof = QOF() if a.initial.qof_in_place else QOF(points_max=0, point_value_gbp=0)
    model.reference_list = float(ps.list_size[:n].mean())
    model.reference_quality = a.initial.quality_mean
    model.warranted_rx_gbp = a.prescribing.cost_per_head_gbp - a.prescribing.unwarranted_mean_gbp
    ps.outcome_per_1000[:n] = rules.outcome_target(ps, n, a.outcomes, model.reference_quality)
    ps.unwarranted_gbp[:n] = ps.habit_gbp[:n]
    lam = ps.outcome_per_1000[:n] * ps.list_size[:n] / 4000.0
    history = model.streams["initial.admission_history"].poisson(
        np.broadcast_to(np.pad(lam, (0, ps.capacity - n)), (4, ps.capacity))
    )
    ps.admissions_last4[:, :] = history

    key = start_key(model.scenario, model.seed)
    cached = CACHE.get(key)
    if cached is None:
        mean_improve = settle_baseline(model, baseline_qof)
        CACHE.put(key, capture(model, mean_improve))
    else:
        mean_improve = restore(model, cached)
    # Set after the baseline's settling, which must not read what depends on the scenario's levers.
    model.single_rate = incentives.single_rate(ps.contract[:n], ps.list_size[:n], model.levers.contracts)
    # Each practice's quality is steady for the improvement effort it made on average over the spin-up.
    current = ps.effort_improve[:n].copy()
    ps.effort_improve[:n] = mean_improve
    ps.quality_baseline[:n] = rules.equilibrium_baseline(ps, n, a)
    ps.effort_improve[:n] = current
    money.update_achievement(model, years=0.0)
    settle_reserves(model)
    # Today's lists are where patient choice keeps them at today's quality.
    rows = np.arange(n)
    rules.settle_choice_weights(ps, n, model.n_consortia, model.levers.patient_choice.quality_sensitivity, rows)

    # Consortia: delegation, budgets at their baseline spend, last year's measures for the premium.
    cs.delegated = model.board.decide_delegation(first=True, noise=model.streams.normal("initial.delegation", cs.count))
    spend, _ = derived.commissioning_spend(model)
    headroom = model.levers.finance.budget_headroom
    cs.allocation_per_head_gbp = 4.0 * spend / np.maximum(cs.population, 1.0) * (1 + headroom)
    cs.measure_last_year = money.consortium_measure(model, expected=True)
    ps.measure_last_year[:n] = money.practice_measure(model, expected=True)


def settle_baseline(model: CommissioningModel, baseline_qof: QOF) -> np.ndarray:
    """Effort, recording and habits settled, then the spin-up, all under the baseline's levers: the
    costly part of the start, a function of the seed, the run settings and the assumptions alone
    (hence cached by :mod:`sim.start_cache`). Returns each practice's mean improvement effort over the
    spin-up."""
    ps, n, p = model.practices, model.practices.n, model.assumptions.prescribing
    with baseline_regime(model, baseline_qof):
        settle_effort(model, baseline_qof)
        # The drawn unwarranted cost is today's level; the habit it reverts to is higher by what the
        # current prescribing effort holds it down.
        if p.habit_reversion > 0:
            held_down = p.efficiency_effect * ps.effort_prescribing[:n]
            ps.habit_gbp[:n] *= (p.habit_reversion + held_down) / p.habit_reversion
        return spin_up(model, baseline_qof)


@contextmanager
def baseline_regime(model: CommissioningModel, baseline_qof: QOF) -> Iterator[None]:
    """Run the block under the baseline's levers (schema defaults: remote oversight, today's contracts
    and patient choice, the baseline QOF), whatever the scenario's, so that every scenario run with the
    same seed settles into the same starting state. The caller sets the scenario's single rate after."""
    scenario, ps = model.scenario, model.practices
    model.scenario = scenario.model_copy(update={"levers": Levers(qof=baseline_qof)})
    # The day's single rate (nothing converges to it before the start, so its value changes nothing).
    model.single_rate = incentives.single_rate(ps.contract[: ps.n], ps.list_size[: ps.n], Contracts())
    try:
        yield
    finally:
        model.scenario = scenario


def settle_effort(model: CommissioningModel, baseline_qof: QOF) -> None:
    """Effort, recording and recorded achievement settle together: what recording effort earns depends on
    the recording stock and the thresholds, which depend on the effort (damped fixed-point rounds)."""
    ps, n, a = model.practices, model.practices.n, model.assumptions
    no_premium = QualityPremium()
    efforts = (ps.effort_improve, ps.effort_record, ps.effort_prescribing)
    for round_ in range(SETTLE_ROUNDS):
        sig = policy.signals_for(model, baseline_qof, 0.0, no_premium, np.zeros(n))
        for effort, target in zip(efforts, rules.effort_targets(ps, n, sig, a), strict=True):
            effort[:n] = target if round_ == 0 else effort[:n] + SETTLE_DAMPING * (target - effort[:n])
        ps.recording[:n] = rules.steady_recording(ps, n, a.recording)
        rules.refresh_recorded(ps, n, a.recording)
        ps.qof_income_last_gbp[:n] = incentives.qof_payment_gbp(
            incentives.process_points_share(ps.recorded_achievement[:n], baseline_qof, a.recording.indicator_spread),
            ps.list_size[:n],
            baseline_qof,
            model.reference_list,
        )


def spin_up(model: CommissioningModel, baseline_qof: QOF) -> np.ndarray:
    """Run the baseline regime's scrutiny for :data:`SPIN_UP_QUARTERS` with quality held at its drawn
    values, so that the starting effort already carries the peer pressure, remedial pressure and lost
    goodwill that remote oversight keeps up in a steady state (without it those build up after the start
    and the status quo drifts upwards for a few years). Returns each practice's mean improvement effort
    over the spin-up. Call it under :func:`baseline_regime`.
    """
    ps, n, a = model.practices, model.practices.n, model.assumptions
    mean_improve = np.zeros(n)
    for quarter in range(SPIN_UP_QUARTERS):
        sig = policy.signals_for(model, baseline_qof, 0.0, QualityPremium(), np.zeros(n))
        rules.recover_motivation(ps, n, a.practice.motivation_recovery)
        rules.adjust_effort(ps, n, rules.effort_targets(ps, n, sig, a), a.practice.effort_adjustment_rate)
        rules.update_recording(ps, n, a.recording)
        rules.update_prescribing(ps, n, a.prescribing)
        money.update_achievement(model, years=0.0)
        review.review_and_challenge(model)
        if quarter % 4 == 3:  # the year's remedial notices (contracts are not terminated before the start)
            model.board.contract_actions(model.streams.normal("initial.spin_up_inspection", ps.capacity))
        mean_improve += ps.effort_improve[:n] / SPIN_UP_QUARTERS
    model.flows = dict.fromkeys(model.flows, 0.0)
    return mean_improve


def settle_reserves(model: CommissioningModel) -> None:
    """Reserves at the end of the baseline year, where partners' drawings keep them in the steady cycle
    of the baseline's money: core income and costs each quarter, QOF once a year (just paid at the
    start), profit above working capital drawn (three years of the money rule alone, no draws)."""
    ps, n, b = model.practices, model.practices.n, model.assumptions.practice
    lists = ps.list_size[:n]
    core = incentives.contract_funding(Contracts())[ps.contract[:n]] * lists / 4.0  # the day's contracts
    costs = ps.cost_per_head_gbp[:n] * lists / 4.0 + ps.fixed_cost_gbp[:n] / 4.0
    qof = ps.qof_income_last_gbp[:n]
    working = b.working_capital_quarters * (core + qof / 4.0)
    reserves = working + qof
    for quarter in range(1, 13):
        reserves = reserves + core - costs
        reserves -= b.drawings_rate * np.maximum(reserves - working, 0.0)
        if quarter % 4 == 0:
            reserves = reserves + qof
    ps.reserves_gbp[:n] = reserves
