"""Money: core funding and practice costs each quarter, QOF and the quality premium at year end.

Every payment by the board goes through :func:`pay`, which keeps ``model.ledger`` (the money-conservation
invariant: what the board pays equals what practices and consortia receive).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import derived, incentives
from sim.params import PremiumDistribution, PremiumTarget

if TYPE_CHECKING:
    from sim.model import CommissioningModel

FLOWS: tuple[str, ...] = (
    "qof_payments_gbp",
    "quality_premium_gbp",
    "core_funding_gbp",
    "prescribing_spend_gbp",
    "unwarranted_prescribing_gbp",
    "acsc_cost_gbp",
    "management_cost_gbp",
    "partner_drawings_gbp",
)


def open_financial_year(model: CommissioningModel) -> None:
    """A new financial year: the year-to-date accounts and admissions start again."""
    model.consortia.spend_ytd_gbp[:] = 0.0
    model.consortia.allocation_ytd_gbp[:] = 0.0
    model.practices.admissions_year[: model.practices.n] = 0.0


def update_achievement(model: CommissioningModel, years: float, observed: np.ndarray | None = None) -> np.ndarray:
    """QOF points share: processes on recorded achievement, outcomes on the admission ratio.

    On the latent rate each quarter (stored as ``achievement``); on the year's ``observed`` admission
    rate when QOF is paid (returned, not stored).
    """
    ps, n = model.practices, model.practices.n
    qof = model.levers.qof
    w = incentives.outcome_weight_at(qof, years)
    process = incentives.process_points_share(
        ps.recorded_achievement[:n], qof, model.assumptions.recording.indicator_spread
    )
    if w == 0.0:  # all points on processes (as in 2010/11): the same share, without the outcome measure
        share = process
    else:
        rate = ps.outcome_per_1000[:n] if observed is None else observed
        ratio = rate / derived.expected_outcome(model)
        share = (1.0 - w) * process + w * incentives.outcome_points_share(ratio, qof)
    if observed is None:
        ps.achievement[:n] = share
    return share


def pay(model: CommissioningModel, practices: float = 0.0, consortia: float = 0.0) -> None:
    """Record a payment by the board to practices and consortia (the money-conservation ledger)."""
    model.ledger["board_paid"] += practices + consortia
    model.ledger["practices_received"] += practices
    model.ledger["consortia_received"] += consortia


def quarterly(model: CommissioningModel, years: float, counts: np.ndarray) -> None:
    """Core funding and costs of practices (loss-makers cut costs, slowly), consortium spend on the
    quarter's observed admissions ``counts`` and prescribing."""
    ps, cs, n, lv = model.practices, model.consortia, model.practices.n, model.levers
    open_ = ps.open[:n]
    lists = derived.open_lists(ps)
    safe_lists = np.maximum(lists, 1.0)
    progress = incentives.convergence_progress(lv.contracts, years + 0.25)
    funding = incentives.funding_per_head(ps.contract[:n], lv.contracts, progress, model.single_rate)
    income = funding * lists / 4.0
    costs = np.where(open_, ps.cost_per_head_gbp[:n] * lists / 4.0 + ps.fixed_cost_gbp[:n] / 4.0, 0.0)
    ps.reserves_gbp[:n] += income - costs
    # Partners draw the profit above working capital: a practice's profit is its partners' pay.
    b = model.assumptions.practice
    quarter_income = income + ps.qof_income_last_gbp[:n] / 4.0
    drawings = np.where(
        open_, b.drawings_rate * np.maximum(ps.reserves_gbp[:n] - b.working_capital_quarters * quarter_income, 0.0), 0.0
    )
    ps.reserves_gbp[:n] -= drawings
    # Loss-making practices cut costs towards their income, slowly.
    per_head_income = funding + ps.qof_income_last_gbp[:n] / safe_lists
    per_head_cost = ps.cost_per_head_gbp[:n] + ps.fixed_cost_gbp[:n] / safe_lists
    cut = model.assumptions.practice.cost_adjustment_rate * np.maximum(per_head_cost - per_head_income, 0.0)
    losing = ps.reserves_gbp[:n] < 0
    ps.cost_per_head_gbp[:n] -= np.where(losing, cut, 0.0)
    ps.negative_quarters[:n] = np.where(open_ & losing, ps.negative_quarters[:n] + 1, 0)

    spend, prescribing_gbp = derived.commissioning_spend(model, counts)
    allowance = lv.finance.management_allowance_per_head_gbp * cs.population / 4.0
    cs.spend_ytd_gbp += spend
    cs.allocation_ytd_gbp += cs.allocation_per_head_gbp * cs.population / 4.0
    core_funding = float(income.sum())
    pay(model, practices=core_funding, consortia=float(allowance.sum()))

    f = model.flows
    f["core_funding_gbp"] = core_funding
    f["management_cost_gbp"] = float(allowance.sum())
    f["prescribing_spend_gbp"] = float(prescribing_gbp.sum())
    f["unwarranted_prescribing_gbp"] = float((ps.unwarranted_gbp[:n] * lists / 4.0).sum())
    f["acsc_cost_gbp"] = float(counts.sum() * lv.finance.acsc_cost_per_admission_gbp)
    f["partner_drawings_gbp"] = float(drawings.sum())
    model.convergence = progress


