"""Command-line commands ``validate`` and ``calibrate`` (registered in :data:`sim.cli.COMMAND_MODULES`)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from sim.calibration.targets import CalibrationError
from sim.numbers import format_number


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """``--params FILE`` values, then ``--set`` overrides (which act as new defaults in every scenario)."""
    from sim.calibration.calibrate import read_parameter_file
    from sim.scenario import parse_override

    values: dict[str, Any] = {}
    if args.params is not None:
        values.update(read_parameter_file(args.params))
    for text in args.overrides:
        key, value = parse_override(text)
        values[key] = value
    return values


def _add_common(p: argparse.ArgumentParser, reps_default: int) -> None:
    p.add_argument(
        "--reps", type=int, default=reps_default, help="replications (seeds) per study (default %(default)s)"
    )
    p.add_argument("--scale", type=float, default=1.0, help="share of England to simulate (default: national, 1)")
    p.add_argument("--seed", type=int, default=1, help="first seed; replication k uses seed+k (default %(default)s)")
    p.add_argument("--workers", type=int, help="worker processes (default: up to 2)")
    p.add_argument("--targets", type=Path, help="a calibration_targets.csv to use instead of the shipped copy")
    p.add_argument("--params", type=Path, help="a parameter file from `calibrate` whose values to use")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
        help="override a parameter in every scenario that does not set it itself (repeatable)",
    )


def _cmd_validate(args: argparse.Namespace) -> int:
    from sim.calibration.validate import validate
    from sim.cli_options import RESULTS_DIR, console, timestamp

    if not 0 < args.scale <= 10:
        raise CalibrationError(f"--scale must be above 0 and at most 10 (got {args.scale}).")
    out = args.out or RESULTS_DIR / f"validation-{timestamp()}"
    if Path(out).exists():
        raise CalibrationError(f"Output folder {out} already exists; choose another with --out.")
    console.print(f"Validating: {args.reps} replication(s) of each study at scale {args.scale:g}...")
    report = validate(
        reps=args.reps, scale=args.scale, overrides=_overrides(args), base_seed=args.seed, workers=args.workers,
        targets_file=args.targets, only=args.only or None,
    )
    table = Table(title=f"Validation against published figures ({args.reps} replication(s), scale {args.scale:g})")
    for col, just in (("check", "left"), ("target", "right"), ("model [95% interval]", "right"),
                      ("tolerance", "right"), ("result", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    colour = {"pass": "green", "fail": "bold red", "info": "dim", "info, outside band": "yellow"}
    for r in report.results:
        ci = f" [{format_number(r.ci_low)}, {format_number(r.ci_high)}]" if not math.isnan(r.ci_low) else ""
        table.add_row(
            escape(r.check.title), format_number(r.band.reference), f"{format_number(r.value)}{ci}",
            f"{format_number(r.band.low)} to {format_number(r.band.high)}", f"[{colour[r.verdict]}]{r.verdict}[/]",
        )
    console.print(table)
    folder = report.write(Path(out))
    console.print(
        f"{report.summary()}, in {report.elapsed_seconds:.1f} s. Table and chart in [bold]{folder}[/bold]"
    )
    if report.failed:
        console.print("[bold red]Failed:[/] " + ", ".join(r.check.id for r in report.failed))
        return 1
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.calibration.calibrate import PRESETS, calibrate, parameter_file, write_parameter_file
    from sim.cli_options import RESULTS_DIR, console, timestamp

    custom = bool(args.param or args.target)
    if custom and args.preset:
        raise CalibrationError("Give either --preset or --param/--target, not both.")
    if custom and not (args.param and args.target):
        raise CalibrationError("A custom calibration needs both --param and --target (each repeatable).")
    if args.preset:
        unknown = [p for p in args.preset if p not in PRESETS]
        if unknown:
            raise CalibrationError(f"Unknown preset {', '.join(unknown)}; presets: {', '.join(PRESETS)}.")
    out = args.out or RESULTS_DIR / f"calibration-{timestamp()}.yaml"
    if Path(out).exists():
        raise CalibrationError(f"Output file {out} already exists; choose another with --out.")
    problems = (
        [("custom", args.param, args.target)]
        if custom
        else [(name, PRESETS[name].params, PRESETS[name].targets) for name in (args.preset or list(PRESETS))]
    )
    base = _overrides(args)
    fits = []
    for name, params, targets in problems:
        console.print(f"[bold]{name}[/bold]: fitting {len(params)} parameter(s) to {len(targets)} target(s) "
                      f"({args.method}, at most {args.max_evals} evaluations)...")

        def progress(ev: Any, n: int) -> None:
            if n % 10 == 0:
                console.print(f"  evaluation {n}: objective {ev.objective:.4g}", highlight=False)

        fit = calibrate(
            params, targets, method=args.method, max_evals=args.max_evals, reps=args.reps, scale=args.scale,
            base_seed=args.seed, workers=args.workers, base=base, targets_file=args.targets, name=name,
            progress=progress,
        )
        base.update(fit.best.values)
        fits.append(fit)
        table = Table(title=f"{name}: objective {fit.start.objective:.4g} -> {fit.best.objective:.4g} "
                            f"({fit.evaluations} evaluations, {fit.elapsed_seconds:.0f} s)")
        for col in ("parameter / target", "start", "fit", "aim", "tolerance"):
            table.add_column(col)
        for p in fit.params:
            bounds = f"{format_number(p.low)} to {format_number(p.high)}"
            table.add_row(escape(p.key), format_number(p.start), format_number(fit.best.values[p.key]), "", bounds)
        for t in fit.targets:
            table.add_row(
                escape(t.check.id),
                format_number(fit.start.model[t.check.id]),
                format_number(fit.best.model[t.check.id]),
                format_number(t.aim),
                f"{format_number(t.low)} to {format_number(t.high)}",
            )
        console.print(table)
    data = parameter_file(fits, str(args.targets or "shipped calibration_targets.csv"))
    data["settings"] = {"scale": args.scale, "reps": args.reps, "base_seed": args.seed, "method": args.method,
                        "max_evals": args.max_evals}
    path = write_parameter_file(data, Path(out))
    console.print(f"Parameter file: [bold]{path}[/bold]. Check it with `python run_sim.py validate --params {path}`.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="run every validation check against published figures; exit 1 if any fails",
        description="Run the validation studies with replications, compare each check with its published "
                    "figure and tolerance, print the table, and write it (CSV, Markdown), the per-replication "
                    "observations and a chart of model against target to results/. Exit status 1 if a check "
                    "fails.",
    )
    _add_common(p, reps_default=10)
    p.add_argument("--only", action="append", metavar="CHECK", help="run only this check (repeatable)")
    p.add_argument("--out", type=Path, help="output folder (default results/validation-TIMESTAMP)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "calibrate",
        help="fit free parameters to validation targets and write a parameter file",
        description="Fit parameters to targets (the shipped presets by default, in order, each starting from "
                    "the last) and write a parameter file recording the targets, the fit and the date.",
    )
    _add_common(p, reps_default=1)
    p.add_argument("--preset", action="append", metavar="NAME",
                   help="a shipped calibration problem: money, areas, exceptions, qof or effects "
                        "(repeatable; default all)")
    p.add_argument("--param", action="append", metavar="[SCENARIO:]PATH[=LOW:HIGH]",
                   help="a parameter to fit (repeatable), e.g. assumptions.outcomes.acsc_per_1000=10:18")
    p.add_argument("--target", action="append", metavar="CHECK[=VALUE]",
                   help="a validation check to fit to (repeatable), optionally with the value to aim at")
    p.add_argument("--method", choices=("nelder-mead", "optuna"), default="nelder-mead",
                   help="optimiser: scipy Nelder-Mead (default) or optuna TPE for noisy objectives")
    p.add_argument("--max-evals", type=int, default=200, help="evaluations per fit (default %(default)s)")
    p.add_argument("--out", type=Path, help="parameter file to write (default results/calibration-TIMESTAMP.yaml)")
    p.set_defaults(func=_cmd_calibrate)
