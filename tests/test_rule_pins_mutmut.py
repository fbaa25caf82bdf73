"""Pins added for the mutants mutmut found alive in the behaviour rules (issue 17, docs/testing.md).

Why: ``mutmut run`` (configured in pyproject.toml) mutates every function of ``sim/agents/``,
``sim/incentives.py``, ``sim/marginal.py`` and ``sim/processes/`` and runs the rule and mechanism tests
against each mutant. The survivors that change behaviour are real gaps in those tests; each test here
kills a class of them with an independent fact (a hand calculation, a finite difference of the stock
rules, a quadrature, or an invariant) rather than the code's own expression.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import MeanPoisson, fresh, hand_state

from sim import incentives, marginal
from sim.agents import consortium as cons_rules
from sim.agents import practice as rules
from sim.agents.consortium import ConsortiumLead
from sim.agents.practice import Practice
from sim.model import CommissioningModel
from sim.params import QOF, Assumptions, PremiumDistribution, PremiumTarget, Prescribing, QualityPremium
from sim.processes import market, policy

# ------------------------------------------------------------------------------ QOF outcome points


def test_outcome_points_slope_by_hand():
    """Band 1.0 to 1.5 (width 0.5): the slope is the chance that the noisy ratio lands in the band, over the
    band's width. At the band's middle with an SD of 0.25 the band is one SD either side: 0.6827 / 0.5."""
    qof = QOF(outcome_band_low=1.0, outcome_band_high=1.5)
    slope = incentives.outcome_points_slope(np.array([1.25, 1.25, 0.5, 2.5]),
                                            np.array([0.25, 1e-6, 0.01, 0.01]), qof)
    assert slope[0] == pytest.approx(0.682689492 / 0.5, rel=1e-6)
    assert slope[1] == pytest.approx(2.0, rel=1e-6)  # no noise, inside: the share's own slope, 1 / 0.5
    assert slope[2] == pytest.approx(0.0, abs=1e-12)  # far below the band: every point already earned
    assert slope[3] == pytest.approx(0.0, abs=1e-12)  # far above: none to earn


@pytest.mark.parametrize(("ratio", "sd"), [(1.1, 0.2), (1.45, 0.1), (0.9, 0.3)])
def test_outcome_points_slope_is_the_slope_of_the_expected_share_under_noise(ratio, sd):
    """Independent check: differentiate E[outcome_points_share(ratio + sd Z)] numerically (the expectation
    over the normal noise on a fine grid); the closed form must agree."""
    qof = QOF()  # band 1.0 to 1.5
    x = np.linspace(-9.0, 9.0, 400_001)
    w = np.exp(-0.5 * x * x)
    w = w / w.sum()

    def expected_share(r: float) -> float:
        return float((w * incentives.outcome_points_share(r + sd * x, qof)).sum())

    h = 1e-3
    numeric = -(expected_share(ratio + h) - expected_share(ratio - h)) / (2 * h)  # share falls as ratio rises
    closed = incentives.outcome_points_slope(np.array([ratio]), np.array([sd]), qof)[0]
    assert closed == pytest.approx(numeric, rel=2e-3)


# ------------------------------------------------------------------------------ the premium's outlook


def test_premium_outlook_density_is_the_normal_density_off_the_target():
    """Expected 92 against a target of 90 with SD 2: one SD short, so the chance is 1 - Phi(1) and the
    density phi(1) / 2 = exp(-1/2) / sqrt(2 pi) / 2."""
    premium = QualityPremium(per_head_gbp=3.0, required_improvement=0.1)
    out = marginal.premium_outlook(np.array([92.0, 88.0]), np.array([100.0, 100.0]), np.array([2.0, 2.0]),
                                   np.array([True, True]), premium)
    assert out.chance.tolist() == pytest.approx([1 - 0.841344746, 0.841344746], rel=1e-6)
    assert out.density.tolist() == pytest.approx([np.exp(-0.5) / np.sqrt(2 * np.pi) / 2.0] * 2, rel=1e-9)
    assert out.sd.tolist() == [2.0, 2.0]


def test_no_premium_offers_no_chance_and_a_small_one_does():
    expected, last, sd = np.array([90.0, 95.0]), np.array([100.0, 100.0]), np.array([2.0, 3.0])
    eligible = np.array([True, True])
    none = marginal.premium_outlook(expected, last, sd, eligible, QualityPremium(per_head_gbp=0.0))
    for field in (none.chance, none.density, none.at_stake_gbp):
        assert isinstance(field, np.ndarray) and field.shape == (2,) and not field.any()
    assert none.sd.tolist() == [2.0, 3.0]
    small_premium = QualityPremium(per_head_gbp=0.5, required_improvement=0.1)
    some = marginal.premium_outlook(expected, last, sd, eligible, small_premium)
    assert some.chance[0] == pytest.approx(0.5) and some.at_stake_gbp.tolist() == [0.5, 0.5]
    assert np.all(some.density > 0)


@pytest.mark.parametrize("rule", [PremiumDistribution.PER_HEAD, PremiumDistribution.CONTRIBUTION])
def test_a_premium_below_one_pound_a_head_still_has_value(rule):
    outlook = marginal.PremiumOutlook(
        chance=np.array([0.5]), density=np.array([0.2]), at_stake_gbp=np.array([0.5]), sd=np.array([1.0])
    )
    premium = QualityPremium(per_head_gbp=0.5, distribution=rule)
    value = marginal.premium_value_per_patient(
        outlook, np.array([0, 0]), np.array([1000.0, 3000.0]), np.array([4000.0]), np.array([2.0, 2.0]),
        np.array([400.0]), premium,
    )
    # per head: 0.5 x 0.2 x (list / 4000) x 2; by contribution plus 0.5 x 0.5 x 4000 x 2 / 400 = 5
    per_head = [0.05, 0.15]
    want = per_head if rule is PremiumDistribution.PER_HEAD else [v + 5.0 for v in per_head]
    assert value.tolist() == pytest.approx(want)


# ------------------------------------------------------------------------------ the premium's measure


def test_measure_slope_on_admissions_is_the_outcome_rules_own_response():
    """A unit of improvement effort over the horizon raises quality by quality_gain_per_effort; the
    outcome rule turns that into fewer admissions per 1,000, of which practices count
    ``outcome_attribution``. Checked by a finite difference of :func:`outcome_target` (settled state)."""
    model = fresh()
    ps, n, a = model.practices, model.practices.n, model.assumptions
    ps.outcome_per_1000[:n] = rules.outcome_target(ps, n, a.outcomes, model.reference_quality)
    slope = policy.measure_slope(model, PremiumTarget.OUTCOME)
    before = ps.outcome_per_1000[:n].copy()
    eps = 1e-6
    q0 = ps.quality[:n].copy()
    ps.quality[:n] = q0 + eps * marginal.quality_gain_per_effort(q0, a)
    after = rules.outcome_target(ps, n, a.outcomes, model.reference_quality)
    ps.quality[:n] = q0
    fall = a.practice.outcome_attribution * (before - after) / eps
    open_ = ps.open[:n]
    assert np.all(slope[open_] > 0)
    assert np.allclose(slope[open_], fall[open_], rtol=1e-4)


def test_measure_slope_on_prescribing_is_the_prescribing_rules_own_response():
    """With no reversion to habit, a quarter of effort e lowers unwarranted cost u by efficiency x e x u;
    over the planning horizon, that many quarters."""
    model = fresh()
    ps, n, a = model.practices, model.practices.n, model.assumptions
    slope = policy.measure_slope(model, PremiumTarget.PRESCRIBING)
    u0 = ps.unwarranted_gbp[:n].copy()
    effort0 = ps.effort_prescribing[:n].copy()
    ps.effort_prescribing[:n] = 1.0
    no_habit = a.prescribing.model_copy(update={"habit_reversion": 0.0})
    rules.update_prescribing(ps, n, no_habit)
    per_quarter = u0 - ps.unwarranted_gbp[:n]
    ps.unwarranted_gbp[:n], ps.effort_prescribing[:n] = u0, effort0
    assert np.all(slope[u0 > 0] > 0)
    assert np.allclose(slope, per_quarter * a.practice.planning_horizon_quarters)


# ------------------------------------------------------------------------------ prescribing


def test_steady_unwarranted_without_reversion():
    """No reversion to habit: with no effort the cost stays at the habit; with any effort it all goes."""
    ps = hand_state(2, habit_gbp=[12.0, 12.0], effort_prescribing=[0.0, 0.3])
    steady = rules.steady_unwarranted(ps, 2, Prescribing(habit_reversion=0.0))
    assert steady.tolist() == pytest.approx([12.0, 0.0])
    # and with reversion r and effect k: r x habit / (r + k x effort)
    p = Prescribing(habit_reversion=0.2)
    steady = rules.steady_unwarranted(ps, 2, p)
    assert steady.tolist() == pytest.approx([12.0, 0.2 * 12.0 / (0.2 + p.efficiency_effect * 0.3)])


# ------------------------------------------------------------------------------ funnel plots


def test_overdispersion_is_estimated_from_the_compared_practices_only():
    """Group 0 compares four practices with z = +-2 (phi = 4: divided by 2); its fifth row, outside the
    comparison, is an extreme 10 that must not count. Group 1 (phi 0.25) is not overdispersed and is
    left alone; group 2 has no rows."""
    z = np.array([2.0, -2.0, 2.0, -2.0, 10.0, 0.5, -0.5])
    group = np.array([0, 0, 0, 0, 0, 1, 1])
    mask = np.array([True, True, True, True, False, True, True])
    adjusted = cons_rules.overdispersion_adjust(z, group, mask, 3)
    assert adjusted[:4].tolist() == pytest.approx([1.0, -1.0, 1.0, -1.0])
    assert adjusted[5:].tolist() == pytest.approx([0.5, -0.5])


# ------------------------------------------------------------------------------ agent views


def test_a_leads_members_are_its_consortiums_open_practices():
    model = fresh()
    ps, n = model.practices, model.practices.n
    lead = next(iter(model.agents_by_type[ConsortiumLead]))
    rows = sorted(p.row for p in lead.members())
    want = np.flatnonzero((ps.consortium[:n] == lead.row) & ps.open[:n]).tolist()
    assert rows == want and len(want) >= 2
    closed = want[0]
    model.practices.open[closed] = False
    assert closed not in {p.row for p in lead.members()}


def test_a_practice_agent_reads_and_writes_its_own_row():
    model = fresh()
    ps = model.practices
    agent = next(p for p in model.agents_by_type[Practice] if p.row == 3)
    assert agent.list_size == ps.list_size[3] and agent.reserves_gbp == ps.reserves_gbp[3]
    agent.motivation = 0.123
    assert ps.motivation[3] == 0.123 and ps.motivation[2] != 0.123


# ------------------------------------------------------------------------------ market


def test_a_new_provider_starts_at_the_list_weighted_quality_of_the_practices_staying():
    model = fresh()
    ps, n = model.practices, model.practices.n
    cons = ps.consortium[:n]
    members = np.flatnonzero((cons == 0) & ps.open[:n])
    assert members.size >= 3
    a, b, c = members[:3]
    ps.list_size[members] = 0.0
    ps.list_size[[a, b, c]] = [1000.0, 3000.0, 6000.0]
    ps.quality[[a, b, c]] = [0.5, 0.7, 0.9]
    others = members[3:]
    ps.open[others] = False  # closed practices never count, whatever list they still hold
    ps.list_size[others] = 5000.0
    ps.quality[others] = 0.1
    got = market.mean_quality_staying(model, np.array([c]))
    # c leaves: (1000 x 0.5 + 3000 x 0.7) / 4000 = 0.65
    assert got[0] == pytest.approx(0.65, rel=1e-12)
    staying = ps.open[:n] & (cons != 0)
    national = float((ps.list_size[:n] * ps.quality[:n])[staying].sum() / ps.list_size[:n][staying].sum())
    everyone = market.mean_quality_staying(model, np.array([a, b, c]))
    assert everyone[0] == pytest.approx(national, rel=1e-12)  # no one staying: the national mean
    for k in range(1, model.n_consortia):
        mine = staying & (cons == k)
        want = float((ps.list_size[:n] * ps.quality[:n])[mine].sum() / ps.list_size[:n][mine].sum())
        assert everyone[k] == pytest.approx(want, rel=1e-12)


# ------------------------------------------------------------------------------ stocks and admissions


def test_quality_stays_between_zero_and_one_whatever_the_shock():
    a = Assumptions()
    ps = hand_state(3, quality=[0.995, 0.005, 0.5], quality_baseline=[0.9, 0.0, 0.5], effort_improve=[1.0, 0.0, 0.0])
    rules.update_quality(ps, 3, a, np.array([50.0, -50.0, 0.0]))  # shocks of 50 SD: far past either bound
    assert ps.quality[:3].tolist() == [1.0, 0.0, 0.5]
    ps.quality[:3] = [0.5, 0.5, 0.5]
    ps.quality_baseline[:3] = 0.5
    ps.effort_improve[:3] = 0.0
    rules.update_quality(ps, 3, a, np.array([1.0, -1.0, 0.0]))  # no gain: quality moves by the shock alone
    sd = a.practice.quality_shock_sd
    assert ps.quality[:3].tolist() == pytest.approx([0.5 + sd, 0.5 - sd, 0.5])


@pytest.mark.parametrize(("trend", "start", "bound"), [(0.04, 0.999, 1.0), (-0.04, 0.001, 0.0)])
def test_the_secular_trend_adds_a_quarter_of_its_yearly_rate_and_quality_is_clipped_before_it_moves(
    trend, start, bound
):
    """A quarter of the yearly trend is added to quality and to its floor; quality is held in [0, 1]
    before the quarter's gain is applied (the gain of a practice at full quality is only its erosion)."""
    from sim.processes import effort

    model = fresh(f"assumptions.context.secular_quality_trend_per_year={trend}",
                  "assumptions.practice.quality_shock_sd=0.0")
    ps, n, b = model.practices, model.practices.n, model.assumptions.practice
    ps.quality[0] = start
    floor = ps.quality_baseline[:n].copy()
    effort.choose_and_update(model, policy.quarter_signals(model, 0.0))
    assert np.allclose(ps.quality_baseline[:n], floor + trend / 4)
    e, q_floor = ps.effort_improve[0], ps.quality_baseline[0]
    want = bound + b.improvement_efficiency * e * (1.0 - bound) - b.quality_decay * (bound - q_floor)
    assert ps.quality[0] == pytest.approx(min(max(want, 0.0), 1.0), rel=1e-12)


