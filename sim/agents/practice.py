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
    """What a practice responds to this quarter, per practice row ``:n`` (set by :mod:`sim.processes.policy`).

    Money is in GBP per patient a year for a unit of effort (:class:`sim.marginal.EffortValue`); the
    premium's peer pressure is the consortium's stake in the practice's effort, as its lead makes it felt.
    """

    improve_gbp: np.ndarray  # expected marginal payment of improvement effort (QOF, premium, capitation)
    record_gbp: np.ndarray  # ... of recording and exception-reporting effort (QOF processes)
    prescribe_gbp: np.ndarray  # ... of prescribing effort (a premium on prescribing paid to practices)
    premium_peer_improve: np.ndarray  # peer pressure from the premium on admissions (attraction)
    premium_peer_prescribe: np.ndarray  # ... on prescribing
    budget_pressure: np.ndarray  # attraction: its delegated consortium is overspending


def effort_targets(ps: PracticeState, n: int, sig: Signals, a: Assumptions) -> tuple[np.ndarray, ...]:
    """Target effort on (improvement, recording, prescribing): each option's attraction over the total,
    with routine work as the alternative (attraction 1), times the practice's discretionary capacity.

    Money enters only as expected marginal payment times ``incentive_responsiveness`` over
    ``money_scale_gbp``: with responsiveness 0 no payment moves effort; peer pressure (after a successful
    challenge, or from a lead pressing for the premium) and remedial notices act whatever money does.
    """
    b = a.practice
    paid = b.incentive_responsiveness * ps.money_orientation[:n] / b.money_scale_gbp
    receptive = b.peer_pressure_sensitivity * (1.0 - ps.autonomy[:n])
    improve = (
        ps.motivation[:n]
        + paid * sig.improve_gbp
        + receptive * ps.pressure_quality[:n]
        + b.remedial_sensitivity * ps.remedial[:n]
        + sig.premium_peer_improve
    )
    record = paid * sig.record_gbp
    prescribe = (
        a.prescribing.baseline_effort_attraction
        + paid * sig.prescribe_gbp
        + receptive * ps.pressure_prescribing[:n]
        + sig.budget_pressure
        + sig.premium_peer_prescribe
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
    """Recorded indicator achievement over the patients left after exception reporting.

    Of all patients, ``quality + recording_yield x recording`` are recorded as meeting the indicators.
    Exceptions are of two kinds: the practice's own propensity (clinical and habitual; of these patients
    ``excepted_failing_share`` would have missed the indicator) and gaming, which grows with the recording
    stock and excepts only patients who would have missed it. So exception reporting raises reported
    achievement by less than it would if every excepted patient were a failure (Doran et al 2006).
    """
    own, rec = ps.exception_propensity[:n], ps.recording[:n]
    excepted = own + r.exception_gaming * rec
    ps.exception_rate[:n] = excepted
    achieving = ps.quality[:n] + r.recording_yield * rec - (1.0 - r.excepted_failing_share) * own
    ps.recorded_achievement[:n] = np.clip(achieving / (1.0 - excepted), 0.0, 1.0)


def recorded_slopes(ps: PracticeState, n: int, r: Recording) -> tuple[np.ndarray, np.ndarray]:
    """d(recorded achievement)/d(quality) and d(recorded achievement)/d(recording stock), zero where
    recorded achievement is already at 100% (:func:`refresh_recorded` differentiated)."""
    excepted, recorded = ps.exception_rate[:n], ps.recorded_achievement[:n]
    uncapped = (recorded < 1.0) / (1.0 - excepted)
    return uncapped, uncapped * (r.recording_yield + r.exception_gaming * recorded)


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


#: Below this spread of quality across open practices (rounding noise when every practice has the same
#: quality), patients have no quality difference to follow: z-scores are 0 and choice earns nothing.
MIN_QUALITY_SD = 1e-9


def quality_spread(quality: np.ndarray, open_: np.ndarray) -> float:
    """SD of quality across open practices, 0 where it is no more than rounding noise."""
    sd = float(np.std(quality[open_])) if open_.any() else 0.0
    return sd if sd > MIN_QUALITY_SD else 0.0


def quality_z(ps: PracticeState, n: int, n_consortia: int) -> np.ndarray:
    """Each practice's quality against its consortium's list-weighted mean, in SDs of quality across
    open practices (what patients choosing a practice compare)."""
    open_ = ps.open[:n]
    lists = np.where(open_, ps.list_size[:n], 0.0)
    cons, q = ps.consortium[:n], ps.quality[:n]
    pop = np.bincount(cons, weights=lists, minlength=n_consortia)
    mean_q = np.bincount(cons, weights=lists * q, minlength=n_consortia) / np.maximum(pop, 1e-12)
    sd = quality_spread(q, open_)
    return (q - mean_q[cons]) / sd if sd else np.zeros(n)


def settle_choice_weights(ps: PracticeState, n: int, n_consortia: int, sensitivity: float, rows: np.ndarray) -> None:
    """Set the choice weight of ``rows`` so that their current lists are where patient choice would keep
    them at today's quality: for the starting population and for practices whose patients came by a
    closure, merger or new contract rather than by choice."""
    z = quality_z(ps, n, n_consortia)
    ps.choice_weight[rows] = ps.list_size[rows] * np.exp(-sensitivity * z[rows])


def patient_choice(
    ps: PracticeState, n: int, n_consortia: int, switching_rate: float, sensitivity: float
) -> np.ndarray:
    """Yearly moves of patients within each consortium, towards where quality puts each list.

    A share ``switching_rate`` of every list moves (house moves, dissatisfaction) and chooses among the
    consortium's practices in proportion to ``choice_weight x exp(sensitivity x z)``. Lists settle at
    those shares (Santos et al 2017: 1 SD of quality, a list about 17% larger) instead of drifting without
    end, so an unchanged status quo has unchanged lists. Each consortium's patients are conserved
    exactly. Returns the net change in list size per practice.
    """
    open_ = ps.open[:n]
    lists = np.where(open_, ps.list_size[:n], 0.0)
    if switching_rate <= 0 or lists.sum() <= 0:
        return np.zeros(n)
    cons = ps.consortium[:n]
    attract = np.where(open_, ps.choice_weight[:n] * np.exp(sensitivity * quality_z(ps, n, n_consortia)), 0.0)
    attract_total = np.bincount(cons, weights=attract, minlength=n_consortia)
    leavers = switching_rate * lists
    pool = np.bincount(cons, weights=leavers, minlength=n_consortia)
    has_choice = attract_total[cons] > 0
    joiners = np.where(has_choice, pool[cons] * attract / np.maximum(attract_total[cons], 1e-12), leavers)
    change = joiners - leavers
    ps.list_size[:n] = lists + change
    return change


def redistribute_list(ps: PracticeState, n: int, leaving: np.ndarray) -> None:
    """Move the patients of practices in ``leaving`` (row indices) to the open practices of the same
    consortium, in proportion to their lists, and close the leaving practices. Patients are conserved;
    the receivers' choice weights grow with their lists (the patients stay where they were sent)."""
    if leaving.size == 0:
        return
    ps.open[leaving] = False
    moved = ps.list_size[leaving].copy()
    ps.list_size[leaving] = 0.0
    ps.choice_weight[leaving] = 0.0
    cons = ps.consortium[:n]
    lists = np.where(ps.open[:n], ps.list_size[:n], 0.0)
    count = int(cons.max()) + 1
    moved_by_cons = np.bincount(ps.consortium[leaving], weights=moved, minlength=count)
    totals = np.bincount(cons, weights=lists, minlength=count)
    growth = np.where(totals > 0, moved_by_cons / np.maximum(totals, 1e-12), 0.0)[cons]
    ps.list_size[:n] += growth * lists
    ps.choice_weight[:n] *= 1.0 + growth


def recover_motivation(ps: PracticeState, n: int, rate: float) -> None:
    """Resentment fades: motivation below the practice's own level closes ``rate`` of the gap a quarter."""
    m, own = ps.motivation[:n], ps.motivation_own[:n]
    m += rate * np.maximum(own - m, 0.0)
