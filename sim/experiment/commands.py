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
from sim.metrics import HEADLINE_METRICS, METRICS_BY_NAME
from sim.numbers import format_number


def add_execution_options(parser: argparse.ArgumentParser, reps_default: int, snapshots_default: str) -> None:
    """Options every experiment takes: replications, where to run, where to store, what to keep."""
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


# ------------------------------------------------------------------------------------------ printing


def _pm(value: float, conf: float) -> str:
    """``value ± conf``, or a dash for an index that does not exist (the metric never varied)."""
    if value is None or not np.isfinite(value):
        return "–"
    return f"{format_number(value)} ± {format_number(conf)}"


def _interval(lo: float, hi: float) -> str:
    return f"[{format_number(lo)}, {format_number(hi)}]"


def _unit(name: str) -> str:
    spec = METRICS_BY_NAME[name]
    return f"{spec.unit} a year" if spec.kind == "flow" else spec.unit


def _print_summary(summary: pd.DataFrame, title: str) -> None:
    """One block per headline metric: each scenario's mean, and its paired difference from the baseline."""
    table = Table(title=title, title_justify="left")
    table.add_column("scenario", overflow="fold")
    table.add_column("mean [95% CI]", justify="right")
    table.add_column("difference [paired CI]", justify="right")
    table.add_column("unpaired 95% CI", justify="right")
    table.add_column("width ratio", justify="right")
    for name in [m for m in HEADLINE_METRICS if m in set(summary["metric"])]:
        table.add_row(f"[bold]{METRICS_BY_NAME[name].label}[/bold] [dim]({_unit(name)})[/dim]", end_section=False)
        for row in summary[summary["metric"] == name].itertuples():
            if row.scenario == row.baseline:
                table.add_row(f"  {row.scenario}", f"{format_number(row.mean)} {_interval(row.ci_low, row.ci_high)}",
                              "baseline", "", "")
                continue
            width_u = row.unpaired_ci_high - row.unpaired_ci_low
            width_p = row.diff_ci_high - row.diff_ci_low
            ratio = width_p / width_u if np.isfinite(width_u) and width_u > 0 else np.nan
            mark = "[bold]*[/bold] " if row.significant else ""
            table.add_row(
                f"  {row.scenario}", f"{format_number(row.mean)} {_interval(row.ci_low, row.ci_high)}",
                f"{mark}{format_number(row.diff_mean)} {_interval(row.diff_ci_low, row.diff_ci_high)}",
                _interval(row.unpaired_ci_low, row.unpaired_ci_high),
                f"{ratio:.2f}" if np.isfinite(ratio) else "–",
            )
        table.add_section()
    console.print(table)
    console.print("[dim]width ratio = paired interval width / unpaired interval width (below 1: pairing "
                  "by common random numbers narrowed it).[/dim]")