def test_a_quarters_admissions_are_the_rate_times_the_list_and_shift_the_history(monkeypatch):
    from sim.processes import effort

    model = fresh()
    ps, n = model.practices, model.practices.n
    monkeypatch.setattr(model, "streams", MeanPoisson(model.streams, "effort.admissions"))
    ps.outcome_per_1000[:3] = [20.0, 40.0, 40.0]
    ps.list_size[:3] = [4000.0, 2000.0, 5000.0]
    ps.open[2] = False
    ps.admissions_last4[:, :n] = np.arange(4.0)[:, None] + 10.0  # quarters back 0..3 hold 10, 11, 12, 13
    year = ps.admissions_year[:n].copy()
    counts = effort.observe_admissions(model)
    # 20 per 1,000 a year on 4,000 patients: 80 a year, 20 a quarter; 40 x 2 / 4 = 20; a closed list none
    assert counts[:3].tolist() == pytest.approx([20.0, 20.0, 0.0])
    assert ps.admissions_last4[:, 0].tolist() == pytest.approx([20.0, 10.0, 11.0, 12.0])
    assert ps.admissions_last4[:, 2].tolist() == pytest.approx([0.0, 10.0, 11.0, 12.0])
    assert np.allclose(ps.admissions_year[:n], year + counts)


