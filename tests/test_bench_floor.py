"""The floor benchmark records what a run draws and evaluates without changing the run, and misses nothing
the run's cost rests on (issue 14: the floor is what a speed target is checked against)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from helpers import small

from sim import rng
from sim.runner import run
from sim.start_cache import CACHE

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from bench_floor import REST, SETTLING, record_run, replay

QUARTERS = 6


def test_recording_leaves_the_run_unchanged_and_sees_every_draw(monkeypatch):
    scenario = small("status_quo", scale=0.05, quarters=QUARTERS)
    with CACHE.disabled():
        plain = run(scenario, 3)
    served: list[str] = []
    real_getitem = rng.Streams.__getitem__

    def counting_getitem(self, site):
        served.append(site)
        return real_getitem(self, site)

    monkeypatch.setattr(rng.Streams, "__getitem__", counting_getitem)
    recorded, calls = record_run(scenario, 3)
    pd.testing.assert_frame_equal(plain.metrics, recorded.metrics, check_exact=True)
    pd.testing.assert_frame_equal(plain.snapshots, recorded.snapshots, check_exact=True)
    draws = [c for c in calls if c[0].startswith("draw:")]
    assert len(draws) >= len(served) > 0  # every stream handed out was recorded (some draw twice)
    # One Poisson draw of admissions a quarter, and one for the four quarters of history before the start.
    assert sum(c[0] == "draw:poisson" for c in calls) == QUARTERS + 1
    phases = {(kind, when) for kind, when, *_ in calls}
    assert {("ndtr", SETTLING), ("ndtr", REST), ("draw:standard_normal", SETTLING)} <= phases
    spent = replay(calls)
    assert set(spent) == phases and all(seconds >= 0 for seconds in spent.values())


def test_replay_runs_each_recorded_call_once():
    scenario = small("status_quo", scale=0.05, quarters=2)
    _, calls = record_run(scenario, 1)
    seen: list[int] = []
    counted = [(kind, when, values, lambda *a, i=i, **k: seen.append(i), args, kwargs)
               for i, (kind, when, values, _, args, kwargs) in enumerate(calls)]
    replay(counted)
    assert seen == list(range(len(calls)))


def test_the_kernels_benchmarked_compute_the_models_numbers():
    """bench_kernels times like against like: its funnel kernel gives the model's z-scores bit for bit and
    its band kernel the model's paying band to rounding (``math.erfc`` against scipy's ``ndtr``)."""
    from bench_kernels import blocks, largest_difference

    from sim.model import CommissioningModel

    model = CommissioningModel(small("white_paper", scale=0.05, quarters=8), 5, snapshots=False)
    model.run_quarters(6)
    model.practices.open[:3] = False  # closed practices are excluded from the benchmarks and score -inf
    found = {name: largest_difference(name, ours(), kernel()) for name, (ours, kernel) in blocks(model).items()}
    assert found["funnel plots"] == 0.0
    assert found["QOF paying band"] < 1e-14
