"""What the performance work must not change: determinism, common random numbers, and the meaning of each
vectorised rule (checked against the plain, slow formulation it replaced). Not timed: see benchmarks/."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import small
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import ndtri

from sim.agents import consortium as cons_rules
from sim.derived import prescribing_per_head
from sim.grouped import grouped_median
from sim.incentives import process_points_share
from sim.model import CommissioningModel
from sim.observe import order_statistics, percentiles, percentiles_of_sorted
from sim.params import QOF
from sim.processes import market
from sim.runner import run

# A scenario where every mechanism is busy: delegation, challenge, terminations, many new providers.
BUSY = ("white_paper", "levers.market_entry.barriers=0.1", "levers.market_entry.entry_rate_per_year=0.1")

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False)


# ------------------------------------------------------------------------------ determinism and CRN


@pytest.mark.parametrize("name", ["status_quo", "white_paper"])
def test_same_seed_gives_bit_identical_runs(name):
    scenario = small(name, scale=0.2, quarters=16) if name == "status_quo" else small(*BUSY, scale=0.2, quarters=16)
    a, b = run(scenario, 3), run(scenario, 3)
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    pd.testing.assert_frame_equal(a.snapshots, b.snapshots, check_exact=True)


def test_busy_scenario_exercises_entry_and_termination():
    metrics = run(small(*BUSY, scale=0.2, quarters=16), 3).metrics
    assert metrics["new_entrants"].sum() > 5 and metrics["terminations"].sum() > 0


def test_scenarios_with_the_same_seed_start_from_the_same_population():
    a = run(small("status_quo", quarters=4), 8).snapshots
    b = run(small(*BUSY, quarters=4), 8).snapshots
    start_a, start_b = a[a["quarter"] == 0], b[b["quarter"] == 0]
    for column in ("practice_id", "consortium_id", "contract", "list_size", "deprivation", "quality", "autonomy"):
        pd.testing.assert_series_equal(
            start_a[column].reset_index(drop=True), start_b[column].reset_index(drop=True), check_exact=True
        )


def test_batch_runs_never_create_practice_views():
    model = CommissioningModel(small(*BUSY, quarters=8), seed=2)
    model.run_quarters(8)
    assert model._practice_views is None


def test_views_follow_new_providers_once_materialised():
    from sim.agents.practice import Practice

    model = CommissioningModel(small(*BUSY, quarters=8), seed=2)
    before = len(model.agents_by_type[Practice])
    model.run_quarters(8)
    views = model.agents_by_type[Practice]
    ps = model.practices
    assert len(views) == int(ps.open[: ps.n].sum())
    assert ps.n > before  # new providers opened, and have views
    assert {p.row for p in views} == set(np.flatnonzero(ps.open[: ps.n]).tolist())


# ------------------------------------------------------------------------------ vectorised rules


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(1, 400), elements=finite))
def test_percentiles_of_sorted_match_numpy(values):
    expected = np.percentile(values, [10, 90])
    assert percentiles_of_sorted(np.sort(values), (0.1, 0.9)) == expected.tolist()


@given(arrays(np.float64, st.integers(1, 400), elements=finite | st.just(0.0)),
       st.lists(st.floats(0, 1), min_size=1, max_size=4))
def test_percentiles_by_partition_match_numpy(values, fractions):
    assert percentiles(values, tuple(fractions)) == percentiles_of_sorted(np.sort(values), tuple(fractions))
    np.testing.assert_array_equal(percentiles(values, tuple(fractions)), np.quantile(values, fractions))
    assert percentiles(values, (0.1, 0.9)) == np.percentile(values, [10, 90]).tolist()
    ranks = {0, values.size - 1, values.size // 2, max(values.size // 2 - 1, 0)}
    assert order_statistics(values, ranks) == {r: np.sort(values)[r] for r in ranks}


@settings(deadline=None)  # the first example imports scipy.stats
@given(st.one_of(arrays(np.float64, st.integers(1, 300), elements=finite),
                 arrays(np.float64, st.integers(1, 300), elements=st.integers(0, 5).map(float))))
def test_average_ranks_match_scipy_rankdata(values):
    from scipy.stats import rankdata

    from sim.population import average_ranks

    ranks = average_ranks(values)
    assert ranks.dtype == np.float64
    np.testing.assert_array_equal(ranks, rankdata(values))


@given(arrays(np.float64, st.integers(1, 200), elements=st.floats(0, 50)), st.floats(0.05, 1.5))
def test_partial_mean_alone_matches_the_pair(x, sigma):
    from sim.incentives import _lognormal_below, _lognormal_partial_mean

    np.testing.assert_array_equal(_lognormal_partial_mean(x, sigma), _lognormal_below(x, sigma)[1])


@given(arrays(np.float64, st.integers(1, 200), elements=st.floats(0, 1)), st.floats(0.05, 1.5), st.booleans())
def test_the_last_paying_band_is_reused_only_for_the_same_inputs(recorded, spread, slope_first):
    import sim.incentives as inc

    qof, other = QOF(), QOF(upper_threshold=0.8)
    inc._last_band = None
    fresh = inc.process_points_share(recorded, qof, spread), inc.process_points_slope(recorded, qof, spread)
    inc._last_band = None
    calls = [(inc.process_points_slope, 1), (inc.process_points_share, 0)]
    for fn, i in calls if slope_first else calls[::-1]:
        np.testing.assert_array_equal(fn(recorded, qof, spread), fresh[i])
        np.testing.assert_array_equal(fn(recorded, qof, spread), fresh[i])
    changed = recorded.copy()
    changed[0] = 1.0 - changed[0]
    inc._last_band = None
    expected = inc.process_points_share(changed, qof, spread), inc.process_points_share(recorded, other, spread)
    inc.process_points_share(recorded, qof, spread)
    np.testing.assert_array_equal(inc.process_points_share(changed, qof, spread), expected[0])
    np.testing.assert_array_equal(inc.process_points_share(recorded, other, spread), expected[1])


def test_ndtri_is_norm_ppf_bit_for_bit():
    from scipy.stats import norm

    u = np.r_[np.linspace(1e-12, 1 - 1e-12, 20_001), np.random.default_rng(0).random(20_000)]
    np.testing.assert_array_equal(ndtri(u), norm.ppf(u))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_grouped_median_matches_numpy_per_group(data):
    count = data.draw(st.integers(1, 8))
    size = data.draw(st.integers(0, 60))
    group = data.draw(arrays(np.int64, size, elements=st.integers(0, count - 1)))
    values = data.draw(arrays(np.float64, size, elements=finite))
    got = grouped_median(values, group, count)
    for g in range(count):
        members = values[group == g]
        if members.size:
            assert got[g] == np.median(members)
        else:
            assert np.isnan(got[g])


def _select_by_lexsort(score, group, capacity, threshold):
    """The original formulation of review selection."""
    candidates = np.flatnonzero(score > threshold)
    order = candidates[np.lexsort((-score[candidates], group[candidates]))]
    g = group[order]
    rank = np.array([int((g[:i] == x).sum()) for i, x in enumerate(g)], dtype=np.int64)
    return order[rank < capacity[g]] if order.size else candidates


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_select_for_review_matches_the_lexsort_formulation(data):
    size = data.draw(st.integers(0, 60))
    # Few distinct scores, so that ties (resolved by row order) are common.
    score = data.draw(arrays(np.float64, size, elements=st.sampled_from([-np.inf, 0.5, 2.5, 3.0, 3.0001, 7.0])))
    group = data.draw(arrays(np.int64, size, elements=st.integers(0, 3)))
    capacity = data.draw(arrays(np.int64, 4, elements=st.integers(0, 4)))
    got = cons_rules.select_for_review(score, group, capacity, 2.0)
    assert sorted(got.tolist()) == sorted(_select_by_lexsort(score, group, capacity, 2.0).tolist())


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_worst_domain_matches_argmax(data):
    size = data.draw(st.integers(1, 40))
    elements = st.sampled_from([-np.inf, -1.0, 0.0, 2.0, 2.0, 3.5])
    z = [data.draw(arrays(np.float64, size, elements=elements)) for _ in range(3)]
    score, domain = cons_rules.Funnel(*z).worst()
    stack = np.vstack(z)
    expected_domain = np.argmax(stack, axis=0)
    assert domain.tolist() == expected_domain.tolist()
    assert score.tolist() == stack[expected_domain, np.arange(size)].tolist()


# Many indicators, one per quantile of a standard normal: the plain formulation of the closed form.
_NORMAL_QUANTILES = ndtri((np.arange(20_000) + 0.5) / 20_000)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.integers(1, 300), elements=st.floats(0, 1)), st.floats(0.05, 1.5))
def test_points_share_matches_the_plain_formula(recorded, spread):
    """The closed form is the mean over indicators whose shortfalls from 100% are log-normal about the
    practice's (mean 1, log SD ``spread``), each paying linearly between the thresholds."""
    qof = QOF()
    span = qof.upper_threshold - qof.lower_threshold
    factor = np.exp(spread * _NORMAL_QUANTILES - 0.5 * spread**2)
    levels = 1.0 - (1.0 - recorded[None, :]) * factor[:, None]
    expected = np.clip((levels - qof.lower_threshold) / span, 0.0, 1.0).mean(axis=0)
    np.testing.assert_allclose(process_points_share(recorded, qof, spread), expected, atol=2e-3)


