"""A design search at a quarter of England: wall time, the search's overhead, and what a resume reuses.

Measured in one run, one after the other, each in a fresh SQLite store on 2 local workers:

1. ``optimise quality_premium`` over the premium per head, its distribution rule and the improvement it
   asks for, minimising admissions and total cost (NSGA-II): 200 trials of 3 replications at 0.25 x
   national scale (603 runs);
2. a plain Latin-hypercube sweep of the same 603 runs' size (201 points x 3 replications), so the ratio
   search / sweep is the cost of proposing designs batch by batch rather than all at once;
3. the same search interrupted (SIGKILL) part-way and run again: how many runs the resume reused, and
   its wall time against the uninterrupted search.

Run: ``python benchmarks/bench_optimise.py`` (about 15 minutes on 2 idle cores; ``--quick``: 40 trials at
0.05 x national scale).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, machine_report, reproduce_line

LEVERS = ["--lever", "levers.quality_premium.per_head_gbp=0:20",
          "--lever", "levers.quality_premium.distribution=none,per_head,contribution,review_capacity",
          "--lever", "levers.quality_premium.required_improvement=0:0.1"]
OBJECTIVES = ["--objective", "outcome_mean=min", "--objective", "total_cost_gbp=min"]


def _command(kind: str, db: str, trials: int, scale: float, name: str) -> list[str]:
    common = ["--reps", "3", "--scale", str(scale), "--workers", "2", "--db", db, "--name", name,
              "--no-progress", "--out", str(Path(db.removeprefix("sqlite:///")).parent / name)]
    if kind == "optimise":
        return [sys.executable, str(ROOT / "run_sim.py"), "optimise", "quality_premium", *LEVERS, *OBJECTIVES,
                "--trials", str(trials), *common]
    return [sys.executable, str(ROOT / "run_sim.py"), "sweep", "quality_premium", "--design", "lhs",
            "--samples", str(trials + 1), "--vary", "levers.quality_premium.per_head_gbp=0:20",
            "levers.quality_premium.required_improvement=0:0.1", *common]


def _timed(cmd: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started, done.stdout


def _counts(stdout: str) -> tuple[int, int]:
    match = re.search(r"(\d+) runs computed, (\d+) reused", " ".join(stdout.split()))
    if match is None:
        raise SystemExit(f"no run counts in the output:\n{stdout[-1500:]}")
    return int(match[1]), int(match[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 trials at 0.05 x national scale")
    args = parser.parse_args()
    trials, scale = (40, 0.05) if args.quick else (200, 0.25)
    print(machine_report())
    with tempfile.TemporaryDirectory() as tmp:
        whole_db, sweep_db, cut_db = (f"sqlite:///{tmp}/{n}.db" for n in ("whole", "sweep", "cut"))
        search_s, out = _timed(_command("optimise", whole_db, trials, scale, "whole"))
        computed, reused = _counts(out)
        sweep_s, out = _timed(_command("sweep", sweep_db, trials, scale, "sweep"))
        sweep_computed, _ = _counts(out)

        cmd = _command("optimise", cut_db, trials, scale, "cut")
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(search_s / 2)
        os.killpg(proc.pid, signal.SIGKILL)  # no chance to mark anything: the hardest interrupt
        proc.wait()
        resume_s, out = _timed(cmd)
        resumed_computed, resumed_reused = _counts(out)

    runs = (trials + 1) * 3
    print(f"\n{trials} trials x 3 replications at {scale} x national scale ({runs} runs), 2 workers:")
    print(f"  search:  {search_s:7.1f} s wall ({computed} runs computed, {reused} found stored: designs the "
          f"sampler proposed twice), {search_s / runs * 1000:.0f} ms a run")
    print(f"  sweep of the same size: {sweep_s:7.1f} s wall; search / sweep = {search_s / sweep_s:.2f}; per run "
          f"computed: {(search_s / computed) / (sweep_s / sweep_computed):.2f} (the cost of proposing designs "
          "batch by batch)")
    print(f"  killed at half time and run again: {resumed_reused} runs reused, {resumed_computed} computed; "
          f"the resume took {resume_s:.1f} s = {resume_s / search_s:.2f} of the uninterrupted search")
    print(reproduce_line())


if __name__ == "__main__":
    main()
