"""Sweep throughput, database share, scaling with workers, and memory that stays flat with the run count.

Each measurement is a sweep through the experiment API (``sim.experiment.sweep``: plan, execute,
stream each finished run into a fresh SQLite ``ResultStore``) run in a fresh Python process, so that
peak memory belongs to that sweep alone. The sweep is a Latin hypercube over two behavioural assumptions
of the status quo at 0.1 x national scale (825 practices, 21 consortia), 40 quarters, one replication per
point, no practice snapshots (the default for sweeps).

Figures:

- 500 runs with 2 workers: runs per second, share of wall time spent writing to the database (the
  store's own accounting, ``Outcome.store_share``), peak memory of the orchestrating process and of the
  whole process tree (orchestrator + workers, sampled every 50 ms);
- the same 500 runs with 1 worker (in-process): the speed-up of 2 workers over 1 (target >= 1.8, issue 14);
- peak memory at 200 and at 2,000 runs, 2 workers (target: within 10%).

Run: ``python benchmarks/bench_sweep.py`` (about 2-3 minutes on 2 cores; ``--quick`` for 100/200/1,000).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_report, peak_rss_mb, reproduce_line

SCALE = 0.1
VARY = ("assumptions.practice.gaming_propensity=0.2:1.4", "assumptions.practice.autonomy_mean=0.3:0.7")
TARGET_SPEEDUP, TARGET_DB_SHARE, TARGET_MEMORY_GROWTH = 1.8, 0.20, 0.10
_SWEEP_NUMBER = itertools.count(1)


# ------------------------------------------------------------------------------------------ the child


def _descendants(pid: int) -> list[int]:
    """Pids of every process below ``pid`` (workers are children of the forkserver, a child of ours)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        out.extend(children)
        todo.extend(children)
    return out


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class TreeMemory:
    """Samples the resident memory of this process and its descendants; keeps the peaks."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.peak_tree_mib = 0.0
        self.peak_worker_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            kids = [_rss_mib(p) for p in _descendants(me)]
            self.peak_tree_mib = max(self.peak_tree_mib, _rss_mib(me) + sum(kids))
            self.peak_worker_mib = max([self.peak_worker_mib, *kids])
            self._stop.wait(self.interval_s)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def child(runs: int, workers: int, db_file: str) -> None:
    """One sweep in this fresh process; prints one JSON line of measurements."""
    from sim.experiment import sweep

    with TreeMemory() as memory:
        started = time.perf_counter()
        result = sweep(
            "status_quo", list(VARY), design="lhs", samples=runs, reps=1, seed=1,
            overrides=[f"run.scale={SCALE}"], workers=workers, db=f"sqlite:///{db_file}",
            name=f"bench-{runs}-{workers}", snapshots="none",
        )
        wall = time.perf_counter() - started
    outcome = result.outcome
    print(json.dumps({
        "runs": outcome.computed + outcome.reused, "workers": workers, "wall_s": wall,
        "sweep_s": outcome.elapsed_seconds, "store_share": outcome.store_share,
        "peak_parent_mib": peak_rss_mb(),
        "peak_tree_mib": memory.peak_tree_mib, "peak_worker_mib": memory.peak_worker_mib,
        "db_mib": os.path.getsize(db_file) / 2**20,
    }))


# ------------------------------------------------------------------------------------------ the parent


def measure(runs: int, workers: int, tmp: str) -> dict[str, float]:
    """One sweep in a fresh process with its own new database (nothing to reuse from an earlier one)."""
    db_file = str(Path(tmp) / f"bench-{runs}-{workers}-{next(_SWEEP_NUMBER)}.db")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(runs), str(workers), db_file],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"sweep of {runs} runs with {workers} workers failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500, help="runs of the throughput sweep")
    parser.add_argument("--memory-runs", type=int, nargs=2, default=[200, 2000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--quick", action="store_true", help="100-run throughput, 200/1,000-run memory")
    parser.add_argument("--child", nargs=3, metavar=("RUNS", "WORKERS", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(int(args.child[0]), int(args.child[1]), args.child[2])
        return 0
    if args.quick:
        args.runs, args.memory_runs = 100, [200, 1000]

    print("== bench_sweep: sweeps through sim.experiment into SQLite, each in a fresh process ==")
    print(machine_report())
    print(f"sweep: status_quo at scale {SCALE}, 40 quarters, LHS over {', '.join(v.split('=')[0] for v in VARY)}, "
          "1 replication per point, no snapshots")
    with tempfile.TemporaryDirectory() as tmp:
        two = measure(args.runs, 2, tmp)
        one = measure(args.runs, 1, tmp)
        small = measure(args.memory_runs[0], 2, tmp)
        large = measure(args.memory_runs[1], 2, tmp)

    print(f"\n{'runs':>6} {'workers':>7} {'wall s':>7} {'runs/s':>7} {'DB share':>8} {'parent MiB':>10} "
          f"{'worker MiB':>10} {'tree MiB':>9} {'DB MiB':>7}")
    for r in (two, one, small, large):
        print(f"{r['runs']:>6} {r['workers']:>7} {r['sweep_s']:>7.1f} {r['runs'] / r['sweep_s']:>7.1f} "
              f"{r['store_share']:>8.1%} {r['peak_parent_mib']:>10.1f} {r['peak_worker_mib']:>10.1f} "
              f"{r['peak_tree_mib']:>9.1f} {r['db_mib']:>7.1f}")
    speedup = one["sweep_s"] / two["sweep_s"]
    growth_parent = large["peak_parent_mib"] / small["peak_parent_mib"] - 1
    growth_tree = large["peak_tree_mib"] / small["peak_tree_mib"] - 1

    def verdict(ok: bool) -> str:
        return "met" if ok else "not met"

    print(f"\nthroughput: {two['runs'] / two['sweep_s']:.1f} runs/s with 2 workers, "
          f"{one['runs'] / one['sweep_s']:.1f} runs/s with 1")
    print(f"2 workers vs 1: {speedup:.2f}x faster (target >= {TARGET_SPEEDUP}: {verdict(speedup >= TARGET_SPEEDUP)})")
    print(f"database writing: {two['store_share']:.1%} of the wall time with 2 workers "
          f"(target < {TARGET_DB_SHARE:.0%}: {verdict(two['store_share'] < TARGET_DB_SHARE)})")
    print(f"peak memory, {large['runs']} vs {small['runs']} runs: orchestrator {growth_parent:+.1%}, "
          f"orchestrator + workers {growth_tree:+.1%} (target within {TARGET_MEMORY_GROWTH:.0%}: "
          f"{verdict(abs(growth_parent) <= TARGET_MEMORY_GROWTH and abs(growth_tree) <= TARGET_MEMORY_GROWTH)})")
    print(reproduce_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
