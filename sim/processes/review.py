"""Review: funnel-plot benchmarking, review of outliers, challenge, escalation and leads' credibility.

Delegated leads review their own members; elsewhere the board reviews remotely, through noisier data,
with its own skill and credibility (:mod:`sim.agents.consortium` holds the rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import derived
from sim.agents import consortium as cons_rules
from sim.agents import practice as rules

if TYPE_CHECKING:
    from sim.model import CommissioningModel

FLOWS: tuple[str, ...] = ("review_cost_gbp", "reviews", "successful_challenges", "escalations")

# Funnel z-score above which a practice counts in the ``funnel_outliers`` metric (a 3-sigma limit).
OUTLIER_METRIC_Z = 3.0


def review_and_challenge(model: CommissioningModel) -> None:
    """Last quarter's pressure fades; reviewers benchmark, pick the worst outliers up to capacity and
    challenge them; persistent outliers are escalated to the board."""
    ps, cs, n, lv, a = model.practices, model.consortia, model.practices.n, model.levers, model.assumptions
    rules.decay_pressure(ps, n, a.challenge.effect_duration_quarters)
    cap = ps.capacity
    funnel = cons_rules.funnel_scores(
        ps, n, model.n_consortia, derived.expected_outcome(model), derived.prescribing_per_head(model), a.challenge
    )
    model.outcome_outliers = int((funnel.outcome > OUTLIER_METRIC_Z).sum())
    score, domain = funnel.worst()
    # The board sees practices in consortia it has not delegated through noisier data.
    remote = ~cs.delegated[ps.consortium[:n]]
    extra_sd = np.sqrt(max(lv.board_oversight.measurement_noise_multiplier**2 - 1.0, 0.0))
    noise = model.streams.normal("review.measurement_noise", cap)[:n]  # drawn whether used or not (CRN)
    if extra_sd > 0 and remote.any():
        score = np.where(remote, score + extra_sd * noise, score)
    threshold = lv.peer_challenge.outlier_z
    outlier = score > threshold
    ps.unresolved[:n] = np.where(outlier, ps.unresolved[:n], 0)

    capacity = model.board.review_capacity(model.streams.uniform("review.capacity_rounding", cs.count))
    u = model.streams.uniform("review.challenge_success", cap)[:n]
    u_escalate = model.streams.uniform("review.escalation", cap)[:n]
    u_engage = model.streams.uniform("review.engagement", cap)[:n]
    lead = a.leadership
    recovered = cons_rules.recover_credibility(cs.credibility, lead.credibility_initial, lead.credibility_recovery)
    cs.credibility = np.where(cs.delegated, recovered, cs.credibility)
    if not lv.peer_challenge.enabled:
        return
    # A delegated lead holds or avoids each difficult conversation by its willingness and the practice's
    # autonomy; an avoided outlier is passed over and the capacity goes to the next one.
    cons = ps.consortium[:n]
    engage = cons_rules.engagement_probability(cs.willingness[cons], ps.autonomy[:n], lead.avoidance_effect)
    avoided = cs.delegated[cons] & (u_engage >= engage)
    reviewed = cons_rules.select_for_review(np.where(avoided, -np.inf, score), cons, capacity, threshold)
    if reviewed.size == 0:
        return
    c = ps.consortium[reviewed]
    delegated = cs.delegated[c]
    skill = np.where(delegated, cs.skill[c], lv.board_oversight.skill)
    credibility = np.where(delegated, cs.credibility[c], lv.board_oversight.credibility)
    p = cons_rules.challenge_success_probability(skill, credibility, ps.autonomy[reviewed], a.challenge)
    success = u[reviewed] < p
    won, lost = reviewed[success], reviewed[~success]
    on_rx = domain[won] == cons_rules.PRESCRIBING
    ps.pressure_prescribing[won[on_rx]] = 1.0
    ps.pressure_quality[won[~on_rx]] = 1.0
    ps.motivation[lost] = np.maximum(ps.motivation[lost] - a.practice.failed_challenge_goodwill_loss, 0.0)
    ps.unresolved[reviewed] += 1
    # A lead escalates a persistent outlier only if willing to take a colleague to the board; the
    # board, reviewing remotely, always acts on its own findings.
    persistent = (ps.unresolved[reviewed] >= lv.peer_challenge.escalate_after) & ~ps.escalated[reviewed]
    willing = np.where(delegated, u_escalate[reviewed] < cs.willingness[c], True)
    newly = reviewed[persistent & willing]
    ps.escalated[newly] = True

    wins = np.bincount(c[success], minlength=cs.count)
    losses = np.bincount(c[~success], minlength=cs.count)
    cs.credibility = np.where(
        cs.delegated, cons_rules.update_credibility(cs.credibility, wins, losses, lead), cs.credibility
    )
    # Leads learn by doing: each conversation held closes part of the gap to full skill.
    held = np.where(cs.delegated, wins + losses, 0)
    cs.conversations += held
    cs.skill = cons_rules.learn_skill(cs.skill, held, lead.skill_learning_per_review)
    f = model.flows
    f["reviews"] = float(reviewed.size)
    f["successful_challenges"] = float(success.sum())
    f["escalations"] = float(newly.size)
    f["review_cost_gbp"] = float(reviewed.size * lv.delegation.cost_per_review_gbp)
