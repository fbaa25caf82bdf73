"""Pins on the behaviour rules and processes: each test fails on a plausibly wrong rule (issue 17).

Why: a suite that passes is only as good as the wrong code it rejects. Each test here checks an
independent fact about one rule (a hand calculation with literal numbers, or an invariant) rather than
recomputing the code's own expression, so a flipped comparison, a dropped term, a sign or an off-by-one
in the rule makes it fail. ``benchmarks/mutation_score.py`` measures how many such mutants the fast tests
catch (docs/testing.md).
"""

from __future__ import annotations

import helpers
import numpy as np
import pytest
from helpers import fresh

from sim import incentives, marginal
from sim.agents import consortium as cons_rules
from sim.agents import practice as rules
from sim.model import CommissioningModel
from sim.params import Assumptions, Challenge, DelegationMode, Leadership, PremiumDistribution, QualityPremium
from sim.processes import market, money, policy, review
from sim.state import GMS, PracticeState


def hand_state(n: int, **columns) -> PracticeState:
    """Practices that chase payments as the average one does (money orientation 1), unless told otherwise."""
    return helpers.hand_state(n, **{"money_orientation": 1.0, **columns})


def zero_signals(n: int, **values: float) -> rules.Signals:
    fields = ("improve_gbp", "record_gbp", "prescribe_gbp", "premium_peer_improve", "premium_peer_prescribe",
              "budget_pressure")
    return rules.Signals(**{f: np.full(n, float(values.get(f, 0.0))) for f in fields})


# ------------------------------------------------------------------------------ practice money, by hand


def test_one_quarter_of_a_practices_reserves_by_hand():
    """Core funding in, costs (per head and fixed) out, then partners draw half the reserves above one
    quarter's income (default drawings_rate 0.5, working capital 1 quarter)."""
    model = fresh()
    ps, n = model.practices, model.practices.n
    assert model.levers.contracts.gms_funding_per_head_gbp == 70.0  # the hand calculation below assumes it
    assert model.assumptions.practice.drawings_rate == 0.5
    assert model.assumptions.practice.working_capital_quarters == 1.0
    rich, poor, costly = 0, 1, 2
    for row in (rich, poor, costly):
        ps.contract[row] = GMS
        ps.list_size[row] = 4000.0
        ps.qof_income_last_gbp[row] = 80_000.0
        ps.negative_quarters[row] = 3
    ps.cost_per_head_gbp[[rich, poor]] = 60.0
    ps.fixed_cost_gbp[[rich, poor]] = 40_000.0
    ps.reserves_gbp[rich] = 500_000.0
    ps.reserves_gbp[poor] = -200_000.0
    ps.cost_per_head_gbp[costly] = 100.0
    ps.fixed_cost_gbp[costly] = 80_000.0
    ps.reserves_gbp[costly] = -1_000_000.0
    money.quarterly(model, 0.0, np.zeros(n))
    # income 70 x 4000 / 4 = 70,000; costs 60 x 4000 / 4 + 40,000 / 4 = 70,000: the quarter breaks even.
    # Rich: 500,000 before drawings; a quarter's income is 70,000 + 80,000 / 4 = 90,000; it draws
    # 0.5 x (500,000 - 90,000) = 205,000 and keeps 295,000.
    assert ps.reserves_gbp[rich] == pytest.approx(295_000.0)
    assert ps.reserves_gbp[poor] == pytest.approx(-200_000.0)  # below working capital: no drawings
    # Costly: income 70,000, costs 100,000 + 20,000: it loses 50,000 a quarter.
    assert ps.reserves_gbp[costly] == pytest.approx(-1_050_000.0)
    # In loss, it cuts its costs by 10% of the gap per head: cost 100 + 80,000 / 4000 = 120 against
    # income 70 + 80,000 / 4000 = 90, so 0.1 x 30 = 3 a head.
    assert ps.cost_per_head_gbp[costly] == pytest.approx(97.0)
    assert ps.cost_per_head_gbp[rich] == 60.0 and ps.cost_per_head_gbp[poor] == 60.0
    assert ps.negative_quarters[rich] == 0  # in credit: the run of losses ends
    assert ps.negative_quarters[poor] == 4 and ps.negative_quarters[costly] == 4
    assert model.flows["partner_drawings_gbp"] >= 205_000.0


def test_core_funding_is_paid_to_practices_through_the_ledger():
    model = fresh()
    ps, n = model.practices, model.practices.n
    before = dict(model.ledger)
    money.quarterly(model, 0.0, np.zeros(n))
    lists = np.where(ps.open[:n], ps.list_size[:n], 0.0)
    rates = np.array([70.0, model.levers.contracts.pms_funding_per_head_gbp,
                      model.levers.contracts.apms_funding_per_head_gbp])
    core = float((rates[ps.contract[:n]] * lists).sum() / 4.0)
    assert model.flows["core_funding_gbp"] == pytest.approx(core)
    assert model.ledger["practices_received"] - before["practices_received"] == pytest.approx(core)
    allowance = 25.0 * model.consortia.population.sum() / 4.0
    assert model.ledger["consortia_received"] - before["consortia_received"] == pytest.approx(allowance)


