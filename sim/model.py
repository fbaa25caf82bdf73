"""CommissioningModel: builds the population, steps a quarter, records metrics and snapshots.

The order of events in a quarter (see docs/ODD.md, *Process overview and scheduling*):

1. the board sets this quarter's policy (QOF outcome weight as phased in, contract funding as converged);
2. practices choose effort, and their stocks move: quality, recording, prescribing, outcomes;
3. admissions are observed, and money flows (core funding, practice costs, consortium spend);
4. reviewers (delegated leads, or the board remotely) benchmark with funnel plots and challenge outliers;
5. at the end of the financial year: QOF and premium payments, contract actions, closures and entry,
   patient choice, and the board's delegation review;
6. metrics are recorded.
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd

from sim import incentives
from sim.agents import consortium as cons_rules
from sim.agents import practice as rules
from sim.agents.board import BOARD_SKILL, Board
from sim.agents.consortium import ConsortiumLead
from sim.agents.practice import Practice, Signals
from sim.grouped import grouped_median
from sim.metrics import METRIC_NAMES
from sim.observe import FLOW_KEYS, SnapshotRecorder, compute_metrics
from sim.params import QOF, Assumptions, Levers, PremiumDistribution, PremiumTarget, Scenario
from sim.population import bounded_score, build_population
from sim.rng import make_streams
from sim.runner import SNAPSHOT_COLUMNS
from sim.state import APMS, CONTRACT_NAMES

# Premium (GBP per head) at which the perceived premium signal equals ``collective_efficacy``:
# the 2013/14 maximum of GBP 5.
PREMIUM_REFERENCE_GBP = 5.0


class CommissioningModel(mesa.Model):
    """The quarterly agent-based model of GP commissioning.

    Args:
        scenario: a resolved scenario (see :func:`sim.scenario.load_scenario`).
        seed: the replication's seed; all randomness derives from it through named streams.
        snapshots: record the practice snapshots the scenario asks for (``run.snapshots``); False skips
            them whatever the scenario says (the metrics are the same), for callers that would drop them.

    Example:
        >>> from sim.scenario import load_scenario
        >>> model = CommissioningModel(load_scenario("delegation", ["run.scale=0.05"]), seed=3)
        >>> model.run_quarters(4)
        >>> model.metrics_frame()["quarter"].tolist()
        [0, 1, 2, 3, 4]
    """

    def __init__(self, scenario: Scenario, seed: int, snapshots: bool = True) -> None:
        super().__init__(rng=int(seed))
        self.scenario = scenario
        self.seed = int(seed)
        self.keep_snapshots = bool(scenario.run.snapshots and snapshots)
        self.streams = make_streams(seed)
        self.practices, self.consortia = build_population(scenario, self.streams["population"])
        self.n_consortia = self.consortia.count
        self.initial_practices = self.practices.n
        self.quarter = 0
        self.board = Board(self)
        self._leads: list[ConsortiumLead] | None = None  # agent views, created on first access like practices'
        self._practice_views: dict[int, Practice] | None = None
        self._metric_rows: list[np.ndarray] = []
        self._snapshots = SnapshotRecorder(
            SNAPSHOT_COLUMNS,
            rows_hint=self.practices.capacity * (scenario.run.quarters // 4 + 1) if self.keep_snapshots else 1,
            names={"contract": CONTRACT_NAMES},
        )
        self._flows: dict[str, float] = {}
        self._outcome_outliers = 0
        self.convergence = 0.0
        # Money ledger for the conservation invariant: what the board pays out, and who receives it.
        self.ledger = {"board_paid": 0.0, "practices_received": 0.0, "consortia_received": 0.0}
        self._initialise()
        self._record()

    # ------------------------------------------------------------------------------ construction

    @property
    def levers(self) -> Levers:
        return self.scenario.levers

    @property
    def assumptions(self) -> Assumptions:
        return self.scenario.assumptions

    def _draw(self, stream: str, size: int | tuple[int, ...], kind: str = "random") -> np.ndarray:
        rng = self.streams[stream]
        return rng.standard_normal(size) if kind == "normal" else rng.random(size)

    def _initialise(self) -> None:
        """Settle the starting population into the behaviour of its baseline regime (the 2010 QOF, or no
        QOF for a pre-2004 start), independent of the scenario's levers."""
        ps, cs, a = self.practices, self.consortia, self.assumptions
        n = ps.n
        baseline_qof = QOF() if a.initial.qof_in_place else QOF(points_max=0, point_value_gbp=0)
        self.reference_list = float(ps.list_size[:n].mean())
        self.reference_quality = a.initial.quality_mean
        self.single_rate = incentives.single_rate(ps.contract[:n], ps.list_size[:n], self.levers.contracts)
        self.warranted_rx_gbp = a.prescribing.cost_per_head_gbp - a.prescribing.unwarranted_mean_gbp

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
            ps.habit_gbp[:n] *= (
                p.habit_reversion + p.efficiency_effect * ps.effort_prescribing[:n]
            ) / p.habit_reversion
        ps.outcome_per_1000[:n] = rules.outcome_target(ps, n, a.outcomes, self.reference_quality)
        lam = ps.outcome_per_1000[:n] * ps.list_size[:n] / 4000.0
        history = self.streams["admissions"].poisson(
            np.broadcast_to(np.pad(lam, (0, ps.capacity - n)), (4, ps.capacity))
        )
        ps.admissions_last4[:, :] = history
        ps.qof_income_last_gbp[:n] = incentives.qof_payment_gbp(
            incentives.process_points_share(ps.recorded_achievement[:n], baseline_qof, a.recording.indicator_spread),
            ps.list_size[:n],
            baseline_qof,
            self.reference_list,
        )
        self._update_achievement(years=0.0, observed=None)

        # Consortia: delegation, budgets at their baseline spend, last year's measures for the premium.
        cs.delegated = self.board.decide_delegation(first=True, noise=self._draw("board", cs.count, "normal"))
        spend = self._commissioning_spend_per_quarter()
        cs.allocation_per_head_gbp = (
            4.0 * spend / np.maximum(cs.population, 1.0) * (1 + self.levers.finance.budget_headroom)
        )
        cs.measure_last_year = self._consortium_measure(expected=True)
        ps.measure_last_year[:n] = self._practice_measure(expected=True)

    # ------------------------------------------------------------------------------ agent views

    @property
    def leads(self) -> list[ConsortiumLead]:
        """The consortium leads as Mesa agents, one per consortium (created on first access)."""
        if self._leads is None:
            self._leads = [ConsortiumLead(self, row) for row in range(self.n_consortia)]
        return self._leads

    def _materialise_practices(self) -> None:
        self.leads  # noqa: B018 - leads first, so agent ids do not depend on which views were asked for first
        if self._practice_views is None:
            self._practice_views = {}
        ps = self.practices
        for row in np.flatnonzero(ps.open[: ps.n]):
            if row not in self._practice_views:
                self._practice_views[int(row)] = Practice(self, int(row))

    def _drop_views(self, rows: np.ndarray) -> None:
        if self._practice_views is None:
            return
        for row in rows:
            view = self._practice_views.pop(int(row), None)
            if view is not None:
                view.remove()

    @property
    def agents(self) -> mesa.agent.AgentSet:
        """All agents; lead and practice views are created on first access (batch runs never pay for them)."""
        self._materialise_practices()
        return super().agents

    @property
    def agents_by_type(self) -> dict[type[mesa.Agent], mesa.agent.AgentSet]:
        self._materialise_practices()
        return super().agents_by_type

    def release(self) -> None:
        """Let the model be garbage-collected once its last user drops it.

        Mesa 3.3 counts agent ids per model in a class-level dict keyed by the model (``mesa.Agent._ids``),
        which keeps every model that ever created an agent, and all its arrays, alive for the life of the
        process (mesa issue #3179, fixed in later Mesa). :func:`sim.runner.run` calls this when a run is
        done; the model can still be read afterwards, but should not create more agents.
        """
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)

    # ------------------------------------------------------------------------------ the quarter

    def run_quarters(self, quarters: int) -> None:
        for _ in range(quarters):
            self.step()

    def step(self) -> None:
        """Advance one quarter."""
        self.quarter += 1
        years = (self.quarter - 1) / 4.0
        self._flows = dict.fromkeys(FLOW_KEYS, 0.0)
        ps, n, a = self.practices, self.practices.n, self.assumptions
        cap = ps.capacity
        if self.quarter % 4 == 1:  # a new financial year: year-to-date accounts start again
            self.consortia.spend_ytd_gbp[:] = 0.0
            self.consortia.allocation_ytd_gbp[:] = 0.0
            ps.admissions_year[:n] = 0.0

        # 1-2. practices respond to this quarter's incentives and scrutiny
        sig = self._signals(years)
        rules.adjust_effort(ps, n, rules.effort_targets(ps, n, sig, a), a.practice.effort_adjustment_rate)
        rules.update_quality(ps, n, a, self._draw("practice", cap, "normal")[:n])
        rules.update_recording(ps, n, a.recording)
        rules.update_prescribing(ps, n, a.prescribing)
        rules.update_outcome(ps, n, a.outcomes, self.reference_quality)

        # 3. observed admissions, achievement and money
        lam = np.zeros(cap)  # spare rows draw nothing (a Poisson draw with rate 0 takes no random numbers)
        lam[:n] = np.where(ps.open[:n], ps.outcome_per_1000[:n] * ps.list_size[:n] / 4000.0, 0.0)
        counts = self.streams["admissions"].poisson(lam)[:n]
        last4 = ps.admissions_last4  # row 0 is the latest quarter: shift the others down, in place
        for k in (3, 2, 1):
            last4[k, :n] = last4[k - 1, :n]
        last4[0, :n] = counts
        ps.admissions_year[:n] += counts
        self._update_achievement(years, observed=None)
        self._quarterly_money(years, counts)

        # 4. review and challenge
        rules.decay_pressure(ps, n, a.challenge.effect_duration_quarters)
        self._review_and_challenge()

        # 5. year end
        if self.quarter % 4 == 0:
            self._year_end(years)
        self._close_insolvent()
        self._record()

    def _signals(self, years: float) -> Signals:
        lv, ps, n = self.levers, self.practices, self.practices.n
        w = incentives.outcome_weight_at(lv.qof, years)
        premium = lv.quality_premium
        pull = 0.0
        if premium.per_head_gbp > 0:
            # Paid to practices: a money signal, stronger when it follows each practice's contribution. Kept
            # by the consortium: it acts on the target itself (medicines management, say).
            pa = self.assumptions.premium
            pull = premium.per_head_gbp / PREMIUM_REFERENCE_GBP * {
                PremiumDistribution.PER_HEAD: pa.collective_efficacy,
                PremiumDistribution.CONTRIBUTION: 1.5 * pa.collective_efficacy,
            }.get(premium.distribution, pa.retained_pull)
        cs = self.consortia
        in_deficit = cs.delegated & (cs.balance_ytd_gbp < 0)
        return Signals(
            process_weight=1.0 - w,
            outcome_weight=w,
            intensity=incentives.incentive_intensity(lv.qof),
            premium_quality=pull if premium.target is PremiumTarget.OUTCOME else 0.0,
            premium_prescribing=pull if premium.target is PremiumTarget.PRESCRIBING else 0.0,
            budget_pressure=self.assumptions.prescribing.budget_pressure * in_deficit[ps.consortium[:n]],
        )

    def _update_achievement(self, years: float, observed: np.ndarray | None) -> np.ndarray:
        """QOF points share: processes on recorded achievement, outcomes on the admission ratio (the
        latent rate each quarter; the year's observed admissions when it is paid)."""
        ps, n = self.practices, self.practices.n
        qof = self.levers.qof
        w = incentives.outcome_weight_at(qof, years)
        process = incentives.process_points_share(
            ps.recorded_achievement[:n], qof, self.assumptions.recording.indicator_spread
        )
        if w == 0.0:  # all points on processes (as in 2010/11): the same share, without the outcome measure
            share = process
        else:
            rate = ps.outcome_per_1000[:n] if observed is None else observed
            ratio = rate / rules.expected_outcome(ps, n, self.assumptions.outcomes)
            share = (1.0 - w) * process + w * incentives.outcome_points_share(ratio, qof)
        if observed is None:
            ps.achievement[:n] = share
        return share

    def _prescribing_per_head(self) -> np.ndarray:
        ps, n = self.practices, self.practices.n
        return self.warranted_rx_gbp + ps.unwarranted_gbp[:n]

    def _commissioning_spend_per_quarter(self, admissions: np.ndarray | None = None) -> np.ndarray:
        """Each consortium's spend on avoidable admissions and prescribing this quarter (expected
        admissions when no observed counts are given)."""
        ps, n = self.practices, self.practices.n
        lists = np.where(ps.open[:n], ps.list_size[:n], 0.0)
        if admissions is None:
            admissions = ps.outcome_per_1000[:n] * lists / 4000.0
        cost = admissions * self.levers.finance.acsc_cost_per_admission_gbp + self._prescribing_per_head() * lists / 4.0
        return np.bincount(ps.consortium[:n], weights=cost, minlength=self.n_consortia)

    def _quarterly_money(self, years: float, counts: np.ndarray) -> None:
        ps, cs, n, lv = self.practices, self.consortia, self.practices.n, self.levers
        open_ = ps.open[:n]
        lists = np.where(open_, ps.list_size[:n], 0.0)
        safe_lists = np.maximum(lists, 1.0)
        progress = incentives.convergence_progress(lv.contracts, years + 0.25)
        funding = incentives.funding_per_head(ps.contract[:n], lv.contracts, progress, self.single_rate)
        income = funding * lists / 4.0
        costs = np.where(open_, ps.cost_per_head_gbp[:n] * lists / 4.0 + ps.fixed_cost_gbp[:n] / 4.0, 0.0)
        ps.reserves_gbp[:n] += income - costs
        # Loss-making practices cut costs towards their income, slowly.
        per_head_income = funding + ps.qof_income_last_gbp[:n] / safe_lists
        per_head_cost = ps.cost_per_head_gbp[:n] + ps.fixed_cost_gbp[:n] / safe_lists
        cut = self.assumptions.practice.cost_adjustment_rate * np.maximum(per_head_cost - per_head_income, 0.0)
        losing = ps.reserves_gbp[:n] < 0
        ps.cost_per_head_gbp[:n] -= np.where(losing, cut, 0.0)
        ps.negative_quarters[:n] = np.where(open_ & losing, ps.negative_quarters[:n] + 1, 0)

        # Consortium spend on avoidable admissions and prescribing (as _commissioning_spend_per_quarter).
        prescribing_gbp = self._prescribing_per_head() * lists / 4.0
        spend = np.bincount(
            ps.consortium[:n],
            weights=counts * lv.finance.acsc_cost_per_admission_gbp + prescribing_gbp,
            minlength=self.n_consortia,
        )
        allowance = lv.finance.management_allowance_per_head_gbp * cs.population / 4.0
        cs.spend_ytd_gbp += spend
        cs.allocation_ytd_gbp += cs.allocation_per_head_gbp * cs.population / 4.0
        core_funding = float(income.sum())
        self._pay(practices=core_funding, consortia=float(allowance.sum()))

        f = self._flows
        f["core_funding_gbp"] = core_funding
        f["management_cost_gbp"] = float(allowance.sum())
        f["prescribing_spend_gbp"] = float(prescribing_gbp.sum())
        f["unwarranted_prescribing_gbp"] = float((ps.unwarranted_gbp[:n] * lists / 4.0).sum())
        f["acsc_cost_gbp"] = float(counts.sum() * lv.finance.acsc_cost_per_admission_gbp)
        self.convergence = progress

    def _pay(self, practices: float = 0.0, consortia: float = 0.0) -> None:
        """Record a payment by the board to practices and consortia (the money-conservation ledger)."""
        self.ledger["board_paid"] += practices + consortia
        self.ledger["practices_received"] += practices
        self.ledger["consortia_received"] += consortia

    def _review_and_challenge(self) -> None:
        ps, cs, n, lv, a = self.practices, self.consortia, self.practices.n, self.levers, self.assumptions
        cap = ps.capacity
        funnel = cons_rules.funnel_scores(
            ps, n, self.n_consortia, rules.expected_outcome(ps, n, a.outcomes), self._prescribing_per_head()
        )
        self._outcome_outliers = int((funnel.outcome > 3.0).sum())
        score, domain = funnel.worst()
        # The board sees practices in consortia it has not delegated through noisier data.
        remote = ~cs.delegated[ps.consortium[:n]]
        extra_sd = np.sqrt(max(lv.board_oversight.measurement_noise_multiplier**2 - 1.0, 0.0))
        noise = self._draw("measurement", cap, "normal")[:n]  # drawn whether used or not (common random numbers)
        if extra_sd > 0 and remote.any():
            score = np.where(remote, score + extra_sd * noise, score)
        threshold = lv.peer_challenge.outlier_z
        outlier = score > threshold
        ps.unresolved[:n] = np.where(outlier, ps.unresolved[:n], 0)

        capacity = self.board.review_capacity(self._draw("review", cs.count))
        u = self._draw("challenge", cap)[:n]
        u_escalate = self._draw("challenge", cap)[:n]
        if not lv.peer_challenge.enabled:
            return
        reviewed = cons_rules.select_for_review(score, ps.consortium[:n], capacity, threshold)
        if reviewed.size == 0:
            return
        c = ps.consortium[reviewed]
        delegated = cs.delegated[c]
        skill = np.where(delegated, cs.skill[c], BOARD_SKILL)
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
            cs.delegated, cons_rules.update_credibility(cs.credibility, wins, losses, a.leadership), cs.credibility
        )
        f = self._flows
        f["reviews"] = float(reviewed.size)
        f["successful_challenges"] = float(success.sum())
        f["escalations"] = float(newly.size)
        f["review_cost_gbp"] = float(reviewed.size * lv.delegation.cost_per_review_gbp)

    # ------------------------------------------------------------------------------ year end

    def _consortium_measure(self, expected: bool = False) -> np.ndarray:
        """The premium's target measure per consortium: admissions per 1,000, or prescribing per head."""
        ps, n = self.practices, self.practices.n
        lists = np.where(ps.open[:n], ps.list_size[:n], 0.0)
        cons = ps.consortium[:n]
        pop = np.maximum(np.bincount(cons, weights=lists, minlength=self.n_consortia), 1.0)
        if self.levers.quality_premium.target is PremiumTarget.PRESCRIBING:
            return np.bincount(cons, weights=self._prescribing_per_head() * lists, minlength=self.n_consortia) / pop
        admissions = ps.outcome_per_1000[:n] * lists / 1000.0 if expected else ps.admissions_year[:n]
        return 1000.0 * np.bincount(cons, weights=admissions, minlength=self.n_consortia) / pop

    def _practice_measure(self, expected: bool = False) -> np.ndarray:
        ps, n = self.practices, self.practices.n
        if self.levers.quality_premium.target is PremiumTarget.PRESCRIBING:
            return self._prescribing_per_head()
        if expected:
            return ps.outcome_per_1000[:n].copy()
        return 1000.0 * ps.admissions_year[:n] / np.maximum(ps.list_size[:n], 1.0)

    def _year_end(self, years: float) -> None:
        ps, cs, n, lv = self.practices, self.consortia, self.practices.n, self.levers
        open_ = ps.open[:n]
        lists = np.where(open_, ps.list_size[:n], 0.0)

        # QOF: paid on the year's recorded achievement and observed admissions.
        observed_rate = 1000.0 * ps.admissions_year[:n] / np.maximum(lists, 1.0)
        points = self._update_achievement(years, observed=observed_rate)
        qof = np.where(open_, incentives.qof_payment_gbp(points, lists, lv.qof, self.reference_list), 0.0)
        ps.reserves_gbp[:n] += qof
        ps.qof_income_last_gbp[:n] = qof
        self._pay(practices=float(qof.sum()))
        self._flows["qof_payments_gbp"] = float(qof.sum())

        # Quality premium on the consortium's collective result, if it has not overspent.
        balance = cs.balance_ytd_gbp
        measure = self._consortium_measure()
        earned = incentives.premium_earned(measure, cs.measure_last_year, balance, lv.quality_premium)
        amount = np.where(earned, lv.quality_premium.per_head_gbp * cs.population, 0.0)
        practice_measure = self._practice_measure()
        improvement = ps.measure_last_year[:n] - practice_measure
        to_practices = np.where(
            open_,
            incentives.distribute_premium(
                amount, ps.consortium[:n], lists, improvement, lv.quality_premium.distribution
            ),
            0.0,
        )
        ps.reserves_gbp[:n] += to_practices
        retained = float(amount.sum() - to_practices.sum())
        self._pay(practices=float(to_practices.sum()), consortia=retained)
        cs.premium_earned_gbp += amount
        kept = amount - np.bincount(ps.consortium[:n], weights=to_practices, minlength=cs.count)
        cs.extra_reviews_per_quarter = (
            kept / lv.delegation.cost_per_review_gbp / 4.0
            if lv.quality_premium.distribution is PremiumDistribution.REVIEW_CAPACITY
            else np.zeros(cs.count)
        )
        self._flows["quality_premium_gbp"] = float(amount.sum())
        cs.measure_last_year = measure
        ps.measure_last_year[:n] = practice_measure

        # Contract actions: remedial notices and terminations (always the board's), and new providers.
        self._entrant_z = self._draw("entry", (3, ps.capacity), "normal")
        noticed, terminated = self.board.contract_actions(self._draw("inspection", ps.capacity, "normal"))
        self._flows["remedial_notices"] = float(noticed.size)
        terminated = self._keep_one_per_consortium(terminated)
        self._flows["terminations"] = float(terminated.size)
        self._replace_or_disperse(terminated)

        self._procure_entrants()
        rules.patient_choice(
            ps, ps.n, self.n_consortia, lv.patient_choice.switching_rate_per_year, lv.patient_choice.quality_sensitivity
        )

        # Financial year closes: the board reviews delegation.
        cs.deficit_last_year = cs.balance_ytd_gbp < 0
        cs.delegated = self.board.decide_delegation(first=False, noise=self._draw("board", cs.count, "normal"))

    def _keep_one_per_consortium(self, rows: np.ndarray) -> np.ndarray:
        """Drop from ``rows`` any practice whose closure would leave its consortium with none open."""
        if rows.size == 0:
            return rows
        ps, n = self.practices, self.practices.n
        open_count = np.bincount(ps.consortium[:n], weights=ps.open[:n].astype(float), minlength=self.n_consortia)
        closing = np.bincount(ps.consortium[rows], minlength=self.n_consortia)
        ok = open_count - closing >= 1
        return rows[ok[ps.consortium[rows]]]

    def _replace_or_disperse(self, leaving: np.ndarray) -> None:
        """A terminated contract's list goes to a new provider where barriers allow, else to neighbours.

        New providers open in row order while spare rows last; the rest of the lists disperse.
        """
        ps = self.practices
        replace = self.board.replaces_terminated(self._draw("entry", ps.capacity))[: leaving.size]
        replaced = leaving[replace][: ps.capacity - ps.n]
        if replaced.size:
            list_size = ps.list_size[replaced].copy()
            quality = self._mean_quality_staying(leaving)[ps.consortium[replaced]]
            self._open_entrants(ps.consortium[replaced], list_size, replaced, quality)
            ps.list_size[replaced] = 0.0
            ps.open[replaced] = False
        disperse = leaving[~np.isin(leaving, replaced)]
        rules.redistribute_list(ps, ps.n, disperse)
        self._drop_views(leaving)

    def _mean_quality_staying(self, leaving: np.ndarray) -> np.ndarray:
        """Each consortium's list-weighted mean quality over its open practices not in ``leaving``: where a
        new provider starts (it takes over patients, not a practice's record). A consortium with no one
        staying gets the national mean."""
        ps, n, count = self.practices, self.practices.n, self.n_consortia
        staying = ps.open[:n].copy()
        staying[leaving] = False
        cons = ps.consortium[:n]
        lists = np.where(staying, ps.list_size[:n], 0.0)
        weighted = np.bincount(cons, weights=lists * ps.quality[:n], minlength=count)
        patients = np.bincount(cons, weights=lists, minlength=count)
        national = weighted.sum() / patients.sum()
        return np.divide(weighted, patients, out=np.full(count, national), where=patients > 0)

    def _procure_entrants(self) -> None:
        """New APMS providers take patients from the below-median practices of their consortium.

        At most one per consortium a year, so all consortia are handled at once: per-consortium medians,
        donor totals and list sizes come from grouped array operations, not a loop over consortia.
        """
        ps, n, count = self.practices, self.practices.n, self.n_consortia
        open_ = ps.open[:n]
        cons = ps.consortium[:n]
        per_cons = np.bincount(cons, weights=open_.astype(float), minlength=count)
        wanted = self.board.entrants_wanted(self._draw("entry", count), per_cons)
        entering = np.flatnonzero(wanted.astype(bool) & (per_cons >= 2))[: ps.capacity - ps.n]
        if entering.size == 0:
            return
        members = np.flatnonzero(open_)
        quality = ps.quality[:n]
        median = grouped_median(quality[members], cons[members], count)
        donors = np.flatnonzero(open_ & np.isin(cons, entering) & (quality <= median[cons]))
        donor_cons, donor_lists = cons[donors], ps.list_size[donors]
        share = self.levers.market_entry.entrant_list_share
        take = share * self.consortia.population[donor_cons] * donor_lists / np.bincount(
            donor_cons, weights=donor_lists, minlength=count
        )[donor_cons]
        take = np.minimum(take, 0.5 * donor_lists)
        list_size = np.bincount(donor_cons, weights=take, minlength=count)[entering]
        first_donor = np.full(count, -1)
        first_donor[donor_cons[::-1]] = donors[::-1]  # the lowest row of each consortium's donors
        start_quality = self._mean_quality_staying(np.empty(0, dtype=np.intp))[entering]
        self._open_entrants(entering, list_size, first_donor[entering], start_quality)
        ps.list_size[donors] -= take

    def _open_entrants(
        self, consortium: np.ndarray, list_size: np.ndarray, like_rows: np.ndarray, quality: np.ndarray
    ) -> np.ndarray:
        """Open new APMS practices, one per element, with ``list_size`` patients (taken by the caller from
        ``like_rows`` and their neighbours) and starting ``quality``; the caller leaves enough spare rows.

        Each serves the same kind of area as its ``like_rows`` practice (deprivation, case mix) but is a
        new organisation: autonomy, motivation and capacity come from this year's fixed block of entrant
        draws (indexed by row, to keep random streams aligned). Returns the new rows.
        """
        ps, b = self.practices, self.assumptions.practice
        rows = ps.add_rows(consortium.size)
        copied = (
            "deprivation", "frailty", "effort_improve", "effort_record", "effort_prescribing", "recording",
            "exception_rate", "recorded_achievement", "achievement", "outcome_per_1000", "habit_gbp",
            "unwarranted_gbp", "cost_per_head_gbp", "measure_last_year",
        )
        for name in copied:
            column = getattr(ps, name)
            column[rows] = column[like_rows]
        ps.open[rows] = True
        ps.entrant[rows] = True
        ps.consortium[rows] = consortium
        ps.contract[rows] = APMS
        ps.list_size[rows] = list_size
        z = self._entrant_z[:, rows]
        ps.autonomy[rows] = bounded_score(b.autonomy_mean, b.autonomy_sd, z[0])
        ps.motivation[rows] = bounded_score(b.motivation_mean, 0.15, z[1])
        ps.improvement_capacity[rows] = bounded_score(b.capacity_mean, 0.12, z[2])
        # It starts with the local effort split, scaled to its own capacity (it adapts from there).
        scale = ps.improvement_capacity[rows] / np.maximum(ps.improvement_capacity[like_rows], 1e-12)
        for name in ("effort_improve", "effort_record", "effort_prescribing"):
            getattr(ps, name)[rows] *= scale
        ps.quality[rows] = quality
        ps.quality_baseline[rows] = rules.equilibrium_baseline(ps, ps.n, self.assumptions)[rows]
        ps.fixed_cost_gbp[rows] = ps.fixed_cost_gbp[like_rows] * list_size / np.maximum(ps.list_size[like_rows], 1.0)
        ps.admissions_last4[:, rows] = ps.outcome_per_1000[rows] * list_size / 4000.0
        ps.reserves_gbp[rows] = 0.0
        ps.qof_income_last_gbp[rows] = 0.0
        self._flows["new_entrants"] = self._flows.get("new_entrants", 0.0) + float(rows.size)
        if self._practice_views is not None:
            for row in rows:
                self._practice_views[int(row)] = Practice(self, int(row))
        return rows

    def _close_insolvent(self) -> None:
        ps, n = self.practices, self.practices.n
        closing = np.flatnonzero(
            ps.open[:n] & (ps.negative_quarters[:n] >= self.assumptions.practice.closure_after_quarters)
        )
        closing = self._keep_one_per_consortium(closing)
        if closing.size:
            rules.redistribute_list(ps, n, closing)
            self._drop_views(closing)
        self._flows["closures"] = self._flows.get("closures", 0.0) + float(closing.size)

    # ------------------------------------------------------------------------------ observation

    def _record(self) -> None:
        self._metric_rows.append(self._metrics_row())
        if self.keep_snapshots and self.quarter % 4 == 0:
            self._snapshots.append(self._snapshot())

    def _metrics_row(self) -> np.ndarray:
        values = compute_metrics(self)
        return np.array([values[name] for name in METRIC_NAMES])

    def _snapshot(self) -> dict[str, np.ndarray]:
        """The practice columns of a snapshot, as arrays (one DataFrame is made of all years at the end)."""
        ps, n = self.practices, self.practices.n
        rows = np.flatnonzero(ps.open[:n])
        return {
            "quarter": np.full(rows.size, self.quarter),
            "practice_id": rows,
            "consortium_id": ps.consortium[rows],
            "contract": ps.contract[rows],  # codes; named by the recorder
            "list_size": ps.list_size[rows],
            "deprivation": ps.deprivation[rows],
            "quality": ps.quality[rows],
            "achievement": ps.achievement[rows],
            "recorded_achievement": ps.recorded_achievement[rows],
            "exception_rate": ps.exception_rate[rows],
            "outcome_per_1000": ps.outcome_per_1000[rows],
            "expected_outcome_per_1000": rules.expected_outcome(ps, n, self.assumptions.outcomes)[rows],
            "prescribing_per_head_gbp": self._prescribing_per_head()[rows],
            "autonomy": ps.autonomy[rows],
            "reserves_gbp": ps.reserves_gbp[rows],
        }

    def metrics_frame(self) -> pd.DataFrame:
        """Quarterly metrics, quarter 0 being the starting state (see :data:`sim.metrics.METRICS`)."""
        values = pd.DataFrame(np.vstack(self._metric_rows), columns=list(METRIC_NAMES))
        quarters = np.arange(len(self._metric_rows))
        start = self.scenario.run.start_year
        fy = start + np.maximum(quarters - 1, 0) // 4
        head = pd.DataFrame(
            {
                "quarter": quarters,
                "time_years": quarters / 4.0,
                "financial_year": [f"{y}/{(y + 1) % 100:02d}" for y in fy],
            }
        )
        return pd.concat([head, values], axis=1)

    def snapshot_frame(self) -> pd.DataFrame:
        """Practice rows at quarter 0 and each year end (:data:`sim.runner.SNAPSHOT_COLUMNS`)."""
        return self._snapshots.frame()
