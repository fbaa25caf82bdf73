"""Command-line commands for experiments: compare, sweep, sensitivity, experiments, export.

Registered in :data:`sim.cli.COMMAND_MODULES` (loaded by name; the shared options come from
:mod:`sim.cli_options`). Each command checks its inputs before it touches the database or starts workers,
so a typo fails in a second with a message, and stores nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from sim.cli_options import RESULTS_DIR, add_db_option, add_run_options, console, db_url, run_overrides
from sim.experiment.errors import ExperimentError
from sim.experiment.printing import pm as _pm
from sim.experiment.printing import print_design_means as _print_design_means
from sim.experiment.printing import print_outcome
from sim.experiment.printing import print_summary as _print_summary
from sim.metrics import HEADLINE_METRICS, METRICS_BY_NAME
from sim.numbers import format_number


def add_execution_options(parser: argparse.ArgumentParser, reps_default: int, snapshots_default: str | None) -> None:
    """Options every experiment takes: replications, where to run, where to store, what to keep (no
    ``--snapshots`` with ``snapshots_default=None``: a search keeps none)."""
    parser.add_argument("--reps", type=int, default=reps_default,
                        help="replications per scenario or point; replication k uses seed SEED+k "
                             "(default %(default)s)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="1 = in this process; N = N local processes (default: one per core)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs the dask extra)")
    add_db_option(parser)
    parser.add_argument("--name", default=None,
                        help="experiment name (default KIND-TIMESTAMP); repeat a command with the same "
                             "name to resume it")
    if snapshots_default is not None:
        parser.add_argument("--snapshots", choices=("all", "first", "none"), default=snapshots_default,
                            help="which runs store practice snapshots: all, first (replication 0 of each "
                                 "scenario) or none (default %(default)s)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="do not show the progress bar")


def _out_dir(args: argparse.Namespace, name: str) -> Path:
    return Path(args.out) if args.out else RESULTS_DIR / name


def _write_tables(out: Path, name: str, tables: dict[str, pd.DataFrame], index: tuple[str, ...] = ()) -> Path:
    """Write CSV tables into ``out``, each whole or not at all (:func:`sim.outputs.write_outputs`)."""
    from sim.outputs import write_outputs

    def write(folder: Path) -> None:
        for file, frame in tables.items():
            frame.to_csv(folder / file, index=file in index)

    write_outputs(out, write, after=_stored(name), owner=name)
    return out


def _stored(name: str) -> str:
    return (f" The runs are stored: the same command again (with --name {name}) writes the tables without "
            f"recomputing them, and `run_sim.py export {name}` writes everything stored.")


# ------------------------------------------------------------------------------------------ commands


def _cmd_compare(args: argparse.Namespace) -> int:
    from sim.experiment.api import compare
    from sim.experiment.paired import median_width_ratio

    if args.reps is None:
        args.reps = 1 if args.uncertainty is not None else 10
    if args.material and not args.report and args.uncertainty is None:
        raise ExperimentError("--material applies to the briefing pack (--report) or an uncertainty comparison "
                              "(--uncertainty N).")
    if args.uncertainty is not None and args.years:
        raise ExperimentError("--years is not available with --uncertainty (draws are read at the horizon).")
    result = compare(
        args.scenarios, baseline=args.baseline, reps=args.reps, seed=args.seed, overrides=run_overrides(args),
        years=args.years or (), workers=args.workers, scheduler=args.scheduler, db=db_url(args), name=args.name,
        snapshots=args.snapshots, progress=args.progress, uncertainty=args.uncertainty,
        material=_run_material(args) if args.uncertainty is not None else (),
    )
    if args.uncertainty is not None:
        return _finish_uncertain(args, result)
    summary = result.summary
    scale = _scale(args)
    horizon = int(summary["quarter"].max())
    for quarter in [horizon, *sorted(q for q in summary["quarter"].unique() if q != horizon)]:
        part = summary[summary["quarter"] == quarter]
        _print_summary(
            part,
            f"{result.name}: mean over {args.reps} replications at quarter {quarter} "
            f"(year {quarter / 4:g}); difference from {part['baseline'].iloc[0]} "
            "([bold]*[/bold] = paired 95% CI excludes zero)", scale,
        )
    at_horizon = summary[summary["quarter"] == horizon]
    ratio = median_width_ratio(at_horizon, HEADLINE_METRICS)
    if np.isfinite(ratio):
        console.print(
            f"Common random numbers: paired intervals are {ratio:.2f} times the width of unpaired ones "
            f"(median over headline metrics), i.e. {1 / ratio if ratio > 0 else float('inf'):.1f}x narrower."
        )
    out = _write_tables(_out_dir(args, result.name), result.name, {
        "summary.csv": summary, "interval_widths.csv": result.widths, "metrics.csv": result.metrics})
    print_outcome(result.outcome)
    console.print(f"Tables in [bold]{out}[/bold] (summary.csv, metrics.csv, interval_widths.csv).")
    if args.report:
        from sim.report import build_report  # the briefing pack, built from what was just stored

        built = build_report(result.name, db_url(args), out / "report", args.formats, material=args.material,
                             progress=args.progress, workers=args.workers)
        console.print(f"Briefing pack in [bold]{built}[/bold].")
    return 0


def _run_material(args: argparse.Namespace) -> dict[str, float]:
    """--material in stored units: a money total is given for England, and the runs hold a sample of it."""
    from sim.metrics import material_threshold
    from sim.uncertainty.summary import parse_material

    given = parse_material(list(args.material))
    if not given:
        return {}
    scale = _scale(args)
    return {name: material_threshold(name, scale, given) for name in given}


def _scale(args: argparse.Namespace) -> float:
    """The share of England the compared scenarios simulate (the first's; a comparison shares its scale)."""
    from sim.scenario import load_scenario

    return float(load_scenario(args.scenarios[0], run_overrides(args)).run.scale)


def _finish_uncertain(args: argparse.Namespace, result: Any) -> int:
    from sim.uncertainty.commands import print_uncertainty, write_uncertainty

    print_uncertainty(result.uncertainty, result.drivers, name=result.name, n_draws=len(result.draws),
                      reps=args.reps)
    from sim.outputs import write_outputs

    def write(folder: Path) -> None:
        write_uncertainty(result, folder, tuple(args.formats), workers=args.workers)
        result.summary.to_csv(folder / "summary.csv", index=False)

    out = _out_dir(args, result.name)
    write_outputs(out, write, after=_stored(result.name), owner=result.name)
    print_outcome(result.outcome)
    console.print(f"Tables in [bold]{out}[/bold] (uncertainty.csv, drivers.csv, per_draw.csv, draws.csv, "
                  "summary.csv; drivers charts in drivers/). Find where a scenario fails with `run_sim.py "
                  f"discover {result.name} --scenario NAME --metric METRIC --below X`.")
    if args.report:
        from sim.report import build_report

        built = build_report(result.name, db_url(args), out / "report", args.formats, material=args.material,
                             progress=args.progress, workers=args.workers)
        console.print(f"Briefing pack in [bold]{built}[/bold].")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from sim.experiment.api import sweep

    result = sweep(
        args.scenario, args.vary, design=args.design, samples=args.samples, reps=args.reps, seed=args.seed,
        overrides=run_overrides(args), workers=args.workers, scheduler=args.scheduler, db=db_url(args),
        name=args.name, snapshots=args.snapshots, progress=args.progress,
    )
    _print_design_means(result, "sweep")
    out = _write_tables(_out_dir(args, result.name), result.name,
                        {"sweep.csv": result.table, "design.csv": result.design}, index=("design.csv",))
    print_outcome(result.outcome)
    console.print(f"Tidy table (one row per run, metrics at the horizon) in [bold]{out / 'sweep.csv'}[/bold].")
    return 0


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from sim.experiment.api import sensitivity

    result = sensitivity(
        args.scenario, args.vary, method=args.method, samples=args.samples, reps=args.reps, seed=args.seed,
        overrides=run_overrides(args), workers=args.workers, scheduler=args.scheduler, db=db_url(args),
        name=args.name, snapshots=args.snapshots, progress=args.progress,
    )
    indices = result.indices
    sobol = args.method == "sobol"
    table = Table(title=f"{result.name}: {'Sobol indices (95% CI)' if sobol else 'Morris screening'} "
                  f"over {len(result.design)} points")
    table.add_column("metric")
    table.add_column("parameter")
    if sobol:
        table.add_column("first order S1", justify="right")
        table.add_column("total ST", justify="right")
    else:
        table.add_column("mu*", justify="right")
        table.add_column("sigma", justify="right")
    for name in [m for m in HEADLINE_METRICS if m in set(indices["metric"])]:
        first = True
        for row in indices[indices["metric"] == name].itertuples():
            label = METRICS_BY_NAME[name].label if first else ""
            if sobol:
                cells = (_pm(row.S1, row.S1_conf), _pm(row.ST, row.ST_conf))
            else:
                cells = (_pm(row.mu_star, row.mu_star_conf), format_number(row.sigma))
            table.add_row(label, row.parameter, *cells)
            first = False
        table.add_section()
    console.print(table)
    if sobol:
        console.print("[dim]Sobol indices are estimates from a finite sample: ± is the half-width of the 95% "
                      "bootstrap interval. A first-order index below 0 or a total above 1 is sampling error, not a "
                      "share: read it as about 0 (or 1) within its interval; more --samples narrow the intervals."
                      "[/dim]")
    out = _write_tables(_out_dir(args, result.name), result.name, {
        "sensitivity.csv": indices, "outcomes.csv": result.table, "design.csv": result.design},
        index=("design.csv",))
    print_outcome(result.outcome)
    console.print(f"Indices in [bold]{out / 'sensitivity.csv'}[/bold]; runs in outcomes.csv.")
    return 0


def _cmd_experiments(args: argparse.Namespace) -> int:
    from sim.experiment.store import ResultStore, mask_url, resolve_url, store_exists

    if not store_exists(db_url(args)):  # listing creates nothing
        if args.delete:
            raise ExperimentError(f"--delete: there is no database at {mask_url(resolve_url(db_url(args)))}.")
        console.print(f"No experiments stored in {mask_url(resolve_url(db_url(args)))} (there is no database "
                      "there yet).")
        return 0
    if args.delete or args.prune:
        return _delete_experiments(args)
    with ResultStore(db_url(args), create=False) as store:
        frame = store.list_experiments()
        where = store.display_url
    if frame.empty:
        console.print(f"No experiments stored in {where} yet.")
        return 0
    table = Table(title=f"Experiments in {where}")
    for col in ("name", "kind", "status", "created", "scale", "reps", "scenarios", "runs"):
        table.add_column(col, justify="right" if col in ("runs", "reps", "scale") else "left",
                         overflow="fold", no_wrap=col in ("name", "created"))
    for row in frame.itertuples():
        scenarios = ", ".join(row.scenarios) if isinstance(row.scenarios, list) else str(row.scenarios)
        status = f"[bold red]{row.status}[/bold red]" if row.status == "stale" else row.status
        table.add_row(row.name, row.kind, status, str(row.created)[:16], _scale_text(row.options), str(row.reps),
                      scenarios, f"{row.runs_stored}/{row.n_runs}")
    console.print(table)
    if (frame["status"] == "stale").any():
        console.print("stale: marked running, but its process is gone (it was killed outright); the runs it "
                      "finished are stored, and repeating its command (the same --name) resumes it.")
    console.print("[dim]scale: share of England simulated; reps: replications per scenario or point (per draw "
                  "with assumption draws). Remove experiments with --delete NAME or --prune (reruns of a command "
                  "superseded by a newer complete one).[/dim]")
    return 0


def _scale_text(options: Any) -> str:
    scale = (options or {}).get("scale") if isinstance(options, dict) else None
    if isinstance(scale, list):
        scale = scale[0] if len(set(scale)) == 1 else None
    return f"{float(scale) * 100:g}%" if isinstance(scale, int | float) else "–"


def _delete_experiments(args: argparse.Namespace) -> int:
    """--delete NAME... / --prune: remove experiments, and the runs that no other experiment uses."""
    from sim.experiment.store import ResultStore

    with ResultStore(db_url(args), create=False) as store:
        stored = set(store.experiment_names())
        unknown = [n for n in args.delete if n not in stored]
        if unknown:
            raise ExperimentError(f"--delete: no experiment named {', '.join(unknown)} in {store.display_url}. "
                                  f"Stored experiments: {', '.join(sorted(stored)) or 'none'}.")
        names = list(dict.fromkeys([*args.delete, *(store.superseded() if args.prune else [])]))
        removed = store.delete_experiments(names)
        where = store.display_url
    if not removed.experiments:
        console.print(f"Nothing to prune in {where}: no experiment is superseded by a newer complete rerun.")
        return 0
    console.print(f"Deleted {len(removed.experiments)} experiment(s) from {where}: {', '.join(removed.experiments)}; "
                  f"{removed.runs} run(s) only they used were removed, {removed.kept_runs} run(s) other "
                  "experiments use were kept.")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from sim.experiment.export import export_experiment
    from sim.experiment.store import ResultStore
    from sim.outputs import write_outputs

    out = Path(args.out) if args.out else RESULTS_DIR / args.experiment / f"export-{args.format}"
    _check_export_target(out, args.experiment)
    with ResultStore(db_url(args), create=False) as store:
        store.experiment_info(args.experiment)  # a clear error for an unknown name, before any folder
        # Into a temporary folder first: a database or disk error half-way leaves no half export.
        files = write_outputs(out, lambda folder: export_experiment(store, args.experiment, folder, args.format,
                                                                    snapshots=args.snapshots,
                                                                    progress=args.progress))
    for path in files:
        console.print(f"  {out / path.name}")
    console.print(f"Exported {args.experiment} as {args.format} to [bold]{out}[/bold].")
    return 0


def _check_export_target(out: Path, experiment: str) -> None:
    """An export goes to a new or empty folder, or replaces an earlier export of the same experiment:
    never mixed with another experiment's files."""
    import json

    if not out.is_dir() or not any(out.iterdir()):
        return
    try:
        earlier = json.loads((out / "experiment.json").read_text()).get("name")
    except (OSError, ValueError, AttributeError):
        earlier = None
    if earlier != experiment:
        raise ExperimentError(
            f"--out {out} is not empty" + (f" (it holds an export of '{earlier}')" if earlier else "")
            + f": choose a new or empty folder for the export of '{experiment}'.")


def _vary_help() -> str:
    return ("parameter and range, e.g. assumptions.practice.gaming_propensity=0.2:1.2:5 "
            "(one or more after each --vary, which may be repeated; `run_sim.py params` lists paths and their "
            "allowed ranges)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="compare scenarios over replications with common random numbers",
        description="Run REPS replications of each scenario (replication k of every scenario uses seed "
                    "SEED+k), store every run, and print each headline metric's mean with its 95% interval "
                    "and the paired difference from the baseline with its 95% interval.",
    )
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="shipped scenario names or YAML paths")
    p.add_argument("--baseline", help="scenario to take differences from (default: the first)")
    p.add_argument("--years", type=float, nargs="+", metavar="YEAR",
                   help="also summarise at these years after the start (e.g. --years 1 3)")
    add_execution_options(p, reps_default=10, snapshots_default="first")
    add_run_options(p)
    p.add_argument("--uncertainty", type=int, metavar="N",
                   help="also vary the assumptions: run every scenario at N draws of their distributions "
                        "(scrambled Sobol; `run_sim.py params` shows them), paired over draws and seeds "
                        "(--reps then defaults to 1)")
    p.add_argument("--material", nargs="+", default=[], metavar="METRIC=DELTA",
                   help="the smallest difference that matters, in the metric's unit (money: GBP a year for "
                        "England), e.g. quality_mean=0.01: the pack's verdicts use it (default sim/metrics.py's), "
                        "and with --uncertainty the probability that the improvement exceeds it")
    p.add_argument("--report", action="store_true", help="also build the briefing pack (sim.report)")
    p.set_defaults(reps=None)  # 10, or 1 with --uncertainty
    next(a for a in p._actions if a.dest == "reps").help = (
        "replications per scenario (per draw with --uncertainty); replication k uses seed SEED+k "
        "(default 10, or 1 with --uncertainty)")
    p.add_argument("--formats", nargs="+", default=["png"], metavar="FORMAT",
                   help="chart formats of the report with --report: png (always), svg, pdf; space- or "
                        "comma-separated, e.g. --formats png svg or --formats png,svg (default png)")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("sweep", help="sweep numeric parameters over a grid or Latin hypercube",
                       description="Run a grid or Latin hypercube over numeric scenario parameters, REPS "
                                   "replications per point, and write a tidy table of every run.")
    p.add_argument("scenario", help="base scenario: shipped name or YAML path")
    p.add_argument("--vary", action="extend", nargs="+", default=[], required=True, metavar="PATH=LOW:HIGH[:STEPS]",
                   help=_vary_help())
    p.add_argument("--design", choices=("grid", "lhs"), default="grid",
                   help="full grid (STEPS per parameter, default 5) or Latin hypercube (default grid)")
    p.add_argument("--samples", type=int, help="points of a Latin hypercube (default 20)")
    add_execution_options(p, reps_default=1, snapshots_default="none")
    add_run_options(p)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("sensitivity", help="Sobol or Morris sensitivity analysis of the headline metrics",
                       description="Global sensitivity analysis with SALib: Sobol first-order and total "
                                   "indices with confidence intervals, or Morris mu* and sigma, for each "
                                   "headline metric at the horizon.")
    p.add_argument("scenario", help="base scenario: shipped name or YAML path")
    p.add_argument("--vary", action="extend", nargs="+", default=[], required=True, metavar="PATH=LOW:HIGH",
                   help=_vary_help())
    p.add_argument("--method", choices=("sobol", "morris"), default="sobol", help="(default %(default)s)")
    p.add_argument("--samples", type=int,
                   help="Sobol: base samples N, a power of two, N*(D+2) runs (default 64); "
                        "Morris: trajectories N, N*(D+1) runs (default 10)")
    add_execution_options(p, reps_default=1, snapshots_default="none")
    add_run_options(p)
    p.set_defaults(func=_cmd_sensitivity)

    p = sub.add_parser("experiments", help="list the experiments in the results database",
                       description="List the stored experiments (scale, replications, status; stale marks one "
                                   "whose process is gone), or remove some: their runs go too unless another "
                                   "experiment uses them.")
    removing = p.add_mutually_exclusive_group()
    removing.add_argument("--delete", nargs="+", default=[], metavar="NAME", help="delete these experiments")
    removing.add_argument("--prune", action="store_true",
                          help="delete experiments repeated by a newer complete one with the same definition")
    add_db_option(p)
    p.set_defaults(func=_cmd_experiments)

    p = sub.add_parser("export", help="write a stored experiment out as CSV or Parquet")
    p.add_argument("experiment", help="experiment name (see `run_sim.py experiments`)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="(default %(default)s)")
    p.add_argument("--out", type=Path, help="folder (default results/EXPERIMENT/export-FORMAT/)")
    p.add_argument("--no-snapshots", dest="snapshots", action="store_false",
                   help="leave out the practice snapshots")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="do not show the progress bar")
    add_db_option(p)
    p.set_defaults(func=_cmd_export)