def test_a_year_of_quarters_allocates_each_consortium_its_yearly_allocation():
    """Four quarterly allocations add up to one year's allocation per head times population; spend is
    the admissions at their cost plus prescribing."""
    model = fresh()
    ps, cs, n = model.practices, model.consortia, model.practices.n
    money.open_financial_year(model)
    counts = np.where(ps.open[:n], 2.0, 0.0)
    for _ in range(4):
        money.quarterly(model, 0.0, counts)
    yearly = cs.allocation_per_head_gbp * cs.population
    assert np.allclose(cs.allocation_ytd_gbp, yearly)
    assert np.all(yearly > 0)
    lists = np.where(ps.open[:n], ps.list_size[:n], 0.0)
    prescribing = np.bincount(ps.consortium[:n], weights=(model.warranted_rx_gbp + ps.unwarranted_gbp[:n]) * lists,
                              minlength=cs.count)
    admissions = np.bincount(ps.consortium[:n], weights=4 * counts * 1850.0, minlength=cs.count)
    assert np.allclose(cs.spend_ytd_gbp, admissions + prescribing, rtol=0.02)  # unwarranted moves a little
    money.open_financial_year(model)
    assert np.all(cs.allocation_ytd_gbp == 0) and np.all(cs.spend_ytd_gbp == 0)


# ------------------------------------------------------------------------------------------ closure


def test_a_practice_closes_after_exactly_n_negative_quarters():
    model = fresh()
    ps, n = model.practices, model.practices.n
    limit = model.assumptions.practice.closure_after_quarters
    cons = int(np.flatnonzero(np.bincount(ps.consortium[:n]) >= 3)[-1])
    assert cons != 0  # (a rule that sent every patient to consortium 0 would pass there)
    row = int(np.flatnonzero(ps.consortium[:n] == cons)[0])
    patients = np.bincount(ps.consortium[:n], weights=np.where(ps.open[:n], ps.list_size[:n], 0.0))
    for quarter in range(1, limit + 1):
        ps.reserves_gbp[row] = -1e9
        money.quarterly(model, 0.0, np.zeros(n))
        assert ps.negative_quarters[row] == quarter
        market.close_insolvent(model)
        assert bool(ps.open[row]) == (quarter < limit), f"open after {quarter} of {limit} negative quarters"
    assert model.flows["closures"] >= 1
    after = np.bincount(ps.consortium[:n], weights=np.where(ps.open[:n], ps.list_size[:n], 0.0))
    assert np.allclose(after, patients)  # its patients moved to the consortium's other practices


def test_closures_never_empty_a_consortium():
    model = fresh()
    ps, n = model.practices, model.practices.n
    cons = ps.consortium[:n]
    ps.negative_quarters[:n] = np.where(cons == 0, 100, 0)  # every practice of consortium 0 is insolvent
    market.close_insolvent(model)
    assert ps.open[:n][cons == 0].sum() >= 1
    assert ps.open[:n][cons != 0].all()


def test_keep_one_per_consortium_drops_only_closures_that_would_empty_a_consortium():
    model = fresh()
    ps, n = model.practices, model.practices.n
    cons = ps.consortium[:n]
    c0 = np.flatnonzero(cons == 0)
    c1 = np.flatnonzero(cons == 1)
    assert c0.size >= 2 and c1.size >= 2
    all_but_one = c0[1:]
    kept = market.keep_one_per_consortium(model, np.concatenate([all_but_one, c1]))
    assert sorted(kept.tolist()) == sorted(all_but_one.tolist())  # consortium 1 would be emptied: none go
    assert market.keep_one_per_consortium(model, np.empty(0, dtype=np.intp)).size == 0


# ------------------------------------------------------------------------------- challenge and review


def test_challenge_success_probability_by_hand():
    """Logistic with log odds base - 0.5 at the centre, +3 per unit of skill, +2 of credibility, -3 of autonomy."""
    c = Challenge()
    half = np.array([0.5])
    centre = cons_rules.challenge_success_probability(half, half, half, c)
    assert centre[0] == pytest.approx(1.0 / (1.0 + np.exp(0.5)))  # base log odds -0.5
    one, zero = np.array([1.0]), np.array([0.0])
    logit = lambda p: float(np.log(p / (1 - p)))  # noqa: E731
    assert logit(cons_rules.challenge_success_probability(one, half, half, c)[0]) == pytest.approx(-0.5 + 1.5)
    assert logit(cons_rules.challenge_success_probability(half, one, half, c)[0]) == pytest.approx(-0.5 + 1.0)
    assert logit(cons_rules.challenge_success_probability(half, half, one, c)[0]) == pytest.approx(-0.5 - 1.5)
    assert logit(cons_rules.challenge_success_probability(zero, zero, zero, c)[0]) == pytest.approx(
        -0.5 - 1.5 - 1.0 + 1.5
    )


def everyone_an_outlier(model: CommissioningModel, monkeypatch, z: float = 50.0) -> None:
    """Every open practice an outlier on admissions at ``z`` (a strong one by default), and every outlier
    reviewed (capacity unlimited)."""
    ps = model.practices

    def funnel(*args, **kwargs):
        n = ps.n
        score = np.where(ps.open[:n], z, -np.inf)
        return cons_rules.Funnel(score, np.full(n, -np.inf), np.full(n, -np.inf))

    monkeypatch.setattr(cons_rules, "funnel_scores", funnel)
    monkeypatch.setattr(
        cons_rules, "select_for_review", lambda score, group, capacity, threshold: np.flatnonzero(score > threshold)
    )


