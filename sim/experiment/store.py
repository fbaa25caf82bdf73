"""The results database: experiments, runs, quarterly metrics and practice snapshots (SQLAlchemy 2 Core).

SQLite (a file under ``results/``) is the embedded default; a PostgreSQL URL gives a team one shared store.
The schema is the same on both; see ``docs/experiments.md`` for the tables.

Design choices, and why:

* A run is stored once, keyed by (scenario hash, seed, model version), and *linked* to each experiment
  that uses it (``experiment_runs``). A run already stored is reused, never recomputed, which is what
  makes an interrupted sweep resume where it stopped and lets experiments share replications.
* Each finished run is written in one transaction (run row, metrics, snapshots, link), so a crash or
  SIGKILL leaves only whole runs.
* Metrics are stored wide: one row per run and quarter, a column per metric of ``sim.metrics.METRICS``.
  A run is then some forty short rows rather than some two thousand long ones, so storing it costs little
  next to computing it. A metric added to the registry gets its column when a store is opened (an
  ``ALTER TABLE ... ADD COLUMN``, no migration), and a database of schema version 1 (long metrics) is
  converted in place the first time it is opened.
* Bulk rows (metrics, snapshots) go through the driver as tuples: ``executemany`` on SQLite, ``COPY`` on
  PostgreSQL; SQLAlchemy's per-row parameter processing would otherwise dominate the time to store a run.
* SQLite runs in WAL mode with a busy timeout, and write transactions take the write lock up front
  (``BEGIN IMMEDIATE``), so two processes writing to one file wait for each other instead of failing.
  WAL mode is switched on when a store is opened, retried while another process holds the write lock:
  SQLite does not wait on its busy timeout for that switch, so two processes creating one file at once
  could otherwise fail with "database is locked".
* Ctrl-C is held while a connection is out of the pool and delivered once it is back
  (:mod:`sim.experiment.interrupts`): an interrupt can never leave a transaction, and on SQLite the write
  lock, held by this process while the experiment is being marked interrupted.
* A URL's password never appears in messages: every URL shown goes through :func:`mask_url`.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError, OperationalError

from sim.experiment.errors import StoreError
from sim.experiment.interrupts import deferred_interrupts
from sim.experiment.rows import QUARTER_COLUMNS, MetricRows, float_list, metric_rows
from sim.metrics import METRIC_NAMES
from sim.version import MODEL_VERSION

#: Bump when the tables change; a database with another version is refused with a clear message (version 1,
#: metrics stored long, is converted in place).
SCHEMA_VERSION = 2

DEFAULT_URL = "sqlite:///results/crsim.db"

#: Keys looked up (or links written) per statement: well under SQLite's limit of bound parameters.
_KEYS_PER_QUERY = 500

#: How long an SQLite connection waits for another process's write lock before giving up.
_SQLITE_BUSY_SECONDS = 60.0

# An arbitrary constant key for PostgreSQL's advisory lock around schema creation.
_PG_SCHEMA_LOCK = 7_413_209_117

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,119}$")
# A metric's column name: a plain identifier within PostgreSQL's 63-character limit.
_COLUMN_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")

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
# SQLAlchemy more than SQLite takes to execute it.
_FIND_RUN = sa.select(runs.c.id, runs.c.status, runs.c.has_snapshots).where(
    runs.c.scenario_hash == sa.bindparam("scenario_hash"), runs.c.seed == sa.bindparam("seed"),
    runs.c.model_version == sa.bindparam("model_version"))
_LINK_KEY = sa.and_(
    experiment_runs.c.experiment_id == sa.bindparam("key_experiment_id"),
    experiment_runs.c.scenario == sa.bindparam("key_scenario"),
    experiment_runs.c.point_id == sa.bindparam("key_point_id"),
    experiment_runs.c.replication == sa.bindparam("key_replication"),
)
_LINK_COLUMNS = (experiment_runs.c.experiment_id, experiment_runs.c.scenario, experiment_runs.c.point_id,
                 experiment_runs.c.replication)
_MOVE_LINK = experiment_runs.update().where(_LINK_KEY).values(run_id=sa.bindparam("new_run_id"))
_SET_STORE_SECONDS = runs.update().where(runs.c.id == sa.bindparam("the_run_id")).values(
    store_seconds=sa.bindparam("seconds"))

SNAPSHOT_DB_COLUMNS: tuple[str, ...] = tuple(c.name for c in practice_snapshots.columns if c.name != "run_id")
SENSITIVITY_COLUMNS: tuple[str, ...] = (
    "metric", "parameter", "method", "S1", "S1_conf", "ST", "ST_conf", "mu_star", "mu_star_conf", "sigma",
)


# --------------------------------------------------------------------------------------- URLs


def mask_url(url: str | URL) -> str:
    """The URL as text with any password replaced by ``***``: the only form of a URL we ever show."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        # Not parseable as a URL: hide anything between "://user:" and "@" just in case.
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", str(url))


def _scrub(text: str, url: URL) -> str:
    """Remove the password from a driver's message, should the driver ever echo it."""
    if url.password:
        text = text.replace(str(url.password), "***")
    return text


