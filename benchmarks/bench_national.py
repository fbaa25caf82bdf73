"""National run throughput, and how the cost grows with the number of practices.

A national run is the status quo at scale 1 (8,245 practices, 211 consortia), 40 quarters, every quarterly
metric and the yearly practice snapshots collected: exactly ``sim.runner.run(scenario, seed)``, including
building the population and the result frames. The figure is practice-quarters per second (starting
practices x quarters / wall time), median of several runs with different seeds after one warm-up run.
The same is repeated at 0.1, 1, 4 and 10 times national scale; the cost per practice-quarter at each
scale is given relative to scale 1 (targets: 10x within 1.3x of 1x).

Last, the national run against model 0.2.0's code (issue 14's reference: the last commit at 0.2.0,
unpacked with ``git archive``), each timed in processes of its own started alternately, by CPU time, and
this tree's floor (``bench_floor.py``) against the time that twice 0.2.0's speed needs.

Run: ``python benchmarks/bench_national.py`` (``--quick`` for fewer repetitions, ``--scenario`` to
change the scenario, ``--scales`` to change the scales, ``--against COMMIT`` for another reference,
``--against ''`` for none).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_floor import floor_and_run
from common import machine_report, median, peak_rss_mb, reproduce_line, timed

from sim.runner import run
from sim.scenario import load_scenario
from sim.start_cache import CACHE

# Repetitions per scale (timed runs after one warm-up): fewer at large scale, where one run takes seconds.
#: The last commit at model 0.2.0: the reference issue 14's targets are set against.
REFERENCE_COMMIT = "150351755cd053c91bb06db7e349d076af382e32"
ROOT = Path(__file__).resolve().parent.parent
REPS = {0.1: 21, 1.0: 11, 4.0: 5, 10.0: 3}
QUICK_REPS = {0.1: 7, 1.0: 5, 4.0: 2, 10.0: 1}
TARGET_PQ_PER_S = 5e6
TARGET_SCALING = 1.3


def measure(scenario_name: str, scale: float, reps: int) -> dict[str, float]:
    """Median wall and CPU time of ``reps`` runs (seeds 1..reps) after a warm-up run (seed 0)."""
    scenario = load_scenario(scenario_name, [f"run.scale={scale}"])
    run(scenario, 0)  # warm-up: first-call costs (imports, code version) are not what we measure
    walls, cpus = [], []
    practices = quarters = 0
    for seed in range(1, reps + 1):
        CACHE.clear()  # each run settles its own start, as a single run does (a second scenario would share)
        wall, cpu, result = timed(lambda seed=seed: run(scenario, seed))
        walls.append(wall)
        cpus.append(cpu)
        practices = int(result.metadata["practices_at_start"])
        quarters = scenario.run.quarters
    pq = practices * quarters
    wall_ms, cpu_ms = median(walls) * 1e3, median(cpus) * 1e3
    return {
        "scale": scale,
        "practices": practices,
        "quarters": quarters,
        "reps": reps,
        "wall_ms": wall_ms,
        "min_ms": min(walls) * 1e3,
        "cpu_ms": cpu_ms,
        "pq_per_s": pq / (wall_ms / 1e3),
        "ns_per_pq": wall_ms * 1e6 / pq,
        "cpu_ns_per_pq": cpu_ms * 1e6 / pq,
    }


def run_memory(scenario_name: str, scale: float) -> dict[str, float]:
    """Resident memory of a fresh process after imports, and its peak over one run (Linux).

    VmHWM rather than ``ru_maxrss``: the latter survives exec, so a child would report its parent's peak.
    """
    code = (
        "import json\n"
        "from sim.runner import run\n"
        "from sim.scenario import load_scenario\n"
        "import sim.model\n"
        "before = int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]) / 1024\n"
        f"result = run(load_scenario({scenario_name!r}, ['run.scale={scale}']), 1)\n"
        "after = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024\n"
        "print(json.dumps({'imports_mib': before, 'peak_mib': after, 'snapshot_rows': len(result.snapshots)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _cpu_of_national_runs(tree: Path, scenario_name: str, seeds: int) -> float:
    """Median CPU seconds of ``seeds`` national runs in a fresh process importing ``tree``'s package."""
    code = (
        "import json, time\n"
        "from sim.runner import run\n"
        "from sim.scenario import load_scenario\n"
        f"scenario = load_scenario({scenario_name!r})\n"
        "run(scenario, 0)\n"
        "times = []\n"
        f"for seed in range(1, {seeds + 1}):\n"
        "    t = time.process_time(); run(scenario, seed); times.append(time.process_time() - t)\n"
        "print(json.dumps(sorted(times)[len(times) // 2]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def against_commit(commit: str, scenario_name: str, pairs: int, seeds: int) -> dict[str, float] | None:
    """This tree's national run against ``commit``'s, alternating processes; None without git history."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=False)
        if archive.returncode != 0:
            print(f"reference {commit[:12]}: not available here ({archive.stderr.decode().strip()})")
            return None
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        ours, theirs = [], []
        for _ in range(pairs):
            theirs.append(_cpu_of_national_runs(Path(tmp), scenario_name, seeds))
            ours.append(_cpu_of_national_runs(ROOT, scenario_name, seeds))
    return {"ours_ms": median(ours) * 1e3, "theirs_ms": median(theirs) * 1e3,
            "speedup": median([t / o for o, t in zip(ours, theirs, strict=True)])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="status_quo")
    parser.add_argument("--also", default="white_paper", help="a second scenario timed at scale 1 ('' for none)")
    parser.add_argument("--scales", default="0.1,1,4,10")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (noisier)")
    parser.add_argument("--against", default=REFERENCE_COMMIT, help="a commit to compare the national run with")
    args = parser.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",")]
    reps_for = QUICK_REPS if args.quick else REPS

    print("== bench_national: one run = sim.runner.run(scenario, seed), population to result frames ==")
    print(machine_report())
    rows = [measure(args.scenario, s, reps_for.get(s, 3)) for s in scales]
    base = next((r for r in rows if r["scale"] == 1.0), rows[0])
    print(f"\nscenario {args.scenario}, 40 quarters, all quarterly metrics and yearly snapshots collected")
    print(f"{'scale':>6} {'practices':>9} {'runs':>4} {'ms/run':>9} {'min ms':>8} {'CPU ms':>8} "
          f"{'pq/s':>11} {'ns/pq':>7} {'vs 1x':>6} {'CPU vs 1x':>9}")
    for r in rows:
        print(f"{r['scale']:>6g} {r['practices']:>9d} {r['reps']:>4d} {r['wall_ms']:>9.1f} {r['min_ms']:>8.1f} "
              f"{r['cpu_ms']:>8.1f} {r['pq_per_s']:>11,.0f} {r['ns_per_pq']:>7.1f} "
              f"{r['ns_per_pq'] / base['ns_per_pq']:>6.2f} {r['cpu_ns_per_pq'] / base['cpu_ns_per_pq']:>9.2f}")
    if args.also:
        extra = measure(args.also, 1.0, reps_for[1.0])
        print(f"{args.also} at scale 1: {extra['wall_ms']:.1f} ms/run (CPU {extra['cpu_ms']:.1f} ms), "
              f"{extra['pq_per_s']:,.0f} practice-quarters/s")
    print(f"\nnational run: {base['wall_ms']:.1f} ms/run, {base['pq_per_s']:,.0f} practice-quarters/s "
          f"(target {TARGET_PQ_PER_S:,.0f}: {'met' if base['pq_per_s'] >= TARGET_PQ_PER_S else 'not met'})")
    big = next((r for r in rows if r["scale"] == 10.0), None)
    if big is not None:
        ratio = big["ns_per_pq"] / base["ns_per_pq"]
        print(f"scaling: cost per practice-quarter at 10x is {ratio:.2f}x that at 1x "
              f"(target <= {TARGET_SCALING}: {'met' if ratio <= TARGET_SCALING else 'not met'})")
    largest = max(scales)
    memory = run_memory(args.scenario, largest)
    print(f"memory of one run at {largest:g}x in a fresh process: peak {memory['peak_mib']:.0f} MiB, of which "
          f"{memory['imports_mib']:.0f} MiB is the interpreter and imports "
          f"({memory['snapshot_rows']:,} snapshot rows returned)")
    print(f"peak memory of this benchmark process: {peak_rss_mb():.0f} MiB")
    if args.against:
        versus = against_commit(args.against, args.scenario, 2 if args.quick else 4, 5)
        if versus is not None:
            print(f"against {args.against[:12]} (model 0.2.0 for the default): {versus['theirs_ms']:.0f} ms CPU "
                  f"there, {versus['ours_ms']:.0f} ms here: {versus['speedup']:.2f} times as fast "
                  f"(target 2: {'met' if versus['speedup'] >= 2 else 'not met'})")
            floor = floor_and_run(load_scenario(args.scenario), 3 if args.quick else 5)
            needed = versus["theirs_ms"] / 2
            print(f"floor of this tree's run (benchmarks/bench_floor.py: its random draws and normal CDFs alone): "
                  f"{floor['floor_ms']:.0f} ms CPU, {floor['floor_ms'] / needed:.2f} of the {needed:.0f} ms that 2 "
                  f"times as fast needs; that leaves {needed - floor['floor_ms']:.0f} ms for the rest of the run, "
                  f"{floor['run_ms'] - floor['floor_ms']:.0f} ms now")
    print(reproduce_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