@pytest.mark.parametrize("p", [0.2, 0.8])
def test_challenges_succeed_at_their_probability(p, monkeypatch):
    model = fresh()
    ps, n = model.practices, model.practices.n
    everyone_an_outlier(model, monkeypatch)
    monkeypatch.setattr(cons_rules, "challenge_success_probability", lambda s, c, a, ch: np.full(np.shape(a), p))
    ps.pressure_quality[:n] = 0.0
    motivation = ps.motivation[:n].copy()
    review.review_and_challenge(model)
    reviews = model.flows["reviews"]
    assert reviews == ps.open[:n].sum() > 300
    rate = model.flows["successful_challenges"] / reviews
    assert abs(rate - p) < 4 * np.sqrt(p * (1 - p) / reviews)
    won = ps.pressure_quality[:n] == 1.0
    assert won.sum() == model.flows["successful_challenges"]
    lost = ps.open[:n] & ~won
    assert np.all(ps.motivation[:n][lost] < motivation[lost])  # a failed challenge costs goodwill
    assert np.all(ps.motivation[:n][won] == motivation[won])


def test_the_board_escalates_its_own_persistent_findings(monkeypatch):
    model = fresh()  # status quo: nothing delegated, the board reviews
    ps, n = model.practices, model.practices.n
    assert not model.consortia.delegated.any()
    everyone_an_outlier(model, monkeypatch)
    after = model.levers.peer_challenge.escalate_after
    ps.unresolved[:n] = after - 2
    ps.escalated[:n] = False
    review.review_and_challenge(model)
    assert model.flows["escalations"] == 0  # one short of persistent
    review.review_and_challenge(model)
    assert model.flows["escalations"] == ps.open[:n].sum()  # the board always acts on its findings
    assert ps.escalated[:n][ps.open[:n]].all()


@pytest.mark.parametrize("willingness", [0.0, 0.5])
def test_unwilling_leads_do_not_always_escalate(willingness, monkeypatch):
    model = fresh()
    ps, cs, n = model.practices, model.consortia, model.practices.n
    everyone_an_outlier(model, monkeypatch)
    monkeypatch.setattr(cons_rules, "engagement_probability", lambda w, a, e: np.ones(np.shape(a)))
    cs.delegated[:] = True
    cs.willingness[:] = willingness
    ps.unresolved[:n] = model.levers.peer_challenge.escalate_after
    ps.escalated[:n] = False
    review.review_and_challenge(model)
    reviews = model.flows["reviews"]
    assert reviews == ps.open[:n].sum()
    share = model.flows["escalations"] / reviews
    if willingness == 0.0:
        assert share == 0.0
    else:
        assert abs(share - 0.5) < 4 * np.sqrt(0.25 / reviews)


def test_credibility_moves_only_for_delegated_leads(monkeypatch):
    model = fresh()
    cs = model.consortia
    everyone_an_outlier(model, monkeypatch)
    cs.delegated[:] = np.arange(cs.count) % 2 == 0
    cs.credibility[:] = 0.2  # below the starting level: a delegated lead's would recover
    skill = cs.skill.copy()
    review.review_and_challenge(model)
    assert np.all(cs.credibility[~cs.delegated] == 0.2)
    assert np.all(cs.skill[~cs.delegated] == skill[~cs.delegated])
    assert np.all(cs.credibility[cs.delegated] != 0.2)


def test_credibility_update_by_hand():
    lead = Leadership()
    cred = np.array([0.5, 0.5, 0.5])
    after = cons_rules.update_credibility(cred, np.array([1, 0, 1]), np.array([0, 1, 1]), lead)
    gain, loss = lead.credibility_gain, lead.credibility_loss
    assert after[0] == pytest.approx(0.5 + gain * 0.5)
    assert after[1] == pytest.approx(0.5 * (1 - loss))
    assert after[2] == pytest.approx(1 - (1 - 0.5 * (1 - loss)) * (1 - gain))


def test_recovery_and_learning_by_hand():
    cred = cons_rules.recover_credibility(np.array([0.2, 0.9]), 0.5, 0.1)
    assert cred.tolist() == pytest.approx([0.23, 0.9])  # recovers 10% of the gap; what is above is kept
    skill = cons_rules.learn_skill(np.array([0.5, 0.5]), np.array([0, 2]), 0.1)
    assert skill.tolist() == pytest.approx([0.5, 1 - 0.5 * 0.81])
    engage = cons_rules.engagement_probability(np.array([0.5, 0.2]), np.array([0.5, 0.7]), 4.0)
    assert engage.tolist() == pytest.approx([0.5, 1 / (1 + np.exp(2.0))])


def test_funnel_scores_excess_admissions_low_achievement_and_high_prescribing_as_worse():
    n = 10
    ps = hand_state(n, achievement=0.8)
    expected = np.full(n, 20.0)  # per 1,000: 100 a year on a list of 5,000
    ps.admissions_last4[:, :n] = 25.0
    ps.admissions_last4[:, 0] = 40.0  # practice 0: 160 a year, far above
    ps.admissions_last4[:, 1] = 15.0  # practice 1: 60 a year, far below
    ps.achievement[2] = 0.6  # practice 2: low QOF achievement
    rx = np.full(n, 150.0)
    rx[3] = 200.0  # practice 3: costly prescribing
    rx[4] = 100.0
    funnel = cons_rules.funnel_scores(ps, n, 1, expected, rx)
    assert funnel.outcome[0] > 0 > funnel.outcome[1]
    assert funnel.outcome.argmax() == 0 and funnel.outcome.argmin() == 1
    assert funnel.achievement.argmax() == 2 and funnel.achievement[2] > 0
    assert funnel.prescribing.argmax() == 3 and funnel.prescribing[3] > 0 > funnel.prescribing[4]
    _, domain = funnel.worst()
    assert domain[0] == cons_rules.OUTCOME and domain[3] == cons_rules.PRESCRIBING
    assert domain[2] == cons_rules.ACHIEVEMENT
    ps.open[5] = False
    closed = cons_rules.funnel_scores(ps, n, 1, expected, rx)
    assert closed.worst()[0][5] == -np.inf