# ------------------------------------------------------------------------------ new providers


def test_a_new_provider_is_a_new_organisation_in_a_like_area():
    """Its traits come from its own rows of the entrant draws (autonomy, motivation, capacity, in that
    order); it copies the area (case mix) and the effort split, scaled to its capacity; its fixed costs
    and admission history are scaled to its list; it starts with no reserves and no QOF income."""
    model = fresh()
    ps, n, b = model.practices, model.practices.n, model.assumptions.practice
    like = int(np.flatnonzero(ps.open[:n])[0])
    ps.improvement_capacity[like] = 0.5
    ps.effort_improve[like], ps.effort_record[like], ps.effort_prescribing[like] = 0.2, 0.1, 0.05
    ps.list_size[like], ps.fixed_cost_gbp[like] = 8000.0, 80_000.0
    ps.outcome_per_1000[like] = 24.0
    z = np.zeros((3, ps.capacity))
    z[0], z[1], z[2] = 1.0, -1.0, 0.0  # autonomy one SD up, motivation one SD down, capacity at the mean
    before = model.flows["new_entrants"]
    rows = market.open_entrants(model, np.array([ps.consortium[like]]), np.array([2000.0]), np.array([like]),
                                np.array([0.7]), z)
    (row,) = rows
    assert row == n and ps.open[row] and ps.entrant[row] and ps.list_size[row] == 2000.0
    assert ps.autonomy[row] == pytest.approx(b.autonomy_mean + b.autonomy_sd)
    assert ps.motivation[row] == pytest.approx(b.motivation_mean - b.motivation_sd)
    assert ps.improvement_capacity[row] == pytest.approx(b.capacity_mean)
    scale = b.capacity_mean / 0.5
    assert [ps.effort_improve[row], ps.effort_record[row], ps.effort_prescribing[row]] == pytest.approx(
        [0.2 * scale, 0.1 * scale, 0.05 * scale])
    assert ps.deprivation[row] == ps.deprivation[like] and ps.quality[row] == 0.7
    assert ps.fixed_cost_gbp[row] == pytest.approx(20_000.0)  # 10 a patient, as where it serves
    assert ps.admissions_last4[:, row].tolist() == pytest.approx([24.0 * 2000 / 4000] * 4)  # 12 a quarter
    assert ps.reserves_gbp[row] == 0.0 and ps.qof_income_last_gbp[row] == 0.0
    assert model.flows["new_entrants"] == before + 1
    assert any(p.row == row for p in model.agents_by_type[Practice])
    market.open_entrants(model, np.array([ps.consortium[like]]), np.array([1000.0]), np.array([like]),
                         np.array([0.7]), z)
    assert model.flows["new_entrants"] == before + 2  # the year's entrants add up


