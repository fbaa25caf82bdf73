"""An uncertainty comparison at national scale: wall time and peak memory, and memory flat in the draws.

Each measurement is ``sim.experiment.compare(["status_quo", "delegation"], uncertainty=N, reps=1)`` in a
fresh Python process with a fresh SQLite store, on 2 workers: every scenario at N scrambled-Sobol draws of
the 77 numeric assumptions, stored, read back, summarised, with its variance drivers and (timed apart)
a PRIM search.

Figures:

- 256 draws of two scenarios at national scale (512 runs): wall time, seconds per run, the share of the
  wall time spent on the analysis after the runs, peak memory of the orchestrating process and of the
  process tree;
- peak memory at 64 and at 1,024 draws (0.05 x national scale, so the runs take minutes, not an hour; the
  orchestrator's memory is what grows with the draws): the target is within 10%.

Run: ``python benchmarks/bench_uncertainty.py`` (about 6-8 minutes on 2 cores; ``--quick``: 32 national
draws, 64 and 256 small ones).
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

from bench_sweep import TreeMemory
from common import machine_report, peak_rss_mb, reproduce_line

TARGET_MEMORY_GROWTH = 0.10


def child(draws: int, scale: float, db_file: str) -> None:
    """One uncertainty comparison in this fresh process; prints one JSON line of measurements."""
    from sim.experiment import compare
    from sim.uncertainty.discovery import discover

    with TreeMemory() as memory:
        started = time.perf_counter()
        result = compare(["status_quo", "delegation"], uncertainty=draws, reps=1, seed=1,
                         overrides=[f"run.scale={scale}"], workers=2, db=f"sqlite:///{db_file}",
                         name=f"bench-{draws}", snapshots="none")
        wall = time.perf_counter() - started
        peak_compare = peak_rss_mb()  # the comparison: runs, store, summary and drivers
        t0 = time.perf_counter()
        rows = result.per_draw[(result.per_draw["scenario"] == "delegation")
                               & (result.per_draw["metric"] == "quality_mean")].set_index("draw")
        y = rows["difference"].reindex(result.draws.index).to_numpy()
        discover(result.draws, y, below=float(sorted(y)[len(y) // 5]))
        prim_s = time.perf_counter() - t0
    outcome = result.outcome
    print(json.dumps({
        "draws": draws, "runs": outcome.computed + outcome.reused, "wall_s": wall, "runs_s": outcome.elapsed_seconds,
        "prim_s": prim_s, "peak_compare_mib": peak_compare, "peak_parent_mib": peak_rss_mb(),
        "peak_tree_mib": memory.peak_tree_mib,
        "db_mib": os.path.getsize(db_file) / 2**20,
    }))


def measure(draws: int, scale: float, tmp: str) -> dict[str, float]:
    db_file = str(Path(tmp) / f"bench-{draws}-{scale}.db")
    proc = subprocess.run([sys.executable, __file__, "--child", str(draws), str(scale), db_file],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"uncertainty comparison of {draws} draws failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=256, help="draws of the national comparison")
    parser.add_argument("--memory-draws", type=int, nargs=2, default=[64, 1024], metavar=("SMALL", "LARGE"))
    parser.add_argument("--memory-scale", type=float, default=0.05)
    parser.add_argument("--quick", action="store_true", help="32 national draws; 64 and 256 for memory")
    parser.add_argument("--child", nargs=3, metavar=("DRAWS", "SCALE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(int(args.child[0]), float(args.child[1]), args.child[2])
        return 0
    if args.quick:
        args.draws, args.memory_draws = 32, [64, 256]

    print("== bench_uncertainty: compare status_quo delegation --uncertainty N, 2 workers, fresh SQLite ==")
    print(machine_report())
    with tempfile.TemporaryDirectory() as tmp:
        national = measure(args.draws, 1.0, tmp)
        small = measure(args.memory_draws[0], args.memory_scale, tmp)
        large = measure(args.memory_draws[1], args.memory_scale, tmp)
    print(f"\n{'draws':>6} {'scale':>6} {'runs':>6} {'wall s':>8} {'s/run':>6} {'analysis':>8} {'PRIM s':>7} "
          f"{'parent MiB':>10} {'tree MiB':>9} {'DB MiB':>7}")
    for r, scale in ((national, 1.0), (small, args.memory_scale), (large, args.memory_scale)):
        analysis = 1 - r["runs_s"] / r["wall_s"]
        print(f"{r['draws']:>6} {scale:>6g} {r['runs']:>6} {r['wall_s']:>8.1f} {r['wall_s'] / r['runs']:>6.2f} "
              f"{analysis:>8.1%} {r['prim_s']:>7.2f} {r['peak_parent_mib']:>10.1f} {r['peak_tree_mib']:>9.1f} "
              f"{r['db_mib']:>7.1f}")
    growth_compare = large["peak_compare_mib"] / small["peak_compare_mib"] - 1
    growth_parent = large["peak_parent_mib"] / small["peak_parent_mib"] - 1
    growth_tree = large["peak_tree_mib"] / small["peak_tree_mib"] - 1
    ok = abs(growth_compare) <= TARGET_MEMORY_GROWTH and abs(growth_tree) <= TARGET_MEMORY_GROWTH
    print(f"\nnational, {national['draws']} draws x 2 scenarios: {national['wall_s']:.0f} s wall on 2 workers, "
          f"peak {national['peak_tree_mib']:.0f} MiB (orchestrator {national['peak_parent_mib']:.0f} MiB)")
    print(f"peak memory, {large['draws']} vs {small['draws']} draws: orchestrator through the comparison "
          f"{growth_compare:+.1%} ({small['peak_compare_mib']:.0f} -> {large['peak_compare_mib']:.0f} MiB), "
          f"orchestrator + workers {growth_tree:+.1%} (target within {TARGET_MEMORY_GROWTH:.0%}: "
          f"{'met' if ok else 'not met'}); with a PRIM search after it, orchestrator {growth_parent:+.1%} "
          "(EMA Workbench's PRIM holds its peeling boxes: memory in proportion to draws x assumptions)")
    print(reproduce_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