def test_review_picks_by_group_capacity_and_threshold_strictly():
    score = np.array([2.0, 2.5, 3.0, 9.0])
    chosen = cons_rules.select_for_review(score, np.zeros(4, dtype=np.intp), np.array([5]), 2.0)
    assert sorted(chosen.tolist()) == [1, 2, 3]  # 2.0 is not above the limit
    assert cons_rules.select_for_review(score, np.zeros(4, dtype=np.intp), np.array([1]), 2.0).tolist() == [3]


# ------------------------------------------------------------------------------------------ delegation


def conditional(*overrides: str) -> CommissioningModel:
    return fresh("levers.delegation.mode=conditional", "levers.delegation.authorisation_threshold=0.5", *overrides)


def test_conditional_delegation_authorises_ready_consortia_and_withdraws_on_deficit():
    model = conditional()
    cs = model.consortia
    assert cs.count >= 4
    cs.skill[:] = [0.5, 0.4, 0.8, 0.8] + [0.9] * (cs.count - 4)
    cs.willingness[:] = [0.5, 0.5, 0.8, 0.8] + [0.9] * (cs.count - 4)
    cs.deficit_last_year[:] = False
    cs.deficit_last_year[3] = True
    zero = np.zeros(cs.count)
    first = model.board.decide_delegation(first=True, noise=zero)
    assert first[:4].tolist() == [True, False, True, True]  # readiness 0.5 reaches 0.5; 0.45 does not
    later = model.board.decide_delegation(first=False, noise=zero)
    assert later[:4].tolist() == [True, False, True, False]  # the overspender loses the role
    lucky = model.board.decide_delegation(first=True, noise=np.full(cs.count, 1.0))
    assert lucky[1]  # assessed as ready: 0.45 + 0.1 x 1


def test_delegation_is_kept_despite_deficit_when_the_lever_says_so():
    model = conditional("levers.delegation.withdraw_on_deficit=false")
    cs = model.consortia
    cs.skill[:] = 0.8
    cs.willingness[:] = 0.8
    cs.deficit_last_year[:] = True
    assert model.board.decide_delegation(first=False, noise=np.zeros(cs.count)).all()


@pytest.mark.parametrize("mode", [DelegationMode.NONE, DelegationMode.ALL])
def test_unconditional_delegation_ignores_readiness(mode):
    model = fresh(f"levers.delegation.mode={mode.value}")
    cs = model.consortia
    cs.deficit_last_year[:] = True
    decided = model.board.decide_delegation(first=False, noise=np.full(cs.count, 5.0))
    assert decided.tolist() == [mode is DelegationMode.ALL] * cs.count


# ------------------------------------------------------------------------------------------ effort


def test_effort_targets_by_hand():
    """Attractions over (1 + their total), times capacity: improve m = 0.6, record 0, prescribe 0.15."""
    ps = hand_state(1, motivation=0.6, improvement_capacity=0.5)
    a = Assumptions()
    assert a.prescribing.baseline_effort_attraction == 0.15
    imp, rec, rx = rules.effort_targets(ps, 1, zero_signals(1), a)
    total = 1.0 + 0.6 + 0.15
    assert imp[0] == pytest.approx(0.5 * 0.6 / total)
    assert rec[0] == 0.0
    assert rx[0] == pytest.approx(0.5 * 0.15 / total)


@pytest.mark.parametrize(
    ("column", "signal", "which"),
    [
        ("remedial", None, 0),
        ("pressure_quality", None, 0),
        ("motivation", None, 0),
        (None, "improve_gbp", 0),
        (None, "premium_peer_improve", 0),
        (None, "record_gbp", 1),
        ("pressure_prescribing", None, 2),
        (None, "prescribe_gbp", 2),
        (None, "budget_pressure", 2),
        (None, "premium_peer_prescribe", 2),
    ],
)
def test_each_pressure_and_payment_raises_its_own_effort_and_crowds_out_the_others(column, signal, which):
    a = Assumptions()
    base = dict(motivation=0.4, improvement_capacity=0.5, autonomy=0.3)
    ps0 = hand_state(1, **base)
    ps1 = hand_state(1, **{**base, **({column: 1.0} if column else {})})
    sig1 = zero_signals(1, **({signal: 100.0 if signal.endswith("gbp") else 1.0} if signal else {}))
    before = rules.effort_targets(ps0, 1, zero_signals(1), a)
    after = rules.effort_targets(ps1, 1, sig1, a)
    for k in range(3):
        if k == which:
            assert after[k][0] > before[k][0]
        else:
            assert after[k][0] <= before[k][0]


def test_effort_moves_a_share_of_the_way_to_its_target():
    ps = hand_state(1, effort_improve=0.2, effort_record=0.4, effort_prescribing=0.0)
    rules.adjust_effort(ps, 1, (np.array([0.6]), np.array([0.0]), np.array([0.1])), 0.25)
    assert ps.effort_improve[0] == pytest.approx(0.3)
    assert ps.effort_record[0] == pytest.approx(0.3)
    assert ps.effort_prescribing[0] == pytest.approx(0.025)


