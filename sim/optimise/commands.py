"""``optimise``: search a scenario's levers for the best trade-offs, on paired runs, stored and resumable.

Registered in :data:`sim.cli.COMMAND_MODULES`. Every input is checked (levers against the schema,
metrics against the registry) before the store is opened or a worker started.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from sim.cli_options import RESULTS_DIR, add_run_options, console, db_url, run_overrides
from sim.experiment.commands import add_execution_options
from sim.experiment.errors import DesignError
from sim.experiment.printing import print_outcome
from sim.metrics import METRICS_BY_NAME
from sim.numbers import format_number
from sim.optimise.search import phrase

#: Files the command writes into the experiment's tables folder.
OUTPUT_FILES = ("pareto.csv", "trials.csv", "pareto.png")


def _overrides(args: argparse.Namespace) -> list[str]:
    overrides = run_overrides(args)
    if args.horizon_years is not None:
        if args.quarters is not None:
            raise DesignError("Give --years or --quarters, not both (--years Y runs 4 × Y quarters).")
        quarters = args.horizon_years * 4
        if not np.isfinite(quarters) or quarters < 1 or quarters != round(quarters):
            raise DesignError(f"--years {args.horizon_years:g}: give a whole number of quarters' worth of years "
                              "(0.25, 0.5, 1, 2.75, ...), at least a quarter.")
        overrides.append(f"run.quarters={int(quarters)}")
    return overrides


def _cmd_optimise(args: argparse.Namespace) -> int:
    from sim.experiment.session import Session

    # Levers, objectives and the rest are checked in planning, before the store is opened or a worker started.
    with Session(db_url(args), workers=args.workers, scheduler=args.scheduler, progress=args.progress) as session:
        result = session.optimise(
            args.base, args.levers, args.objectives, constraints=args.constraints, trials=args.trials,
            population=args.population, sampler=args.sampler, reps=args.reps, seed=args.seed,
            overrides=_overrides(args), uncertainty=args.uncertainty, robust=args.robust, name=args.name)
    print_front(result.front, result.search, result.base)
    out = write_search(Path(args.out) if args.out else RESULTS_DIR / result.name, result, result.search)
    print_outcome(result.outcome)
    console.print(f"Tables in [bold]{out}[/bold] ({', '.join(OUTPUT_FILES)}). The same command again resumes "
                  "or reuses every stored run.")
    return 0


def write_search(out: Path, result: Any, data: Any) -> Path:
    """``pareto.csv``, ``trials.csv`` and the Pareto chart, each whole or not at all."""
    from sim.optimise.front import front_chart
    from sim.outputs import write_outputs

    def write(folder: Path) -> None:
        result.front.to_csv(folder / "pareto.csv", index=False)
        result.trials.to_csv(folder / "trials.csv", index=False)
        if len(data.objectives) >= 2:
            fig = front_chart(result.trials, data)
            fig.savefig(folder / "pareto.png", dpi=150)

    write_outputs(out, write, owner=result.name,
                  after=f" The runs are stored: the same command again (--name {result.name}) writes the tables "
                        "without recomputing them.")
    return out


def print_front(front: pd.DataFrame, data: Any, base: dict[str, Any]) -> None:
    """The front as a table: each design's levers, and per objective its difference from BASE [95% CI]."""
    if front.empty:
        console.print("[bold]No design meets every constraint[/bold]: the front is empty (trials.csv has every "
                      "design tried, with how far it is from meeting each constraint).")
        return
    draws = f" over {data.n_draws} draws of the assumptions" if data.n_draws > 1 else ""
    table = Table(title=f"{data.name}: {len(front)} designs on the front, as differences from {data.base}{draws} "
                        f"(mean [95% CI] over every run; {data.reps} replications per design)",
                  title_justify="left")
    from sim.optimise.front import front_cells

    columns, rows = front_cells(front, data, short=True)
    for k, title in enumerate(columns):
        table.add_column(title, justify="left" if k < len(data.levers) else "right", overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    levels = ", ".join(f"{phrase(METRICS_BY_NAME[o.metric].label)} {format_number(base[f'{o.metric}_mean'])}"
                       for o in data.objectives)
    console.print(f"[dim]{data.base} itself: {levels} ({data.scale:.0%} of England, as simulated). "
                  + ("P better = share of draws in which the design beats BASE. " if data.n_draws > 1 else "")
                  + "The front is judged on the search's estimates; designs whose intervals overlap may swap "
                    "places with more replications.[/dim]")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("optimise", help="search a scenario's levers for the best trade-offs (Pareto front)")
    p.add_argument("base", help="the BASE scenario whose levers are searched (shipped name or YAML file)")
    p.add_argument("--lever", dest="levers", action="append", default=[], metavar="PATH=LOW:HIGH|PATH=A,B,C",
                   help="a lever to search: a number in LOW:HIGH or one of the listed values (repeatable)")
    p.add_argument("--objective", dest="objectives", action="append", default=[], metavar="METRIC=max|min",
                   help="a metric to maximise or minimise at the horizon (repeatable)")
    p.add_argument("--constraint", dest="constraints", action="append", default=[], metavar="METRIC<=VALUE",
                   help="a limit on a metric (<= or >=); a signed VALUE is relative to BASE, e.g. "
                        "total_cost_gbp<=+0 for no extra cost (repeatable)")
    p.add_argument("--trials", type=int, default=100, help="designs to evaluate besides BASE (default %(default)s)")
    p.add_argument("--population", type=int, default=None,
                   help="designs proposed at a time: NSGA-II's population, TPE's random start (default 16 for "
                        "NSGA-II, 4 for TPE)")
    p.add_argument("--sampler", choices=("auto", "nsga2", "tpe"), default="auto",
                   help="auto: NSGA-II for two or more objectives, TPE for one (default)")
    p.add_argument("--years", dest="horizon_years", type=float, default=None,
                   help="read the objectives this many years after the start (runs last that long)")
    p.add_argument("--uncertainty", type=int, default=None, metavar="N",
                   help="evaluate every design at the same N draws of the assumptions")
    p.add_argument("--robust", default="mean", metavar="mean|percentile:P|regret",
                   help="with --uncertainty: search on the mean difference from BASE, its value in the worst "
                        "P%% of draws, or the largest regret (default mean)")
    add_run_options(p)
    add_execution_options(p, reps_default=3, snapshots_default=None)
    p.set_defaults(func=_cmd_optimise)
