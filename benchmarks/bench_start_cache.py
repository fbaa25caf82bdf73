"""What the cache of settled starts saves: one run, a comparison and a lever sweep, with and without it.

The start of a run (settling the population into the baseline regime, ``sim.processes.initialise``)
depends on the seed, the run settings and the assumptions, not on the levers, so runs that share them
settle it once (``sim.start_cache``). Measured side by side, alternating:

- one national run in this process: from a cached start against settling its own (the same seed, the
  cache primed by another scenario's run);
- ``compare status_quo delegation white_paper`` at national scale, 2 workers, in fresh processes with
  ``CRSIM_START_CACHE=off`` and without it (the pool sends each replication's scenarios to one worker);
- a sweep of the quality premium's two levers, a Latin hypercube at 0.25 x scale with 3 replications
  per point (every point reuses the 3 starts), 2 workers, the same way.

Results are identical either way (``tests/test_start_cache.py``); each figure is the ratio of wall times.

Run: ``python benchmarks/bench_start_cache.py`` (``--quick`` for fewer repetitions).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_report, median, reproduce_line, timed

from sim.runner import run
from sim.scenario import load_scenario
from sim.start_cache import CACHE, START_CACHE_ENV

COMPARED = ("status_quo", "delegation", "white_paper")
SWEPT = ("levers.quality_premium.per_head_gbp=0:20", "levers.quality_premium.required_improvement=0:0.05")


def one_run(reps: int) -> tuple[float, float]:
    """Median wall time of a national run settling its own start, and from a cached one."""
    own_scenario, other = load_scenario("delegation"), load_scenario("status_quo")
    run(own_scenario, 0)  # warm-up
    own, cached = [], []
    for seed in range(1, reps + 1):
        with CACHE.disabled():
            own.append(timed(lambda seed=seed: run(own_scenario, seed))[0])
        run(other, seed)  # primes the start for this seed
        cached.append(timed(lambda seed=seed: run(own_scenario, seed))[0])
    return median(own), median(cached)


def child(kind: str, db_file: str, reps: int) -> None:
    """One experiment in this fresh process; prints its wall time as JSON."""
    from sim.experiment import compare, sweep

    started = time.perf_counter()
    if kind == "compare":
        compare(list(COMPARED), reps=reps, workers=2, db=f"sqlite:///{db_file}", snapshots="none")
    else:
        sweep("quality_premium", list(SWEPT), design="lhs", samples=reps, reps=3, overrides=["run.scale=0.25"],
              workers=2, db=f"sqlite:///{db_file}")
    print(json.dumps({"wall_s": time.perf_counter() - started}))


def experiment(kind: str, reps: int, cache: bool, tmp: str, number: int) -> float:
    env = dict(os.environ)
    env.pop(START_CACHE_ENV, None)
    if not cache:
        env[START_CACHE_ENV] = "off"
    db_file = str(Path(tmp) / f"{kind}-{number}-{cache}.db")
    proc = subprocess.run([sys.executable, __file__, "--child", kind, db_file, str(reps)], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["wall_s"]


def paired(kind: str, reps: int, pairs: int, tmp: str) -> tuple[float, float, float]:
    """Median wall times without and with the cache, and the median of the pair-by-pair ratios."""
    off, on = [], []
    for number in range(pairs):
        off.append(experiment(kind, reps, False, tmp, number))
        on.append(experiment(kind, reps, True, tmp, number))
    return median(off), median(on), median([b / a for a, b in zip(off, on, strict=True)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (noisier)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, db_file, reps = args.child
        child(kind, db_file, int(reps))
        return 0
    print("== bench_start_cache: runs that share a start settle it once ==")
    print(machine_report())
    own, cached = one_run(3 if args.quick else 7)
    print(f"\none national run (delegation): settling its own start {own * 1e3:.0f} ms, from a cached start "
          f"{cached * 1e3:.0f} ms: {cached / own:.2f} of the time")
    pairs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        reps = 2 if args.quick else 4
        off, on, ratio = paired("compare", reps, pairs, tmp)
        print(f"compare {' '.join(COMPARED)}, national, {reps} replications ({3 * reps} runs), 2 workers: "
              f"{off:.1f} s without the cache, {on:.1f} s with it: {ratio:.2f} of the time")
        points = 8 if args.quick else 24
        off, on, ratio = paired("sweep", points, pairs, tmp)
        print(f"sweep of the quality premium's levers, {points} points x 3 replications at 0.25 x scale, 2 "
              f"workers: {off:.1f} s without the cache, {on:.1f} s with it: {ratio:.2f} of the time")
    print(reproduce_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
