"""Pins for the mutants mutmut found alive in the money process (issue 17, third run).

Why: ``mutmut run`` over ``sim/processes/money.py`` left survivors that change behaviour: the premium's
prescribing measure (its list weights), the expected admissions measure, last year's admissions carried
into a new financial year, the unwarranted prescribing and admission cost flows, a closed practice's
accounts, the contract convergence clock, QOF's weighting of processes and outcomes, QOF paid on the
latent rather than the observed admissions, the ledger's record of premium money a consortium keeps, and
the premium earned over the years. Each test checks an independent fact (a hand calculation with literal
numbers, or an invariant). docs/testing.md lists the mutants and the survivors left.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import fresh

from sim import derived
from sim.processes import money


def hand_consortium_rows(model) -> tuple[int, int, np.ndarray]:
    """Two open rows ``r1``, ``r2`` of one consortium (lists 1,000 and 3,000), the rest of its rows closed."""
    ps, n = model.practices, model.practices.n
    cons = ps.consortium[:n]
    c0 = int(np.flatnonzero(np.bincount(cons) >= 3)[0])
    rows = np.flatnonzero(cons == c0)
    r1, r2 = int(rows[0]), int(rows[1])
    ps.open[rows[2:]] = False
    ps.list_size[r1], ps.list_size[r2] = 1000.0, 3000.0
    return r1, r2, rows[2:]


@pytest.mark.parametrize("target", ["outcome", "prescribing"])
def test_the_premiums_measure_per_consortium_by_hand(target):
    """Every practice of consortium c at 10 + c (admissions per 1,000, or unwarranted GBP a head): the
    measure is 10 + c (plus the warranted cost); one consortium's two open practices at 10 and 30 with
    lists of 1,000 and 3,000 and its closed practices at 1,000: (10 x 1,000 + 30 x 3,000) / 4,000 = 25
    (weighted by open lists only)."""
    model = fresh(f"levers.quality_premium.target={target}")
    ps, n = model.practices, model.practices.n
    cons = ps.consortium[:n]
    value = 10.0 + cons
    r1, r2, closed = hand_consortium_rows(model)
    value[r1], value[r2] = 10.0, 30.0
    value[closed] = 1000.0
    c0 = int(cons[r1])
    hand = 10.0 + np.arange(model.n_consortia)
    hand[c0] = 25.0
    if target == "prescribing":
        ps.unwarranted_gbp[:n] = value
        warranted = model.warranted_rx_gbp
        assert np.allclose(money.consortium_measure(model), warranted + hand, rtol=1e-12)
        assert np.allclose(money.consortium_measure(model, expected=True), warranted + hand, rtol=1e-12)
    else:
        ps.outcome_per_1000[:n] = value
        assert np.allclose(money.consortium_measure(model, expected=True), hand, rtol=1e-12)
        # The year's admissions count those of a practice that closed during the year (20 here), but
        # not its list, whose patients have moved: (10 + 90 + 20) x 1,000 / 4,000 = 30.
        ps.admissions_year[:n] = value * ps.list_size[:n] / 1000.0
        ps.admissions_year[closed] = 0.0
        ps.admissions_year[closed[0]] = 20.0
        hand[c0] = 30.0
        assert np.allclose(money.consortium_measure(model), hand, rtol=1e-12)


def test_a_new_financial_year_starts_the_years_admissions_at_zero():
    model = fresh()
    ps, n = model.practices, model.practices.n
    ps.admissions_year[:n] = 7.0
    money.open_financial_year(model)
    assert not ps.admissions_year[:n].any()


def test_a_quarters_flows_by_hand_and_a_closed_practices_accounts_stay_as_they_were():
    """Unwarranted prescribing of GBP 8 a head a year is GBP 2 a head a quarter; one admission per open
    practice costs GBP 1,850 each; a closed practice with GBP 1m in reserves pays no costs and draws nothing."""
    model = fresh()
    ps, n = model.practices, model.practices.n
    assert model.levers.finance.acsc_cost_per_admission_gbp == 1850.0
    closed = int(np.flatnonzero(ps.open[:n])[3])
    ps.open[closed] = False
    ps.reserves_gbp[closed] = 1_000_000.0
    ps.qof_income_last_gbp[closed] = 0.0
    open_ = ps.open[:n]
    ps.unwarranted_gbp[:n] = 8.0
    counts = np.where(open_, 1.0, 0.0)
    money.quarterly(model, 0.0, counts)
    f = model.flows
    assert f["unwarranted_prescribing_gbp"] == pytest.approx(2.0 * ps.list_size[:n][open_].sum(), rel=1e-12)
    assert f["acsc_cost_gbp"] == pytest.approx(1850.0 * open_.sum(), rel=1e-12)
    assert ps.reserves_gbp[closed] == 1_000_000.0
    assert ps.negative_quarters[closed] == 0


@pytest.mark.parametrize(("years", "progress"), [(0.0, 0.05), (1.75, 0.4), (4.75, 1.0), (9.0, 1.0)])
def test_convergence_to_a_single_contract_counts_the_quarter_being_paid(years, progress):
    """Over 5 years, the quarter that starts at year 0 is paid at 0.25 / 5 = 5% of the way; 1.75 years in,
    2 / 5 of the way; from the last quarter of year 5 on, all the way."""
    model = fresh("levers.contracts.model=single")
    assert model.levers.contracts.convergence_years == 5.0
    money.quarterly(model, years, np.zeros(model.practices.n))
    assert model.convergence == pytest.approx(progress, rel=1e-12)


def test_qof_points_are_the_process_share_and_the_outcome_share_weighted_by_hand():
    """At outcome weight w (no phase-in), points are (1 - w) x the all-process points plus w x the outcome
    share (1 at or below the expected ratio 1.0, 0 at or above 1.5, (1.5 - r) / 0.5 between); at w = 1
    the processes earn nothing."""
    recorded = 0.6
    ratios = np.array([10.0, 1.25, 0.5])
    outcome_share = np.array([0.0, 0.5, 1.0])
    points = {}
    for w in (0.0, 0.25, 1.0):
        model = fresh(f"levers.qof.outcome_weight={w}", "levers.qof.phase_in_years=0")
        ps, n = model.practices, model.practices.n
        ps.recorded_achievement[:n] = recorded
        expected = derived.expected_outcome(model)[:3]
        ps.outcome_per_1000[:3] = ratios * expected
        points[w] = money.update_achievement(model, 0.0)[:3].copy()
        assert np.array_equal(ps.achievement[:3], points[w])  # the latent share is stored
    process = points[0.0]
    assert 0.2 < process[0] < 0.8 and np.allclose(process, process[0])  # the same recording: the same share
    assert np.allclose(points[0.25], 0.75 * process + 0.25 * outcome_share, rtol=1e-12)
    assert np.allclose(points[1.0], outcome_share, rtol=1e-12)


def test_qof_is_paid_on_the_years_observed_admissions_and_not_to_closed_practices():
    """A quarter of the points on outcomes, every process indicator met, the latent rate at the expected
    rate (all outcome points): practices whose year's admissions ran at 10, 1.25 and 0.5 times the expected
    rate are paid 0.75, 0.875 and 1 of the full QOF for their list; a closed practice is paid nothing."""
    model = fresh("levers.qof.outcome_weight=0.25", "levers.qof.phase_in_years=0")
    ps, n = model.practices, model.practices.n
    ps.recorded_achievement[:n] = 1.0
    expected = derived.expected_outcome(model)
    ps.outcome_per_1000[:n] = expected
    ratio = np.array([10.0, 1.25, 0.5])[np.arange(n) % 3]
    ps.admissions_year[:n] = ratio * expected * ps.list_size[:n] / 1000.0
    closed = int(np.flatnonzero(ps.open[:n])[5])
    ps.open[closed] = False
    ps.reserves_gbp[closed] = 12_345.0
    money.year_end_payments(model, 0.75)
    per_head = ps.qof_income_last_gbp[:n] / ps.list_size[:n]
    open_ = ps.open[:n]
    full = per_head[open_ & (ratio == 0.5)]
    assert np.allclose(full, full[0], rtol=1e-12) and full[0] > 0
    for r, share in ((10.0, 0.75), (1.25, 0.875)):
        assert np.allclose(per_head[open_ & (ratio == r)], share * full[0], rtol=1e-12), r
    assert ps.qof_income_last_gbp[closed] == 0.0 and ps.reserves_gbp[closed] == 12_345.0


@pytest.mark.parametrize("distribution", ["review_capacity", "per_head"])
def test_the_ledger_records_the_premium_a_consortium_keeps_and_premiums_add_up_over_years(distribution):
    """Every consortium earns GBP 4 a head (admissions fell from 100 to 10 per 1,000 within budget). Kept as
    review capacity, the consortia receive it all; paid per head, the practices do. What the board paid at
    the year end is the QOF and premium flows; the premium earned adds to what was earned before."""
    model = fresh("levers.quality_premium.per_head_gbp=4.0", "levers.quality_premium.required_improvement=0.1",
                  f"levers.quality_premium.distribution={distribution}")
    ps, cs, n = model.practices, model.consortia, model.practices.n
    ps.admissions_year[:n] = 10.0 * ps.list_size[:n] / 1000.0
    cs.measure_last_year[:] = 100.0
    cs.allocation_ytd_gbp[:] = 1e12
    cs.spend_ytd_gbp[:] = 0.0
    cs.premium_earned_gbp[:] = 1000.0
    premium = 4.0 * cs.population.copy()
    before = dict(model.ledger)
    money.year_end_payments(model, 0.75)
    delta = {k: model.ledger[k] - before[k] for k in before}
    assert model.flows["quality_premium_gbp"] == pytest.approx(premium.sum(), rel=1e-12)
    kept = premium.sum() if distribution == "review_capacity" else 0.0
    assert delta["consortia_received"] == pytest.approx(kept, rel=1e-9, abs=1e-6)
    assert delta["board_paid"] == pytest.approx(model.flows["qof_payments_gbp"] + premium.sum(), rel=1e-12)
    assert delta["practices_received"] == pytest.approx(delta["board_paid"] - kept, rel=1e-12)
    assert np.allclose(cs.premium_earned_gbp, 1000.0 + premium, rtol=1e-12)
