"""Quantities derived from the state, defined once: every process and output reads them from here.

Why: prescribing per head, the expected (risk-adjusted) admission rate and the commissioning spend were
each written out in several places; a change to one copy (a new component of prescribing cost, say)
would have left the others measuring something else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import incentives
from sim.agents import practice as rules
from sim.state import PracticeState

if TYPE_CHECKING:
    from sim.model import CommissioningModel


def open_lists(ps: PracticeState) -> np.ndarray:
    """List sizes of rows ``:n``, zero for closed practices (weights for every consortium total)."""
    n = ps.n
    return np.where(ps.open[:n], ps.list_size[:n], 0.0)


def prescribing_per_head(model: CommissioningModel) -> np.ndarray:
    """Prescribing cost per head (GBP a year) of rows ``:n``: the warranted part plus the practice's
    unwarranted part."""
    ps = model.practices
    return model.warranted_rx_gbp + ps.unwarranted_gbp[: ps.n]


def expected_outcome(model: CommissioningModel) -> np.ndarray:
    """Risk-adjusted expected admissions per 1,000 of rows ``:n`` (:func:`sim.agents.practice.expected_outcome`)."""
    ps = model.practices
    return rules.expected_outcome(ps, ps.n, model.assumptions.outcomes)


def commissioning_spend(
    model: CommissioningModel, admissions: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """This quarter's spend on avoidable admissions and prescribing.

    Returns (spend per consortium, prescribing spend per practice row ``:n``). ``admissions`` are the
    quarter's observed counts per practice; without them, the expected counts of the latent rates.
    """
    ps, n = model.practices, model.practices.n
    lists = open_lists(ps)
    if admissions is None:
        admissions = ps.outcome_per_1000[:n] * lists / 4000.0
    prescribing = prescribing_per_head(model) * lists / 4.0
    cost = admissions * model.levers.finance.acsc_cost_per_admission_gbp + prescribing
    return np.bincount(ps.consortium[:n], weights=cost, minlength=model.n_consortia), prescribing


def funding_per_head(model: CommissioningModel) -> np.ndarray:
    """Core funding per patient a year of rows ``:n`` under the contracts as converged so far."""
    ps = model.practices
    contracts = model.levers.contracts
    return incentives.funding_per_head(ps.contract[: ps.n], contracts, model.convergence, model.single_rate)
