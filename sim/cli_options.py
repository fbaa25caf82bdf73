"""What the command modules share: the run options, the results folder and the consoles.

Kept apart from :mod:`sim.cli`, which loads the command modules, so that they never import it back.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from rich.console import Console

RESULTS_DIR = Path("results")
DB_ENV = "CRSIM_DB_URL"

# Piped or captured output gets a wide console, so tables are not wrapped into unreadable columns.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


# ------------------------------------------------------------------------------ shared run options


def add_run_options(parser: argparse.ArgumentParser, seed_default: int | None = 1) -> None:
    """Options every command that runs the model takes (run, compare, sweep, sensitivity)."""
    parser.add_argument("--seed", type=int, default=seed_default, help="random seed (default %(default)s)")
    parser.add_argument("--quarters", type=int, help="length of the run in quarters (run.quarters)")
    parser.add_argument("--scale", type=float, help="share of England to simulate (run.scale)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
        help="override a parameter, e.g. --set levers.qof.outcome_weight=0.5 (repeatable)",
    )
    parser.add_argument("--out", type=Path, help=f"output folder (default under {RESULTS_DIR}/)")


def run_overrides(args: argparse.Namespace) -> list[str]:
    """The ``--set`` overrides plus ``--quarters`` and ``--scale`` as overrides of the scenario."""
    overrides = list(args.overrides)
    if args.quarters is not None:
        overrides.append(f"run.quarters={args.quarters}")
    if args.scale is not None:
        overrides.append(f"run.scale={args.scale}")
    return overrides


def timestamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


# ------------------------------------------------------------------------------ the results database


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", default=None, metavar="URL",
        help=f"results database (default ${DB_ENV} or sqlite:///results/crsim.db); "
             "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB for a shared store",
    )


def db_url(args: argparse.Namespace) -> str | None:
    """The ``--db`` option, else ``$CRSIM_DB_URL``, else None (the store's default SQLite file)."""
    return args.db or os.environ.get(DB_ENV) or None
