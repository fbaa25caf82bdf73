"""Unit tests of each behaviour and money rule, on small hand-made states."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim import incentives
from sim.agents import consortium as cons_rules
from sim.agents import practice as rules
from sim.params import (
    QOF,
    Assumptions,
    Challenge,
    ContractModel,
    Contracts,
    PremiumDistribution,
    QualityPremium,
    Recording,
)
from sim.state import APMS, GMS, PMS, PracticeState


def state(n: int = 4, **columns: list[float]) -> PracticeState:
    ps = PracticeState(capacity=n + 2)
    ps.add_rows(n)
    ps.open[:n] = True
    ps.list_size[:n] = 5000.0
    if hasattr(ps, "money_orientation"):
        ps.money_orientation[:n] = 1.0  # an average practice in how far it chases payments
    for name, values in columns.items():
        getattr(ps, name)[:n] = values
    return ps


# ------------------------------------------------------------------------------------------ challenge


def test_challenge_success_rises_with_skill_and_credibility_and_falls_with_autonomy():
    c = Challenge()
    grid = np.linspace(0, 1, 11)
    by_skill = cons_rules.challenge_success_probability(grid, np.full(11, 0.5), np.full(11, 0.5), c)
    by_cred = cons_rules.challenge_success_probability(np.full(11, 0.5), grid, np.full(11, 0.5), c)
    by_autonomy = cons_rules.challenge_success_probability(np.full(11, 0.5), np.full(11, 0.5), grid, c)
    assert np.all(np.diff(by_skill) > 0)
    assert np.all(np.diff(by_cred) > 0)
    assert np.all(np.diff(by_autonomy) < 0)
    assert np.all((by_skill > 0) & (by_skill < 1))


def test_credibility_gains_on_success_and_falls_on_failure():
    from sim.params import Leadership

    lead = Leadership()
    cred = np.array([0.5, 0.5, 0.5])
    after = cons_rules.update_credibility(cred, np.array([0, 2, 0]), np.array([0, 0, 2]), lead)
    assert after[0] == 0.5
    assert after[1] > 0.5 > after[2]
    assert np.all((after >= 0) & (after <= 1))


def test_review_takes_the_worst_outliers_up_to_capacity():
    score = np.array([3.0, 5.0, 1.0, 4.0, 2.5, 9.0, 2.1])
    group = np.array([0, 0, 0, 0, 1, 1, 1])
    chosen = cons_rules.select_for_review(score, group, capacity=np.array([2, 5]), threshold=2.0)
    assert sorted(chosen.tolist()) == [1, 3, 4, 5, 6]  # group 0: 5.0 and 4.0; group 1: all above 2
    none = cons_rules.select_for_review(score, group, capacity=np.array([0, 0]), threshold=2.0)
    assert none.size == 0


def test_overdispersion_adjustment_shrinks_z_only_when_overdispersed():
    z = np.array([4.0, -4.0, 4.0, -4.0, 0.5, -0.5, 0.2, -0.2])
    group = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    adjusted = cons_rules.overdispersion_adjust(z, group, np.ones(8, dtype=bool), 2)
    assert np.all(np.abs(adjusted[:4]) < 4.0)  # phi = 9 (winsorised at 3) -> z / 3
    assert np.allclose(adjusted[:4], z[:4] / 3.0)
    assert np.allclose(adjusted[4:], z[4:])  # phi < 1 -> unchanged


def test_stochastic_rounding_preserves_the_expectation():
    rng = np.random.default_rng(0)
    values = np.full(20000, 2.3)
    rounded = cons_rules.stochastic_round(values, rng.random(20000))
    assert set(np.unique(rounded)) == {2, 3}
    assert abs(rounded.mean() - 2.3) < 0.02


# ------------------------------------------------------------------------------------------ practices


def test_recording_effort_raises_recorded_achievement_but_not_outcomes():
    a = Assumptions()
    ps = state(2, quality=[0.8, 0.8], effort_record=[0.0, 0.5], deprivation=[0.5, 0.5], frailty=[1.0, 1.0])
    for _ in range(8):
        rules.update_recording(ps, 2, a.recording)
    assert ps.recorded_achievement[1] > ps.recorded_achievement[0]
    assert ps.exception_rate[1] > ps.exception_rate[0]
    assert ps.quality[0] == ps.quality[1]
    target = rules.outcome_target(ps, 2, a.outcomes, reference_quality=0.8)
    assert target[0] == target[1]


def test_improvement_effort_raises_quality_with_diminishing_returns():
    a = Assumptions()
    ps = state(3, quality=[0.5, 0.9, 0.9], effort_improve=[0.5, 0.5, 0.0])
    ps.quality_baseline[:3] = ps.quality[:3]
    gain = rules.quality_gain(ps, 3, a)
    assert gain[0] > gain[1] > 0  # same effort, less headroom near the ceiling
    assert gain[2] == 0  # at its baseline without effort: no change


def signals(n: int, improve: float = 0.0, record: float = 0.0, prescribe: float = 0.0) -> rules.Signals:
    """Signals of ``n`` practices with these expected marginal payments (GBP per patient a year)."""
    zero = np.zeros(n)
    return rules.Signals(np.full(n, improve), np.full(n, record), np.full(n, prescribe), zero, zero, zero)


def test_effort_follows_what_is_paid():
    a = Assumptions()
    ps = state(2, motivation=[0.6, 0.6], improvement_capacity=[0.5, 0.5], autonomy=[0.5, 0.5])
    imp_0, rec_0, rx_0 = rules.effort_targets(ps, 2, signals(2), a)
    imp_i, rec_i, _ = rules.effort_targets(ps, 2, signals(2, improve=20.0), a)
    imp_r, rec_r, _ = rules.effort_targets(ps, 2, signals(2, record=20.0), a)
    _, _, rx_p = rules.effort_targets(ps, 2, signals(2, prescribe=20.0), a)
    assert np.all(rec_0 == 0)  # nothing pays for recording: no recording effort
    assert np.all(imp_i > imp_0) and np.all(rec_i == 0)
    assert np.all(rec_r > rec_0) and np.all(imp_r < imp_0)  # recording competes for the same time
    assert np.all(rx_p > rx_0)
    total = imp_r + rec_r + rules.effort_targets(ps, 2, signals(2, record=20.0), a)[2]
    assert np.all(total <= ps.improvement_capacity[:2])


def test_money_moves_no_effort_when_practices_ignore_it():
    a = Assumptions()
    deaf = a.model_copy(update={"practice": a.practice.model_copy(update={"incentive_responsiveness": 0.0})})
    ps = state(2, motivation=[0.6, 0.6], improvement_capacity=[0.5, 0.5], autonomy=[0.5, 0.5])
    unpaid = rules.effort_targets(ps, 2, signals(2), deaf)
    paid = rules.effort_targets(ps, 2, signals(2, improve=50.0, record=50.0, prescribe=50.0), deaf)
    for before, after in zip(unpaid, paid, strict=True):
        assert np.array_equal(before, after)


def test_peer_pressure_raises_effort_less_for_autonomous_practices():
    a = Assumptions()
    ps = state(
        2, motivation=[0.6, 0.6], improvement_capacity=[0.5, 0.5], autonomy=[0.1, 0.9], pressure_quality=[1.0, 1.0]
    )
    sig = signals(2, improve=5.0, record=5.0)
    pressed, _, _ = rules.effort_targets(ps, 2, sig, a)
    ps.pressure_quality[:2] = 0.0
    calm, _, _ = rules.effort_targets(ps, 2, sig, a)
    uplift = pressed - calm
    assert uplift[0] > uplift[1] > 0


def test_outcomes_lag_quality_and_are_worse_with_deprivation():
    a = Assumptions()
    ps = state(2, quality=[0.8, 0.8], deprivation=[0.1, 0.9], frailty=[1.0, 1.0])
    expected = rules.expected_outcome(ps, 2, a.outcomes)
    assert expected[1] > expected[0]
    assert expected[1] / expected[0] == pytest.approx(np.exp(0.8 * a.outcomes.deprivation_gradient))
    ps.outcome_per_1000[:2] = rules.outcome_target(ps, 2, a.outcomes, 0.8)
    before = ps.outcome_per_1000[:2].copy()
    ps.quality[:2] = 0.9
    rules.update_outcome(ps, 2, a.outcomes, 0.8)
    after_one = ps.outcome_per_1000[:2].copy()
    final = rules.outcome_target(ps, 2, a.outcomes, 0.8)
    assert np.all(after_one < before) and np.all(after_one > final)  # moves part of the way: a lag


def test_prescribing_effort_lowers_unwarranted_cost():
    a = Assumptions()
    ps = state(2, habit_gbp=[10.0, 10.0], unwarranted_gbp=[10.0, 10.0], effort_prescribing=[0.0, 0.4])
    for _ in range(60):
        rules.update_prescribing(ps, 2, a.prescribing)
    assert ps.unwarranted_gbp[0] == pytest.approx(10.0)
    assert ps.unwarranted_gbp[1] < 8.0
    assert ps.unwarranted_gbp[1] == pytest.approx(rules.steady_unwarranted(ps, 2, a.prescribing)[1], rel=0.05)


def test_closure_moves_every_patient_to_the_same_consortium():
    ps = state(5, consortium=[0, 0, 0, 1, 1], list_size=[1000, 3000, 6000, 2000, 2000])
    before = np.bincount(ps.consortium[:5], weights=ps.list_size[:5])
    rules.redistribute_list(ps, 5, np.array([2]))
    after = np.bincount(ps.consortium[:5], weights=ps.list_size[:5])
    assert np.allclose(before, after)
    assert not ps.open[2] and ps.list_size[2] == 0
    assert ps.list_size[1] == pytest.approx(3000 + 6000 * 3 / 4)
    assert ps.list_size[3] == 2000  # other consortium untouched


def test_patient_choice_conserves_patients_and_favours_quality():
    ps = state(
        6,
        consortium=[0, 0, 0, 1, 1, 1],
        quality=[0.6, 0.8, 0.95, 0.7, 0.7, 0.9],
        list_size=[4000, 4000, 4000, 1000, 8000, 3000],
    )
    ps.choice_weight[:6] = ps.list_size[:6]  # equal attractions besides quality: lists follow quality
    before = np.bincount(ps.consortium[:6], weights=ps.list_size[:6])
    change = rules.patient_choice(ps, 6, 2, switching_rate=0.05, sensitivity=1.0)
    after = np.bincount(ps.consortium[:6], weights=ps.list_size[:6])
    assert np.allclose(before, after)
    assert change[0] < 0 < change[2]
    none = rules.patient_choice(ps, 6, 2, switching_rate=0.0, sensitivity=1.0)
    assert np.all(none == 0)


def test_patient_choice_settles_lists_where_quality_puts_them():
    """Choice weights settled at today's quality keep today's lists (no drift); a practice whose quality
    then rises draws patients, and the lists settle instead of moving for ever."""
    ps = state(
        6,
        consortium=[0, 0, 0, 1, 1, 1],
        quality=[0.6, 0.8, 0.95, 0.7, 0.7, 0.9],
        list_size=[4000, 4000, 4000, 1000, 8000, 3000],
    )
    rules.settle_choice_weights(ps, 6, 2, 0.157, np.arange(6))
    start = ps.list_size[:6].copy()
    for _ in range(5):
        change = rules.patient_choice(ps, 6, 2, switching_rate=0.1, sensitivity=0.157)
        assert np.allclose(change, 0.0, atol=1e-9)
    assert np.allclose(ps.list_size[:6], start)
    ps.quality[0] = 0.9
    moves = [rules.patient_choice(ps, 6, 2, switching_rate=0.1, sensitivity=0.157)[0] for _ in range(200)]
    assert moves[0] > 0
    assert abs(moves[-1]) < 1e-3 * abs(moves[0])  # settled
    assert np.allclose(np.bincount(ps.consortium[:6], weights=ps.list_size[:6]), [12000, 12000])


def test_motivation_recovers_towards_its_own_level_only():
    ps = state(3, motivation=[0.3, 0.6, 0.8], motivation_own=[0.6, 0.6, 0.6])
    rules.recover_motivation(ps, 3, 0.25)
    assert ps.motivation[:3].tolist() == pytest.approx([0.375, 0.6, 0.8])  # resentment fades; none is added
    rules.recover_motivation(ps, 3, 0.0)
    assert ps.motivation[:3].tolist() == pytest.approx([0.375, 0.6, 0.8])


# ------------------------------------------------------------------------------------------ money


def test_qof_payment_matches_a_hand_calculation():
    qof = QOF(points_max=1000, point_value_gbp=126.77)
    # 900 of 1,000 points, a list twice the average: 900 x 126.77 x 2 = 228,186
    pay = incentives.qof_payment_gbp(np.array([0.9]), np.array([13302.0]), qof, reference_list=6651.0)
    assert pay[0] == pytest.approx(900 * 126.77 * 2)


def test_process_points_follow_the_thresholds():
    qof = QOF(lower_threshold=0.4, upper_threshold=0.9)
    share = incentives.process_points_share(np.array([0.3, 0.65, 1.0]), qof, 0.0)
    assert share.tolist() == pytest.approx([0.0, 0.5, 1.0])
    grid = np.linspace(0.0, 1.0, 201)
    for spread in (0.0, 0.2, 0.6, 1.5):
        values = incentives.process_points_share(grid, qof, spread)
        assert np.all((values >= 0) & (values <= 1))
        assert np.all(np.diff(values) >= -1e-12), spread  # more recorded achievement never earns less
        assert values[-1] == 1.0, spread  # full points are reachable: exactly 1 at 100% recorded
    assert np.all(incentives.process_points_share(np.array([0.0, 0.2, 0.39]), qof, 0.0) == 0.0)
    # A spread of indicators puts some above the lower threshold of a practice below it, and some below
    # the upper threshold of a practice above it.
    spread = incentives.process_points_share(np.array([0.3, 0.95]), qof, 0.6)
    assert 0 < spread[0] < 0.5 and 0.9 < spread[1] < 1.0


@pytest.mark.parametrize("spread", [0.0, 0.2, 0.6, 1.5])
def test_process_points_slope_is_the_derivative_of_the_share(spread):
    qof = QOF(lower_threshold=0.4, upper_threshold=0.9)
    # away from the kinks of the zero-spread rule (the thresholds) and from 100%
    grid = np.r_[np.linspace(0.02, 0.38, 10), np.linspace(0.42, 0.88, 12), np.linspace(0.92, 0.985, 6)]
    h = 1e-6
    numeric = (
        incentives.process_points_share(grid + h, qof, spread) - incentives.process_points_share(grid - h, qof, spread)
    ) / (2 * h)
    analytic = incentives.process_points_slope(grid, qof, spread)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-6)
    assert incentives.process_points_slope(np.array([1.0]), qof, spread)[0] == 0.0  # nothing more to earn


def test_outcome_points_and_phase_in():
    qof = QOF(outcome_weight=0.6, phase_in_years=3, outcome_band_low=1.0, outcome_band_high=1.5)
    share = incentives.outcome_points_share(np.array([0.9, 1.25, 1.6]), qof)
    assert share.tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert incentives.outcome_weight_at(qof, 0) == 0
    assert incentives.outcome_weight_at(qof, 1.5) == pytest.approx(0.3)
    assert incentives.outcome_weight_at(qof, 10) == pytest.approx(0.6)
    assert incentives.outcome_weight_at(qof.model_copy(update={"phase_in_years": 0}), 0) == 0.6


def test_premium_is_withheld_on_overspend():
    premium = QualityPremium(per_head_gbp=5, required_improvement=0.02)
    now = np.array([9.0, 9.0, 9.9])
    before = np.array([10.0, 10.0, 10.0])
    earned = incentives.premium_earned(now, before, np.array([1.0, -1.0, 1.0]), premium)
    assert earned.tolist() == [True, False, False]  # improved; improved but overspent; too little improvement
    off = incentives.premium_earned(now, before, np.ones(3), QualityPremium(per_head_gbp=0))
    assert not off.any()


@pytest.mark.parametrize("rule", list(PremiumDistribution))
def test_premium_distribution_conserves_money(rule):
    amount = np.array([1000.0, 0.0, 500.0])
    consortium = np.array([0, 0, 1, 2, 2])
    lists = np.array([1000.0, 3000.0, 2000.0, 500.0, 1500.0])
    improvement = np.array([1.0, 0.0, 2.0, -1.0, -1.0])
    paid = incentives.distribute_premium(amount, consortium, lists, improvement, rule)
    per_cons = np.bincount(consortium, weights=paid, minlength=3)
    if rule in (PremiumDistribution.NONE, PremiumDistribution.REVIEW_CAPACITY):
        assert np.all(paid == 0)
    else:
        assert np.allclose(per_cons, amount)
    if rule is PremiumDistribution.CONTRIBUTION:
        assert paid[0] == pytest.approx(1000.0) and paid[1] == 0.0  # only the improver
        assert paid[3] == pytest.approx(125.0)  # nobody improved in consortium 2: per head


def test_single_contract_funding_converges_cost_neutrally():
    contracts = Contracts(model=ContractModel.SINGLE, convergence_years=4)
    contract = np.array([GMS, PMS, APMS, GMS])
    lists = np.array([5000.0, 8000.0, 3000.0, 4000.0])
    single = incentives.single_rate(contract, lists, contracts)
    progress = [incentives.convergence_progress(contracts, y) for y in (0, 1, 2, 4, 8)]
    assert progress == pytest.approx([0.0, 0.25, 0.5, 1.0, 1.0])
    start = incentives.funding_per_head(contract, contracts, 0.0, single)
    end = incentives.funding_per_head(contract, contracts, 1.0, single)
    assert np.allclose(end, single)
    assert (start * lists).sum() == pytest.approx((end * lists).sum())  # cost-neutral at today's lists
    gaps = [np.abs(incentives.funding_per_head(contract, contracts, p, single) - single).sum() for p in progress]
    assert all(a >= b for a, b in itertools.pairwise(gaps))
    mix = Contracts(model=ContractModel.CURRENT_MIX)
    assert incentives.convergence_progress(mix, 10) == 0.0


def test_recorded_achievement_is_bounded():
    r = Recording(recording_yield=0.5, exception_base=0.2, exception_gaming=0.3)
    ps = state(3, quality=[0.0, 0.9, 1.0], recording=[0.0, 1.0, 1.0])
    rules.refresh_recorded(ps, 3, r)
    assert np.all((ps.recorded_achievement[:3] >= 0) & (ps.recorded_achievement[:3] <= 1))
