"""Reaching the database: URLs, SQLite and PostgreSQL settings, connections, retries and bulk inserts.

Why it is done this way:

* SQLite runs in WAL mode with a busy timeout, and write transactions take the write lock up front
  (``BEGIN IMMEDIATE``), so two processes writing to one file wait for each other instead of failing.
  WAL mode is switched on when a store is opened, retried while another process holds the write lock:
  SQLite does not wait on its busy timeout for that switch, so two processes creating one file at once
  could otherwise fail with "database is locked".
* Ctrl-C is held while a connection is out of the pool and delivered once it is back
  (:mod:`sim.experiment.interrupts`): an interrupt can never leave a transaction, and on SQLite the write
  lock, held by this process while the experiment is being marked interrupted.
* Bulk rows (metrics, snapshots) go through the driver as tuples: ``executemany`` on SQLite, ``COPY`` on
  PostgreSQL; SQLAlchemy's per-row parameter processing would otherwise dominate the time to store a run.
* A URL's password never appears in messages: every URL shown goes through :func:`mask_url`.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from sim.experiment.errors import StoreError
from sim.experiment.interrupts import deferred_interrupts

DEFAULT_URL = "sqlite:///results/crsim.db"

#: Keys looked up (or links written) per statement: well under SQLite's limit of bound parameters.
KEYS_PER_QUERY = 500

#: How long an SQLite connection waits for another process's write lock before giving up.
_SQLITE_BUSY_SECONDS = 60.0

T = TypeVar("T")


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
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise ValueError(parsed.port)
    except (ArgumentError, ValueError, TypeError):  # a malformed host or port: '[::1:5999', 'host:abc'
        raise StoreError(
            f"'{mask_url(text)}' is not a database URL (check the host and the port, a number). Use "
            "sqlite:///path/to/file.db or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE."
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"Unsupported database '{mask_url(parsed)}': use SQLite (sqlite:///file.db) or PostgreSQL "
            "(postgresql+psycopg://...)."
        )
    return parsed


def is_memory_url(url: URL) -> bool:
    """An in-memory SQLite database (``sqlite://``, ``sqlite:///:memory:``, ``mode=memory``)."""
    if url.get_backend_name() != "sqlite":
        return False
    database = url.database or ""
    return (database in ("", ":memory:") or database.startswith("file::memory:")
            or url.query.get("mode") == "memory" or "mode=memory" in database)


def sqlite_file(url: URL) -> Path | None:
    """The file of an SQLite URL, or None for an in-memory or URI-form database."""
    if url.get_backend_name() != "sqlite" or is_memory_url(url) or (url.database or "").startswith("file:"):
        return None
    return Path(url.database or "").expanduser()


def missing_store_message(display_url: str) -> str:
    return (f"There is no results database at {display_url}: nothing has been stored there yet (check --db or "
            "$CRSIM_DB_URL, and the working folder).")


def store_exists(url: str | None) -> bool:
    """Whether the store exists: an SQLite file on disk; a server's database is assumed to."""
    path = sqlite_file(resolve_url(url))
    return path is None or path.is_file()


def now() -> datetime:
    return datetime.now(UTC)


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Database:
    """An engine on the results database, with the connection discipline every part of the store uses.

    Args:
        url: SQLAlchemy URL; default ``sqlite:///results/crsim.db`` (relative to the working folder).
        connect_timeout_seconds: how long to wait for a PostgreSQL server before giving up.
        create: False for a command that only reads: an SQLite file that does not exist is then an error,
            and neither it nor its folder is created.
    """

    def __init__(self, url: str | None = None, connect_timeout_seconds: float = 10.0, create: bool = True) -> None:
        self.url = resolve_url(url)
        self.display_url = mask_url(self.url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.create = create
        path = sqlite_file(self.url)
        if not create and path is not None and not path.is_file():
            raise StoreError(missing_store_message(self.display_url))
        if not create and path is not None and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            # Read-only media: SQLite could not even create the WAL index beside the file, so read it as
            # an immutable file (nothing else can change it there).
            self.url = make_url(f"sqlite:///file:{path.resolve()}?mode=ro&immutable=1&uri=true")
        self.engine = self._create_engine(connect_timeout_seconds)
        self._metric_columns: tuple[str, ...] = ()  # run_metrics' metric columns, read when opening

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
            except IntegrityError:
                raise  # a concurrent writer won a race: the caller retries (see _write_retrying)
            except (SQLAlchemyError, sqlite3.DatabaseError) as exc:
                raise StoreError(self._describe(exc)) from None

    def _describe(self, exc: Exception) -> str:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        short = "; ".join(line.strip() for line in reason[:3] if line.strip())
        return _scrub(f"Cannot use the results database {self.display_url}: {short}", self.url)

    def close(self) -> None:
        self.engine.dispose()

    def _write_retrying(self, work: Callable[[Connection], T], attempts: int = 5) -> T:
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
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


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


def enable_wal(engine: Engine) -> None:
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



def bulk_insert(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
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