def test_remedial_pressure_fades_with_the_challenges_duration():
    ps = hand_state(1, remedial=1.0, pressure_quality=1.0, pressure_prescribing=0.5)
    rules.decay_pressure(ps, 1, 4.0)
    assert ps.remedial[0] == pytest.approx(0.75)
    assert ps.pressure_quality[0] == pytest.approx(0.75)
    assert ps.pressure_prescribing[0] == pytest.approx(0.375)


def test_budget_pressure_only_for_delegated_consortia_in_deficit():
    model = fresh()
    ps, cs, n = model.practices, model.consortia, model.practices.n
    assert cs.count >= 4
    cs.delegated[:] = [True, True, False, False] + [False] * (cs.count - 4)
    cs.allocation_ytd_gbp[:] = 1000.0
    cs.spend_ytd_gbp[:] = [2000.0, 500.0, 2000.0, 500.0] + [0.0] * (cs.count - 4)
    signals = policy.quarter_signals(model, 0.0)
    pressure = model.assumptions.prescribing.budget_pressure
    assert pressure > 0
    cons = ps.consortium[:n]
    expected = np.where(cons == 0, pressure, 0.0)  # delegated and overspent; not 1 (surplus), 2 (not delegated)
    assert np.allclose(signals.budget_pressure, expected)


# ------------------------------------------------------------------------------------------ the premium


def test_premium_is_earned_by_the_required_fall_within_budget():
    premium = QualityPremium(per_head_gbp=5.0, required_improvement=0.25)
    before = np.full(5, 100.0)
    now = np.array([75.0, 75.1, 20.0, 20.0, 120.0])
    balance = np.array([0.0, 10.0, -0.01, 10.0, 10.0])
    earned = incentives.premium_earned(now, before, balance, premium)
    assert earned.tolist() == [True, False, False, True, False]
    nothing = QualityPremium(per_head_gbp=0.0, required_improvement=0.25)
    assert not incentives.premium_earned(now, before, balance, nothing).any()


def test_contribution_pays_improvers_only_and_never_negative():
    amount = np.array([1000.0, 600.0])
    consortium = np.array([0, 0, 0, 1, 1])
    lists = np.array([1000.0, 1000.0, 2000.0, 1000.0, 2000.0])
    improvement = np.array([2.0, -1.0, 1.0, -1.0, -3.0])  # consortium 1: nobody improved
    paid = incentives.distribute_premium(amount, consortium, lists, improvement, PremiumDistribution.CONTRIBUTION)
    # consortium 0: contributions 2000, 0, 2000 -> 500, 0, 500; consortium 1: per head, 200 and 400
    assert paid.tolist() == pytest.approx([500.0, 0.0, 500.0, 200.0, 400.0])
    per_head = incentives.distribute_premium(amount, consortium, lists, improvement, PremiumDistribution.PER_HEAD)
    assert per_head.tolist() == pytest.approx([250.0, 250.0, 500.0, 200.0, 400.0])
    for rule in (PremiumDistribution.NONE, PremiumDistribution.REVIEW_CAPACITY):
        assert not incentives.distribute_premium(amount, consortium, lists, improvement, rule).any()


def premium_year_end(distribution: str) -> tuple[CommissioningModel, np.ndarray, np.ndarray, np.ndarray]:
    """A year end where consortia 0 and 2 earn a GBP 4 premium, 1 missed the target and 3 overspent.

    Every practice had 10 admissions per 1,000 this year; even rows had 20 the year before (improvers),
    odd rows 5 (worsened). Returns the model, the premium each practice received, who earned, and the
    populations."""
    model = fresh("levers.quality_premium.per_head_gbp=4.0", "levers.quality_premium.required_improvement=0.1",
                  f"levers.quality_premium.distribution={distribution}")
    ps, cs, n = model.practices, model.consortia, model.practices.n
    lists = np.where(ps.open[:n], ps.list_size[:n], 0.0)
    assert np.allclose(np.bincount(ps.consortium[:n], weights=lists, minlength=cs.count), cs.population)
    ps.admissions_year[:n] = 10.0 * ps.list_size[:n] / 1000.0
    ps.measure_last_year[:n] = np.where(np.arange(n) % 2 == 0, 20.0, 5.0)
    cs.measure_last_year[:] = 100.0
    cs.measure_last_year[1] = 10.5  # 10 is not 10% below 10.5
    cs.allocation_ytd_gbp[:] = 1e12
    cs.spend_ytd_gbp[:] = 0.0
    cs.spend_ytd_gbp[3] = 2e12
    earned = np.zeros(cs.count, dtype=bool)
    earned[[0, 2]] = True
    earned[4:] = True
    reserves = ps.reserves_gbp[:n].copy()
    money.year_end_payments(model, 0.75)
    premium = ps.reserves_gbp[:n] - reserves - ps.qof_income_last_gbp[:n]
    return model, premium, earned, cs.population.copy()


