"""What the command modules share: the run options, the results folder and the consoles.

Kept apart from :mod:`sim.cli`, which loads the command modules, so that they never import it back.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from rich.console import Console

from sim.errors import SimError

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


# ------------------------------------------------------------------------------ checking arguments
#
# Every command's arguments are checked here, in one place, before the command does any work: a refusal
# costs nothing, opens no database, starts no worker and writes nothing. The checks are by option name,
# so every command that takes an option gets the same check and the same message.

#: Seeds are stored as 64-bit signed integers (SQLite INTEGER, PostgreSQL BIGINT): replication k of a
#: command uses seed SEED + k, so SEED + REPS - 1 may not exceed this.
MAX_SEED = 2**63 - 1
#: Replications per scenario, design point or draw.
MAX_REPS = 100_000


def _excerpt(value: object) -> str:
    from sim.scenario import _excerpt as excerpt

    return excerpt(value)


def _whole(option: str, value: object, low: int, high: int, what: str) -> None:
    allowed = f"{what}, a whole number from {low:,} to {high:,}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise SimError(f"{option} must be {allowed}, not {_excerpt(value)}.")
    if value < low:
        raise SimError(f"{option} must be at least {low:,}, not {_excerpt(value)} ({allowed}).")
    if value > high:
        raise SimError(f"{option} must be at most {high:,}, not {_excerpt(value)} ({allowed}).")


def _finite(option: str, value: object, what: str = "a finite number") -> None:
    import math

    if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
        raise SimError(f"{option} must be {what}, not {_excerpt(value)}.")


def check_text(option: str, value: str, what: str = "a name") -> None:
    """Refuse empty text and control characters (which would garble tables, folders and logs)."""
    if not value.strip():
        raise SimError(f"{option} is empty: give {what}.")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise SimError(f"{option} {_excerpt(value)} contains control characters: give {what} of printable "
                       "characters only.")


def check_db_url(url: str | None, *, option: str = "--db") -> None:
    """A well-formed URL of a store that keeps what is written (an in-memory SQLite database vanishes
    when the command ends, so it is refused)."""
    from sim.experiment.store import resolve_url
    from sim.experiment.store.engine import is_memory_url

    resolved = resolve_url(url)
    if is_memory_url(resolved):
        from sim.experiment.store import mask_url

        raise SimError(f"{option} {mask_url(url or '')} is an in-memory database, "
                       "whose results vanish when the command ends: give a file, sqlite:///path/to/file.db, "
                       "or a PostgreSQL URL.")


def check_out(path: Path, option: str = "--out") -> None:
    """An output folder that can be written: not a file, and its nearest existing ancestor writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SimError(f"{option} {path} is a file, not a folder: choose a folder.")
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    target = probe if probe.exists() else Path(".")
    try:  # a real probe: permissions alone do not tell (root, read-only mounts, /proc)
        handle, name = tempfile.mkstemp(prefix=".crsim-probe-", dir=target)
        os.close(handle)
        os.unlink(name)
    except OSError as exc:
        raise SimError(f"{option} {path}: cannot write there ({target}: {exc.strerror or exc}); choose another "
                       "folder.") from None


def check_args(args: argparse.Namespace) -> None:
    """Check every argument a command was given, before it does anything (see the note above).

    Raises:
        SimError: naming the option and what it allows.
    """
    opt = vars(args).get
    reps = opt("reps")
    if reps is not None:
        _whole("--reps", reps, 1, MAX_REPS, "replications")
    if opt("seed") is not None:
        last = MAX_SEED - max(reps or 1, 1) + 1
        _whole("--seed", opt("seed"), 0, last,
               "the seeds SEED to SEED + REPS - 1 are stored as 64-bit integers" if reps else "a seed")
    if opt("workers") is not None:
        from sim.experiment.executors import check_workers

        check_workers(opt("workers"))
    if opt("samples") is not None:
        from sim.experiment.design import MAX_DESIGN_POINTS

        _whole("--samples", opt("samples"), 1, MAX_DESIGN_POINTS, "points or base samples of the design")
    if opt("uncertainty") is not None:
        from sim.uncertainty.draws import check_draws

        check_draws(opt("uncertainty"))
    if opt("draws") is not None:
        from sim.uncertainty.draws import MAX_DRAWS

        _whole("--draws", opt("draws"), 2, MAX_DRAWS, "draws of the assumptions")
    if opt("trials") is not None:
        from sim.optimise.search import MAX_TRIALS

        _whole("--trials", opt("trials"), 1, MAX_TRIALS, "designs to evaluate")
    if opt("population") is not None:
        _whole("--population", opt("population"), 2, 1000, "designs proposed at a time")
    if opt("horizon_years") is not None:
        _finite("--years", opt("horizon_years"), "a finite number of years")
    if opt("max_evals") is not None:
        _whole("--max-evals", opt("max_evals"), 1, 100_000, "evaluations per fit")
    for year in opt("years") or ():
        _finite("--years", year, "a finite number of years after the start")
    for option in ("scale", "threshold", "below", "above"):
        _finite(f"--{option}", opt(option))
    if opt("name") is not None:
        from sim.experiment.store import check_name

        check_text("--name", opt("name"), "an experiment name")
        check_name(opt("name"))
    if opt("experiment") is not None:
        check_text("the experiment name", opt("experiment"), "an experiment name")
    for option in ("scenario", "baseline"):
        if isinstance(opt(option), str):
            check_text(f"the {option}" if option == "scenario" else f"--{option}", opt(option),
                       "a scenario name or file")
    for scenario in opt("scenarios") or ():
        check_text("a scenario", scenario, "a scenario name or file")
    if opt("formats") is not None:
        from sim.report_options import parse_formats

        try:
            parse_formats(opt("formats"))
        except SimError as exc:
            raise SimError(f"--formats: {exc}") from None
    if opt("material"):
        from sim.report_options import parse_material

        parse_material(opt("material"))
    if opt("metrics") is not None and opt("command") == "report":
        from sim.report_options import parse_metrics

        parse_metrics(opt("metrics"))
    if "db" in vars(args):
        check_db_url(db_url(args), option="--db" if args.db else f"${DB_ENV}")
    if opt("scheduler"):
        from sim.experiment.executors import scheduler_timeout

        scheduler_timeout()
    if opt("out") is not None:
        check_out(Path(opt("out")).parent if opt("command") == "calibrate" else opt("out"))
        if opt("command") in ("compare", "sweep", "sensitivity", "critics", "optimise"):
            from sim.outputs import check_owner

            check_owner(Path(opt("out")), opt("name"))
    elif opt("command") in ("run", "compare", "sweep", "sensitivity", "critics", "optimise", "validate", "calibrate",
                            "export", "report", "discover"):
        check_out(RESULTS_DIR, "the results folder")
