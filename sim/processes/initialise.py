"""Initialisation: settle the drawn population into the behaviour of its baseline regime.

The population (:mod:`sim.population`) draws traits; here efforts, recording, prescribing habits,
admission rates and last year's QOF income are set to where the baseline regime (the 2010 QOF, or no
QOF for a pre-2004 start) would have brought them, independent of the scenario's levers, so that two
scenarios with the same seed start from the same state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import derived, incentives
from sim.agents import practice as rules
from sim.agents.practice import Signals
from sim.params import QOF
from sim.processes import money

if TYPE_CHECKING:
    from sim.model import CommissioningModel

FLOWS: tuple[str, ...] = ()


def settle(model: CommissioningModel) -> None:
    """Set the starting state and the model's fixed references (list size, quality, single rate,
    warranted prescribing cost); then delegation, budgets and last year's premium measures."""
    ps, cs, a = model.practices, model.consortia, model.assumptions
    n = ps.n
    baseline_qof = QOF() if a.initial.qof_in_place else QOF(points_max=0, point_value_gbp=0)
    model.reference_list = float(ps.list_size[:n].mean())
    model.reference_quality = a.initial.quality_mean
    model.single_rate = incentives.single_rate(ps.contract[:n], ps.list_size[:n], model.levers.contracts)
    model.warranted_rx_gbp = a.prescribing.cost_per_head_gbp - a.prescribing.unwarranted_mean_gbp

    sig = Signals(
        process_weight=1.0,
        outcome_weight=0.0,
        intensity=incentives.incentive_intensity(baseline_qof),
        premium_quality=0.0,
        premium_prescribing=0.0,
        budget_pressure=np.zeros(n),
    )
    targets = rules.effort_targets(ps, n, sig, a)
    ps.effort_improve[:n], ps.effort_record[:n], ps.effort_prescribing[:n] = targets
    ps.quality_baseline[:n] = rules.equilibrium_baseline(ps, n, a)
    ps.recording[:n] = rules.steady_recording(ps, n, a.recording)
    rules.refresh_recorded(ps, n, a.recording)
    # The drawn unwarranted cost is today's level; the habit it reverts to is higher by what the
    # current prescribing effort holds it down.
    p = a.prescribing
    ps.unwarranted_gbp[:n] = ps.habit_gbp[:n]
    if p.habit_reversion > 0:
        ps.habit_gbp[:n] *= (p.habit_reversion + p.efficiency_effect * ps.effort_prescribing[:n]) / p.habit_reversion
    ps.outcome_per_1000[:n] = rules.outcome_target(ps, n, a.outcomes, model.reference_quality)
    lam = ps.outcome_per_1000[:n] * ps.list_size[:n] / 4000.0
    history = model.streams["initial.admission_history"].poisson(
        np.broadcast_to(np.pad(lam, (0, ps.capacity - n)), (4, ps.capacity))
    )
    ps.admissions_last4[:, :] = history
    ps.qof_income_last_gbp[:n] = incentives.qof_payment_gbp(
        incentives.process_points_share(ps.recorded_achievement[:n], baseline_qof, a.recording.indicator_spread),
        ps.list_size[:n],
        baseline_qof,
        model.reference_list,
    )
    money.update_achievement(model, years=0.0)

    # Consortia: delegation, budgets at their baseline spend, last year's measures for the premium.
    cs.delegated = model.board.decide_delegation(first=True, noise=model.streams.normal("initial.delegation", cs.count))
    spend, _ = derived.commissioning_spend(model)
    headroom = model.levers.finance.budget_headroom
    cs.allocation_per_head_gbp = 4.0 * spend / np.maximum(cs.population, 1.0) * (1 + headroom)
    cs.measure_last_year = money.consortium_measure(model, expected=True)
    ps.measure_last_year[:n] = money.practice_measure(model, expected=True)