def test_premium_paid_is_per_head_times_the_population_of_the_consortia_that_earned_it():
    model, premium, earned, population = premium_year_end("per_head")
    ps, cs, n = model.practices, model.consortia, model.practices.n
    assert model.flows["quality_premium_gbp"] == pytest.approx(4.0 * population[earned].sum())
    by_cons = np.bincount(ps.consortium[:n], weights=premium, minlength=cs.count)
    assert np.allclose(by_cons, np.where(earned, 4.0 * population, 0.0), atol=1e-3)
    assert np.allclose(premium[ps.open[:n]], np.where(earned, 4.0, 0.0)[ps.consortium[:n]][ps.open[:n]]
                       * ps.list_size[:n][ps.open[:n]], rtol=1e-9, atol=1e-3)
    assert np.allclose(cs.premium_earned_gbp, np.where(earned, 4.0 * population, 0.0))
    # The baseline year rolls forward: next year's premium is against this year's 10 per 1,000.
    assert np.allclose(cs.measure_last_year, 10.0)
    assert np.allclose(ps.measure_last_year[:n][ps.open[:n]], 10.0)


def test_premium_by_contribution_goes_to_improvers_and_is_never_negative():
    model, premium, earned, population = premium_year_end("contribution")
    ps, cs, n = model.practices, model.consortia, model.practices.n
    open_ = ps.open[:n]
    in_earned = earned[ps.consortium[:n]] & open_
    improvers = np.arange(n) % 2 == 0
    assert np.all(premium >= -1e-6)
    assert np.all(premium[in_earned & ~improvers] == pytest.approx(0.0, abs=1e-6))
    assert np.all(premium[in_earned & improvers] > 0)
    by_cons = np.bincount(ps.consortium[:n], weights=premium, minlength=cs.count)
    assert np.allclose(by_cons, np.where(earned, 4.0 * population, 0.0), atol=1e-3)


def test_premium_put_into_review_capacity_is_kept_by_the_consortium():
    model, premium, earned, population = premium_year_end("review_capacity")
    cs = model.consortia
    assert np.allclose(premium, 0.0, atol=1e-6)
    cost = model.levers.delegation.cost_per_review_gbp
    assert np.allclose(cs.extra_reviews_per_quarter, np.where(earned, 4.0 * population / cost / 4.0, 0.0))


def test_premium_outlook_by_hand():
    premium = QualityPremium(per_head_gbp=3.0, required_improvement=0.1)
    last = np.array([100.0, 100.0, 100.0, 100.0])
    expected = np.array([90.0, 80.0, 100.0, 90.0])
    sd = np.array([2.0, 2.0, 2.0, 2.0])
    eligible = np.array([True, True, True, False])
    out = marginal.premium_outlook(expected, last, sd, eligible, premium)
    assert out.chance[0] == pytest.approx(0.5)  # expected exactly at the target of 90
    assert out.density[0] == pytest.approx(1.0 / np.sqrt(2 * np.pi) / 2.0)
    assert out.chance[1] > 0.999 and out.chance[2] < 0.001
    assert out.chance[3] == 0.0 and out.at_stake_gbp[3] == 0.0 and out.at_stake_gbp[0] == 3.0


def test_premium_value_per_patient_by_hand():
    outlook = marginal.PremiumOutlook(
        chance=np.array([0.5]), density=np.array([0.2]), at_stake_gbp=np.array([3.0]), sd=np.array([1.0])
    )
    cons = np.array([0, 0])
    lists = np.array([1000.0, 3000.0])
    population = np.array([4000.0])
    slope = np.array([2.0, 2.0])
    contributions = np.array([400.0])
    per_head = QualityPremium(per_head_gbp=3.0, distribution=PremiumDistribution.PER_HEAD)
    value = marginal.premium_value_per_patient(outlook, cons, lists, population, slope, contributions, per_head)
    # 3 x 0.2 x (list / 4000) x 2
    assert value.tolist() == pytest.approx([0.3, 0.9])
    contribution = QualityPremium(per_head_gbp=3.0, distribution=PremiumDistribution.CONTRIBUTION)
    value = marginal.premium_value_per_patient(outlook, cons, lists, population, slope, contributions, contribution)
    # plus 0.5 x 3 x 4000 x 2 / 400 = 30
    assert value.tolist() == pytest.approx([30.3, 30.9])
    stake = marginal.premium_stake_per_patient(outlook, cons, slope)
    assert stake.tolist() == pytest.approx([1.2, 1.2])


def test_effort_chain_matches_the_stock_rules():
    """The marginal gains per unit of effort are the stock rules' own response, over the horizon."""
    a = Assumptions()
    h = a.practice.planning_horizon_quarters
    ps = hand_state(2, quality=[0.6, 0.9], quality_baseline=0.5, effort_improve=0.2)
    g0 = rules.quality_gain(ps, 2, a)
    ps.effort_improve[:2] += 1.0
    g1 = rules.quality_gain(ps, 2, a)
    assert np.allclose(marginal.quality_gain_per_effort(ps.quality[:2], a), (g1 - g0) * h)
    assert np.allclose(marginal.quality_gain_per_effort(np.array([0.6]), a), 0.4 * 0.4 * h)
    assert np.allclose(marginal.recording_gain_per_effort(np.array([0.25]), a), 3.0 * 0.75 * h)
    fall = marginal.unwarranted_fall_per_effort(np.array([10.0]), a)
    assert fall[0] == pytest.approx(a.prescribing.efficiency_effect * 10.0 * h)


