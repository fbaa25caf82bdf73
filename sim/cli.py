"""Command-line interface: ``python run_sim.py COMMAND ...``.

Each family of commands lives beside the code it drives and registers itself through a
``register(subparsers)`` function listed in :data:`COMMAND_MODULES`; what they share (run options, the
console, the results folder) is in :mod:`sim.cli_options`, so no command module imports this one back.
A user's mistake (a :class:`sim.errors.SimError`) is printed without a traceback and exits with status 2, as
does an error of the file system (a full disk, a read-only folder). Every argument is checked first
(:func:`sim.cli_options.check_args`), before the command does any work.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
from rich.table import Table

# Re-exported: command modules outside sim.experiment and sim.report still import these from here.
from sim.cli_options import (
    RESULTS_DIR,
    add_run_options,
    check_args,
    console,
    err_console,
    run_overrides,
    timestamp,
)
from sim.errors import SimError
from sim.numbers import format_number

# Modules that add subcommands; each has register(subparsers) -> None.
COMMAND_MODULES: tuple[str, ...] = (
    "sim.cli",
    "sim.experiment.commands",
    "sim.uncertainty.commands",
    "sim.uncertainty.critics",
    "sim.calibration.commands",
    "sim.report",
)

__all__ = ["COMMAND_MODULES", "RESULTS_DIR", "add_run_options", "build_parser", "console", "err_console", "main",
           "run_overrides", "timestamp"]

# ------------------------------------------------------------------------------------- core commands


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.runner import run
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, run_overrides(args))
    out = args.out or RESULTS_DIR / f"run-{scenario.name.replace('/', '_')}-seed{args.seed}-{timestamp()}"
    if Path(out).exists():
        raise SimError(f"Output folder {out} already exists; choose another with --out.")
    result = run(scenario, args.seed)
    result.write(Path(out))
    _print_headline(result.metrics, scenario.name)
    console.print(
        f"{len(result.metrics) - 1} quarters, {result.metadata['practices_at_start']} practices in "
        f"{result.metadata['consortia']} consortia, {result.metadata['elapsed_seconds'] * 1000:.0f} ms. "
        f"Results in [bold]{out}[/bold]"
    )
    return 0


def _print_headline(metrics, scenario_name: str) -> None:
    from sim.metrics import HEADLINE_METRICS, METRICS_BY_NAME

    first, last = metrics.iloc[0], metrics.iloc[-1]
    last_year = metrics.iloc[-4:]
    table = Table(title=f"{scenario_name}: start and end")
    table.add_column("metric")
    table.add_column("unit")
    table.add_column("start", justify="right")
    table.add_column(f"end (quarter {int(last['quarter'])})", justify="right")
    for name in HEADLINE_METRICS:
        spec = METRICS_BY_NAME[name]
        if spec.kind == "flow":
            start_val = metrics.iloc[1:5][name].sum()
            end_val = last_year[name].sum()
            unit = f"{spec.unit} a year"
        else:
            start_val, end_val, unit = first[name], last[name], spec.unit
        table.add_row(spec.label, unit, format_number(start_val), format_number(end_val))
    console.print(table)


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario, shipped_scenarios

    table = Table(title="Shipped scenarios (scenarios/)")
    table.add_column("name")
    table.add_column("description")
    for name in shipped_scenarios():
        scenario = load_scenario(name)
        table.add_row(name, " ".join(scenario.description.split()))
    console.print(table)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    import yaml

    from sim.scenario import load_scenario, scenario_dict, scenario_hash

    scenario = load_scenario(args.scenario, args.overrides)
    print(f"# {scenario.name} (hash {scenario_hash(scenario)})")
    print(yaml.safe_dump(scenario_dict(scenario), sort_keys=False, width=110), end="")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from sim.scenario import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _cmd_params(args: argparse.Namespace) -> int:
    from sim.docs import parameters_markdown
    from sim.scenario import parameter_specs

    if args.markdown:
        print(parameters_markdown(), end="")
        return 0
    from sim.scenario import load_scenario
    from sim.uncertainty.distributions import scenario_distributions

    scenario = load_scenario(args.scenario or "status_quo")
    dists = scenario_distributions(scenario)
    where = f"scenario {scenario.name}" if args.scenario else "the defaults"
    table = Table(title=f"Scenario parameters (uncertainty around {where})")
    for col in ("path", "default", "range", "unit", "uncertainty"):
        table.add_column(col, overflow="fold")
    for spec in parameter_specs():
        rng = f"{spec.low} to {spec.high}" if spec.is_numeric else ", ".join(spec.choices) or "true/false"
        dist = dists.get(spec.path)
        table.add_row(spec.path, str(spec.default), rng, spec.unit, dist.describe() if dist else "")
    console.print(table)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one scenario once and write a run folder")
    p.add_argument("scenario", help="shipped scenario name or path to a YAML file")
    add_run_options(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("scenarios", help="list the shipped scenarios")
    p.set_defaults(func=_cmd_scenarios)

    p = sub.add_parser("show", help="print a scenario's resolved parameters")
    p.add_argument("scenario")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("schema", help="print the scenario format as JSON Schema")
    p.set_defaults(func=_cmd_schema)

    p = sub.add_parser("params", help="list every scenario parameter with its range and unit")
    p.add_argument("--markdown", action="store_true", help="print docs/parameters.md")
    p.add_argument("--scenario", help="show the uncertainty distributions of this scenario (its values, its "
                                      "uncertainty: section)")
    p.set_defaults(func=_cmd_params)


# ------------------------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_sim.py",
        description="Commissioning Reform Simulator: an agent-based model of GP commissioning reform.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_args(args)  # every argument, before the command does any work
        return int(args.func(args) or 0)
    except SimError as exc:
        err_console.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted: finished runs are kept.")
        return 130
    except OSError as exc:  # a full disk or a read-only folder met while writing: what and where, no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        err_console.print(f"[bold red]error:[/bold red] {escape(exc.strerror or str(exc))}{escape(where)}.",
                          highlight=False, soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
