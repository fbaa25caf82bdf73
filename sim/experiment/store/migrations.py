"""Creating the schema, checking its version, and converting older databases in place.

We keep hand-written conversions rather than Alembic, and why:

* The schema has changed once (version 1 to 2) and changes rarely; each change is one function here,
  registered in :data:`CONVERSIONS`, run in the transaction that opens the store, under a lock, so a
  concurrent opener waits and then finds the new version. Alembic would add a dependency, a migration
  folder shipped inside the package and an ``alembic_version`` table, for one step.
* Part of the schema is data-driven: ``run_metrics`` has one column per metric of the registry, added when
  a store is opened (:func:`ensure_metric_columns`). Alembic's autogenerate compares with static table
  definitions and would see those columns as drift.
* The embedded default is a SQLite file per user; Alembic's batch mode for SQLite's limited ``ALTER TABLE``
  would be needed for most real changes anyway.

Revisit this if the schema starts to change every release on long-lived shared PostgreSQL stores: a
chain of Alembic revisions then pays for itself (``schema_info.schema_version`` would map to a revision).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from sim.experiment.errors import StoreError
from sim.experiment.store.engine import Database, enable_wal, now
from sim.experiment.store.schema import (
    CALENDAR_COLUMNS,
    COLUMN_RE,
    SCHEMA_VERSION,
    check_column,
    metadata,
    run_metrics,
    schema_info,
)
from sim.metrics import METRIC_NAMES

# An arbitrary constant key for PostgreSQL's advisory lock around schema changes.
_PG_SCHEMA_LOCK = 7_413_209_117


def _lock_schema(db: Database, conn: Connection) -> None:
    """Two processes opening a fresh database at once must not both create (or convert) the tables."""
    if not db.is_sqlite:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})


def prepare(db: Database) -> tuple[str, ...]:
    """Create the tables if missing, convert an older version, add missing metric columns.

    Returns:
        The metric columns of ``run_metrics``, in table order.

    Raises:
        StoreError: the database holds a version with no conversion, or cannot be written.
    """
    try:
        if not db.create:  # a command that only reads: write nothing if the schema is current
            current = _current_columns(db)
            if current is not None:
                return current
        if db.is_sqlite:
            enable_wal(db.engine)
        with db._connect(write=True) as conn:
            _lock_schema(db, conn)
            stored = None
            if sa.inspect(conn).has_table("schema_info"):
                stored = conn.execute(
                    sa.select(schema_info.c.value).where(schema_info.c.key == "schema_version")
                ).scalar()
            version = None if stored is None else int(stored) if str(stored).isdigit() else -1
            while version is not None and version != SCHEMA_VERSION:
                if version not in CONVERSIONS:
                    raise StoreError(
                        f"Database {db.display_url} has results schema version {stored}, but this "
                        f"version of the simulator uses version {SCHEMA_VERSION}. Use another database "
                        "(--db) or the simulator version that wrote it."
                    )
                version = CONVERSIONS[version](conn)
            metadata.create_all(conn, checkfirst=True)
            if stored is None:
                conn.execute(schema_info.insert(), [
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    {"key": "created", "value": now().isoformat(timespec="seconds")},
                ])
            return ensure_metric_columns(conn, METRIC_NAMES)
    except (DBAPIError, sqlite3.Error) as exc:  # e.g. permission denied creating tables
        db.engine.dispose()
        raise StoreError(db._describe(exc)) from None
    except BaseException:
        db.engine.dispose()
        raise


def _current_columns(db: Database) -> tuple[str, ...] | None:
    """The metric columns, read without writing, if the schema is current and complete; else None."""
    with db._connect() as conn:
        inspector = sa.inspect(conn)
        if not all(inspector.has_table(table.name) for table in metadata.sorted_tables):
            return None
        stored = conn.execute(sa.select(schema_info.c.value).where(schema_info.c.key == "schema_version")).scalar()
        have = [c["name"] for c in inspector.get_columns("run_metrics")]
    if str(stored) != str(SCHEMA_VERSION) or not set(METRIC_NAMES) <= set(have):
        return None
    return tuple(c for c in have if c not in CALENDAR_COLUMNS)


def add_metric_columns(db: Database, names: Iterable[str]) -> tuple[str, ...]:
    """Give ``run_metrics`` a column for each of ``names`` it lacks (a run with metrics unknown here)."""
    with db._connect(write=True) as conn:
        _lock_schema(db, conn)
        return ensure_metric_columns(conn, names)


def ensure_metric_columns(conn: Connection, names: Iterable[str]) -> tuple[str, ...]:
    """Add a column to ``run_metrics`` for each of ``names`` it lacks; return its metric columns in order."""
    have = [c["name"] for c in sa.inspect(conn).get_columns("run_metrics")]
    for name in names:
        if name in have:
            continue
        check_column(name)
        conn.exec_driver_sql(f'ALTER TABLE run_metrics ADD COLUMN "{name}" DOUBLE PRECISION')
        have.append(name)
    return tuple(c for c in have if c not in CALENDAR_COLUMNS)


def _from_1(conn: Connection) -> int:
    """Version 1 to 2: long ``run_metrics`` plus ``run_quarters`` become one wide ``run_metrics``; runs keep
    their ids, so experiments keep their links."""
    stored = [str(m) for m in conn.exec_driver_sql("SELECT DISTINCT metric FROM run_metrics").scalars()]
    names = list(METRIC_NAMES) + sorted(set(stored) - set(METRIC_NAMES))
    bad = [m for m in names if not COLUMN_RE.match(m)]
    if bad:
        raise StoreError(f"Cannot convert the results database to schema {SCHEMA_VERSION}: metric names "
                         f"{', '.join(bad[:5])} cannot be columns.")
    conn.exec_driver_sql("ALTER TABLE run_metrics RENAME TO run_metrics_v1")
    if conn.dialect.name == "postgresql":  # the key's index keeps its name, which the new table needs
        old_key = sa.inspect(conn).get_pk_constraint("run_metrics_v1").get("name")
        if old_key:
            conn.exec_driver_sql(f'ALTER TABLE run_metrics_v1 RENAME CONSTRAINT "{old_key}" TO run_metrics_v1_pkey')
    run_metrics.create(conn)
    ensure_metric_columns(conn, names)
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
    conn.execute(schema_info.update().where(schema_info.c.key == "schema_version").values(value="2"))
    conn.execute(schema_info.insert().values(key="converted_from_1", value=now().isoformat(timespec="seconds")))
    return 2


#: Conversions by the version they convert from; each returns the version it leaves the database at.
CONVERSIONS: dict[int, Callable[[Connection], int]] = {1: _from_1}
