"""Command-line interface: ``python run_sim.py COMMAND ...``.

Each family of commands lives beside the code it drives and registers itself through a
``register(subparsers)`` function listed in :data:`COMMAND_MODULES`; what they share (run options, the
console, the results folder) is in :mod:`sim.cli_options`, so no command module imports this one back.
A user's mistake (a :class:`sim.errors.SimError`) is printed without a traceback and exits with status 2, as
does an error of the file system (a full disk, a read-only folder). Every argument is checked first
(:func:`sim.cli_options.check_args`), before the command does any work.

Those modules import numpy and pandas, which cost several times a light command's own work, so
:func:`main` imports only the module of the command given; the others appear in ``--help`` from
:data:`COMMAND_INDEX` (their names and one-line help, checked against the modules by ``tests/test_cli.py``).
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
    "sim.optimise.commands",
    "sim.report",
    "sim.explorer.commands",
)

# The commands each module other than this one registers, with their one-line help, in order. Lets a
# command import only its own module, and ``--help`` none of them. Keep in step with the modules'
# register() (tests/test_cli.py::test_command_index_matches_registration).
COMMAND_INDEX: dict[str, tuple[tuple[str, str], ...]] = {
    "sim.experiment.commands": (
        ("compare", "compare scenarios over replications with common random numbers"),
        ("sweep", "sweep numeric parameters over a grid or Latin hypercube"),
        ("sensitivity", "Sobol or Morris sensitivity analysis of the headline metrics"),
        ("experiments", "list the experiments in the results database"),
        ("export", "write a stored experiment out as CSV or Parquet"),
    ),
    "sim.uncertainty.commands": (
        ("discover", "scenario discovery (PRIM): the assumption values in which a reform fails"),
    ),
    "sim.uncertainty.critics": (
        ("critics", "the critics' question: how likely delegation is to work, and where it fails"),
    ),
    "sim.calibration.commands": (
        ("validate", "run every validation check against published figures; exit 1 if any fails"),
        ("calibrate", "fit free parameters to validation targets and write a parameter file"),
    ),
    "sim.optimise.commands": (
        ("optimise", "search a scenario's levers for the best trade-offs (Pareto front)"),
    ),
    "sim.report": (
        ("report", "write the briefing pack (charts, tables, summary.md, index.html) of a stored experiment"),
    ),
    "sim.explorer.commands": (
        ("explore", "serve the explorer: a local web page to try a reform and see its effect"),
    ),
}

__all__ = ["COMMAND_INDEX", "COMMAND_MODULES", "RESULTS_DIR", "add_run_options", "build_parser", "console",
           "err_console", "main", "run_overrides", "timestamp"]

# ------------------------------------------------------------------------------------- core commands


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.runner import run
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, run_overrides(args))
    out = args.out or RESULTS_DIR / f"run-{scenario.name.replace('/', '_')}-seed{args.seed}-{timestamp()}"
    if Path(out).exists():
        raise SimError(f"Output folder {out} already exists; choose another with --out.")
    result = run(scenario, args.seed)
    result.write(Path(out), args.snapshot_format)
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
    from sim.params_table import print_params

    return print_params(args.scenario, markdown=args.markdown)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one scenario once and write a run folder")
    p.add_argument("scenario", help="shipped scenario name or path to a YAML file")
    add_run_options(p)
    p.add_argument("--snapshot-format", choices=("parquet", "csv"), default="parquet",
                   help="file format of the yearly practice snapshots: snapshots.parquet (default; "
                        "pandas.read_parquet reads it) or snapshots.csv (about ten times slower to write)")
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


def build_parser(command: str | None = None, *, everything: bool = True) -> argparse.ArgumentParser:
    """The parser; with ``everything=False`` only this module's commands and the module of ``command``
    are imported, the other commands being listed (for ``--help`` and argparse's choices) without their
    options."""
    parser = argparse.ArgumentParser(
        prog="run_sim.py",
        description="Commissioning Reform Simulator: an agent-based model of GP commissioning reform.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        listed = COMMAND_INDEX.get(module_name, ())
        if everything or module_name == __name__ or any(name == command for name, _ in listed):
            importlib.import_module(module_name).register(sub)
        else:
            for name, help_text in listed:
                sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _command_name(argv: Sequence[str]) -> str | None:
    """The subcommand in ``argv``: the first word that is not an option (the top level has only -h)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command_name(argv)
    parser = build_parser(command, everything=False)
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if command is not None and command not in commands:
        parser = build_parser()  # not in the index (a new command, or a typo): every module, as before
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
    except BrokenPipeError:  # the reader went away (`schema | head`): stop quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141
    except OSError as exc:  # a full disk or a read-only folder met while writing: what and where, no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        err_console.print(f"[bold red]error:[/bold red] {escape(exc.strerror or str(exc))}{escape(where)}.",
                          highlight=False, soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
