"""Our national run against a plain Mesa model of the same size, measured in one process, alternately.

The reference (``benchmarks/mesa_reference.py``) has as many practices as a national run, each a Python
object stepped by ``AgentSet.shuffle_do("step")``, with a Mesa ``DataCollector`` recording six model-level
measures each quarter, and a far simpler practice rule than ours (effort towards the consortium mean,
quality and cost updates). Both are run for 40 quarters from construction to collected data; rounds
alternate ours and the reference so that load on the machine hits both alike. The figure is the ratio of
our practice-quarters per second to the reference's agent-steps per second (target: at least 20), and
last the most that ratio could be for any implementation of this model version: the reference's time
over the floor of our run (``bench_floor.py``).

Run: ``python benchmarks/bench_mesa_reference.py`` (``--rounds N``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_floor import floor_and_run
from common import machine_report, median, reproduce_line, timed
from mesa_reference import run_reference

from sim.runner import run
from sim.scenario import load_scenario

TARGET_RATIO = 20.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="status_quo")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)

    print("== bench_mesa_reference: our run vs a plain Mesa model, same process, alternating ==")
    print(machine_report())
    scenario = load_scenario(args.scenario)
    quarters = scenario.run.quarters
    run(scenario, 0)  # warm-up both
    practices = int(run(scenario, 0).metadata["practices_at_start"])
    run_reference(practices=practices, quarters=quarters, seed=0)

    ours_wall, ours_cpu, ref_wall, ref_cpu = [], [], [], []
    for k in range(1, args.rounds + 1):
        wall, cpu, _ = timed(lambda k=k: run(scenario, k))
        ours_wall.append(wall)
        ours_cpu.append(cpu)
        wall, cpu, _ = timed(lambda k=k: run_reference(practices=practices, quarters=quarters, seed=k))
        ref_wall.append(wall)
        ref_cpu.append(cpu)

    work = practices * quarters
    ours = work / median(ours_wall)
    ref = work / median(ref_wall)
    ratio = ours / ref
    cpu_ratio = median(ref_cpu) / median(ours_cpu)
    print(f"\n{practices} practices x {quarters} quarters, {args.rounds} rounds (median)")
    print(f"ours ({args.scenario}):  {median(ours_wall) * 1e3:8.1f} ms/run (CPU {median(ours_cpu) * 1e3:7.1f} ms), "
          f"{ours:>12,.0f} practice-quarters/s")
    print(f"plain Mesa reference:  {median(ref_wall) * 1e3:8.1f} ms/run (CPU {median(ref_cpu) * 1e3:7.1f} ms), "
          f"{ref:>12,.0f} agent-steps/s")
    print(f"ratio: {ratio:.1f}x (CPU time: {cpu_ratio:.1f}x); target >= {TARGET_RATIO:g}x: "
          f"{'met' if ratio >= TARGET_RATIO else 'not met'}")
    floor = floor_and_run(scenario, 3)
    cap = median(ref_cpu) / (floor["floor_ms"] / 1e3)
    print(f"cap: this model version's floor (bench_floor.py, {floor['floor_ms']:.0f} ms CPU of random draws and "
          f"normal CDFs) allows at most {cap:.1f}x (CPU time) to any implementation with these results")
    print(reproduce_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