def _two_members(model: CommissioningModel) -> tuple[int, int, int]:
    ps, n = model.practices, model.practices.n
    cons = ps.consortium[:n]
    sizes = np.bincount(cons[ps.open[:n]], minlength=model.n_consortia)
    k = int(np.flatnonzero(sizes >= 3)[0])
    first, second = np.flatnonzero((cons == k) & ps.open[:n])[:2]
    return k, int(first), int(second)


def test_a_terminated_list_goes_to_a_new_provider_or_to_the_neighbours(monkeypatch):
    """Two terminated contracts in one consortium: the board replaces the first (a new provider takes its
    whole list) and not the second (its patients go to the consortium's other practices). Both close and
    leave the agent set; no patient is lost or counted twice."""
    model = fresh()
    ps, n = model.practices, model.practices.n
    views = model.agents_by_type[Practice]  # materialise the agent views
    assert len(views) == ps.open[:n].sum()
    k, replaced, dispersed = _two_members(model)
    monkeypatch.setattr(model.board, "replaces_terminated", lambda uniform: np.arange(uniform.size) == 0)
    cons = ps.consortium[: ps.capacity]
    before = float(ps.list_size[: ps.n][cons[: ps.n] == k].sum())
    taken, spread = float(ps.list_size[replaced]), float(ps.list_size[dispersed])
    other = int(np.flatnonzero((cons[:n] == k) & ps.open[:n])[2])
    other_before = float(ps.list_size[other])
    entrant_z = np.zeros((3, ps.capacity))
    market.replace_or_disperse(model, np.array([replaced, dispersed]), entrant_z)
    assert ps.n == n + 1
    new = n
    # the new provider takes the whole list, then receives its share of the dispersed one like the others
    growth = ps.list_size[other] / other_before - 1.0
    assert growth > 0
    assert ps.open[new] and ps.consortium[new] == k and ps.list_size[new] == pytest.approx(taken * (1 + growth))
    assert spread == pytest.approx(growth * (before - spread))  # receivers: all open, the new one too
    for row in (replaced, dispersed):
        assert not ps.open[row] and ps.list_size[row] == 0.0
    lists = ps.list_size[: ps.n]
    assert float(lists[ps.consortium[: ps.n] == k].sum()) == pytest.approx(before, rel=1e-12)
    rows = {p.row for p in model.agents_by_type[Practice]}
    assert replaced not in rows and dispersed not in rows and new in rows


def test_a_terminated_list_disperses_when_no_row_is_left_for_a_new_provider(monkeypatch):
    model = fresh()
    ps = model.practices
    ps.add_rows(ps.capacity - ps.n)  # every spare row taken (closed, empty)
    n = ps.n
    k, row, _ = _two_members(model)
    monkeypatch.setattr(model.board, "replaces_terminated", lambda uniform: np.ones(uniform.size, dtype=bool))
    before = float(ps.list_size[:n][ps.consortium[:n] == k].sum())
    market.replace_or_disperse(model, np.array([row]), np.zeros((3, ps.capacity)))
    assert ps.n == n and not ps.open[row] and ps.list_size[row] == 0.0
    assert float(ps.list_size[:n][ps.consortium[:n] == k].sum()) == pytest.approx(before, rel=1e-12)


class _FixedUniform:
    """Streams whose uniform draws at the given sites are fixed arrays."""

    def __init__(self, real, **fixed) -> None:
        self.real = real
        self.fixed = {site.replace("__", "."): values for site, values in fixed.items()}

    def __getitem__(self, site):
        return self.real[site]

    def __getattr__(self, name):
        return getattr(self.real, name)

    def uniform(self, site, size):
        if site in self.fixed:
            return np.resize(np.asarray(self.fixed[site], dtype=float), size)
        return self.real.uniform(site, size)


@pytest.mark.parametrize("partner_is_row_0", [False, True])
def test_a_merging_practice_joins_the_partner_with_the_highest_draw(monkeypatch, partner_is_row_0):
    """One practice picked to merge joins the open, non-merging practice of its consortium with the highest
    partner draw (row 0 too), which takes its list, fixed costs and reserves; quality becomes the
    list-weighted mean of the two. Nothing is lost: lists, costs and reserves are conserved."""
    model = fresh()
    ps, n = model.practices, model.practices.n
    model.agents_by_type[Practice]  # materialise the agent views
    k = int(ps.consortium[0])
    members = np.flatnonzero((ps.consortium[:n] == k) & ps.open[:n])
    assert members[0] == 0 and members.size >= 3
    row = int(members[1])
    partner = 0 if partner_is_row_0 else int(members[2])
    v = np.full(ps.capacity, 0.5)
    v[partner] = 0.9
    v[row] = 0.99  # the merging practice's own draw does not count
    monkeypatch.setattr(model, "streams", _FixedUniform(model.streams, market__merger_partner=v))
    monkeypatch.setattr(market, "chosen_by_size", lambda model, uniform, rate: np.array([row]))
    ps.list_size[[row, partner]] = [1000.0, 3000.0]
    ps.quality[[row, partner]] = [0.5, 0.9]
    ps.fixed_cost_gbp[[row, partner]] = [10_000.0, 30_000.0]
    ps.reserves_gbp[[row, partner]] = [5_000.0, -2_000.0]
    totals = {c: float(getattr(ps, c)[:n].sum()) for c in ("list_size", "fixed_cost_gbp", "reserves_gbp")}
    market.merge(model)
    assert not ps.open[row] and ps.open[partner]
    assert model.flows["mergers"] == 1.0
    assert ps.list_size[partner] == 4000.0 and ps.fixed_cost_gbp[partner] == 40_000.0
    assert ps.reserves_gbp[partner] == 3_000.0
    assert ps.quality[partner] == pytest.approx((1000 * 0.5 + 3000 * 0.9) / 4000)
    for column, total in totals.items():
        assert getattr(ps, column)[row] == 0.0, column  # nothing left behind in the closed practice
        assert float(getattr(ps, column)[:n].sum()) == pytest.approx(total, rel=1e-12), column
    assert row not in {p.row for p in model.agents_by_type[Practice]}