def test_premium_peer_pressure_needs_a_willing_lead_and_falls_with_autonomy():
    model = fresh("levers.quality_premium.per_head_gbp=5.0", "levers.quality_premium.required_improvement=0.0")
    ps, cs, n = model.practices, model.consortia, model.practices.n
    premium = model.levers.quality_premium
    cs.measure_last_year[:] = money.consortium_measure(model, expected=True) * 1.0
    cs.willingness[:] = np.where(np.arange(cs.count) == 0, 0.0, 0.8)
    cs.skill[:] = 0.8
    cs.credibility[:] = 0.8
    ps.autonomy[:n] = 0.2
    outlook = policy.premium_outlook(model, premium)
    peer = policy.premium_peer_pressure(model, premium, outlook)
    cons = ps.consortium[:n]
    assert np.all(peer[cons == 0] == 0.0)
    assert np.all(peer[(cons != 0) & ps.open[:n]] > 0.0)
    ps.autonomy[:n] = 0.9
    pressed = (cons != 0) & ps.open[:n]
    assert np.allclose(policy.premium_peer_pressure(model, premium, outlook)[pressed], peer[pressed] * 0.1 / 0.8)


@pytest.mark.parametrize("target", ["outcome", "prescribing"])
def test_a_leads_premium_pressure_is_on_the_premiums_target(target):
    model = fresh("levers.quality_premium.per_head_gbp=5.0", "levers.quality_premium.required_improvement=0.0",
                  f"levers.quality_premium.target={target}", "levers.quality_premium.distribution=none")
    ps, cs, n = model.practices, model.consortia, model.practices.n
    cs.measure_last_year[:] = money.consortium_measure(model, expected=True)
    cs.skill[:], cs.willingness[:], cs.credibility[:] = 0.8, 0.8, 0.8
    ps.autonomy[:n] = 0.2
    signals = policy.quarter_signals(model, 0.0)
    on, off = signals.premium_peer_improve, signals.premium_peer_prescribe
    if target == "prescribing":
        on, off = off, on
    assert np.all(on[ps.open[:n]] > 0)
    assert not off.any()
    value = model.effort_value  # retained by the consortium: no premium money reaches practices
    assert not value.improve_premium.any() and not value.prescribe_premium.any()


def test_qof_points_share_weights_processes_and_outcomes_by_hand():
    """With a quarter of the points on outcomes (no phase-in) and every process indicator met: 0.75 of
    the points, plus the outcome share (all at a ratio of 0.5, half at 1.25, none at 10)."""
    model = fresh("levers.qof.outcome_weight=0.25", "levers.qof.phase_in_years=0")
    ps, n = model.practices, model.practices.n
    ps.recorded_achievement[:n] = 1.0
    expected = rules.expected_outcome(ps, n, model.assumptions.outcomes)
    for ratio, share in ((10.0, 0.75), (1.25, 0.875), (0.5, 1.0)):
        points = money.update_achievement(model, 0.0, observed=ratio * expected)
        assert np.allclose(points, share), ratio


def test_a_premium_on_admissions_pulls_improvement_and_one_on_prescribing_pulls_prescribing():
    for target, field in (("outcome", "improve_premium"), ("prescribing", "prescribe_premium")):
        model = fresh("levers.quality_premium.per_head_gbp=5.0", "levers.quality_premium.required_improvement=0.0",
                      f"levers.quality_premium.target={target}", "levers.quality_premium.distribution=per_head")
        model.consortia.measure_last_year[:] = money.consortium_measure(model, expected=True)
        policy.quarter_signals(model, 0.0)
        value = getattr(model.effort_value, field)
        other = "prescribe_premium" if field == "improve_premium" else "improve_premium"
        assert np.all(value >= 0) and value.max() > 0
        assert not getattr(model.effort_value, other).any()


# ------------------------------------------------------------------------------------------ contracts


def test_contract_actions_notice_then_terminate_confirmed_escalations():
    model = fresh()
    ps, n = model.practices, model.practices.n
    worst = int(np.argmin(np.where(ps.open[:n], ps.quality[:n], np.inf)))
    best = int(np.argmax(np.where(ps.open[:n], ps.quality[:n], -np.inf)))
    ps.escalated[:n] = False
    ps.escalated[[worst, best]] = True
    ps.notices[:n] = 0
    noticed, terminated = model.board.contract_actions(np.zeros(ps.capacity))
    assert noticed.tolist() == [worst] and terminated.size == 0  # the best is not confirmed
    assert ps.notices[worst] == 1 and ps.remedial[worst] == 1.0 and not ps.escalated[:n].any()
    ps.escalated[worst] = True
    ps.notices[worst] = model.levers.contract_actions.terminate_after_notices
    noticed, terminated = model.board.contract_actions(np.zeros(ps.capacity))
    assert terminated.tolist() == [worst] and noticed.size == 0
    ps.notices[best] = 2
    model.board.contract_actions(np.zeros(ps.capacity))  # a clean year: notices lapse
    assert ps.notices[best] == 0


def test_entry_and_replacement_follow_the_barriers():
    model = fresh("levers.market_entry.barriers=0.25", "levers.market_entry.entry_rate_per_year=0.1")
    u = np.linspace(0.0, 0.999, 1000)
    assert model.board.replaces_terminated(u).mean() == pytest.approx(0.75, abs=0.002)
    wanted = model.board.entrants_wanted(u, np.full(1000, 2.0))
    assert wanted.mean() == pytest.approx(1.0 - np.exp(-0.1 * 0.75 * 2.0), abs=0.002)
    assert model.board.entrants_wanted(u, np.zeros(1000)).sum() == 0


def test_review_capacity_by_hand():
    model = fresh()
    cs = model.consortia
    cs.population[:] = 2e6
    cs.extra_reviews_per_quarter[:] = 0.0
    cs.delegated[:] = np.arange(cs.count) % 2 == 0
    cap = model.board.review_capacity(np.full(cs.count, 0.999))
    # board: 3 per million -> 6; lead: 3% of GBP 25 x 2m / 4 over GBP 6,000 = 62.5 -> 62 (u above 0.5)
    assert cap.tolist() == [62 if d else 6 for d in cs.delegated]