def resolve_url(url: str | None) -> URL:
    """Parse a database URL (default: SQLite under ``results/``), with a clear error when malformed.

    ``postgresql://`` is taken to mean the psycopg 3 driver (the ``postgres`` extra), not psycopg2.
    """
    text = url or DEFAULT_URL
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise StoreError(
            f"'{mask_url(text)}' is not a database URL. Use sqlite:///path/to/file.db or "
            "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE."
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"Unsupported database '{mask_url(parsed)}': use SQLite (sqlite:///file.db) or PostgreSQL "
            "(postgresql+psycopg://...)."
        )
    return parsed


# --------------------------------------------------------------------------------------- data


@dataclass
class ExperimentData:
    """One stored experiment as DataFrames (see ``docs/contracts.md``).

    Attributes:
        experiment: name, kind, status, created, baseline, scenarios, reps, base_seed, options.
        runs: one row per (scenario, point, replication) of the experiment.
        metrics: one row per run and quarter, with every metric as a column.
        snapshots: practice rows of the runs that kept them.
        design: one row per design point with a column per varied parameter (sweeps, sensitivity).
        summary: paired comparison at the horizon (compare experiments; see ``summarise``).
        sensitivity: Sobol or Morris indices per metric and parameter (sensitivity experiments).
    """

    experiment: dict[str, Any]
    runs: pd.DataFrame
    metrics: pd.DataFrame
    snapshots: pd.DataFrame
    design: pd.DataFrame
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class StoredRun:
    """The identity of a run found in the store."""

    run_id: int
    has_snapshots: bool


@dataclass(frozen=True)
class RunLink:
    """Where a run belongs in an experiment."""

    experiment_id: int
    scenario: str
    point_id: int
    replication: int


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------- store


