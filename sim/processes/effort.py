"""Effort and stocks: practices choose effort, and quality, recording, prescribing and outcomes move.

The rules are :mod:`sim.agents.practice`'s; this module applies them in order each quarter and then
observes the quarter's admissions (the noisy counts that funnel plots, QOF and spend are computed from).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.agents import practice as rules
from sim.agents.practice import Signals

if TYPE_CHECKING:
    from sim.model import CommissioningModel

FLOWS: tuple[str, ...] = ()


def choose_and_update(model: CommissioningModel, signals: Signals) -> None:
    """Effort moves towards this quarter's targets; the stocks then respond to the new effort."""
    ps, n, a = model.practices, model.practices.n, model.assumptions
    rules.recover_motivation(ps, n, a.practice.motivation_recovery)
    rules.adjust_effort(ps, n, rules.effort_targets(ps, n, signals, a), a.practice.effort_adjustment_rate)
    # Care improving without any lever (new evidence, drugs): every practice's quality and the floor it
    # erodes to rise alike, so the trend is the same with and without a reform.
    trend = a.context.secular_quality_trend_per_year / 4.0
    if trend:
        ps.quality_baseline[:n] += trend
        ps.quality[:n] = np.clip(ps.quality[:n] + trend, 0.0, 1.0)
    rules.update_quality(ps, n, a, model.streams.normal("effort.quality_shock", ps.capacity)[:n])
    rules.update_recording(ps, n, a.recording)
    rules.update_prescribing(ps, n, a.prescribing)
    rules.update_outcome(ps, n, a.outcomes, model.reference_quality)


def observe_admissions(model: CommissioningModel) -> np.ndarray:
    """Draw the quarter's admission counts of rows ``:n`` from the latent rates, and keep the history."""
    ps, n = model.practices, model.practices.n
    lam = np.zeros(ps.capacity)  # spare rows draw nothing (a Poisson draw with rate 0 takes no random numbers)
    lam[:n] = np.where(ps.open[:n], ps.outcome_per_1000[:n] * ps.list_size[:n] / 4000.0, 0.0)
    counts = model.streams["effort.admissions"].poisson(lam)[:n]
    last4 = ps.admissions_last4  # row 0 is the latest quarter: shift the others down, in place
    for k in (3, 2, 1):
        last4[k, :n] = last4[k - 1, :n]
    last4[0, :n] = counts
    ps.admissions_year[:n] += counts
    return counts