def test_funnel_ignores_closed_practices_exactly():
    model = CommissioningModel(small("white_paper", quarters=4), seed=6)
    model.run_quarters(4)
    ps, n = model.practices, model.practices.n
    closing = np.flatnonzero(ps.open[:n])[[0, 5, 9]]  # open until now (mergers and closures close others)
    ps.open[closing] = False
    closed = ~ps.open[:n]
    funnel = cons_rules.funnel_scores(ps, n, model.n_consortia, np.full(n, 15.0), prescribing_per_head(model))
    for z in (funnel.outcome, funnel.achievement, funnel.prescribing):
        assert np.all(z[closed] == -np.inf) and np.isfinite(z[~closed]).all()
    # Closed practices do not move anyone else's score: compare with their lists and admissions zeroed.
    ps.list_size[closing] = 0.0
    ps.admissions_last4[:, closing] = 0.0
    again = cons_rules.funnel_scores(ps, n, model.n_consortia, np.full(n, 15.0), prescribing_per_head(model))
    assert np.array_equal(funnel.achievement, again.achievement)
    assert np.array_equal(funnel.prescribing, again.prescribing)


def test_new_providers_start_at_the_mean_quality_of_the_practices_staying():
    """A successor to a terminated contract, or an entrant, starts at the list-weighted mean quality of its
    consortium's open practices that are staying, not counting itself nor the practices leaving."""
    model = CommissioningModel(small("status_quo", quarters=4), seed=3)
    ps, n = model.practices, model.practices.n
    cons = ps.consortium[:n]
    leaving = np.sort(np.r_[np.flatnonzero(cons == 0)[:3], np.flatnonzero(cons == 1)[:1]])
    got = market.mean_quality_staying(model, leaving)
    for c in (0, 1, 2):
        staying = ps.open[:n] & (cons == c)
        staying[leaving] = False
        expected = np.average(ps.quality[:n][staying], weights=ps.list_size[:n][staying])
        assert got[c] == pytest.approx(expected, rel=1e-13)


