"""The tables of the results database, their version, and the rules their names and columns follow.

Only definitions live here (SQLAlchemy 2 Core ``Table`` objects and constants), so that every other part of
the store, and a reader of the schema, finds it in one place; ``docs/experiments.md`` describes the tables.
"""

from __future__ import annotations

import re
import reprlib

import sqlalchemy as sa

from sim.experiment.errors import StoreError
from sim.metrics import METRIC_NAMES

#: Bump when the tables change, and add the conversion to :mod:`sim.experiment.store.migrations`; a
#: database of a version with no conversion is refused with a clear message.
SCHEMA_VERSION = 2

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,119}$")
# A metric's column name: a plain identifier within PostgreSQL's 63-character limit.
COLUMN_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")

metadata = sa.MetaData()

schema_info = sa.Table(
    "schema_info", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

experiments = sa.Table(
    "experiments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),  # compare | sweep | sensitivity
    sa.Column("status", sa.String(20), nullable=False),  # running | complete | interrupted | failed
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished", sa.DateTime(timezone=True)),
    sa.Column("baseline", sa.String(200)),
    sa.Column("scenarios", sa.JSON, nullable=False),
    sa.Column("reps", sa.Integer, nullable=False),
    sa.Column("base_seed", sa.BigInteger, nullable=False),
    sa.Column("n_runs", sa.Integer, nullable=False),
    sa.Column("model_version", sa.String(40), nullable=False),
    sa.Column("code_version", sa.String(60), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scenario_hash", sa.String(64), nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("model_version", sa.String(40), nullable=False),
    sa.Column("code_version", sa.String(60), nullable=False),
    sa.Column("scenario_name", sa.String(200), nullable=False),
    sa.Column("scenario", sa.JSON, nullable=False),
    sa.Column("package_versions", sa.JSON, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # complete | failed
    sa.Column("error", sa.Text),
    sa.Column("finished", sa.DateTime(timezone=True), nullable=False),
    sa.Column("elapsed_seconds", sa.Float),
    sa.Column("store_seconds", sa.Float),
    sa.Column("practices_at_start", sa.Integer),
    sa.Column("consortia", sa.Integer),
    sa.Column("quarters", sa.Integer),
    sa.Column("has_snapshots", sa.Boolean, nullable=False),
    sa.UniqueConstraint("scenario_hash", "seed", "model_version", name="uq_runs_identity"),
)

experiment_runs = sa.Table(
    "experiment_runs", metadata,
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("scenario", sa.String(200), primary_key=True),
    sa.Column("point_id", sa.Integer, primary_key=True),
    sa.Column("replication", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Index("ix_experiment_runs_run", "run_id"),
)

#: Columns of ``run_metrics`` before the metrics: the key and the run's calendar.
CALENDAR_COLUMNS: tuple[str, ...] = ("run_id", "quarter", "time_years", "financial_year")

run_metrics = sa.Table(
    "run_metrics", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("quarter", sa.Integer, primary_key=True),
    sa.Column("time_years", sa.Double),
    sa.Column("financial_year", sa.String(16)),  # as the model labels it, e.g. "2011/12"
    # One column per metric of the registry; a store adds those missing when it opens a database.
    *(sa.Column(name, sa.Double) for name in METRIC_NAMES),
    # Every query reads by run (an experiment's runs, some quarters): the primary key serves them all.
    sqlite_with_rowid=False,
)

practice_snapshots = sa.Table(
    "practice_snapshots", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("quarter", sa.Integer, primary_key=True),
    sa.Column("practice_id", sa.Integer, primary_key=True),
    sa.Column("consortium_id", sa.Integer),
    sa.Column("contract", sa.String(16)),
    sa.Column("list_size", sa.Double),
    sa.Column("deprivation", sa.Double),
    sa.Column("quality", sa.Double),
    sa.Column("achievement", sa.Double),
    sa.Column("recorded_achievement", sa.Double),
    sa.Column("exception_rate", sa.Double),
    sa.Column("outcome_per_1000", sa.Double),
    sa.Column("expected_outcome_per_1000", sa.Double),
    sa.Column("prescribing_per_head_gbp", sa.Double),
    sa.Column("autonomy", sa.Double),
    sa.Column("reserves_gbp", sa.Double),
    sqlite_with_rowid=False,
)

design_points = sa.Table(
    "design_points", metadata,
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("point_id", sa.Integer, primary_key=True),
    sa.Column("parameter", sa.String(200), primary_key=True),
    sa.Column("value", sa.Double, nullable=False),  # as applied to the scenario (integers rounded)
    sa.Column("sampled", sa.Double, nullable=False),  # as the design drew it (what SALib analyses)
)

sensitivity_indices = sa.Table(
    "sensitivity_indices", metadata,
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("metric", sa.String(64), primary_key=True),
    sa.Column("parameter", sa.String(200), primary_key=True),
    sa.Column("method", sa.String(16), nullable=False),
    *(sa.Column(name, sa.Double) for name in ("S1", "S1_conf", "ST", "ST_conf", "mu_star", "mu_star_conf",
                                               "sigma")),
)

# Statements run for every run a sweep stores or reuses, built once: building and hashing a statement costs

SNAPSHOT_DB_COLUMNS: tuple[str, ...] = tuple(c.name for c in practice_snapshots.columns if c.name != "run_id")
SENSITIVITY_COLUMNS: tuple[str, ...] = (
    "metric", "parameter", "method", "S1", "S1_conf", "ST", "ST_conf", "mu_star", "mu_star_conf", "sigma",
)


def check_name(name: str) -> str:
    """An experiment name must be usable as a folder name: letters, digits, ``_ . -``."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise StoreError(
            f"Experiment name {reprlib.repr(name)} is not allowed: use 1 to 120 letters, digits, '_', '.' or "
            "'-', starting with a letter or digit."
        )
    return name



def check_column(name: str) -> str:
    """A metric name must be usable as a column on SQLite and PostgreSQL (the store adds one per metric)."""
    if not COLUMN_RE.match(name):
        raise StoreError(f"Metric name '{name}' cannot be a column of the results database: use up to 63 "
                         "letters, digits or '_', starting with a letter.")
    return name
