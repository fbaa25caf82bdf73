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

from sim.grouped import first_of_group, group_order
from sim.params import Challenge, Leadership
from sim.state import ConsortiumState, PracticeState

if TYPE_CHECKING:
    from sim.model import CommissioningModel

# Domains a practice can be an outlier in; the challenge targets the worst.
OUTCOME, ACHIEVEMENT, PRESCRIBING = 0, 1, 2



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


def _grouped_mean(
    values: np.ndarray, weights: np.ndarray, group: np.ndarray, count: int, total: np.ndarray | None = None
) -> np.ndarray:
    """Weighted mean of ``values`` in each group; ``total`` is the groups' weight if already known."""
    if total is None:
        total = np.bincount(group, weights=weights, minlength=count)
    return np.bincount(group, weights=weights * values, minlength=count) / np.maximum(total, 1e-12)


def overdispersion_adjust(
    z: np.ndarray, group: np.ndarray, mask: np.ndarray, count: int, members: np.ndarray | None = None
) -> np.ndarray:
    """Divide z-scores by the square root of each group's overdispersion factor (mean of winsorised z^2,
    at least 1), as in Spiegelhalter's funnel plots for overdispersed indicators. ``members`` (the count
    of ``mask`` in each group) can be passed when several indicators share it."""
    if members is None:
        members = np.bincount(group, weights=mask.astype(float), minlength=count)
    return _overdispersion_adjust(z, group, np.flatnonzero(~mask), count, members)


def _overdispersion_adjust(
    z: np.ndarray, group: np.ndarray, excluded: np.ndarray, count: int, members: np.ndarray
) -> np.ndarray:
    """:func:`overdispersion_adjust` given the rows outside the comparison (usually few: closed practices),
    which are zeroed by index rather than masking every row."""
    zw2 = np.clip(z, -3.0, 3.0)
    np.multiply(zw2, zw2, out=zw2)
    zw2[excluded] = 0.0
    phi = np.bincount(group, weights=zw2, minlength=count) / np.maximum(members, 1.0)
    return z / np.sqrt(np.maximum(phi, 1.0))[group]


@dataclass(frozen=True)
class Funnel:
    """Overdispersion-adjusted z-scores of each practice against its consortium; positive = worse."""

    outcome: np.ndarray
    achievement: np.ndarray
    prescribing: np.ndarray

    def worst(self) -> tuple[np.ndarray, np.ndarray]:
        """Each practice's worst z-score and the domain it is in (the first, on a tie).

        Elementwise rather than ``argmax`` over a stacked array, which is several times slower across
        axis 0; the scores are never NaN (closed practices score -inf in every domain).
        """
        out, ach, rx = self.outcome, self.achievement, self.prescribing
        worse_of_others = np.maximum(ach, rx)
        score = np.maximum(out, worse_of_others)
        domain = np.where(out >= worse_of_others, OUTCOME, np.where(ach >= rx, ACHIEVEMENT, PRESCRIBING))
        return score, domain


