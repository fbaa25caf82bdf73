"""The critics' question, answered: will delegating peer review to consortia work?

``python run_sim.py critics`` runs the status quo and delegation at N draws of the assumptions (an
uncertainty comparison, stored like any other and resumable), then says in plain words:

1. how likely delegation is to improve quality *and* narrow unwarranted variation (the two together, draw by
   draw, as well as each alone);
2. which assumptions that hinges on (the variance shares of the quality difference);
3. the box of leadership and autonomy values in which delegation does harm (PRIM on the stored draws, over
   the leadership and autonomy assumptions only: the critics' doubt), or, where it never does harm, the box
   in which it fails to help materially.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.cli_options import RESULTS_DIR, add_db_option, console, db_url, run_overrides
from sim.docs import parameter_label

CRITICS_PARAMETERS: tuple[str, ...] = ("assumptions.leadership.*", "assumptions.practice.autonomy_*",
                                       "assumptions.challenge.*")
QUALITY, VARIATION = "quality_mean", "quality_sd"
MATERIAL_QUALITY = 0.005  # half a percentage point of patients' care: the least gain worth the reform's cost
MIN_CASES, MIN_CASE_SHARE = 5, 0.05  # fewer harmful draws than this cannot locate a box


def joint_probability(per_draw: pd.DataFrame, scenario: str) -> float:
    """Share of draws in which ``scenario`` both raises mean quality and lowers its spread."""
    rows = per_draw[per_draw["scenario"] == scenario].pivot(index="draw", columns="metric", values="difference")
    both = (rows[QUALITY] > 0) & (rows[VARIATION] < 0)
    return float(both.mean())


def answer(result: Any, *, scenario: str = "delegation") -> dict[str, Any]:
    """The three answers as numbers and sentences (also what the README's worked example prints)."""
    from sim.uncertainty.discovery import describe_boxes, discover
    from sim.uncertainty.stored import select_parameters

    table = result.uncertainty.set_index(["scenario", "metric"])
    quality, variation = table.loc[(scenario, QUALITY)], table.loc[(scenario, VARIATION)]
    drivers = result.drivers[(result.drivers["scenario"] == scenario) & (result.drivers["metric"] == QUALITY)]
    rows = result.per_draw[(result.per_draw["scenario"] == scenario) & (result.per_draw["metric"] == QUALITY)]
    diff = rows.set_index("draw")["difference"].reindex(result.draws.index).to_numpy(dtype=float)
    columns = select_parameters(list(result.draws.columns), CRITICS_PARAMETERS)
    harm = discover(result.draws[columns], diff, below=0.0)
    label = f"{scenario} lowers quality"
    note = ""
    if harm.n_cases < max(MIN_CASES, MIN_CASE_SHARE * len(diff)):
        # Too few harmful draws to say where harm happens: ask where the reform fails to help materially.
        rare = (f"in none of the {len(diff)} draws" if harm.n_cases == 0 else
                f"in {harm.n_cases} of {len(diff)} draws, too few to locate")
        note = (f"{scenario} lowers quality {rare}; where it fails to raise quality by "
                f"{MATERIAL_QUALITY * 100:g} points instead:")
        harm = discover(result.draws[columns], diff, below=MATERIAL_QUALITY)
        label = f"{scenario} fails to raise quality by {MATERIAL_QUALITY * 100:g} points"
    return {
        "note": note,
        "p_quality": float(quality["probability_better"]), "p_variation": float(variation["probability_better"]),
        "p_both": joint_probability(result.per_draw, scenario), "quality": quality, "variation": variation,
        "drivers": drivers, "discovery": harm, "boxes_text": describe_boxes(harm, outcome=label, label=parameter_label),
        "n_draws": len(result.draws),
    }


def _points(value: float) -> str:
    return f"{value * 100:+.2f}"


def print_answer(found: dict[str, Any], scenario: str) -> None:
    q, v = found["quality"], found["variation"]
    console.print(f"\n[bold]Will {scenario} work?[/bold] Over {found['n_draws']} draws of the assumptions "
                  "(behaviour, leadership, autonomy, evidence-based values), paired with the status quo:")
    console.print(f"  - It raises mean quality in {found['p_quality']:.0%} of draws: {_points(q.mean_difference)} "
                  f"percentage points on average (95% of draws between {_points(q.low)} and {_points(q.high)}).")
    console.print(f"  - It narrows unwarranted variation (the SD of quality) in {found['p_variation']:.0%} of draws: "
                  f"{_points(v.mean_difference)} points on average [{_points(v.low)} to {_points(v.high)}].")
    console.print(f"  - It does both in {found['p_both']:.0%} of draws.")
    top = found["drivers"].head(4)
    if len(top):
        shares = ", ".join(f"{parameter_label(r.parameter)} ({r.total:.0%} of the variance with interactions, "
                           f"{r.first_order:.0%} alone)" for r in top.itertuples())
        explained = float(top["explained"].iloc[0])
        console.print(f"  - The quality gain hinges on: {shares} (shares of the {explained:.0%} of its variance "
                      "that the estimate explains).")
    discovery = found["discovery"]
    if found["note"]:
        console.print(f"  - {found['note']}")
    if discovery.boxes.empty:
        console.print(f"  - {discovery.message}")
    for sentence in found["boxes_text"]:
        console.print(f"  - {sentence}")
    console.print("[dim]Boxes are found by PRIM over the leadership, challenge and autonomy assumptions only; "
                  "`run_sim.py discover` searches all of them. Intervals cover the assumptions' distributions and "
                  "simulation noise, not what the model leaves out (docs/ODD.md).[/dim]")


def _cmd_critics(args: argparse.Namespace) -> int:
    from sim.experiment.api import compare
    from sim.outputs import write_outputs
    from sim.uncertainty.commands import write_uncertainty

    result = compare(["status_quo", args.scenario], reps=args.reps, seed=args.seed, overrides=run_overrides(args),
                     workers=args.workers, scheduler=args.scheduler, db=db_url(args),
                     name=args.name, snapshots="first", progress=args.progress, uncertainty=args.draws,
                     material=[f"{QUALITY}={MATERIAL_QUALITY}"])
    found = answer(result, scenario=args.scenario)
    print_answer(found, args.scenario)
    out = Path(args.out) if args.out else RESULTS_DIR / result.name

    def write(folder: Path) -> None:  # into a temporary folder, moved into place once whole
        write_uncertainty(result, folder, workers=args.workers)
        found["discovery"].boxes.to_csv(folder / "boxes.csv", index=False)

    write_outputs(out, write, owner=result.name)
    console.print(f"Tables in [bold]{out}[/bold] (uncertainty.csv, drivers.csv, boxes.csv). Experiment "
                  f"[bold]{result.name}[/bold] is stored: `run_sim.py report {result.name}` writes its briefing pack.")
    if not np.isfinite(found["p_quality"]):
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "critics", help="the critics' question: how likely delegation is to work, and where it fails",
        description="Run the status quo and delegation at N draws of the assumptions and answer the critics' "
                    "question: the probability that delegation improves quality and narrows variation, the "
                    "assumptions it hinges on, and the box of leadership and autonomy values in which it does harm.",
    )
    p.add_argument("--scenario", default="delegation", help="the reform to question (default %(default)s)")
    p.add_argument("--draws", type=int, default=128, help="draws of the assumptions (default %(default)s)")
    p.add_argument("--reps", type=int, default=1, help="replications per draw (default %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="seed of the draws and of replication 0 (default %(default)s)")
    p.add_argument("--scale", type=float, help="share of England to simulate (default the whole country)")
    p.add_argument("--quarters", type=int, help="length of the run in quarters (default 40)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a parameter of both scenarios (repeatable)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, help="local processes (default one per core)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a Dask scheduler")
    add_db_option(p)
    p.add_argument("--name", help="experiment name (default compare-TIMESTAMP); repeat it to resume")
    p.add_argument("--out", type=Path, help="folder for the tables (default results/EXPERIMENT/)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="do not show the progress bar")
    p.set_defaults(func=_cmd_critics)