class ResultStore:
    """A connection to the results database, creating the schema on first use.

    Args:
        url: SQLAlchemy URL; default ``sqlite:///results/crsim.db`` (relative to the working folder).
        connect_timeout_seconds: how long to wait for a PostgreSQL server before giving up.

    Raises:
        StoreError: the URL is malformed, the driver is missing, the server is unreachable, or the
            database holds a schema of another version.

    Example:
        >>> store = ResultStore("sqlite:///results/crsim.db")  # doctest: +SKIP
        >>> store.list_experiments()[["name", "kind", "status"]]  # doctest: +SKIP
    """

    def __init__(self, url: str | None = None, connect_timeout_seconds: float = 10.0) -> None:
        self.url = resolve_url(url)
        self.display_url = mask_url(self.url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = self._create_engine(connect_timeout_seconds)
        self._metric_columns: tuple[str, ...] = ()  # run_metrics' metric columns, read when opening
        self._init_schema()

    # ----------------------------------------------------------------------------- connection

    def _create_engine(self, connect_timeout_seconds: float) -> Engine:
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": _SQLITE_BUSY_SECONDS}
        else:
            kwargs["connect_args"] = {"connect_timeout": max(1, int(connect_timeout_seconds))}
            kwargs["pool_pre_ping"] = True
        try:
            engine = sa.create_engine(self.url, **kwargs)
        except (NoSuchModuleError, ImportError, ModuleNotFoundError):
            raise StoreError(
                f"No driver for {self.display_url}: install the PostgreSQL extra with "
                "pip install '.[postgres]' (psycopg 3)."
            ) from None
        if self.is_sqlite:
            _configure_sqlite(engine)
        return engine

    @contextlib.contextmanager
    def _connect(self, write: bool = False) -> Iterator[Connection]:
        """A connection in a transaction; ``write`` takes SQLite's write lock at the start.

        Taking the lock up front (BEGIN IMMEDIATE) is what lets concurrent writers queue on the busy
        timeout: a deferred transaction that reads first and then writes can fail with "database is
        locked" at once, whatever the timeout.

        Ctrl-C is held from before the connection leaves the pool until it is back, and then delivered
        (:mod:`sim.experiment.interrupts` says why): every database operation of this store is whole
        with respect to Ctrl-C, and an interrupt can never leave a transaction open in this process.
        """
        with deferred_interrupts():
            try:
                with self.engine.connect() as conn:
                    if write and self.is_sqlite:
                        conn = conn.execution_options(crsim_begin="IMMEDIATE")
                    with conn.begin():
                        yield conn
            except OperationalError as exc:
                raise StoreError(self._describe(exc)) from None

    def _describe(self, exc: DBAPIError) -> str:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        short = "; ".join(line.strip() for line in reason[:3] if line.strip())
        return _scrub(f"Cannot use the results database {self.display_url}: {short}", self.url)

    def _init_schema(self) -> None:
        try:
            if self.is_sqlite:
                _enable_wal(self.engine)
            with self._connect(write=True) as conn:
                if not self.is_sqlite:
                    # Two processes opening a fresh database at once must not both create the tables.
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
                stored = None
                if sa.inspect(conn).has_table("schema_info"):
                    stored = conn.execute(
                        sa.select(schema_info.c.value).where(schema_info.c.key == "schema_version")
                    ).scalar()
                if stored is not None and str(stored) == "1":
                    _migrate_from_1(conn)
                elif stored is not None and str(stored) != str(SCHEMA_VERSION):
                    raise StoreError(
                        f"Database {self.display_url} has results schema version {stored}, but this "
                        f"version of the simulator uses version {SCHEMA_VERSION}. Use another database "
                        "(--db) or the simulator version that wrote it."
                    )
                metadata.create_all(conn, checkfirst=True)
                if stored is None:
                    conn.execute(schema_info.insert(), [
                        {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                        {"key": "created", "value": _now().isoformat(timespec="seconds")},
                    ])
                self._metric_columns = _ensure_metric_columns(conn, METRIC_NAMES)
        except (DBAPIError, sqlite3.Error) as exc:  # e.g. permission denied creating tables
            self.engine.dispose()
            raise StoreError(self._describe(exc)) from None
        except BaseException:
            self.engine.dispose()
            raise

    def _add_metric_columns(self, names: Sequence[str]) -> None:
        """Give ``run_metrics`` a column for each of ``names`` it lacks (a run with metrics unknown here)."""
        with self._connect(write=True) as conn:
            if not self.is_sqlite:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
            self._metric_columns = _ensure_metric_columns(conn, names)

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        with self._connect() as conn:
            return int(conn.execute(
                sa.select(schema_info.c.value).where(schema_info.c.key == "schema_version")
            ).scalar_one())

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResultStore({self.display_url!r})"

    def _write_retrying(self, work: Any, attempts: int = 5) -> Any:
        """Run ``work(conn)`` in a write transaction, retrying when a concurrent writer won a race.

        On PostgreSQL two processes can insert the same run at once; the loser's unique-key error means
        the run now exists, and the retry finds and reuses it.
        """
        for attempt in range(attempts):
            try:
                with self._connect(write=True) as conn:
                    return work(conn)
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        return None  # pragma: no cover - loop always returns or raises

    # ----------------------------------------------------------------------------- experiments

    def begin_experiment(
        self, *, name: str, kind: str, definition_hash: str, baseline: str | None,
        scenarios: Sequence[str], reps: int, base_seed: int, n_runs: int, code_version: str,
        options: Mapping[str, Any],
    ) -> tuple[int, bool]:
        """Create the experiment, or resume the one stored under ``name`` if its definition matches.

        Returns:
            (experiment id, resumed).

        Raises:
            StoreError: ``name`` is taken by an experiment with another definition (different scenarios,
                design, replications, seed or model version).
        """
        check_name(name)

        def work(conn: Connection) -> tuple[int, bool]:
            row = conn.execute(
                sa.select(experiments.c.id, experiments.c.kind, experiments.c.definition_hash,
                          experiments.c.options)
                .where(experiments.c.name == name)
            ).first()
            now = _now()
            if row is not None:
                if row.kind != kind or row.definition_hash != definition_hash:
                    differs = _differences((row.options or {}).get("definition"), options.get("definition"))
                    raise StoreError(
                        f"An experiment named '{name}' is already stored with a different definition "
                        f"({row.kind}{'; differs in ' + differs if differs else ''}). Choose another --name, "
                        "or repeat the original command exactly to resume it."
                    )
                conn.execute(experiments.update().where(experiments.c.id == row.id)
                             .values(status="running", updated=now, finished=None))
                return int(row.id), True
            new_id = conn.execute(experiments.insert().values(
                name=name, kind=kind, status="running", definition_hash=definition_hash, created=now,
                updated=now, finished=None, baseline=baseline, scenarios=list(scenarios), reps=reps,
                base_seed=base_seed, n_runs=n_runs, model_version=MODEL_VERSION, code_version=code_version,
                options=dict(options),
            )).inserted_primary_key[0]
            return int(new_id), False

        return self._write_retrying(work)

    def finish_experiment(self, experiment_id: int, status: str) -> None:
        """Record the experiment's final status (``complete`` only when every run is stored)."""
        if status not in ("complete", "interrupted", "failed", "running"):
            raise ValueError(status)
        now = _now()
        with self._connect(write=True) as conn:
            conn.execute(experiments.update().where(experiments.c.id == experiment_id).values(
                status=status, updated=now, finished=now if status == "complete" else None))

    def experiment_names(self) -> list[str]:
        with self._connect() as conn:
            return list(conn.execute(sa.select(experiments.c.name).order_by(experiments.c.created)).scalars())

    def list_experiments(self) -> pd.DataFrame:
        """Every stored experiment with its progress: name, kind, status, created, scenarios, runs."""
        done = (
            sa.select(experiment_runs.c.experiment_id, sa.func.count().label("runs_stored"))
            .select_from(experiment_runs.join(runs, runs.c.id == experiment_runs.c.run_id))
            .where(runs.c.status == "complete")
            .group_by(experiment_runs.c.experiment_id).subquery()
        )
        query = (
            sa.select(
                experiments.c.name, experiments.c.kind, experiments.c.status, experiments.c.created,
                experiments.c.scenarios, experiments.c.reps, experiments.c.n_runs,
                sa.func.coalesce(done.c.runs_stored, 0).label("runs_stored"), experiments.c.model_version,
            )
            .select_from(experiments.outerjoin(done, done.c.experiment_id == experiments.c.id))
            .order_by(experiments.c.created, experiments.c.id)
        )
        with self._connect() as conn:
            rows = conn.execute(query).mappings().all()
        columns = ["name", "kind", "status", "created", "scenarios", "reps", "n_runs", "runs_stored",
                   "model_version"]
        return pd.DataFrame([dict(r) for r in rows], columns=columns)

    def experiment_info(self, name: str) -> dict[str, Any]:
        """The experiment's row as a dict (with ``id``), or a StoreError listing the stored names."""
        with self._connect() as conn:
            row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).mappings().first()
        if row is None:
            names = self.experiment_names()
            listed = ", ".join(names[-20:]) if names else "none yet"
            raise StoreError(
                f"No experiment named '{name}' in {self.display_url}. Stored experiments: {listed}."
            )
        info = dict(row)
        info["created"] = str(info["created"])
        info["updated"] = str(info["updated"])
        info["finished"] = None if info["finished"] is None else str(info["finished"])
        return info

    # ----------------------------------------------------------------------------- runs

    def find_run(self, scenario_hash: str, seed: int, model_version: str = MODEL_VERSION) -> StoredRun | None:
        """The complete stored run with this identity, if there is one."""
        return self.find_runs([(scenario_hash, seed)], model_version).get((scenario_hash, int(seed)))

    def find_runs(
        self, keys: Iterable[tuple[str, int]], model_version: str = MODEL_VERSION
    ) -> dict[tuple[str, int], StoredRun]:
        """The complete stored runs among ``keys`` (scenario hash, seed), keyed by them.

        One query per few hundred keys, not one per run: resuming a large experiment on a shared
        PostgreSQL store would otherwise cost a network round trip for every planned run.
        """
        wanted = sorted({(str(h), int(seed)) for h, seed in keys})
        found: dict[tuple[str, int], StoredRun] = {}
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            query = sa.select(runs.c.scenario_hash, runs.c.seed, runs.c.id, runs.c.has_snapshots).where(
                runs.c.model_version == model_version, runs.c.status == "complete",
                sa.tuple_(runs.c.scenario_hash, runs.c.seed).in_(wanted[start:start + _KEYS_PER_QUERY]))
            with self._connect() as conn:
                for row in conn.execute(query):
                    found[(row.scenario_hash, int(row.seed))] = StoredRun(int(row.id), bool(row.has_snapshots))
        return found

    def link_run(self, run_id: int, link: RunLink) -> None:
        """Record that a stored run is part of an experiment (idempotent)."""
        self.link_runs([(run_id, link)])

    def link_runs(self, pairs: Sequence[tuple[int, RunLink]]) -> None:
        """Link many stored runs to their experiments in one transaction (idempotent)."""
        if pairs:
            self._write_retrying(lambda conn: self._link(conn, pairs))

    @staticmethod
    def _link(conn: Connection, pairs: Sequence[tuple[int, RunLink]]) -> None:
        """Insert the links not there yet and move any that point at another run, in a few statements."""
        for start in range(0, len(pairs), _KEYS_PER_QUERY):
            chunk = {(link.experiment_id, link.scenario, link.point_id, link.replication): run_id
                     for run_id, link in pairs[start:start + _KEYS_PER_QUERY]}
            existing = {tuple(row[:4]): row[4] for row in conn.execute(
                sa.select(*_LINK_COLUMNS, experiment_runs.c.run_id).where(sa.tuple_(*_LINK_COLUMNS).in_(list(chunk))))}
            new = [{"experiment_id": k[0], "scenario": k[1], "point_id": k[2], "replication": k[3], "run_id": r}
                   for k, r in chunk.items() if k not in existing]
            if new:
                conn.execute(experiment_runs.insert(), new)
            for k, run_id in chunk.items():
                if k in existing and existing[k] != run_id:
                    conn.execute(_MOVE_LINK, {"key_experiment_id": k[0], "key_scenario": k[1], "key_point_id": k[2],
                                              "key_replication": k[3], "new_run_id": run_id})

    def save_run(self, result: Any, link: RunLink | None = None, keep_snapshots: bool = True,
                 rows: MetricRows | None = None) -> int:
        """Store one finished run (and link it to an experiment) in a single transaction.

        If the same run (scenario hash, seed, model version) is already stored, nothing is duplicated:
        the existing run is linked, gaining the snapshots if it lacked them and these have them.

        Args:
            result: a :class:`sim.runner.RunResult`.
            link: where the run belongs in an experiment, if anywhere.
            keep_snapshots: store the practice snapshots of this run.
            rows: ``metric_rows(result.metrics)`` if the worker built them already (it saves this process
                the work); built here otherwise.

        Returns:
            The run's id.
        """
        meta = result.metadata
        snapshots = result.snapshots if keep_snapshots else result.snapshots.iloc[0:0]
        prepared = rows if rows is not None else metric_rows(result.metrics)
        names, quarter_rows = prepared.names, prepared.rows
        if not set(names) <= set(self._metric_columns):
            self._add_metric_columns(names)

        def work(conn: Connection) -> int:
            started = time.perf_counter()
            existing = conn.execute(_FIND_RUN, {"scenario_hash": meta["scenario_hash"], "seed": int(meta["seed"]),
                                                "model_version": meta["model_version"]}).first()
            if existing is not None and existing.status == "complete":
                run_id = int(existing.id)
                if len(snapshots) and not existing.has_snapshots:
                    _insert_snapshots(conn, run_id, snapshots)
                    conn.execute(runs.update().where(runs.c.id == run_id).values(has_snapshots=True))
            else:
                values = dict(
                    scenario_hash=meta["scenario_hash"], seed=int(meta["seed"]),
                    model_version=meta["model_version"], code_version=str(meta.get("code_version", "")),
                    scenario_name=str(meta.get("scenario_name", "")), scenario=meta.get("scenario", {}),
                    package_versions=meta.get("package_versions", {}), status="complete", error=None,
                    finished=_now(), elapsed_seconds=_opt_float(meta.get("elapsed_seconds")),
                    store_seconds=None, practices_at_start=_opt_int(meta.get("practices_at_start")),
                    consortia=_opt_int(meta.get("consortia")),
                    quarters=max((row[0] for row in quarter_rows), default=0),
                    has_snapshots=bool(len(snapshots)),
                )
                if existing is not None:  # an earlier failure of this run: complete it in place
                    run_id = int(existing.id)
                    conn.execute(runs.update().where(runs.c.id == run_id).values(**values))
                else:
                    run_id = int(conn.execute(runs.insert(), values).inserted_primary_key[0])
                if quarter_rows:
                    _bulk_insert(conn, "run_metrics", ("run_id", *QUARTER_COLUMNS, *names),
                                 [(run_id, *row) for row in quarter_rows])
                if len(snapshots):
                    _insert_snapshots(conn, run_id, snapshots)
                conn.execute(_SET_STORE_SECONDS, {"the_run_id": run_id, "seconds": time.perf_counter() - started})
            if link is not None:
                self._link(conn, [(run_id, link)])
            return run_id

        return self._write_retrying(work)

    def save_failed_run(self, *, scenario: Any, scenario_hash: str, seed: int, error: str,
                        code_version: str, package_versions: Mapping[str, str],
                        link: RunLink | None = None) -> None:
        """Record a run that raised, so the failure is visible; it is retried next time, never reused."""
        from sim.scenario import scenario_dict

        def work(conn: Connection) -> None:
            existing = conn.execute(sa.select(runs.c.id, runs.c.status).where(
                runs.c.scenario_hash == scenario_hash, runs.c.seed == int(seed),
                runs.c.model_version == MODEL_VERSION)).first()
            if existing is not None and existing.status == "complete":
                return  # another process stored it meanwhile; keep the good run
            if existing is not None:
                run_id = int(existing.id)
                conn.execute(runs.update().where(runs.c.id == run_id).values(error=error, finished=_now()))
            else:
                run_id = int(conn.execute(runs.insert().values(
                    scenario_hash=scenario_hash, seed=int(seed), model_version=MODEL_VERSION,
                    code_version=code_version, scenario_name=scenario.name, scenario=scenario_dict(scenario),
                    package_versions=dict(package_versions), status="failed", error=error, finished=_now(),
                    has_snapshots=False,
                )).inserted_primary_key[0])
            if link is not None:
                self._link(conn, [(run_id, link)])

        self._write_retrying(work)

    def run_errors(self, experiment_id: int) -> list[str]:
        """Errors of the experiment's failed runs (to say why it is incomplete)."""
        query = (sa.select(runs.c.error)
                 .select_from(experiment_runs.join(runs, runs.c.id == experiment_runs.c.run_id))
                 .where(experiment_runs.c.experiment_id == experiment_id, runs.c.status == "failed"))
        with self._connect() as conn:
            return [e for e in conn.execute(query).scalars().all() if e]

    # ----------------------------------------------------------------------------- design and indices

    def save_design(self, experiment_id: int, design: pd.DataFrame, sampled: pd.DataFrame) -> None:
        """Store the design points (idempotent: a resumed experiment keeps its first design)."""
        rows: list[dict[str, Any]] = []
        for param in design.columns:
            values = float_list(design[param])
            raw = float_list(sampled[param])
            rows.extend(
                {"experiment_id": experiment_id, "point_id": int(pid), "parameter": param, "value": v,
                 "sampled": s}
                for pid, v, s in zip(design.index, values, raw, strict=True)
            )

        def work(conn: Connection) -> None:
            have = conn.execute(sa.select(sa.func.count()).select_from(design_points)
                                .where(design_points.c.experiment_id == experiment_id)).scalar_one()
            if have == 0 and rows:
                for chunk in _chunks(rows, 5000):
                    conn.execute(design_points.insert(), chunk)

        self._write_retrying(work)

    def save_sensitivity(self, experiment_id: int, indices: pd.DataFrame) -> None:
        """Replace the stored sensitivity indices of an experiment."""
        rows = []
        for rec in indices.to_dict("records"):
            row = {"experiment_id": experiment_id, "metric": rec["metric"], "parameter": rec["parameter"],
                   "method": rec["method"]}
            for col in SENSITIVITY_COLUMNS[3:]:
                value = rec.get(col)
                row[col] = None if value is None or not np.isfinite(value) else float(value)
            rows.append(row)

        def work(conn: Connection) -> None:
            table = sensitivity_indices
            conn.execute(table.delete().where(table.c.experiment_id == experiment_id))
            if rows:
                conn.execute(sensitivity_indices.insert(), rows)

        self._write_retrying(work)

    # ----------------------------------------------------------------------------- loading

    def load_runs(self, experiment_id: int) -> pd.DataFrame:
        """The experiment's runs: one row per (scenario, point, replication)."""
        query = (
            sa.select(
                runs.c.id.label("run_id"), experiment_runs.c.scenario, runs.c.scenario_hash,
                experiment_runs.c.replication, runs.c.seed, runs.c.model_version, runs.c.code_version,
                runs.c.status, runs.c.elapsed_seconds, runs.c.store_seconds, experiment_runs.c.point_id,
                runs.c.has_snapshots,
            )
            .select_from(experiment_runs.join(runs, runs.c.id == experiment_runs.c.run_id))
            .where(experiment_runs.c.experiment_id == experiment_id)
            .order_by(experiment_runs.c.scenario, experiment_runs.c.point_id, experiment_runs.c.replication)
        )
        with self._connect() as conn:
            rows = conn.execute(query).mappings().all()
        cols = ["run_id", "scenario", "scenario_hash", "replication", "seed", "model_version", "code_version",
                "status", "elapsed_seconds", "store_seconds", "point_id", "has_snapshots"]
        return pd.DataFrame([dict(r) for r in rows], columns=cols)

    def iter_metrics(
        self, experiment_id: int, *, quarters: Sequence[int] | None = None,
        metrics: Sequence[str] | None = None, runs_per_chunk: int = 500,
    ) -> Iterator[pd.DataFrame]:
        """The experiment's quarterly metrics, wide, a chunk of runs at a time (memory stays bounded).

        Each frame has ``run_id, scenario, point_id, replication, seed, quarter, time_years,
        financial_year`` and one column per stored metric (or per one of ``metrics``), in alphabetical
        order as in every earlier version of the store (:meth:`load_metrics` puts them in registry order).
        """
        names = sorted(self._metric_columns if metrics is None
                       else {m for m in metrics if m in self._metric_columns})
        table = sa.table("run_metrics", *(sa.column(c) for c in (*CALENDAR_COLUMNS, *names)))
        links = self.load_runs(experiment_id)
        run_ids = sorted(set(links["run_id"].tolist()))
        for chunk in _chunks(run_ids, runs_per_chunk):
            query = (sa.select(*table.c).where(table.c.run_id.in_(chunk))
                     .order_by(table.c.run_id, table.c.quarter))
            if quarters is not None:
                query = query.where(table.c.quarter.in_([int(q) for q in quarters]))
            with self._connect() as conn:
                wide = pd.DataFrame(conn.execute(query).all(), columns=[*CALENDAR_COLUMNS, *names])
            if wide.empty:
                continue
            wide["quarter"] = wide["quarter"].astype("int64")
            wide["time_years"] = wide["time_years"].astype(float)
            wide["financial_year"] = _year_labels(wide["financial_year"])
            if names:
                wide[names] = wide[names].astype(float)
            part = links[links["run_id"].isin(chunk)][
                ["run_id", "scenario", "point_id", "replication", "seed"]]
            yield part.merge(wide, on="run_id", how="inner")

    def horizon_quarter(self, experiment_id: int) -> int | None:
        """The last quarter the experiment's runs reached (None before any run is stored)."""
        query = (sa.select(sa.func.max(run_metrics.c.quarter))
                 .select_from(experiment_runs.join(run_metrics,
                                                   run_metrics.c.run_id == experiment_runs.c.run_id))
                 .where(experiment_runs.c.experiment_id == experiment_id))
        with self._connect() as conn:
            value = conn.execute(query).scalar()
        return None if value is None else int(value)

    def load_metrics(self, experiment_id: int, **kwargs: Any) -> pd.DataFrame:
        """All of :meth:`iter_metrics` as one frame, in the contract's column order."""
        frames = list(self.iter_metrics(experiment_id, **kwargs))
        lead = ["run_id", "scenario", "point_id", "replication", "seed", "quarter", "time_years",
                "financial_year"]
        if not frames:
            return pd.DataFrame(columns=lead + list(METRIC_NAMES))
        frame = pd.concat(frames, ignore_index=True)
        known = [c for c in lead if c in frame.columns]
        ordered = [m for m in METRIC_NAMES if m in frame.columns]
        rest = [c for c in frame.columns if c not in known and c not in ordered]
        frame = frame[known + ordered + rest]
        return frame.sort_values(["scenario", "point_id", "replication", "quarter"], kind="stable",
                                 ignore_index=True)

    def iter_snapshots(self, experiment_id: int, runs_per_chunk: int = 5) -> Iterator[pd.DataFrame]:
        """Practice snapshots of the experiment's runs that kept them, a few runs at a time."""
        links = self.load_runs(experiment_id)
        links = links[links["has_snapshots"].astype(bool)]
        run_ids = sorted(set(links["run_id"].tolist()))
        cols = [practice_snapshots.c[c] for c in SNAPSHOT_DB_COLUMNS]
        for chunk in _chunks(run_ids, runs_per_chunk):
            query = (sa.select(practice_snapshots.c.run_id, *cols)
                     .where(practice_snapshots.c.run_id.in_(chunk))
                     .order_by(practice_snapshots.c.run_id, practice_snapshots.c.quarter,
                               practice_snapshots.c.practice_id))
            with self._connect() as conn:
                frame = pd.DataFrame(conn.execute(query).all(), columns=["run_id", *SNAPSHOT_DB_COLUMNS])
            part = links[links["run_id"].isin(chunk)][["run_id", "scenario", "point_id", "replication"]]
            yield part.merge(frame, on="run_id", how="inner")

    def load_design(self, experiment_id: int, column: str = "value") -> pd.DataFrame:
        """Design points, one row per point with a column per parameter (``value`` or ``sampled``)."""
        query = sa.select(design_points.c.point_id, design_points.c.parameter, design_points.c[column]).where(
            design_points.c.experiment_id == experiment_id)
        with self._connect() as conn:
            long = pd.DataFrame(conn.execute(query).all(), columns=["point_id", "parameter", "value"])
        if long.empty:
            return pd.DataFrame(columns=["point_id"])
        wide = long.pivot(index="point_id", columns="parameter", values="value").reset_index()
        wide.columns.name = None
        return wide

    def load_sensitivity(self, experiment_id: int) -> pd.DataFrame:
        """Stored indices, in metric-registry order and then in the order the parameters were varied."""
        query = sa.select(*(sensitivity_indices.c[c] for c in SENSITIVITY_COLUMNS)).where(
            sensitivity_indices.c.experiment_id == experiment_id)
        with self._connect() as conn:
            frame = pd.DataFrame(conn.execute(query).all(), columns=list(SENSITIVITY_COLUMNS))
            options = conn.execute(sa.select(experiments.c.options)
                                   .where(experiments.c.id == experiment_id)).scalar() or {}
        for col in SENSITIVITY_COLUMNS[3:]:
            frame[col] = frame[col].astype(float)
        params = [v["path"] for v in options.get("vary", [])]
        metric_rank = {m: i for i, m in enumerate(METRIC_NAMES)}
        param_rank = {p: i for i, p in enumerate(params)}
        order = sorted(range(len(frame)), key=lambda i: (
            metric_rank.get(frame["metric"].iat[i], len(metric_rank)), frame["metric"].iat[i],
            param_rank.get(frame["parameter"].iat[i], len(param_rank)), frame["parameter"].iat[i]))
        return frame.iloc[order].reset_index(drop=True)

    def load_experiment(self, name: str, *, snapshots: bool = True) -> ExperimentData:
        """An experiment as DataFrames (see :class:`ExperimentData`); ``summary`` is computed for compares.

        Raises:
            StoreError: no experiment of that name (the message lists those stored).
        """
        info = self.experiment_info(name)
        exp_id = int(info["id"])
        runs_frame = self.load_runs(exp_id)
        metrics = self.load_metrics(exp_id)
        snaps = (pd.concat(list(self.iter_snapshots(exp_id)), ignore_index=True)
                 if snapshots and runs_frame["has_snapshots"].astype(bool).any() else pd.DataFrame())
        design = self.load_design(exp_id)
        summary = pd.DataFrame()
        if info["kind"] == "compare" and not metrics.empty and info.get("baseline"):
            from sim.experiment.compare import summarise

            summary = summarise(metrics, info["baseline"])
        sensitivity = self.load_sensitivity(exp_id) if info["kind"] == "sensitivity" else pd.DataFrame()
        if info["kind"] == "compare":
            runs_frame = runs_frame.drop(columns=["point_id"])
            metrics = metrics.drop(columns=["point_id"], errors="ignore")
            if not snaps.empty:
                snaps = snaps.drop(columns=["point_id"])
        return ExperimentData(
            experiment={k: info[k] for k in ("name", "kind", "status", "created", "baseline", "scenarios",
                                             "reps", "base_seed", "options", "n_runs", "model_version")},
            runs=runs_frame.drop(columns=["has_snapshots"]), metrics=metrics, snapshots=snaps,
            design=design, summary=summary, sensitivity=sensitivity,
        )


# --------------------------------------------------------------------------------------- helpers


def check_name(name: str) -> str:
    """An experiment name must be usable as a folder name: letters, digits, ``_ . -``."""
    if not _NAME_RE.match(name or ""):
        raise StoreError(
            f"Experiment name '{name}' is not allowed: use up to 120 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit."
        )
    return name


def _differences(old: Any, new: Any) -> str:
    """Which parts of two experiment definitions differ, in words (``scenario_content`` changes when a
    scenario file, an override or the schema's defaults changed)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return ""
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(keys)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (so BEGIN IMMEDIATE works).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(_SQLITE_BUSY_SECONDS * 1000)}")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("crsim_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _enable_wal(engine: Engine) -> None:
    """Put the SQLite file in WAL mode (it stays so: the mode is stored in the file), retrying while busy.

    The change reads the file and then writes its header; when another connection holds the write lock
    meanwhile, SQLite answers "database is locked" at once rather than wait on its busy timeout (waiting
    while holding a read lock could deadlock). So retry here, up to the same timeout as any other lock.
    """
    deadline = time.monotonic() + _SQLITE_BUSY_SECONDS
    pause = 0.01
    while True:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA journal_mode = WAL")
            cur.close()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        finally:
            raw.close()
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def _migrate_from_1(conn: Connection) -> None:
    """Convert a schema-1 database in place: long ``run_metrics`` plus ``run_quarters`` become one wide
    ``run_metrics``; runs keep their ids, so experiments keep their links. Runs in the caller's transaction
    (under the schema lock), so a concurrent opener waits and then finds version 2."""
    stored = [str(m) for m in conn.exec_driver_sql("SELECT DISTINCT metric FROM run_metrics").scalars()]
    names = list(METRIC_NAMES) + sorted(set(stored) - set(METRIC_NAMES))
    bad = [m for m in names if not _COLUMN_RE.match(m)]
    if bad:
        raise StoreError(f"Cannot convert the results database to schema {SCHEMA_VERSION}: metric names "
                         f"{', '.join(bad[:5])} cannot be columns.")
    conn.exec_driver_sql("ALTER TABLE run_metrics RENAME TO run_metrics_v1")
    if conn.dialect.name == "postgresql":  # the key's index keeps its name, which the new table needs
        old_key = sa.inspect(conn).get_pk_constraint("run_metrics_v1").get("name")
        if old_key:
            conn.exec_driver_sql(f'ALTER TABLE run_metrics_v1 RENAME CONSTRAINT "{old_key}" TO run_metrics_v1_pkey')
    run_metrics.create(conn)
    _ensure_metric_columns(conn, names)
    pivot = ", ".join(f"MAX(CASE WHEN m.metric = '{name}' THEN m.value END)" for name in names)
    columns = ", ".join(f'"{c}"' for c in (*CALENDAR_COLUMNS, *names))
    conn.exec_driver_sql(
        f"INSERT INTO run_metrics ({columns}) "
        f"SELECT q.run_id, q.quarter, q.time_years, q.financial_year, {pivot} "
        "FROM run_quarters q LEFT JOIN run_metrics_v1 m ON m.run_id = q.run_id AND m.quarter = q.quarter "
        "GROUP BY q.run_id, q.quarter, q.time_years, q.financial_year"
    )
    conn.exec_driver_sql("DROP TABLE run_metrics_v1")
    conn.exec_driver_sql("DROP TABLE run_quarters")
    conn.execute(schema_info.update().where(schema_info.c.key == "schema_version")
                 .values(value=str(SCHEMA_VERSION)))
    conn.execute(schema_info.insert().values(key="converted_from_1", value=_now().isoformat(timespec="seconds")))


def _ensure_metric_columns(conn: Connection, names: Iterable[str]) -> tuple[str, ...]:
    """Add a column to ``run_metrics`` for each of ``names`` it lacks; return its metric columns in order."""
    have = [c["name"] for c in sa.inspect(conn).get_columns("run_metrics")]
    for name in names:
        if name in have:
            continue
        if not _COLUMN_RE.match(name):
            raise StoreError(f"Metric name '{name}' cannot be a column of the results database: use up to 63 "
                             "letters, digits or '_', starting with a letter.")
        conn.exec_driver_sql(f'ALTER TABLE run_metrics ADD COLUMN "{name}" DOUBLE PRECISION')
        have.append(name)
    return tuple(c for c in have if c not in CALENDAR_COLUMNS)


def _bulk_insert(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert many rows of plain Python values through the driver: ``COPY`` on PostgreSQL, else
    ``executemany``. A unique-key clash is raised as SQLAlchemy's IntegrityError, as for any statement."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    if (conn.dialect.name, conn.dialect.driver) != ("postgresql", "psycopg"):
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})",
                             list(rows))
        return
    statement = f"COPY {table} ({names}) FROM STDIN"
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc


def _insert_snapshots(conn: Connection, run_id: int, snapshots: pd.DataFrame, chunk: int = 20_000) -> None:
    """Insert practice rows a chunk at a time, so a national snapshot is never all Python objects at once."""
    columns = [c for c in SNAPSHOT_DB_COLUMNS if c in snapshots.columns]
    int_cols = {"quarter", "practice_id", "consortium_id"}
    for start in range(0, len(snapshots), chunk):
        part = snapshots.iloc[start:start + chunk]
        data: list[list[Any]] = [[run_id] * len(part)]
        for col in columns:
            if col in int_cols:
                data.append(part[col].astype("int64").tolist())
            elif col == "contract":
                data.append([str(v) for v in part[col].tolist()])
            else:
                data.append(float_list(part[col]))
        _bulk_insert(conn, "practice_snapshots", ("run_id", *columns), list(zip(*data, strict=True)))


def _year_labels(labels: pd.Series) -> pd.Series:
    """Financial years as the model gave them: whole numbers if they all are, else text ("2011/12")."""
    numeric = pd.to_numeric(labels, errors="coerce")
    if len(labels) and numeric.notna().all() and (numeric == numeric.round()).all():
        return numeric.astype("int64")
    return labels.astype(object)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