def test_small_practices_are_picked_more_often_at_the_yearly_rate_on_average():
    """A quarter of the lists at 1,000 and the rest at 4,000: the chance is in proportion to the mean list
    over the practice's own (about 3,250 / 1,000 against 3,250 / 4,000, four times as high), scaled so
    that the average chance is the yearly rate."""
    model = fresh()
    ps, n = model.practices, model.practices.n
    open_rows = np.flatnonzero(ps.open[:n])
    small_rows = open_rows[::4]
    ps.list_size[open_rows] = 4000.0
    ps.list_size[small_rows] = 1000.0
    is_small = np.isin(np.arange(n), small_rows)
    rate, reps = 0.1, 400
    rng = np.random.default_rng(3)
    picked_small = picked_large = 0
    for _ in range(reps):
        rows = market.chosen_by_size(model, rng.random(n), rate)
        picked_small += int(is_small[rows].sum())
        picked_large += int((~is_small[rows]).sum())
    n_small, n_large = small_rows.size, open_rows.size - small_rows.size
    m = (n_small * 1000.0 + n_large * 4000.0) / open_rows.size  # about 3,250
    s_small, s_large = m / 1000.0, m / 4000.0
    mean_s = (n_small * s_small + n_large * s_large) / open_rows.size
    assert picked_small / (reps * n_small) == pytest.approx(rate * s_small / mean_s, rel=0.1)
    assert picked_large / (reps * n_large) == pytest.approx(rate * s_large / mean_s, rel=0.1)
    assert (picked_small + picked_large) / (reps * open_rows.size) == pytest.approx(rate, rel=0.1)


def test_the_yearly_delegation_review_assesses_each_consortium_with_its_own_error():
    """Every consortium exactly at the authorisation threshold, assessed with error: a single shared
    error would authorise all or none; independent errors split them."""
    model = fresh("levers.delegation.mode=conditional", "levers.delegation.assessment_noise_sd=0.1",
                  "levers.delegation.withdraw_on_deficit=false", scale=0.2)
    cs = model.consortia
    assert cs.count >= 8
    threshold = model.levers.delegation.authorisation_threshold
    cs.skill[:] = threshold
    cs.willingness[:] = threshold
    market.year_end(model)
    assert 0 < cs.delegated.sum() < cs.count


def test_retirements_add_to_the_quarters_closures_and_leave_the_agent_set(monkeypatch):
    model = fresh()
    ps, n = model.practices, model.practices.n
    model.agents_by_type[Practice]  # materialise the agent views
    k, row, _ = _two_members(model)
    monkeypatch.setattr(market, "chosen_by_size", lambda model, uniform, rate: np.array([row]))
    before = float(ps.list_size[:n][ps.consortium[:n] == k].sum())
    model.flows["closures"] = 2.0  # closed for losses earlier in the quarter
    market.retire(model)
    assert model.flows["closures"] == 3.0
    assert not ps.open[row] and ps.list_size[row] == 0.0
    assert float(ps.list_size[:n][ps.consortium[:n] == k].sum()) == pytest.approx(before, rel=1e-12)
    assert row not in {p.row for p in model.agents_by_type[Practice]}


def test_population_growth_keeps_lists_where_choice_keeps_them_and_recounts_consortia():
    """Lists grow by the year's rate and choice weights with them, so every weight is still the one that
    keeps today's list at today's quality; a consortium's population counts its open practices only."""
    model = fresh("assumptions.context.population_growth_per_year=0.02")
    ps, n = model.practices, model.practices.n
    rows = np.arange(n)
    sensitivity = model.levers.patient_choice.quality_sensitivity
    ps.open[0] = False
    ps.list_size[0] = 0.0
    rules.settle_choice_weights(ps, n, model.n_consortia, sensitivity, rows)
    lists = ps.list_size[:n].copy()
    market.grow_population(model)
    assert np.allclose(ps.list_size[:n], lists * 1.02)
    grown = ps.choice_weight[:n].copy()
    rules.settle_choice_weights(ps, n, model.n_consortia, sensitivity, rows)
    assert np.allclose(grown[1:], ps.choice_weight[1:n])
    open_lists = np.where(ps.open[:n], ps.list_size[:n], 0.0)
    assert model.consortia.population.tolist() == pytest.approx(
        np.bincount(ps.consortium[:n], weights=open_lists).tolist(), rel=1e-12)  # a closed list counts no one


def test_patients_are_conserved_where_no_practice_attracts_them():
    """A consortium whose practices all have zero choice weight keeps its patients where they are."""
    ps = hand_state(4, consortium=[0, 0, 1, 1], quality=[0.5, 0.7, 0.5, 0.7],
                    choice_weight=[0.0, 0.0, 3000.0, 5000.0], list_size=[4000.0, 6000.0, 3000.0, 5000.0])
    change = rules.patient_choice(ps, 4, 2, switching_rate=0.1, sensitivity=0.5)
    assert change[:2].tolist() == [0.0, 0.0]
    assert ps.list_size[:2].tolist() == [4000.0, 6000.0]
    assert ps.list_size[2:4].sum() == pytest.approx(8000.0)