def consortium_measure(
    model: CommissioningModel, expected: bool = False, target: PremiumTarget | None = None
) -> np.ndarray:
    """The premium's target measure per consortium (``target``, by default the scenario's): admissions
    per 1,000 (the year's observed, or the latent rates' ``expected``), or prescribing per head."""
    ps, n = model.practices, model.practices.n
    lists = derived.open_lists(ps)
    cons = ps.consortium[:n]
    pop = np.maximum(np.bincount(cons, weights=lists, minlength=model.n_consortia), 1.0)
    if (target or model.levers.quality_premium.target) is PremiumTarget.PRESCRIBING:
        return np.bincount(cons, weights=derived.prescribing_per_head(model) * lists, minlength=model.n_consortia) / pop
    admissions = ps.outcome_per_1000[:n] * lists / 1000.0 if expected else ps.admissions_year[:n]
    return 1000.0 * np.bincount(cons, weights=admissions, minlength=model.n_consortia) / pop


def practice_measure(model: CommissioningModel, expected: bool = False) -> np.ndarray:
    """The premium's target measure per practice row ``:n`` (what distribution by contribution uses)."""
    ps, n = model.practices, model.practices.n
    if model.levers.quality_premium.target is PremiumTarget.PRESCRIBING:
        return derived.prescribing_per_head(model)
    if expected:
        return ps.outcome_per_1000[:n].copy()
    return 1000.0 * ps.admissions_year[:n] / np.maximum(ps.list_size[:n], 1.0)


def year_end_payments(model: CommissioningModel, years: float) -> None:
    """QOF on the year's recorded achievement and observed admissions; the quality premium on each
    consortium's collective result, if it has not overspent, distributed as the lever says."""
    ps, cs, n, lv = model.practices, model.consortia, model.practices.n, model.levers
    open_ = ps.open[:n]
    lists = derived.open_lists(ps)

    observed_rate = 1000.0 * ps.admissions_year[:n] / np.maximum(lists, 1.0)
    points = update_achievement(model, years, observed=observed_rate)
    qof = np.where(open_, incentives.qof_payment_gbp(points, lists, lv.qof, model.reference_list), 0.0)
    ps.reserves_gbp[:n] += qof
    ps.qof_income_last_gbp[:n] = qof
    pay(model, practices=float(qof.sum()))
    model.flows["qof_payments_gbp"] = float(qof.sum())

    balance = cs.balance_ytd_gbp
    measure = consortium_measure(model)
    earned = incentives.premium_earned(measure, cs.measure_last_year, balance, lv.quality_premium)
    amount = np.where(earned, lv.quality_premium.per_head_gbp * cs.population, 0.0)
    measure_now = practice_measure(model)
    improvement = ps.measure_last_year[:n] - measure_now
    to_practices = np.where(
        open_,
        incentives.distribute_premium(amount, ps.consortium[:n], lists, improvement, lv.quality_premium.distribution),
        0.0,
    )
    ps.reserves_gbp[:n] += to_practices
    retained = float(amount.sum() - to_practices.sum())
    pay(model, practices=float(to_practices.sum()), consortia=retained)
    cs.premium_earned_gbp += amount
    kept = amount - np.bincount(ps.consortium[:n], weights=to_practices, minlength=cs.count)
    cs.extra_reviews_per_quarter = (
        kept / lv.delegation.cost_per_review_gbp / 4.0
        if lv.quality_premium.distribution is PremiumDistribution.REVIEW_CAPACITY
        else np.zeros(cs.count)
    )
    model.flows["quality_premium_gbp"] = float(amount.sum())
    cs.measure_last_year = measure
    ps.measure_last_year[:n] = measure_now