def funnel_scores(
    ps: PracticeState,
    n: int,
    count: int,
    expected_per_1000: np.ndarray,
    prescribing_per_head: np.ndarray,
    c: Challenge | None = None,
) -> Funnel:
    """Benchmark every practice against its consortium on the last four quarters of data (measurement
    noise of achievement and prescribing from ``c``, the schema defaults if not given)."""
    c = c or Challenge()
    open_ = ps.open[:n]
    closed = np.flatnonzero(~open_)  # few: closed practices are excluded by index, not by masking every row
    cons = ps.consortium[:n]
    lists = ps.list_size[:n].copy()
    lists[closed] = 0.0
    safe_lists = np.maximum(lists, 1.0)
    patients = np.bincount(cons, weights=lists, minlength=count)  # shared by the three benchmarks

    # Admissions: observed count against the consortium's risk-adjusted rate (Poisson).
    observed = ps.admissions_last4[:, :n].sum(axis=0)
    rate_ratio = observed / np.maximum(expected_per_1000 * lists / 1000.0, 1e-9)
    cons_ratio = _grouped_mean(rate_ratio, lists, cons, count, patients)
    expected = cons_ratio[cons] * expected_per_1000 * safe_lists / 1000.0
    z_out = (observed - expected) / np.sqrt(np.maximum(expected, 1e-9))

    # QOF achievement: a proportion over the registers; lower is worse.
    p = ps.achievement[:n]
    p_bar = _grouped_mean(p, lists, cons, count, patients)[cons]
    se = np.sqrt(np.maximum(p_bar * (1 - p_bar), 1e-4) / (c.register_share * safe_lists))
    z_ach = (p_bar - p) / se

    # Prescribing cost per head: normal, noise shrinking with list size; higher is worse.
    c_bar = _grouped_mean(prescribing_per_head, lists, cons, count, patients)[cons]
    se_rx = c.prescribing_noise_cv_per_1000 * c_bar / np.sqrt(safe_lists / 1000.0)
    z_rx = (prescribing_per_head - c_bar) / np.maximum(se_rx, 1e-9)

    members = np.bincount(cons, weights=open_.astype(float), minlength=count)
    adjusted = [_overdispersion_adjust(z, cons, closed, count, members) for z in (z_out, z_ach, z_rx)]
    for z in adjusted:
        z[closed] = -np.inf  # closed practices are never outliers
    return Funnel(*adjusted)


# ------------------------------------------------------------------------------- review and challenge


def select_for_review(score: np.ndarray, group: np.ndarray, capacity: np.ndarray, threshold: float) -> np.ndarray:
    """Row indices of the practices reviewed: in each group, the worst outliers above ``threshold``,
    as many as the group's (integer) capacity."""
    candidates = np.flatnonzero(score > threshold)
    if candidates.size == 0:
        return candidates
    # Sorted by group, worst first within a group, ties in row order: a lexsort on (group, -score), done
    # as a sort on score then a stable (radix) sort on group, which is several times faster.
    by_score = candidates[_descending_order(score[candidates])]
    order = by_score[group_order(group[by_score])]
    g = group[order]
    rank = np.arange(order.size) - first_of_group(g, capacity.size)[g]
    return order[rank < capacity[g]]


def _descending_order(values: np.ndarray) -> np.ndarray:
    """Indices that sort ``values`` from highest to lowest, ties in index order (as a stable sort gives).

    The unstable sort is several times faster than numpy's stable sort for floats; continuous scores
    almost never tie, and when they do the stable sort is used instead, so the order is always the same.
    """
    order = np.argsort(-values)
    ordered = values[order]
    if np.any(ordered[1:] == ordered[:-1]):
        return np.argsort(-values, kind="stable")
    return order


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


# ------------------------------------------------------------------------------------------ leadership


def engagement_probability(willingness: np.ndarray, autonomy: np.ndarray, avoidance_effect: float) -> np.ndarray:
    """Chance that a lead holds the difficult conversation with an outlier it has capacity for.

    Willingness decides *which* conversations happen: the log-odds fall by ``avoidance_effect`` per unit of
    the practice's autonomy above the lead's willingness, so a reluctant lead reviews the compliant and
    avoids the most autonomous practices, the ones that most need a challenge and are hardest to move.
    """
    return 1.0 / (1.0 + np.exp(-avoidance_effect * (willingness - autonomy)))


def learn_skill(skill: np.ndarray, conversations: np.ndarray, rate: float) -> np.ndarray:
    """Each conversation held closes ``rate`` of the gap to full skill (learning by doing)."""
    return 1.0 - (1.0 - skill) * (1.0 - rate) ** conversations


def recover_credibility(credibility: np.ndarray, reference: float, rate: float) -> np.ndarray:
    """Credibility below the lead's starting level recovers a share of the gap each quarter; above it,
    what was earned is kept."""
    return np.where(credibility < reference, credibility + rate * (reference - credibility), credibility)
