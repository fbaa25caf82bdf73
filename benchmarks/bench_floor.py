"""The floor of a national run: its random draws and normal-CDF evaluations alone, replayed without the model.

Any implementation that keeps this model version's results (numpy, numba or C alike) must make the same
draws from the same bit generator (common random numbers: every stream draws a full block a quarter) and
evaluate the same normal CDFs (the closed-form QOF signals and the premium's chances). This benchmark
records every such call one national run makes, with its arguments, and replays them on their own: a
lower bound on the run's CPU time, against which a speed target can be checked before any code is
written. Logarithms, exponentials and every other operation are left out, so the bound is conservative.

Run: ``python benchmarks/bench_floor.py`` (``--scenario`` to change the scenario, ``--reps`` for the
number of alternating repetitions, ``--quick`` for three).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_report, median, reproduce_line

from sim import incentives, marginal
from sim.processes import initialise
from sim.rng import Streams
from sim.runner import RunResult, run
from sim.scenario import Scenario, load_scenario
from sim.start_cache import CACHE

#: One recorded call: (what it is, the phase, values it returns, the function to replay, its arguments).
Call = tuple[str, str, int, Callable[..., object], tuple, dict]
SETTLING, REST = "settling", "rest"  # settle_baseline (the cached start), and everything else


class _RecordingGenerator:
    """Forwards every draw to the real generator and records it (method name and a copy of the arguments)."""

    def __init__(self, generator: np.random.Generator, calls: list[tuple], phase: list[str]) -> None:
        self._generator, self._calls, self._phase = generator, calls, phase

    def __getattr__(self, name: str) -> Callable[..., object]:
        method = getattr(self._generator, name)

        def draw(*args: object, **kwargs: object) -> object:
            copied = tuple(np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in args)
            out = method(*args, **kwargs)
            values = int(np.size(args[0] if out is None else out))  # shuffle works in place
            self._calls.append((f"draw:{name}", self._phase[0], values, name, copied, dict(kwargs)))
            return out

        return draw


def record_run(scenario: Scenario, seed: int) -> tuple[RunResult, list[Call]]:
    """Every random draw and normal-CDF call of one run (its start settled, not taken from the cache), in
    order, each marked with its phase: settling into the baseline regime (what the start cache saves when
    runs share a start) or the rest (the population, the first admission history, the 40 quarters)."""
    recorded: list[tuple] = []
    phase = [REST]
    real_getitem, real_ndtr, real_settle = Streams.__getitem__, incentives.ndtr, initialise.settle_baseline

    def recording_getitem(self: Streams, site: str) -> _RecordingGenerator:
        return _RecordingGenerator(real_getitem(self, site), recorded, phase)

    def recording_ndtr(x: np.ndarray) -> np.ndarray:
        recorded.append(("ndtr", phase[0], int(np.size(x)), None, (np.array(x, copy=True),), {}))
        return real_ndtr(x)

    def settle_marked(*args: object) -> object:
        phase[0] = SETTLING
        try:
            return real_settle(*args)
        finally:
            phase[0] = REST

    with ExitStack() as stack:
        stack.enter_context(CACHE.disabled())
        stack.enter_context(mock.patch.object(Streams, "__getitem__", recording_getitem))
        stack.enter_context(mock.patch.object(incentives, "ndtr", recording_ndtr))
        stack.enter_context(mock.patch.object(marginal, "ndtr", recording_ndtr))
        stack.enter_context(mock.patch.object(initialise, "settle_baseline", settle_marked))
        result = run(scenario, seed)
    generator = np.random.Generator(np.random.PCG64(seed))
    return result, [(kind, when, values, real_ndtr if name is None else getattr(generator, name), args, kwargs)
                    for kind, when, values, name, args, kwargs in recorded]


def replay(calls: list[Call]) -> dict[tuple[str, str], float]:
    """CPU seconds of each kind of call in each phase, replayed once in recorded order."""
    spent: dict[tuple[str, str], float] = {}
    for kind, when, _, fn, args, kwargs in calls:
        t = time.process_time()
        fn(*args, **kwargs)
        spent[kind, when] = spent.get((kind, when), 0.0) + time.process_time() - t
    return spent


def floor_and_run(scenario: Scenario, reps: int) -> dict[str, object]:
    """Median CPU time of the floor and of whole runs (seeds 1..reps, start settled), measured alternately.

    ``parts`` holds each (kind, phase)'s calls, values and median milliseconds."""
    run(scenario, 0)  # warm-up
    floors, runs, spent = [], [], []
    for seed in range(1, reps + 1):
        _, calls = record_run(scenario, seed)
        spent.append(replay(calls))
        floors.append(sum(spent[-1].values()))
        with CACHE.disabled():
            t = time.process_time()
            run(scenario, seed)
            runs.append(time.process_time() - t)
    parts = {
        key: {
            "calls": sum(1 for kind, when, *_ in calls if (kind, when) == key),
            "values": sum(values for kind, when, values, *_ in calls if (kind, when) == key),
            "ms": median([s.get(key, 0.0) for s in spent]) * 1e3,
        }
        for key in sorted(spent[0], key=lambda k: (k[1] != SETTLING, k[0]))
    }
    by_phase = {p: median([sum(v for (_, w), v in s.items() if w == p) for s in spent]) * 1e3 for p in (SETTLING, REST)}
    return {"floor_ms": median(floors) * 1e3, "run_ms": median(runs) * 1e3, "parts": parts, "phase_ms": by_phase}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="status_quo")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 seeds instead of --reps")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps = 3
    print("== bench_floor: a national run's random draws and normal CDFs, replayed alone ==")
    print(machine_report())
    out = floor_and_run(load_scenario(args.scenario), args.reps)
    print(f"\nscenario {args.scenario}, national, {args.reps} seeds (CPU time, medians)")
    print(f"{'phase':<9} {'call':<22} {'calls':>6} {'values':>11} {'ms':>7}")
    for (kind, when), part in out["parts"].items():
        print(f"{when:<9} {kind:<22} {part['calls']:>6} {part['values']:>11,} {part['ms']:>7.1f}")
    phases = ", ".join(f"{p} {ms:.1f} ms" for p, ms in out["phase_ms"].items())
    print(f"floor: {out['floor_ms']:.1f} ms ({phases}) of a {out['run_ms']:.1f} ms run "
          f"({out['floor_ms'] / out['run_ms']:.0%}); no implementation with these results runs faster")
    print(reproduce_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