def test_entrants_open_at_their_consortium_mean_quality(monkeypatch):
    model = CommissioningModel(small(*BUSY, quarters=4), seed=5)
    seen: dict[str, np.ndarray | int] = {}
    procure = market.procure_entrants

    def spy(m: CommissioningModel, entrant_z: np.ndarray) -> None:  # the year end's own call, as it found things
        seen["mean"] = market.mean_quality_staying(m, np.empty(0, dtype=np.intp))
        seen["first_new"] = m.practices.n
        procure(m, entrant_z)
        seen["last_new"] = m.practices.n

    monkeypatch.setattr(market, "procure_entrants", spy)
    model.run_quarters(4)  # one financial year: the entrants open at its end
    ps, new = model.practices, np.arange(seen["first_new"], seen["last_new"])
    assert new.size > 5 and ps.entrant[new].all()
    np.testing.assert_allclose(ps.quality[new], seen["mean"][ps.consortium[new]], rtol=1e-13)


def test_finished_runs_do_not_keep_their_models_alive():
    """Mesa 3.3 keeps every model that created an agent in a class-level dict (mesa issue #3179); a sweep
    worker running thousands of models must not keep them all."""
    import gc

    def alive() -> set[int]:
        gc.collect()
        return {id(o) for o in gc.get_objects() if isinstance(o, CommissioningModel)}

    before = alive()  # models other tests built directly, which Mesa keeps
    for seed in range(3):
        run(small("status_quo", quarters=2), seed)
    assert alive() <= before


def test_runs_without_snapshots_have_the_same_metrics():
    scenario = small("white_paper", scale=0.1, quarters=9)
    full, lean = run(scenario, 4), run(scenario, 4, snapshots=False)
    pd.testing.assert_frame_equal(full.metrics, lean.metrics, check_exact=True)
    assert len(full.snapshots) and lean.snapshots.empty
    assert list(lean.snapshots.columns) == list(full.snapshots.columns)