def test_terminations_never_empty_a_consortium():
    model = fresh("levers.market_entry.barriers=1.0")  # no replacement: terminated lists disperse
    ps, n = model.practices, model.practices.n
    cons = ps.consortium[:n]
    sizes = np.bincount(cons[ps.open[:n]])
    smallest = int(np.argmin(np.where(sizes >= 2, sizes, n)))
    members = np.flatnonzero((cons == smallest) & ps.open[:n])
    assert 2 <= members.size < 0.05 * n  # all below the board's confirmation quantile
    ps.quality[members] = 0.0  # the worst care of all: every escalation is confirmed
    ps.escalated[:n] = False
    ps.escalated[members] = True
    ps.notices[members] = model.levers.contract_actions.terminate_after_notices
    market.year_end(model)
    assert model.flows["terminations"] == 0  # all of the consortium would go: none does
    assert ps.open[members].sum() >= members.size - 2  # (a merger or retirement may still close one)


def test_the_delegation_review_sees_this_years_deficit():
    model = conditional()
    cs = model.consortia
    cs.skill[:] = 0.9
    cs.willingness[:] = 0.9
    cs.allocation_ytd_gbp[:] = 1000.0
    cs.spend_ytd_gbp[:] = np.where(np.arange(cs.count) % 2 == 0, 2000.0, 500.0)
    market.year_end(model)
    assert cs.deficit_last_year.tolist() == (np.arange(cs.count) % 2 == 0).tolist()
    assert cs.delegated.tolist() == (np.arange(cs.count) % 2 == 1).tolist()


def test_new_providers_take_patients_from_below_median_practices_only(monkeypatch):
    model = fresh("levers.market_entry.barriers=0.0")
    ps, cs = model.practices, model.consortia
    n = ps.n
    monkeypatch.setattr(model.board, "entrants_wanted", lambda u, per_cons: np.ones(cs.count, dtype=np.int64))
    lists, quality, cons = ps.list_size[:n].copy(), ps.quality[:n].copy(), ps.consortium[:n].copy()
    patients = np.bincount(cons, weights=lists, minlength=cs.count)
    entrant_z = np.zeros((3, ps.capacity))
    market.procure_entrants(model, entrant_z)
    assert ps.n - n == int((np.bincount(cons, minlength=cs.count) >= 2).sum())
    donors = ps.list_size[:n] < lists - 1e-9
    median = np.array([np.median(quality[cons == c]) for c in range(cs.count)])
    assert donors.any()
    assert np.all(quality[donors] <= median[cons[donors]] + 1e-12)
    assert np.all(ps.list_size[:n][quality > median[cons]] == lists[quality > median[cons]])
    after = np.bincount(ps.consortium[: ps.n], weights=ps.list_size[: ps.n], minlength=cs.count)
    assert np.allclose(after, patients)  # the entrants' patients came from their consortium's practices


def test_the_board_reviews_remotely_through_noisier_data(monkeypatch):
    """Just above the outlier limit, the board's noisy view misses some outliers; a delegated lead (that
    holds every conversation) sees them all."""
    counts = {}
    for delegated in (False, True):
        model = fresh()
        ps = model.practices
        everyone_an_outlier(model, monkeypatch, z=model.levers.peer_challenge.outlier_z + 0.5)
        monkeypatch.setattr(cons_rules, "engagement_probability", lambda w, a, e: np.ones(np.shape(a)))
        model.consortia.delegated[:] = delegated
        review.review_and_challenge(model)
        counts[delegated] = (model.flows["reviews"], ps.open[: ps.n].sum())
    assert counts[True][0] == counts[True][1]
    assert 0.5 * counts[False][1] < counts[False][0] < counts[False][1]


def test_better_care_is_worth_the_patients_it_draws_only_where_they_pay():
    model = fresh()
    ps, n = model.practices, model.practices.n
    cheap = np.arange(n) % 2 == 0
    ps.cost_per_head_gbp[:n] = np.where(cheap, 10.0, 1000.0)
    policy.quarter_signals(model, 0.0)
    value = model.effort_value.improve_capitation
    open_ = ps.open[:n]
    assert np.all(value[cheap & open_] > 0)
    assert np.all(value[~cheap] == 0)


def test_what_the_board_pays_is_what_the_money_flows_record():
    """Independent of how ``total_cost_gbp`` is summed: every payment the board makes (the ledger, kept
    by ``money.pay``) is core funding, QOF, the premium or the running-cost allowance as the flows record
    them, and reaches practices or consortia."""
    model = fresh("levers.quality_premium.per_head_gbp=5.0", scenario="white_paper")
    start = dict(model.ledger)
    recorded = 0.0
    for _ in range(8):
        model.step()
        f = model.flows
        recorded += f["core_funding_gbp"] + f["qof_payments_gbp"] + f["quality_premium_gbp"] + f["management_cost_gbp"]
    paid = model.ledger["board_paid"] - start["board_paid"]
    received = sum(model.ledger[k] - start[k] for k in ("practices_received", "consortia_received"))
    assert paid == pytest.approx(recorded, rel=1e-12)
    assert received == pytest.approx(paid, rel=1e-12)
    assert model.metrics_frame()["qof_payments_gbp"].iloc[1:].astype(bool).tolist() == [False, False, False, True] * 2
