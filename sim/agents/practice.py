"""Practices: the agent view and the behaviour rules, vectorised over every practice at once.

Each quarter a practice splits its discretionary effort between genuine improvement, recording and
exception reporting ("gaming") and prescribing efficiency, according to what each is worth to it: what
is paid for, recent peer challenge, remedial action and intrinsic motivation. Effort then moves its
stocks: latent quality (with diminishing returns near the ceiling), recording, unwarranted prescribing;
outcomes follow quality with a lag and are worse where deprivation is higher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from sim.params import Assumptions, Outcomes, Prescribing, Recording
from sim.state import CONTRACT_NAMES, PracticeState

if TYPE_CHECKING:
    from sim.model import CommissioningModel


# ------------------------------------------------------------------------------------------ agent view


class _Column:
    """An attribute of a Practice that reads and writes its row of the model's arrays."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Practice | None, owner: type) -> Any:
        if obj is None:
            return self
        return getattr(obj.model.practices, self.name)[obj.row].item()

    def __set__(self, obj: Practice, value: Any) -> None:
        getattr(obj.model.practices, self.name)[obj.row] = value


class Practice(mesa.Agent):
    """A GP practice: a Mesa agent whose state is one row of :class:`sim.state.PracticeState`.

    Use it to select and inspect practices from a notebook, e.g.
    ``model.agents_by_type[Practice].select(lambda p: p.quality < 0.7)``. Rules run on the arrays.
    """

    model: CommissioningModel

    list_size = _Column()
    deprivation = _Column()
    quality = _Column()
    achievement = _Column()
    recorded_achievement = _Column()
    exception_rate = _Column()
    outcome_per_1000 = _Column()
    unwarranted_gbp = _Column()
    autonomy = _Column()
    motivation = _Column()
    improvement_capacity = _Column()
    effort_improve = _Column()
    effort_record = _Column()
    effort_prescribing = _Column()
    reserves_gbp = _Column()
    notices = _Column()

    def __init__(self, model: CommissioningModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def consortium_id(self) -> int:
        return int(self.model.practices.consortium[self.row])

    @property
    def contract(self) -> str:
        return CONTRACT_NAMES[int(self.model.practices.contract[self.row])]

    @property
    def is_open(self) -> bool:
        return bool(self.model.practices.open[self.row])

    def __repr__(self) -> str:
        return f"Practice(row={self.row}, consortium={self.consortium_id}, list={self.list_size:.0f})"


# -------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Signals:
    """What a practice responds to this quarter, set by the board and its consortium."""

    process_weight: float  # share of QOF points on recorded processes
    outcome_weight: float  # share of QOF points on outcomes
    intensity: float  # how strongly QOF pays, relative to 2010/11
    premium_quality: float  # perceived premium signal on admissions
    premium_prescribing: float  # perceived premium signal on prescribing
    budget_pressure: np.ndarray  # per practice: its delegated consortium is overspending


def effort_targets(ps: PracticeState, n: int, sig: Signals, a: Assumptions) -> tuple[np.ndarray, ...]:
    """Target effort on (improvement, recording, prescribing): each option's attraction over the total,
    with routine work as the alternative (attraction 1), times the practice's discretionary capacity."""
    b = a.practice
    paid = b.incentive_responsiveness * sig.intensity
    receptive = b.peer_pressure_sensitivity * (1.0 - ps.autonomy[:n])
    improve = (
        ps.motivation[:n]
        + paid * (sig.process_weight * b.process_care_link + sig.outcome_weight * b.outcome_attribution)
        + receptive * ps.pressure_quality[:n]
        + b.remedial_sensitivity * ps.remedial[:n]
        + sig.premium_quality
    )
    record = np.full(n, paid * sig.process_weight * b.gaming_propensity)
    prescribe = (
        a.prescribing.baseline_effort_attraction
        + receptive * ps.pressure_prescribing[:n]
        + sig.budget_pressure
        + sig.premium_prescribing
    )
    share = ps.improvement_capacity[:n] / (1.0 + improve + record + prescribe)
    return improve * share, record * share, prescribe * share


def adjust_effort(ps: PracticeState, n: int, targets: tuple[np.ndarray, ...], rate: float) -> None:
    """Effort moves part of the way to its target each quarter (habits and contracts change slowly)."""
    imp, rec, rx = targets
    ps.effort_improve[:n] += rate * (imp - ps.effort_improve[:n])
    ps.effort_record[:n] += rate * (rec - ps.effort_record[:n])
    ps.effort_prescribing[:n] += rate * (rx - ps.effort_prescribing[:n])


def quality_gain(ps: PracticeState, n: int, a: Assumptions) -> np.ndarray:
    """Quarterly change in latent quality before shocks: effort with diminishing returns near the
    ceiling, against erosion towards the practice's untended baseline."""
    b = a.practice
    q = ps.quality[:n]
    return b.improvement_efficiency * ps.effort_improve[:n] * (1.0 - q) - b.quality_decay * (
        q - ps.quality_baseline[:n]
    )


def update_quality(ps: PracticeState, n: int, a: Assumptions, shock: np.ndarray) -> None:
    ps.quality[:n] = np.clip(ps.quality[:n] + quality_gain(ps, n, a) + a.practice.quality_shock_sd * shock, 0.0, 1.0)


def equilibrium_baseline(ps: PracticeState, n: int, a: Assumptions) -> np.ndarray:
    """The untended baseline that makes each practice's starting quality a steady state for its effort."""
    b = a.practice
    q = ps.quality[:n]
    if b.quality_decay <= 0:
        return q.copy()
    return q - b.improvement_efficiency * ps.effort_improve[:n] * (1.0 - q) / b.quality_decay


def update_recording(ps: PracticeState, n: int, r: Recording) -> None:
    """Recording stock grows with recording effort and decays without it; it raises exception reporting
    and recorded achievement, but not care."""
    rec = ps.recording[:n]
    rec += r.recording_efficiency * ps.effort_record[:n] * (1.0 - rec) - r.recording_decay * rec
    np.clip(rec, 0.0, 1.0, out=rec)
    refresh_recorded(ps, n, r)


def refresh_recorded(ps: PracticeState, n: int, r: Recording) -> None:
    """Recorded indicator achievement: true quality plus what recording adds, over the patients left
    after exception reporting."""
    ps.exception_rate[:n] = r.exception_base + r.exception_gaming * ps.recording[:n]
    ps.recorded_achievement[:n] = np.clip(
        (ps.quality[:n] + r.recording_yield * ps.recording[:n]) / (1.0 - ps.exception_rate[:n]), 0.0, 1.0
    )


def steady_recording(ps: PracticeState, n: int, r: Recording) -> np.ndarray:
    """Recording stock at which growth from the current effort balances decay."""
    gain = r.recording_efficiency * ps.effort_record[:n]
    return gain / np.maximum(gain + r.recording_decay, 1e-12)


def expected_outcome(ps: PracticeState, n: int, o: Outcomes) -> np.ndarray:
    """Risk-adjusted expected admissions per 1,000 (deprivation only): the yardstick of the QOF outcome
    indicators and of funnel plots."""
    return o.acsc_per_1000 * np.exp(o.deprivation_gradient * (ps.deprivation[:n] - 0.5))


def outcome_target(ps: PracticeState, n: int, o: Outcomes, reference_quality: float) -> np.ndarray:
    """The admission rate a practice's current quality leads to, once the lag has worked through."""
    return (
        expected_outcome(ps, n, o) * np.exp(-o.quality_effect * (ps.quality[:n] - reference_quality)) * ps.frailty[:n]
    )


def update_outcome(ps: PracticeState, n: int, o: Outcomes, reference_quality: float) -> None:
    target = outcome_target(ps, n, o, reference_quality)
    ps.outcome_per_1000[:n] += (target - ps.outcome_per_1000[:n]) / o.lag_quarters


def update_prescribing(ps: PracticeState, n: int, p: Prescribing) -> None:
    """Unwarranted cost drifts back to the practice's habit and falls with prescribing effort."""
    u = ps.unwarranted_gbp[:n]
    u += p.habit_reversion * (ps.habit_gbp[:n] - u) - p.efficiency_effect * ps.effort_prescribing[:n] * u
    np.maximum(u, 0.0, out=u)


def steady_unwarranted(ps: PracticeState, n: int, p: Prescribing) -> np.ndarray:
    """Unwarranted cost at which reversion to habit balances the current prescribing effort."""
    denom = p.habit_reversion + p.efficiency_effect * ps.effort_prescribing[:n]
    return np.where(denom > 0, p.habit_reversion * ps.habit_gbp[:n] / np.maximum(denom, 1e-12), ps.habit_gbp[:n])


def decay_pressure(ps: PracticeState, n: int, duration_quarters: float) -> None:
    """Peer pressure and remedial pressure fade with a mean life of ``duration_quarters``."""
    keep = 1.0 - 1.0 / max(duration_quarters, 1.0)
    ps.pressure_quality[:n] *= keep
    ps.pressure_prescribing[:n] *= keep
    ps.remedial[:n] *= keep


def patient_choice(
    ps: PracticeState, n: int, n_consortia: int, switching_rate: float, sensitivity: float
) -> np.ndarray:
    """Yearly moves of patients within each consortium, away from worse and towards better practices.

    Leavers are more likely from practices of lower quality (relative to their consortium); they join
    practices in proportion to list size times an attraction rising with quality. Each consortium's
    patients are conserved exactly. Returns the net change in list size per practice.
    """
    open_ = ps.open[:n]
    lists = np.where(open_, ps.list_size[:n], 0.0)
    if switching_rate <= 0 or lists.sum() <= 0:
        return np.zeros(n)
    cons = ps.consortium[:n]
    q = ps.quality[:n]
    pop = np.bincount(cons, weights=lists, minlength=n_consortia)
    mean_q = np.bincount(cons, weights=lists * q, minlength=n_consortia) / np.maximum(pop, 1e-12)
    sd = float(np.std(q[open_])) or 1.0
    z = (q - mean_q[cons]) / sd
    leave_weight = np.exp(-0.5 * sensitivity * z)
    leavers = (
        switching_rate
        * lists
        * leave_weight
        / np.maximum(
            (np.bincount(cons, weights=lists * leave_weight, minlength=n_consortia) / np.maximum(pop, 1e-12))[cons],
            1e-12,
        )
    )
    leavers = np.minimum(leavers, 0.5 * lists)
    pool = np.bincount(cons, weights=leavers, minlength=n_consortia)
    attract = lists * np.exp(0.5 * sensitivity * z)
    attract_total = np.bincount(cons, weights=attract, minlength=n_consortia)
    joiners = pool[cons] * attract / np.maximum(attract_total[cons], 1e-12)
    change = joiners - leavers
    ps.list_size[:n] = lists + change
    return change


def redistribute_list(ps: PracticeState, n: int, leaving: np.ndarray) -> None:
    """Move the patients of practices in ``leaving`` (row indices) to the open practices of the same
    consortium, in proportion to their lists, and close the leaving practices. Patients are conserved."""
    if leaving.size == 0:
        return
    ps.open[leaving] = False
    moved = ps.list_size[leaving].copy()
    ps.list_size[leaving] = 0.0
    cons = ps.consortium[:n]
    lists = np.where(ps.open[:n], ps.list_size[:n], 0.0)
    count = int(cons.max()) + 1
    moved_by_cons = np.bincount(ps.consortium[leaving], weights=moved, minlength=count)
    totals = np.bincount(cons, weights=lists, minlength=count)
    has_room = totals[cons] > 0
    ps.list_size[:n] += np.where(has_room, moved_by_cons[cons] * lists / np.maximum(totals[cons], 1e-12), 0.0)
