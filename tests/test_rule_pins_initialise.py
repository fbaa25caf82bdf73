"""Pins for the mutants mutmut found alive in the start (``sim/processes/initialise.py``, issue 17, third run).

Why: ``mutmut run`` over the initialisation (with the start cache of main at 46b4975) left survivors that
change the starting state: reserves at the end of the baseline year, today's prescribing cost kept at the
start (the warranted cost and the habit behind the drawn cost), quality steady for the spin-up's mean
effort, six year ends of notices in the spin-up, the admission history at the latent rate, the settled
effort a fixed point, a second start restored from the cache, each consortium's own assessment error,
a cost-neutral single rate, the premium's baseline at the latent rate, no outcome points before the
phase-in, no QOF income where the start has no QOF. Each test checks what the start promises (a hand
calculation with literal numbers, a steady state, or an invariant), not how it gets there.
docs/testing.md lists the mutants and the survivors left.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import MeanPoisson, fresh

from sim.agents import practice as rules
from sim.agents.board import Board
from sim.params import QOF, QualityPremium
from sim.processes import initialise, money, policy
from sim.start_cache import CACHE
from sim.state import GMS


def weighted_by_consortium(model, values: np.ndarray) -> np.ndarray:
    ps, n = model.practices, model.practices.n
    lists = np.where(ps.open[:n], ps.list_size[:n], 0.0)
    cons = ps.consortium[:n]
    return np.array([np.average(values[cons == c], weights=lists[cons == c]) for c in range(model.n_consortia)])


def test_reserves_at_the_start_by_hand():
    """Three years of the day's money before the start, from a quarter's working capital plus the year's QOF.
    A practice that breaks even (GBP 70,000 in, 70,000 out a quarter) with GBP 80,000 of QOF keeps working
    capital 70,000 + 80,000 / 4 = 90,000; partners draw half of the 80,000 above it each quarter, and QOF
    is paid again each year end: 80,000 / 16 + 80,000 = 85,000, then 85,312.5, then 85,332.03125 above
    working capital. One losing 50,000 a quarter with no QOF never draws: 70,000 - 12 x 50,000."""
    model = fresh()
    ps = model.practices
    b = model.assumptions.practice
    assert (b.drawings_rate, b.working_capital_quarters) == (0.5, 1.0)
    even, losing = 0, 1
    ps.contract[[even, losing]] = GMS  # GBP 70 a head a year under the day's contracts
    ps.list_size[[even, losing]] = 4000.0
    ps.cost_per_head_gbp[even], ps.fixed_cost_gbp[even], ps.qof_income_last_gbp[even] = 60.0, 40_000.0, 80_000.0
    ps.cost_per_head_gbp[losing], ps.fixed_cost_gbp[losing], ps.qof_income_last_gbp[losing] = 100.0, 80_000.0, 0.0
    initialise.settle_reserves(model)
    assert ps.reserves_gbp[even] == pytest.approx(90_000.0 + 85_332.03125, rel=1e-12)
    assert ps.reserves_gbp[losing] == pytest.approx(70_000.0 - 600_000.0, rel=1e-12)


def test_the_start_keeps_todays_prescribing_cost(monkeypatch):
    """The drawn unwarranted cost is today's level: after the habit is raised by what prescribing effort
    holds down and the spin-up has run, practices' unwarranted cost is still the drawn one (list-weighted
    mean within 1%), and prescribing per head is the published cost per head (within 1%)."""
    drawn = {}
    settle_baseline = initialise.settle_baseline

    def watched(model, baseline_qof):
        drawn["gbp"] = model.practices.unwarranted_gbp[: model.practices.n].copy()
        return settle_baseline(model, baseline_qof)

    monkeypatch.setattr(initialise, "settle_baseline", watched)
    model = fresh()
    ps, n, p = model.practices, model.practices.n, model.assumptions.prescribing
    lists = ps.list_size[:n]
    assert np.average(ps.unwarranted_gbp[:n] / drawn["gbp"], weights=lists) == pytest.approx(1.0, abs=0.01)
    per_head = model.warranted_rx_gbp + ps.unwarranted_gbp[:n]
    assert np.average(per_head, weights=lists) == pytest.approx(p.cost_per_head_gbp, rel=0.01)


def test_a_start_without_habit_reversion_stays_finite():
    model = fresh("assumptions.prescribing.habit_reversion=0")
    n = model.practices.n
    assert np.isfinite(model.practices.habit_gbp[:n]).all() and np.isfinite(model.practices.unwarranted_gbp[:n]).all()


def test_quality_is_steady_at_the_start():
    """Each practice's untended baseline makes its quality steady for the spin-up's mean improvement
    effort: the list-weighted mean quarterly gain at the start is about 0 (the baseline from a single
    quarter's effort would give about +0.018)."""
    model = fresh()
    ps, n = model.practices, model.practices.n
    gain = rules.quality_gain(ps, n, model.assumptions)
    assert abs(np.average(gain, weights=ps.list_size[:n])) < 0.002


def test_the_spin_up_holds_the_remedial_notices_of_six_year_ends(monkeypatch):
    """24 quarters of the baseline's scrutiny before the start: the board's year-end contract actions six
    times, once a year."""
    calls = []
    contract_actions = Board.contract_actions

    def counted(self, assessment_noise):
        calls.append(self.model.practices.n)
        return contract_actions(self, assessment_noise)

    monkeypatch.setattr(Board, "contract_actions", counted)
    fresh()
    assert initialise.SPIN_UP_QUARTERS == 24
    assert len(calls) == 6




def test_the_admission_history_is_four_quarters_of_the_latent_rate(monkeypatch):
    """Drawn at its mean, each of the last four quarters holds a quarter of the year's admissions at the
    latent rate: rate per 1,000 x list / 4,000; spare rows hold none."""
    from sim.model import CommissioningModel

    init = CommissioningModel.__init__

    def with_mean_history(self, *args, **kwargs):
        real_settle = initialise.settle

        def settle(model):
            model.streams = MeanPoisson(model.streams, "initial.admission_history")
            try:
                real_settle(model)
            finally:
                model.streams = model.streams.real

        monkeypatch.setattr(initialise, "settle", settle)
        try:
            init(self, *args, **kwargs)
        finally:
            monkeypatch.setattr(initialise, "settle", real_settle)

    monkeypatch.setattr(CommissioningModel, "__init__", with_mean_history)
    model = fresh()
    ps, n = model.practices, model.practices.n
    quarter = ps.outcome_per_1000[:n] * ps.list_size[:n] / 4000.0
    for k in range(4):
        assert np.allclose(ps.admissions_last4[k, :n], quarter, rtol=1e-12)
    assert not ps.admissions_last4[:, n:].any()


def test_the_settled_effort_is_a_fixed_point_of_the_effort_targets():
    """Settling effort and recording together converges: one more round of targets moves no effort by
    more than 1e-4 (undamped rounds oscillate by about 0.1)."""
    model = fresh()
    ps, n, a = model.practices, model.practices.n, model.assumptions
    with initialise.baseline_regime(model, QOF()):
        initialise.settle_effort(model, QOF())
        sig = policy.signals_for(model, QOF(), 0.0, QualityPremium(), np.zeros(n))
        targets = rules.effort_targets(ps, n, sig, a)
    for effort, target in zip((ps.effort_improve, ps.effort_record, ps.effort_prescribing), targets, strict=True):
        assert np.abs(target - effort[:n]).max() < 1e-4


def test_a_second_start_with_the_same_seed_is_restored_from_the_cache(monkeypatch):
    """Another scenario's levers, the same seed, run settings and assumptions: the start is settled once,
    restored the second time, and is the same start."""
    monkeypatch.setattr(CACHE, "enabled", True)  # (even where the environment switches the cache off)
    assert len(CACHE) == 0
    first = fresh()
    second = fresh("levers.delegation.mode=all", "levers.qof.point_value_gbp=200")
    assert (CACHE.misses, CACHE.hits, len(CACHE)) == (1, 1, 1)
    for name in ("effort_improve", "effort_record", "effort_prescribing", "recording", "habit_gbp", "remedial"):
        assert np.array_equal(getattr(first.practices, name), getattr(second.practices, name)), name


def test_the_starting_delegation_assesses_each_consortium_with_its_own_error():
    """Conditional delegation at the start, with an assessment error of 0.1: some consortium is authorised
    while a readier one is not (one shared error would authorise by readiness alone). No consortium
    starts with a deficit to lose the role for."""
    model = fresh("levers.delegation.mode=conditional")
    cs = model.consortia
    readiness = 0.5 * (cs.skill + cs.willingness)
    d = cs.delegated
    passed_over = readiness[:, None] > readiness[None, :]  # [i, j]: i readier than j
    assert (passed_over & ~d[:, None] & d[None, :]).any()
    assert not cs.deficit_last_year.any()


def test_the_single_rate_makes_convergence_cost_neutral():
    """Under a single contract, core funding at full convergence equals core funding at today's rates."""
    model = fresh("levers.contracts.model=single", "levers.contracts.pms_funding_per_head_gbp=90")
    n = model.practices.n
    money.quarterly(model, -0.25, np.zeros(n))  # progress 0: today's rates
    today = model.flows["core_funding_gbp"]
    assert model.convergence == 0.0
    money.quarterly(model, 20.0, np.zeros(n))  # converged
    assert model.convergence == 1.0
    assert model.flows["core_funding_gbp"] == pytest.approx(today, rel=1e-12)


def test_the_premiums_baseline_at_the_start_is_the_latent_rate():
    """Last year's measure at the start: each practice's latent admissions per 1,000, and each
    consortium's the list-weighted mean of its practices' (the same baseline on both levels)."""
    model = fresh("levers.quality_premium.per_head_gbp=5.0")
    ps, cs, n = model.practices, model.consortia, model.practices.n
    assert np.array_equal(ps.measure_last_year[:n], ps.outcome_per_1000[:n])
    assert np.allclose(cs.measure_last_year, weighted_by_consortium(model, ps.measure_last_year[:n]), rtol=1e-12)
    assert np.all(cs.measure_last_year > 1.0)


def test_outcome_points_are_phased_in_from_zero_at_the_start():
    """QOF with 60% of points on outcomes, phased in over 3 years: at the start none are, so achievement is
    the process share of the same start without outcome points."""
    without = fresh()
    phased = fresh("levers.qof.outcome_weight=0.6", "levers.qof.phase_in_years=3")
    n = without.practices.n
    assert np.array_equal(phased.practices.achievement[:n], without.practices.achievement[:n])
    assert without.practices.achievement[:n].max() > 0


def test_a_start_without_qof_has_no_qof_income():
    """A start settled before QOF (``initial.qof_in_place=false``, the 2004 history scenario): no practice
    earned QOF last year. With it in place, every practice did."""
    model = fresh("assumptions.initial.qof_in_place=false")
    n = model.practices.n
    assert not model.practices.qof_income_last_gbp[:n].any()
    assert np.all(fresh().practices.qof_income_last_gbp[:n] > 0)
