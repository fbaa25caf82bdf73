"""Peak memory of a sweep does not grow with its number of runs: results stream to the database.

Runs a 200-run and a 2,000-run sweep of the same small scenario, each in a fresh Python process with its
own SQLite database, and reports for each the peak resident memory of the orchestrating process (where
results arrive and would pile up if anything held them), wall time, the share of it spent writing to the
database, and the database's size. The two peaks should differ by little.

Reproduce (about a minute on 2 cores)::

    python benchmarks/bench_sweep_memory.py                  # 200 and 2,000 runs, 2 workers
    python benchmarks/bench_sweep_memory.py --runs 200 20000 --workers 4
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCALE, QUARTERS, REPS = 0.02, 8, 2
PARAMETER = "assumptions.practice.gaming_propensity"


def child(runs: int, workers: int, db_file: str) -> None:
    """One sweep in this (fresh) process; prints a JSON line of measurements."""
    from sim.experiment import sweep

    points = runs // REPS
    started = time.perf_counter()
    result = sweep(
        "status_quo", [f"{PARAMETER}=0.2:1.4:{points}"], reps=REPS, seed=1,
        overrides=[f"run.scale={SCALE}", f"run.quarters={QUARTERS}"], workers=workers,
        db=f"sqlite:///{db_file}", name=f"bench-{runs}", snapshots="none",
    )
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({
        "runs": result.outcome.computed + result.outcome.reused, "workers": workers, "wall_s": wall,
        "peak_rss_mib": peak_kib / 1024, "store_share": result.outcome.store_share,
        "db_mib": os.path.getsize(db_file) / 2**20, "table_rows": len(result.table),
    }))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--child", nargs=3, metavar=("RUNS", "WORKERS", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), int(args.child[1]), args.child[2])
        return 0

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for runs in args.runs:
            db_file = str(Path(tmp) / f"bench-{runs}.db")
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(runs), str(args.workers), db_file],
                capture_output=True, text=True, check=False,
            )
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return proc.returncode
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    print(f"Sweep memory benchmark: status_quo, scale {SCALE}, {QUARTERS} quarters, {REPS} replications per "
          f"point, snapshots none, {args.workers} worker processes, SQLite.")
    print(f"{'runs':>7} {'wall s':>8} {'runs/s':>8} {'peak RSS MiB':>13} {'DB write share':>15} {'DB MiB':>8}")
    for r in rows:
        print(f"{r['runs']:>7} {r['wall_s']:>8.1f} {r['runs'] / r['wall_s']:>8.1f} {r['peak_rss_mib']:>13.1f} "
              f"{r['store_share']:>15.0%} {r['db_mib']:>8.1f}")
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        growth = large["peak_rss_mib"] - small["peak_rss_mib"]
        print(f"Peak memory of the orchestrating process: {large['runs'] / small['runs']:.0f}x the runs, "
              f"{growth:+.1f} MiB ({growth / small['peak_rss_mib']:+.0%}).")
    print(f"Reproduce: python benchmarks/bench_sweep_memory.py --runs {' '.join(map(str, args.runs))} "
          f"--workers {args.workers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
