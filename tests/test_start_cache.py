"""The cache of settled starts: a run from a cached start is the run that settles its own, bit for bit,
whatever the levers; the key separates what the start depends on; the cache stays within its bounds;
pools keep runs that share a start together."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, small
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.experiment.tasks import RunTask, execute_group, sharing_a_start
from sim.model import CommissioningModel
from sim.processes import initialise
from sim.runner import run
from sim.start_cache import CACHE, MODEL_ATTRIBUTES, SettledStart, StartCache, start_key

SCENARIOS = [*sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml")), "history/qof_2004"]


def _same_run(a, b) -> None:
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    pd.testing.assert_frame_equal(a.snapshots, b.snapshots, check_exact=True)


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_cached_start_gives_the_run_that_settles_its_own(name):
    """Primed by the status quo's levers (with this scenario's seed, run settings and assumptions), then
    by itself: both runs equal the uncached run exactly."""
    scenario = small(name, quarters=8)
    with CACHE.disabled():
        own = run(scenario, 11)
    same_start = {"assumptions": scenario.assumptions, "run": scenario.run}
    run(small("status_quo").model_copy(update=same_start), 11)
    hits = CACHE.hits
    _same_run(own, run(scenario, 11))
    _same_run(own, run(scenario, 11))
    assert CACHE.hits == hits + 2 and len(CACHE) == 1


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from(["none", "all", "conditional"]),
    contracts=st.sampled_from(["current_mix", "single"]),
    point_value=st.floats(0.0, 300.0),
    outcome_weight=st.floats(0.0, 1.0),
    premium=st.floats(0.0, 20.0),
    sensitivity=st.floats(0.0, 1.0),
    seed=st.integers(0, 50),
)
def test_no_lever_reaches_the_cached_start(mode, contracts, point_value, outcome_weight, premium, sensitivity, seed):
    overrides = [f"levers.delegation.mode={mode}", f"levers.contracts.model={contracts}",
                 f"levers.qof.point_value_gbp={point_value}", f"levers.qof.outcome_weight={outcome_weight}",
                 f"levers.quality_premium.per_head_gbp={premium}",
                 f"levers.patient_choice.quality_sensitivity={sensitivity}"]
    scenario = small("status_quo", *overrides, scale=0.02, quarters=4)
    CACHE.clear()
    run(small("white_paper", scale=0.02, quarters=4), seed)  # settles the start these levers reuse
    with CACHE.disabled():
        own = run(scenario, seed)
    _same_run(own, run(scenario, seed))
    assert CACHE.hits == 1


def test_settling_writes_nothing_the_cache_does_not_keep():
    """Run the cached block by hand on a built model: every model attribute it changes is one the cache
    keeps (or the state and streams, kept whole), so a restored start misses nothing."""
    model = CommissioningModel(small("status_quo", quarters=4), seed=3, snapshots=False)
    before = {name: (value, repr(value)) for name, value in vars(model).items()}
    baseline_qof = initialise.QOF()
    initialise.settle_baseline(model, baseline_qof)
    changed = {name for name, value in vars(model).items()
               if name not in before or before[name][0] is not value or before[name][1] != repr(value)}
    assert changed <= set(MODEL_ATTRIBUTES) | {"single_rate"}, changed - set(MODEL_ATTRIBUTES)


def test_the_key_holds_what_the_start_reads_and_no_lever():
    base = small("status_quo")
    assert start_key(base, 1) == start_key(small("white_paper"), 1)
    assert start_key(base, 1) != start_key(base, 2)
    assert start_key(base, 1) != start_key(small("status_quo", scale=0.1), 1)
    assert start_key(base, 1) != start_key(small("status_quo", "assumptions.practice.autonomy_mean=0.3"), 1)


def test_another_assumption_settles_another_start():
    """The mechanism the key guards: an assumption the spin-up reads changes the settled efforts."""
    a = CommissioningModel(small("status_quo"), seed=5, snapshots=False)
    b = CommissioningModel(small("status_quo", "assumptions.practice.autonomy_mean=0.3"), seed=5, snapshots=False)
    assert CACHE.hits == 0 and len(CACHE) == 2
    n = a.practices.n
    assert not np.array_equal(a.practices.effort_improve[:n], b.practices.effort_improve[:n])


def test_a_restored_start_is_a_copy_the_run_cannot_change():
    scenario = small("status_quo", quarters=8)
    first = run(scenario, 4)
    (entry,) = CACHE._entries.values()
    saved = {name: a.copy() for name, a in entry.practices.items()}
    run(scenario, 4)
    _same_run(first, run(scenario, 4))
    assert all(np.array_equal(saved[name], a) for name, a in entry.practices.items())


def _entry(nbytes: int) -> SettledStart:
    return SettledStart({"x": np.zeros(nbytes // 8)}, 1, {}, {}, {}, np.zeros(0))


def test_the_cache_keeps_the_most_recent_starts_within_its_bounds():
    cache = StartCache(max_entries=3, max_bytes=8_000)
    for key in "abcd":
        cache.put(key, _entry(800))
    assert len(cache) == 3 and cache.get("a") is None  # least recently used, first out
    assert cache.get("b") is not None  # now the most recent
    cache.put("e", _entry(800))
    assert cache.get("c") is None and cache.get("b") is not None
    cache.put("big", _entry(6_000))
    assert cache.nbytes <= 8_000 and cache.get("big") is not None
    cache.put("huge", _entry(16_000))  # larger than the whole cache: not kept, nothing evicted for it
    assert cache.get("huge") is None and cache.get("big") is not None
    with cache.disabled():
        assert cache.get("big") is None
    assert cache.get("big") is not None and (cache.hits, cache.misses) == (5, 3)


def _task(scenario, seed: int, label: str) -> RunTask:
    return RunTask(scenario, seed, label, label, 0, seed, False)


def test_pools_send_runs_that_share_a_start_together():
    a, b = small("status_quo", quarters=4), small("delegation", quarters=4)
    other = small("status_quo", "assumptions.practice.autonomy_mean=0.3", quarters=4)
    tasks = [_task(a, 1, "a"), _task(b, 1, "b"), _task(a, 2, "a"), _task(other, 2, "o"), _task(b, 2, "b")]
    groups = [[t.label + str(t.seed) for t in g] for g in sharing_a_start(tasks, limit=8)]
    assert groups == [["a1", "b1"], ["a2"], ["o2"], ["b2"]]
    assert [len(g) for g in sharing_a_start([_task(a, 1, "a")] * 5, limit=2)] == [2, 2, 1]
    results = execute_group([_task(a, 1, "a"), _task(b, 1, "b")])
    assert [r.ok for r in results] == [True, True] and (CACHE.hits, CACHE.misses) == (1, 1)