def test_new_providers_enter_consortia_with_two_open_practices_counted_among_the_open(monkeypatch):
    """Entry needs at least two open practices (it takes patients from the below-median ones); the
    board's chance of procuring one grows with the consortium's open practices, closed ones not counted."""
    model = fresh()
    ps, n = model.practices, model.practices.n
    cons = ps.consortium[:n]
    sizes = np.bincount(cons[ps.open[:n]], minlength=model.n_consortia)
    two, one = (int(k) for k in np.flatnonzero(sizes >= 3)[:2])
    for k, keep in ((two, 2), (one, 1)):
        ps.open[np.flatnonzero((cons == k) & ps.open[:n])[keep:]] = False
    seen = {}

    def wanted(uniform, per_cons):
        seen["per_cons"] = per_cons.copy()
        return np.where(np.isin(np.arange(per_cons.size), [two, one]), 1, 0)

    monkeypatch.setattr(model.board, "entrants_wanted", wanted)
    market.procure_entrants(model, np.zeros((3, ps.capacity)))
    assert seen["per_cons"][[two, one]].tolist() == [2.0, 1.0]
    assert np.array_equal(seen["per_cons"], np.bincount(cons[ps.open[:n]], minlength=model.n_consortia))
    new = np.arange(n, ps.n)
    assert ps.consortium[new].tolist() == [two]


def test_a_new_provider_takes_its_share_of_patients_from_the_below_median_practices_by_hand(monkeypatch):
    """Five open practices of qualities 0.1 to 0.5: the three at or below the median (0.3) give up patients
    in proportion to their lists, 20% of the consortium's 20,000 patients in all (``entrant_list_share``),
    but never more than half a list; each keeps its choice weight per patient. The entrant serves the area
    of the lowest-row donor and starts at the consortium's list-weighted quality."""
    model = fresh("levers.market_entry.entrant_list_share=0.2")
    ps, cs, n = model.practices, model.consortia, model.practices.n
    cons = ps.consortium[:n]
    k = int(np.flatnonzero(np.bincount(cons[ps.open[:n]], minlength=cs.count) >= 5)[0])
    members = np.flatnonzero((cons == k) & ps.open[:n])
    ps.open[members[5:]] = False
    rows = members[:5]
    ps.list_size[rows] = [6000.0, 2000.0, 2000.0, 4000.0, 6000.0]
    ps.quality[rows] = [0.3, 0.1, 0.5, 0.2, 0.4]  # donors: rows[0] (the median), rows[1], rows[3]
    ps.choice_weight[rows] = 2.0 * ps.list_size[rows]
    ps.deprivation[rows] = [0.11, 0.22, 0.33, 0.44, 0.55]
    cs.population[k] = 20_000.0
    mean_quality = (6000 * 0.3 + 2000 * 0.1 + 2000 * 0.5 + 4000 * 0.2 + 6000 * 0.4) / 20_000
    monkeypatch.setattr(model.board, "entrants_wanted",
                        lambda u, per_cons: (np.arange(cs.count) == k).astype(np.int64))
    market.procure_entrants(model, np.zeros((3, ps.capacity)))
    # 4,000 patients from donors of 6,000, 2,000 and 4,000 (12,000): 2,000, 667 (capped at half: 1,000
    # is not reached), 1,333
    taken = np.array([2000.0, 4000.0 / 6, 4000.0 / 3])
    donors = rows[[0, 1, 3]]
    assert ps.list_size[donors].tolist() == pytest.approx((np.array([6000.0, 2000.0, 4000.0]) - taken).tolist())
    assert ps.list_size[rows[[2, 4]]].tolist() == [2000.0, 6000.0]
    assert ps.choice_weight[rows].tolist() == pytest.approx((2.0 * ps.list_size[rows]).tolist())
    (new,) = np.arange(n, ps.n)
    assert ps.consortium[new] == k and ps.list_size[new] == pytest.approx(4000.0)
    assert ps.deprivation[new] == 0.11  # the lowest row among the donors
    assert ps.quality[new] == pytest.approx(mean_quality)


def test_a_new_provider_takes_at_most_half_a_donors_list(monkeypatch):
    model = fresh("levers.market_entry.entrant_list_share=0.2")
    ps, cs, n = model.practices, model.consortia, model.practices.n
    cons = ps.consortium[:n]
    k = int(np.flatnonzero(np.bincount(cons[ps.open[:n]], minlength=cs.count) >= 2)[0])
    members = np.flatnonzero((cons == k) & ps.open[:n])
    ps.open[members[2:]] = False
    ps.list_size[members[:2]] = [1000.0, 9000.0]
    ps.quality[members[:2]] = [0.2, 0.8]  # the median of two is 0.5: only the first gives patients
    cs.population[k] = 10_000.0  # 2,000 wanted from a list of 1,000: half of it, 500, is taken
    monkeypatch.setattr(model.board, "entrants_wanted",
                        lambda u, per_cons: (np.arange(cs.count) == k).astype(np.int64))
    market.procure_entrants(model, np.zeros((3, ps.capacity)))
    assert ps.list_size[members[0]] == pytest.approx(500.0) and ps.list_size[n] == pytest.approx(500.0)


def test_no_new_provider_without_a_spare_row(monkeypatch):
    model = fresh()
    ps, cs = model.practices, model.consortia
    ps.add_rows(ps.capacity - ps.n)
    n = ps.n
    lists = ps.list_size[:n].copy()
    monkeypatch.setattr(model.board, "entrants_wanted", lambda u, per_cons: np.ones(cs.count, dtype=np.int64))
    market.procure_entrants(model, np.zeros((3, ps.capacity)))
    assert ps.n == n and np.array_equal(ps.list_size[:n], lists)


def test_a_premium_below_one_pound_a_head_can_be_earned_and_a_tiny_improvement_counts():
    premium = QualityPremium(per_head_gbp=0.5, required_improvement=0.1)
    earned = incentives.premium_earned(np.array([80.0, 95.0]), np.array([100.0, 100.0]), np.array([0.0, 0.0]),
                                       premium)
    assert earned.tolist() == [True, False]
    # by contribution: a practice whose improvement times list is below one patient still takes it all
    out = incentives.distribute_premium(np.array([100.0]), np.array([0, 0]), np.array([1000.0, 1000.0]),
                                        np.array([1e-5, -1.0]), PremiumDistribution.CONTRIBUTION)
    assert out.tolist() == pytest.approx([100.0, 0.0])


