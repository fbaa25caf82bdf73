"""Pins for the mutants mutmut found alive in the board's rules (issue 17, third run).

Why: ``mutmut run`` over ``sim/agents/board.py`` left survivors that change behaviour: the board acting on
escalations with remedial notices switched off, the sign of its assessment error, notices that never add
up to a termination, an escalated practice's unresolved count left standing, a lever's "act on every
escalation" missing the best practice, a whole number of reviews rounded down, replacement of terminated
lists in a closed market. Each test checks an independent fact (a hand calculation with literal numbers,
or what a lever's description promises). docs/testing.md lists the mutants and the survivors left.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import fresh


def escalate(model, row: int, notices: int = 0, unresolved: int = 4) -> None:
    """Only ``row`` escalated to the board, holding ``notices`` notices after ``unresolved`` challenges."""
    ps, n = model.practices, model.practices.n
    ps.escalated[:n] = False
    ps.escalated[row] = True
    ps.notices[row] = notices
    ps.unresolved[row] = unresolved


def worst_open(model) -> int:
    ps, n = model.practices, model.practices.n
    return int(np.argmin(np.where(ps.open[:n], ps.quality[:n], np.inf)))


def test_without_remedial_notices_the_board_neither_notices_nor_terminates():
    """``remedial_notices=false``: even the worst practice, escalated with enough notices to be terminated,
    gets no notice, no remedial pressure and keeps its contract."""
    model = fresh("levers.contract_actions.remedial_notices=false")
    ps = model.practices
    worst = worst_open(model)
    limit = model.levers.contract_actions.terminate_after_notices
    escalate(model, worst, notices=limit)
    ps.remedial[worst] = 0.0
    noticed, terminated = model.board.contract_actions(np.zeros(ps.capacity))
    assert noticed.size == 0 and terminated.size == 0
    assert ps.notices[worst] == limit and ps.remedial[worst] == 0.0
    # Closed without action, so that a persistent outlier is escalated (and counted) again next year.
    assert not ps.escalated[worst] and ps.unresolved[worst] == 0


def test_without_remedial_notices_escalations_are_still_counted_every_year():
    """Until model 0.3.1 an escalation the board could not act on was never closed, so each persistent
    outlier was escalated once and the escalations metric fell towards 0 (42, 81, 42, 21, 12, 6, 3 a year in
    white_paper at 0.1 x, seed 3). Closed each year end, outliers are escalated again: the count stays up."""
    from helpers import small

    from sim.runner import run

    def yearly(*overrides: str) -> list[float]:
        metrics = run(small("white_paper", *overrides, scale=0.1, quarters=28), 3, snapshots=False).metrics
        return metrics.groupby("financial_year")["escalations"].sum().tolist()

    off = yearly("levers.contract_actions.remedial_notices=false")
    assert min(off[2:]) > 0.4 * max(off[:2]), off


def test_notices_add_up_a_year_at_a_time_to_termination_and_each_year_closes_the_escalation():
    """Escalated and confirmed every year: 1, 2, 3 notices, then (terminate_after_notices = 3) termination
    in the fourth year; each year end closes the escalation and starts its challenge count at 0."""
    model = fresh()
    ps = model.practices
    assert model.levers.contract_actions.terminate_after_notices == 3
    worst = worst_open(model)
    ps.notices[worst] = 0  # (the spin-up may have left it one)
    for year in (1, 2, 3):
        escalate(model, worst, notices=int(ps.notices[worst]))
        noticed, terminated = model.board.contract_actions(np.zeros(ps.capacity))
        assert noticed.tolist() == [worst] and terminated.size == 0, year
        assert ps.notices[worst] == year
        assert not ps.escalated[worst] and ps.unresolved[worst] == 0
    escalate(model, worst, notices=int(ps.notices[worst]))
    noticed, terminated = model.board.contract_actions(np.zeros(ps.capacity))
    assert terminated.tolist() == [worst] and noticed.size == 0


def test_an_unconfirmed_escalation_is_closed_with_its_challenge_count_reset():
    model = fresh()
    ps, n = model.practices, model.practices.n
    best = int(np.argmax(np.where(ps.open[:n], ps.quality[:n], -np.inf)))
    escalate(model, best, notices=1, unresolved=5)
    noticed, terminated = model.board.contract_actions(np.zeros(ps.capacity))
    assert noticed.size == 0 and terminated.size == 0
    assert not ps.escalated[best] and ps.unresolved[best] == 0 and ps.notices[best] == 1


def test_the_boards_assessment_error_is_added_to_the_quality_it_sees():
    """Every open practice at quality 0.5 but two, at 0.49 and 0.51: the 5% quantile (the bar) is 0.5. With
    an error of 0.02 x (+1) the first is assessed at 0.51, above the bar; with 0.02 x (-1) the second at
    0.49, below it: only the second is confirmed."""
    model = fresh()
    ps, n = model.practices, model.practices.n
    ca = model.levers.contract_actions
    assert ca.assessment_noise_sd == 0.02 and ca.confirm_below_quantile == 0.05
    low, high = (int(r) for r in np.flatnonzero(ps.open[:n])[:2])
    ps.quality[:n] = 0.5
    ps.quality[low], ps.quality[high] = 0.49, 0.51
    ps.escalated[:n] = False
    ps.escalated[[low, high]] = True
    ps.notices[:n] = 0
    noise = np.zeros(ps.capacity)
    noise[low], noise[high] = 1.0, -1.0
    noticed, _ = model.board.contract_actions(noise)
    assert noticed.tolist() == [high]


def test_confirming_below_the_top_quantile_without_error_acts_on_every_escalation():
    """``confirm_below_quantile=1`` is documented as "act on every escalation": with an exact assessment
    the best practice, escalated, is assessed exactly at the bar and gets its notice."""
    model = fresh("levers.contract_actions.confirm_below_quantile=1", "levers.contract_actions.assessment_noise_sd=0")
    ps, n = model.practices, model.practices.n
    best = int(np.argmax(np.where(ps.open[:n], ps.quality[:n], -np.inf)))
    worst = worst_open(model)
    ps.escalated[:n] = False
    ps.escalated[[best, worst]] = True
    ps.notices[:n] = 0
    noticed, _ = model.board.contract_actions(np.random.default_rng(3).normal(size=ps.capacity))
    assert sorted(noticed.tolist()) == sorted([best, worst])


def test_a_whole_number_of_expected_reviews_is_that_number_whatever_the_draw():
    """3 remote reviews per million on 2 million patients: exactly 6, for any draw in [0, 1), 0 included."""
    model = fresh()
    cs = model.consortia
    assert model.levers.board_oversight.reviews_per_million_per_quarter == 3.0
    cs.population[:] = 2e6
    cs.delegated[:] = False
    for u in (0.0, 0.5, np.nextafter(1.0, 0.0)):
        assert model.board.review_capacity(np.full(cs.count, u)).tolist() == [6] * cs.count, u


def test_a_closed_market_never_replaces_a_terminated_provider():
    """Barriers 1 ("closed"): no draw in [0, 1), 0 included, replaces a list or procures an entrant."""
    model = fresh("levers.market_entry.barriers=1.0", "levers.market_entry.entry_rate_per_year=0.1")
    u = np.linspace(0.0, 0.999, 1000)
    assert u[0] == 0.0
    assert not model.board.replaces_terminated(u).any()
    assert model.board.entrants_wanted(u, np.full(1000, 5.0)).sum() == 0
    open_market = fresh("levers.market_entry.barriers=0.0")
    assert open_market.board.replaces_terminated(u).all()


@pytest.mark.parametrize("noise", [2.0, -3.0])
def test_the_delegation_assessment_error_scales_with_the_draw(noise):
    """Readiness 0.45 against a threshold of 0.5, assessment error 0.1 x draw: ready at +2 (0.65), not at -3."""
    model = fresh("levers.delegation.mode=conditional", "levers.delegation.authorisation_threshold=0.5",
                  "levers.delegation.assessment_noise_sd=0.1")
    cs = model.consortia
    cs.skill[:], cs.willingness[:] = 0.4, 0.5
    decided = model.board.decide_delegation(first=True, noise=np.full(cs.count, noise))
    assert decided.tolist() == [noise > 0] * cs.count
