"""Policy: the quarter's signals to practices from the board's levers.

QOF's outcome weight as phased in, the premium's perceived pull and the budget pressure of an
overspending delegated consortium: what practices' effort choice (:mod:`sim.processes.effort`) responds to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim import incentives
from sim.agents.practice import Signals
from sim.params import PremiumDistribution, PremiumTarget

if TYPE_CHECKING:
    from sim.model import CommissioningModel

FLOWS: tuple[str, ...] = ()

# Premium (GBP per head) at which the perceived premium signal equals ``collective_efficacy``:
# the 2013/14 maximum of GBP 5.
PREMIUM_REFERENCE_GBP = 5.0


def quarter_signals(model: CommissioningModel, years: float) -> Signals:
    """The signals of the quarter starting ``years`` after the start."""
    lv, ps, n = model.levers, model.practices, model.practices.n
    w = incentives.outcome_weight_at(lv.qof, years)
    premium = lv.quality_premium
    pull = 0.0
    if premium.per_head_gbp > 0:
        # Paid to practices: a money signal, stronger when it follows each practice's contribution. Kept
        # by the consortium: it acts on the target itself (medicines management, say).
        pa = model.assumptions.premium
        pull = premium.per_head_gbp / PREMIUM_REFERENCE_GBP * {
            PremiumDistribution.PER_HEAD: pa.collective_efficacy,
            PremiumDistribution.CONTRIBUTION: 1.5 * pa.collective_efficacy,
        }.get(premium.distribution, pa.retained_pull)
    cs = model.consortia
    in_deficit = cs.delegated & (cs.balance_ytd_gbp < 0)
    return Signals(
        process_weight=1.0 - w,
        outcome_weight=w,
        intensity=incentives.incentive_intensity(lv.qof),
        premium_quality=pull if premium.target is PremiumTarget.OUTCOME else 0.0,
        premium_prescribing=pull if premium.target is PremiumTarget.PRESCRIBING else 0.0,
        budget_pressure=model.assumptions.prescribing.budget_pressure * in_deficit[ps.consortium[:n]],
    )