def test_the_last_open_practice_of_a_consortium_never_closes_alone():
    """One closure asked for, of a consortium's last open practice (the others closed already): refused."""
    model = fresh()
    ps, n = model.practices, model.practices.n
    k, last, other = _two_members(model)
    members = np.flatnonzero((ps.consortium[:n] == k) & ps.open[:n])
    ps.open[members[members != last]] = False
    assert market.keep_one_per_consortium(model, np.array([last])).size == 0
    ps.open[other] = True
    assert market.keep_one_per_consortium(model, np.array([last])).tolist() == [last]


def test_insolvent_closures_add_to_the_quarters_closures_and_leave_the_agent_set():
    model = fresh()
    ps, n = model.practices, model.practices.n
    model.agents_by_type[Practice]  # materialise the agent views
    _, row, _ = _two_members(model)
    ps.negative_quarters[:n] = 0
    ps.negative_quarters[row] = model.assumptions.practice.closure_after_quarters
    model.flows["closures"] = 1.0  # a retirement earlier in the quarter
    market.close_insolvent(model)
    assert model.flows["closures"] == 2.0 and not ps.open[row]
    assert row not in {p.row for p in model.agents_by_type[Practice]}


def test_patients_sent_by_a_closure_stay_where_they_were_sent():
    """The receivers' choice weights grow with their lists, so the weight per patient is unchanged and
    patient choice does not send the patients back."""
    ps = hand_state(4, consortium=[0, 0, 0, 1], list_size=[2000.0, 3000.0, 5000.0, 4000.0],
                    choice_weight=[1000.0, 6000.0, 5000.0, 4000.0])
    rules.redistribute_list(ps, 4, np.array([0]))
    assert ps.list_size[:4].tolist() == pytest.approx([0.0, 3750.0, 6250.0, 4000.0])
    assert ps.choice_weight[1:4].tolist() == pytest.approx([7500.0, 6250.0, 4000.0])


def test_the_untended_baseline_makes_todays_quality_a_steady_state():
    a = Assumptions()
    ps = hand_state(2, quality=[0.6, 0.9], effort_improve=[0.2, 0.4])
    ps.quality_baseline[:2] = rules.equilibrium_baseline(ps, 2, a)
    assert np.allclose(rules.quality_gain(ps, 2, a), 0.0)
    assert np.all(ps.quality_baseline[:2] < ps.quality[:2])  # the floor is below today's quality
    no_decay = a.model_copy(update={"practice": a.practice.model_copy(update={"quality_decay": 0.0})})
    assert rules.equilibrium_baseline(ps, 2, no_decay).tolist() == [0.6, 0.9]  # no erosion: no floor to find


# ------------------------------------------------------------------------------ practice rules


def test_outcome_weight_phased_in_over_half_a_year():
    qof = QOF(outcome_weight=0.4, phase_in_years=0.5)
    assert incentives.outcome_weight_at(qof, 0.25) == pytest.approx(0.2)
    assert incentives.outcome_weight_at(qof, 2.0) == pytest.approx(0.4)
    assert incentives.outcome_weight_at(QOF(outcome_weight=0.4, phase_in_years=0.0), 0.0) == 0.4


def test_prescribing_effort_moves_a_share_of_the_way_from_where_it_is():
    ps = hand_state(1, effort_improve=0.2, effort_record=0.4, effort_prescribing=0.3)
    rules.adjust_effort(ps, 1, (np.array([0.2]), np.array([0.4]), np.array([0.1])), 0.25)
    assert ps.effort_prescribing[0] == pytest.approx(0.25)  # 0.3 + 0.25 x (0.1 - 0.3)
    assert ps.effort_improve[0] == pytest.approx(0.2) and ps.effort_record[0] == pytest.approx(0.4)


def test_recording_stock_by_hand():
    """Growth ``efficiency x effort x (1 - stock)`` against decay ``decay x stock``."""
    r = Assumptions().recording
    ps = hand_state(2, recording=[0.5, 0.2], effort_record=[0.2, 0.0], quality=0.6, exception_propensity=0.05)
    rules.update_recording(ps, 2, r)
    want = [0.5 + r.recording_efficiency * 0.2 * 0.5 - r.recording_decay * 0.5, 0.2 - r.recording_decay * 0.2]
    assert ps.recording[:2].tolist() == pytest.approx(want)


def test_recorded_slopes_are_the_derivatives_of_recorded_achievement():
    """Finite differences of :func:`refresh_recorded` in quality and in the recording stock; zero for a
    practice already recorded at 100%."""
    r = Assumptions().recording
    ps = hand_state(3, quality=[0.6, 0.8, 0.99], recording=[0.3, 0.6, 0.9], exception_propensity=[0.05, 0.1, 0.1])
    rules.refresh_recorded(ps, 3, r)
    assert ps.recorded_achievement[2] == 1.0 and ps.recorded_achievement[0] < 1.0
    by_quality, by_recording = rules.recorded_slopes(ps, 3, r)
    base = ps.recorded_achievement[:2].copy()
    h = 1e-7
    ps.quality[:2] += h
    rules.refresh_recorded(ps, 3, r)
    dq = (ps.recorded_achievement[:2] - base) / h
    ps.quality[:2] -= h
    ps.recording[:2] += h
    rules.refresh_recorded(ps, 3, r)
    drec = (ps.recorded_achievement[:2] - base) / h
    assert np.allclose(by_quality[:2], dq, rtol=1e-5)
    assert np.allclose(by_recording[:2], drec, rtol=1e-5)
    assert by_quality[2] == 0.0 and by_recording[2] == 0.0


def test_pressure_of_a_one_quarter_duration_is_gone_after_a_quarter():
    ps = hand_state(1, remedial=1.0, pressure_quality=1.0, pressure_prescribing=0.5)
    rules.decay_pressure(ps, 1, 1.0)
    assert [ps.remedial[0], ps.pressure_quality[0], ps.pressure_prescribing[0]] == [0.0, 0.0, 0.0]
    ps.remedial[0] = 1.0
    rules.decay_pressure(ps, 1, 1.5)  # mean life of 1.5 quarters: a third is kept
    assert ps.remedial[0] == pytest.approx(1.0 / 3.0)