def _print_outcome(outcome: Any) -> None:
    parts = [f"{outcome.computed} runs computed", f"{outcome.reused} reused from the store"]
    if outcome.failed:
        parts.append(f"{outcome.failed} failed")
    share = outcome.store_share
    console.print(
        f"[bold]{outcome.name}[/bold] ({outcome.kind}, {outcome.status}): {', '.join(parts)} on "
        f"{outcome.executor} in {outcome.elapsed_seconds:.1f} s"
        + (f" ({share:.0%} of it writing to the database)" if np.isfinite(share) else "")
        + f". Stored in {outcome.database}."
    )


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
    horizon = int(summary["quarter"].max())
    for quarter in [horizon, *sorted(q for q in summary["quarter"].unique() if q != horizon)]:
        part = summary[summary["quarter"] == quarter]
        _print_summary(
            part,
            f"{result.name}: mean over {args.reps} replications at quarter {quarter} "
            f"(year {quarter / 4:g}); difference from {part['baseline'].iloc[0]} "
            "([bold]*[/bold] = paired 95% CI excludes zero)",
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
    _print_outcome(result.outcome)
    console.print(f"Tables in [bold]{out}[/bold] (summary.csv, metrics.csv, interval_widths.csv).")
    if args.report:
        from sim.report import build_report  # the briefing pack, built from what was just stored

        built = build_report(result.name, db_url(args), out / "report", args.formats, material=args.material,
                             progress=args.progress)
        console.print(f"Briefing pack in [bold]{built}[/bold].")
    return 0


def _run_material(args: argparse.Namespace) -> dict[str, float]:
    """--material in stored units: a money total is given for England, and the runs hold a sample of it."""
    from sim.metrics import material_threshold
    from sim.scenario import load_scenario
    from sim.uncertainty.summary import parse_material

    given = parse_material(list(args.material))
    if not given:
        return {}
    scale = load_scenario(args.scenarios[0], run_overrides(args)).run.scale
    return {name: material_threshold(name, scale, given) for name in given}


def _finish_uncertain(args: argparse.Namespace, result: Any) -> int:
    from sim.uncertainty.commands import print_uncertainty, write_uncertainty

    print_uncertainty(result.uncertainty, result.drivers, name=result.name, n_draws=len(result.draws),
                      reps=args.reps)
    from sim.outputs import write_outputs

    def write(folder: Path) -> None:
        write_uncertainty(result, folder, tuple(args.formats))
        result.summary.to_csv(folder / "summary.csv", index=False)

    out = _out_dir(args, result.name)
    write_outputs(out, write, after=_stored(result.name), owner=result.name)
    _print_outcome(result.outcome)
    console.print(f"Tables in [bold]{out}[/bold] (uncertainty.csv, drivers.csv, per_draw.csv, draws.csv, "
                  "summary.csv; drivers charts in drivers/). Find where a scenario fails with `run_sim.py "
                  f"discover {result.name} --scenario NAME --metric METRIC --below X`.")
    if args.report:
        from sim.report import build_report

        built = build_report(result.name, db_url(args), out / "report", args.formats, material=args.material,
                             progress=args.progress)
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
    _print_outcome(result.outcome)
    console.print(f"Tidy table (one row per run, metrics at the horizon) in [bold]{out / 'sweep.csv'}[/bold].")
    return 0


def _print_design_means(result: Any, what: str, limit: int = 25) -> None:
    table_data = result.table
    params = list(result.design.columns)
    headline = [m for m in HEADLINE_METRICS if m in table_data.columns]
    means = table_data.groupby("point_id")[params + headline].mean()
    table = Table(title=f"{result.name}: {len(means)} points, mean over replications at the horizon"
                  + (f" (first {limit}; all in the CSV)" if len(means) > limit else ""))
    table.add_column("point", justify="right")
    for p in params:
        table.add_column(p.rsplit(".", 1)[-1], justify="right")
    for m in headline:
        table.add_column(METRICS_BY_NAME[m].label, justify="right")
    for pid, row in means.head(limit).iterrows():
        table.add_row(str(pid), *(format_number(row[c]) for c in params + headline))
    console.print(table)


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
    out = _write_tables(_out_dir(args, result.name), result.name, {
        "sensitivity.csv": indices, "outcomes.csv": result.table, "design.csv": result.design},
        index=("design.csv",))
    _print_outcome(result.outcome)
    console.print(f"Indices in [bold]{out / 'sensitivity.csv'}[/bold]; runs in outcomes.csv.")
    return 0


def _cmd_experiments(args: argparse.Namespace) -> int:
    from sim.experiment.store import ResultStore, mask_url, resolve_url, store_exists

    if not store_exists(db_url(args)):  # listing creates nothing
        console.print(f"No experiments stored in {mask_url(resolve_url(db_url(args)))} (there is no database "
                      "there yet).")
        return 0
    with ResultStore(db_url(args), create=False) as store:
        frame = store.list_experiments()
        where = store.display_url
    if frame.empty:
        console.print(f"No experiments stored in {where} yet.")
        return 0
    table = Table(title=f"Experiments in {where}")
    for col in ("name", "kind", "status", "created", "scenarios", "runs"):
        table.add_column(col, justify="right" if col == "runs" else "left")
    for row in frame.itertuples():
        scenarios = ", ".join(row.scenarios) if isinstance(row.scenarios, list) else str(row.scenarios)
        table.add_row(row.name, row.kind, row.status, str(row.created)[:19], scenarios,
                      f"{row.runs_stored}/{row.n_runs}")
    console.print(table)
    if (frame["status"] == "stale").any():
        console.print("stale: marked running, but its process is gone (it was killed outright); the runs it "
                      "finished are stored, and repeating its command (the same --name) resumes it.")
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
                                                                    snapshots=args.snapshots))
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

    p = sub.add_parser("experiments", help="list the experiments in the results database")
    add_db_option(p)
    p.set_defaults(func=_cmd_experiments)

    p = sub.add_parser("export", help="write a stored experiment out as CSV or Parquet")
    p.add_argument("experiment", help="experiment name (see `run_sim.py experiments`)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="(default %(default)s)")
    p.add_argument("--out", type=Path, help="folder (default results/EXPERIMENT/export-FORMAT/)")
    p.add_argument("--no-snapshots", dest="snapshots", action="store_false",
                   help="leave out the practice snapshots")
    add_db_option(p)
    p.set_defaults(func=_cmd_export)

