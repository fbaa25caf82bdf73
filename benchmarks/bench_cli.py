"""The command line as a user meets it: start-up of the light commands, and what a `run` costs end to end.

Two comparisons, each made of whole processes started one after the other, A B A B ..., so that a drift in
the machine's speed touches both sides alike; every figure is the CPU time of the finished process
(``getrusage`` of the children: user + system, including any process it waited for, such as git), median
over the repetitions, and each ratio is the median of the pair-by-pair ratios.

- **Start-up**: ``run_sim.py scenarios``, ``show status_quo``, ``params``, ``schema`` and ``--help`` against
  ``python -c "import numpy"`` (target: at most 2.5 times).
- **A run end to end**: ``run status_quo --quarters 40`` minus ``--quarters 4`` on the command line (which
  also writes the run folder) against the same 36 quarters in this process, ``sim.runner.run`` of 40 minus
  4 quarters (target: at most 1.5 times).

Run: ``python benchmarks/bench_cli.py`` (``--quick`` for fewer repetitions; ``--checkout DIR`` to time
another copy of the project, e.g. an older commit unpacked with ``git archive COMMIT | tar -x -C DIR``,
with this interpreter).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, machine_report, median, reproduce_line

LIGHT_COMMANDS = (("scenarios",), ("show", "status_quo"), ("params",), ("schema",), ("--help",))
REFERENCE = ("-c", "import numpy")
STARTUP_TARGET = 2.5
RUN_TARGET = 1.5


def child_seconds(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one whole process, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def paired(a: list[str], b: list[str], cwd: Path, reps: int) -> dict[str, float]:
    """A and B in turn after one warm-up each: median CPU of each and the median of the ratios A/B."""
    child_seconds(a, cwd)
    child_seconds(b, cwd)
    cpu_a, cpu_b = [], []
    for _ in range(reps):
        cpu_a.append(child_seconds(a, cwd)[0])
        cpu_b.append(child_seconds(b, cwd)[0])
    ratios = [x / y for x, y in zip(cpu_a, cpu_b, strict=True)]
    return {"a_ms": median(cpu_a) * 1e3, "b_ms": median(cpu_b) * 1e3, "ratio": median(ratios),
            "ratio_min": min(ratios), "ratio_max": max(ratios)}


def startup(checkout: Path, reps: int) -> list[dict[str, object]]:
    rows = []
    for command in LIGHT_COMMANDS:
        row = paired([sys.executable, "run_sim.py", *command], [sys.executable, *REFERENCE], checkout, reps)
        rows.append({"command": " ".join(command), **row})
    return rows


def run_end_to_end(checkout: Path, reps: int) -> dict[str, float]:
    """Command line 40 - 4 quarters against in-process 40 - 4 quarters (national status_quo, seed 1)."""
    with tempfile.TemporaryDirectory() as tmp:
        count = iter(range(10**6))

        def cli(quarters: int) -> list[str]:
            out = Path(tmp) / f"run{next(count)}"
            return [sys.executable, "run_sim.py", "run", "status_quo", "--quarters", str(quarters), "--out", str(out)]

        child_seconds(cli(40), checkout)
        child_seconds(cli(4), checkout)
        long_cpu, short_cpu = [], []
        for _ in range(reps):
            long_cpu.append(child_seconds(cli(40), checkout)[0])
            short_cpu.append(child_seconds(cli(4), checkout)[0])
    code = (
        "import json, sys, time\n"
        "from sim.runner import run\n"
        "from sim.scenario import load_scenario\n"
        "long = load_scenario('status_quo', ['run.quarters=40'])\n"
        "short = load_scenario('status_quo', ['run.quarters=4'])\n"
        "run(long, 1); run(short, 1)\n"
        "out = {'long': [], 'short': []}\n"
        f"for _ in range({reps}):\n"
        "    for key, scenario in (('long', long), ('short', short)):\n"
        "        t = time.process_time(); run(scenario, 1); out[key].append(time.process_time() - t)\n"
        "print(json.dumps(out))\n"
    )
    # In a process of its own started in the checkout, so that it times that checkout's model.
    inproc = json.loads(subprocess.run([sys.executable, "-c", code], cwd=checkout, check=True, capture_output=True,
                                       text=True, env={**os.environ, "PYTHONPATH": str(checkout)}).stdout)
    cli_extra = median(long_cpu) - median(short_cpu)
    model_extra = median(inproc["long"]) - median(inproc["short"])
    return {"cli_40_ms": median(long_cpu) * 1e3, "cli_4_ms": median(short_cpu) * 1e3,
            "cli_extra_ms": cli_extra * 1e3, "inproc_40_ms": median(inproc["long"]) * 1e3,
            "inproc_4_ms": median(inproc["short"]) * 1e3, "inproc_extra_ms": model_extra * 1e3,
            "ratio": cli_extra / model_extra}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="project copy to time (default this one)")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args(argv)
    checkout = args.checkout.resolve()
    print(machine_report())
    print(f"checkout: {checkout}")
    startup_reps, run_reps = (5, 3) if args.quick else (11, 5)

    rows = startup(checkout, startup_reps)
    print(f"\nstart-up, CPU of the whole process, median of {startup_reps} pairs; "
          f"reference python -c 'import numpy': {median([r['b_ms'] for r in rows]):.0f} ms")
    print(f"{'command':<20} {'ms':>6} {'x numpy':>8}  (min-max)   target <= {STARTUP_TARGET}")
    for r in rows:
        met = "met" if r["ratio"] <= STARTUP_TARGET else "NOT met"
        spread = f"({r['ratio_min']:.2f}-{r['ratio_max']:.2f})"
        print(f"{r['command']:<20} {r['a_ms']:>6.0f} {r['ratio']:>8.2f}  {spread}  {met}")

    e2e = run_end_to_end(checkout, run_reps)
    met = "met" if e2e["ratio"] <= RUN_TARGET else "NOT met"
    print(f"\nrun status_quo (national), CPU, median of {run_reps}: "
          f"command line 40 quarters {e2e['cli_40_ms']:.0f} ms, "
          f"4 quarters {e2e['cli_4_ms']:.0f} ms, difference {e2e['cli_extra_ms']:.0f} ms;\n"
          f"in-process 40 quarters {e2e['inproc_40_ms']:.0f} ms, 4 quarters {e2e['inproc_4_ms']:.0f} ms, "
          f"difference {e2e['inproc_extra_ms']:.0f} ms")
    print(f"command line / in-process for the 36 extra quarters: {e2e['ratio']:.2f} (target <= {RUN_TARGET}: {met})")
    if args.json:
        print(json.dumps({"startup": rows, "run": e2e}))
    print(reproduce_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