def test_recording_stock_and_recorded_achievement_stay_between_zero_and_one():
    r = Assumptions().recording
    ps = hand_state(2, recording=[0.9, 0.0], effort_record=[5.0, 0.0], quality=[0.9, 0.0],
                    exception_propensity=[0.0, 0.3])
    rules.update_recording(ps, 2, r)
    assert ps.recording[0] == 1.0  # five units of effort would overshoot a full stock
    # no care and a high exception propensity: fewer patients meet the indicators than none at all
    assert ps.recorded_achievement[1] == 0.0


def test_expected_admissions_are_the_national_rate_at_average_deprivation_and_scale_with_frailty():
    o = Assumptions().outcomes
    ps = hand_state(3, deprivation=[0.5, 0.7, 0.5], quality=0.7, frailty=[1.0, 1.0, 1.2])
    expected = rules.expected_outcome(ps, 3, o)
    assert expected.tolist() == pytest.approx(
        [o.acsc_per_1000, o.acsc_per_1000 * np.exp(o.deprivation_gradient * 0.2), o.acsc_per_1000])
    target = rules.outcome_target(ps, 3, o, reference_quality=0.7)
    assert target.tolist() == pytest.approx([expected[0], expected[1], 1.2 * expected[2]])


def test_unwarranted_prescribing_falls_to_zero_and_no_further():
    p = Prescribing(habit_reversion=0.0)
    ps = hand_state(2, unwarranted_gbp=[0.5, 10.0], effort_prescribing=[1.0, 0.0], habit_gbp=[0.5, 10.0])
    rules.update_prescribing(ps, 2, p.model_copy(update={"efficiency_effect": 0.4}))
    assert ps.unwarranted_gbp[:2].tolist() == pytest.approx([0.3, 10.0])  # below a pound is allowed
    rules.update_prescribing(ps, 2, p.model_copy(update={"efficiency_effect": 5.0}))
    assert ps.unwarranted_gbp[:2].tolist() == [0.0, 10.0]  # an effect past the whole cost stops at zero


def test_effort_targets_with_every_term_by_hand():
    """Every attraction at once, with literal numbers. Attractions: improvement m + paid x 10 + receptive x 1
    + remedial x 1 + 0.1; recording paid x 4; prescribing 0.15 + paid x 2 + receptive x 0.5 + 0.2 + 0.05,
    where paid = responsiveness x money orientation (0.5) / money scale and receptive = peer sensitivity x
    (1 - autonomy 0.3). Each target is its attraction over (1 + their total) times capacity 0.5."""
    a = Assumptions()
    b = a.practice
    ps = hand_state(1, motivation=0.4, money_orientation=0.5, autonomy=0.3, pressure_quality=1.0,
                    pressure_prescribing=0.5, remedial=1.0, improvement_capacity=0.5)
    sig = rules.Signals(improve_gbp=np.array([10.0]), record_gbp=np.array([4.0]), prescribe_gbp=np.array([2.0]),
                        premium_peer_improve=np.array([0.1]), premium_peer_prescribe=np.array([0.05]),
                        budget_pressure=np.array([0.2]))
    paid = b.incentive_responsiveness * 0.5 / b.money_scale_gbp
    receptive = b.peer_pressure_sensitivity * 0.7
    improve = 0.4 + paid * 10 + receptive + b.remedial_sensitivity + 0.1
    record = paid * 4
    prescribe = 0.15 + paid * 2 + receptive * 0.5 + 0.2 + 0.05
    total = 1.0 + improve + record + prescribe
    got = rules.effort_targets(ps, 1, sig, a)
    assert [g[0] for g in got] == pytest.approx([0.5 * improve / total, 0.5 * record / total,
                                                 0.5 * prescribe / total])
    # a fully autonomous practice feels no peer pressure at all
    ps.autonomy[0] = 1.0
    alone = rules.effort_targets(ps, 1, sig, a)
    ps.pressure_quality[0] = ps.pressure_prescribing[0] = 0.0
    assert [g[0] for g in alone] == pytest.approx([g[0] for g in rules.effort_targets(ps, 1, sig, a)])


def test_a_quality_rise_shared_by_a_consortium_changes_no_ones_standing():
    """Patient choice compares each practice with its consortium's list-weighted mean: when every open
    practice improves alike, a practice whose weight is settled afterwards (a new provider, a merger) is
    where the others are, and choice moves no one. A closed practice's quality does not count."""
    ps = hand_state(5, consortium=[0, 0, 0, 0, 1], quality=[0.5, 0.6, 0.8, 0.3, 0.7],
                    list_size=[3000.0, 5000.0, 4000.0, 0.0, 6000.0])
    ps.open[3] = False
    rules.settle_choice_weights(ps, 5, 2, 0.5, np.arange(5))
    ps.quality[[0, 1, 2, 4]] += 0.1
    rules.settle_choice_weights(ps, 5, 2, 0.5, np.array([2]))
    change = rules.patient_choice(ps, 5, 2, switching_rate=0.1, sensitivity=0.5)
    assert np.allclose(change[:5], 0.0, atol=1e-9)


def test_quality_z_is_against_the_consortium_mean_in_sds_of_all_open_practices():
    ps = hand_state(5, consortium=[0, 0, 1, 1, 1], quality=[0.4, 0.6, 0.5, 0.9, 0.1],
                    list_size=[1000.0, 3000.0, 2000.0, 2000.0, 9000.0])
    ps.open[4] = False  # closed: in neither the mean nor the SD
    sd = float(np.std([0.4, 0.6, 0.5, 0.9]))
    z = rules.quality_z(ps, 5, 2)
    means = [0.55, 0.55, 0.7, 0.7]  # (1000 x 0.4 + 3000 x 0.6) / 4000; (0.5 + 0.9) / 2
    assert z[:4].tolist() == pytest.approx([(q - m) / sd for q, m in zip([0.4, 0.6, 0.5, 0.9], means, strict=True)])
