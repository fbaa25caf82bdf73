"""Consortium leads: benchmarking with funnel plots, review of outliers and peer challenge.

A lead with the delegated role compares its member practices each quarter on admissions, QOF achievement
and prescribing cost with funnel plots (Spiegelhalter, Stat Med 2005: z-scores against the consortium's
own mean, scaled down by an overdispersion factor estimated from the members), reviews the worst outliers
up to its capacity, and challenges them. Success depends on the reviewer's skill and credibility and on the
practice's autonomy; success leaves peer pressure to improve, failure costs credibility and goodwill.
Where the board has not delegated it reviews remotely with the same rules, noisier data and less credibility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.params import Challenge, Leadership
from sim.state import ConsortiumState, PracticeState

if TYPE_CHECKING:
    from sim.model import CommissioningModel

# Domains a practice can be an outlier in; the challenge targets the worst.
OUTCOME, ACHIEVEMENT, PRESCRIBING = 0, 1, 2

# Share of a practice's list on the registers that QOF achievement is measured over (assumption).
REGISTER_SHARE = 0.25
# Sampling noise of prescribing cost per head for a list of 1,000 patients, as a share of the mean.
PRESCRIBING_NOISE_CV_PER_1000 = 0.1


class ConsortiumLead(mesa.Agent):
    """The lead of a GP commissioning consortium: a view onto one row of :class:`ConsortiumState`."""

    model: CommissioningModel

    def __init__(self, model: CommissioningModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def state(self) -> ConsortiumState:
        return self.model.consortia

    @property
    def skill(self) -> float:
        return float(self.state.skill[self.row])

    @property
    def willingness(self) -> float:
        return float(self.state.willingness[self.row])

    @property
    def credibility(self) -> float:
        return float(self.state.credibility[self.row])

    @property
    def delegated(self) -> bool:
        return bool(self.state.delegated[self.row])

    @property
    def population(self) -> float:
        return float(self.state.population[self.row])

    @property
    def balance_gbp(self) -> float:
        return float(self.state.balance_ytd_gbp[self.row])

    @property
    def premium_earned_gbp(self) -> float:
        return float(self.state.premium_earned_gbp[self.row])

    def members(self) -> mesa.agent.AgentSet:
        """The open practices of this consortium, as Practice agents."""
        from sim.agents.practice import Practice

        return self.model.agents_by_type[Practice].select(lambda p: p.consortium_id == self.row and p.is_open)


# --------------------------------------------------------------------------------------- funnel plots


def _grouped_mean(values: np.ndarray, weights: np.ndarray, group: np.ndarray, count: int) -> np.ndarray:
    total = np.bincount(group, weights=weights, minlength=count)
    return np.bincount(group, weights=weights * values, minlength=count) / np.maximum(total, 1e-12)


def overdispersion_adjust(z: np.ndarray, group: np.ndarray, mask: np.ndarray, count: int) -> np.ndarray:
    """Divide z-scores by the square root of each group's overdispersion factor (mean of winsorised z^2,
    at least 1), as in Spiegelhalter's funnel plots for overdispersed indicators."""
    zw = np.clip(z, -3.0, 3.0)
    members = np.bincount(group, weights=mask.astype(float), minlength=count)
    phi = np.bincount(group, weights=np.where(mask, zw * zw, 0.0), minlength=count) / np.maximum(members, 1.0)
    return z / np.sqrt(np.maximum(phi, 1.0))[group]


@dataclass(frozen=True)
class Funnel:
    """Overdispersion-adjusted z-scores of each practice against its consortium; positive = worse."""

    outcome: np.ndarray
    achievement: np.ndarray
    prescribing: np.ndarray

    def worst(self) -> tuple[np.ndarray, np.ndarray]:
        """Each practice's worst z-score and the domain it is in."""
        stack = np.vstack([self.outcome, self.achievement, self.prescribing])
        domain = np.argmax(stack, axis=0)
        return stack[domain, np.arange(stack.shape[1])], domain


def funnel_scores(
    ps: PracticeState, n: int, count: int, expected_per_1000: np.ndarray, prescribing_per_head: np.ndarray
) -> Funnel:
    """Benchmark every practice against its consortium on the last four quarters of data."""
    open_ = ps.open[:n]
    cons = ps.consortium[:n]
    lists = np.where(open_, ps.list_size[:n], 0.0)
    safe_lists = np.maximum(lists, 1.0)

    # Admissions: observed count against the consortium's risk-adjusted rate (Poisson).
    observed = ps.admissions_last4[:, :n].sum(axis=0)
    rate_ratio = observed / np.maximum(expected_per_1000 * lists / 1000.0, 1e-9)
    cons_ratio = _grouped_mean(rate_ratio, lists, cons, count)
    expected = cons_ratio[cons] * expected_per_1000 * safe_lists / 1000.0
    z_out = (observed - expected) / np.sqrt(np.maximum(expected, 1e-9))

    # QOF achievement: a proportion over the registers; lower is worse.
    p = ps.achievement[:n]
    p_bar = _grouped_mean(p, lists, cons, count)[cons]
    se = np.sqrt(np.maximum(p_bar * (1 - p_bar), 1e-4) / (REGISTER_SHARE * safe_lists))
    z_ach = (p_bar - p) / se

    # Prescribing cost per head: normal, noise shrinking with list size; higher is worse.
    c_bar = _grouped_mean(prescribing_per_head, lists, cons, count)[cons]
    se_rx = PRESCRIBING_NOISE_CV_PER_1000 * c_bar / np.sqrt(safe_lists / 1000.0)
    z_rx = (prescribing_per_head - c_bar) / np.maximum(se_rx, 1e-9)

    adjust = [overdispersion_adjust(z, cons, open_, count) for z in (z_out, z_ach, z_rx)]
    return Funnel(*[np.where(open_, z, -np.inf) for z in adjust])


# ------------------------------------------------------------------------------- review and challenge


def select_for_review(score: np.ndarray, group: np.ndarray, capacity: np.ndarray, threshold: float) -> np.ndarray:
    """Row indices of the practices reviewed: in each group, the worst outliers above ``threshold``,
    as many as the group's (integer) capacity."""
    candidates = np.flatnonzero(score > threshold)
    if candidates.size == 0:
        return candidates
    order = candidates[np.lexsort((-score[candidates], group[candidates]))]
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    return order[rank < capacity[g]]


def stochastic_round(values: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Round to integers at random so the expectation is preserved (0.4 reviews = 1 review 40% of quarters)."""
    base = np.floor(values)
    return (base + (uniform < values - base)).astype(np.int64)


def challenge_success_probability(
    skill: np.ndarray, credibility: np.ndarray, autonomy: np.ndarray, c: Challenge
) -> np.ndarray:
    """Logistic in the reviewer's skill and credibility and the practice's autonomy (centred at 0.5)."""
    logit = (
        c.base_log_odds
        + c.skill_effect * (skill - 0.5)
        + c.credibility_effect * (credibility - 0.5)
        - c.autonomy_effect * (autonomy - 0.5)
    )
    return 1.0 / (1.0 + np.exp(-logit))


def update_credibility(
    credibility: np.ndarray, successes: np.ndarray, failures: np.ndarray, lead: Leadership
) -> np.ndarray:
    """Each success closes part of the gap to full credibility; each failure loses a share of it."""
    after_fail = credibility * (1.0 - lead.credibility_loss) ** failures
    return 1.0 - (1.0 - after_fail) * (1.0 - lead.credibility_gain) ** successes
