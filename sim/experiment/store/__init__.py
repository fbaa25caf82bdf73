"""The results database: experiments, runs, quarterly metrics and practice snapshots (SQLAlchemy 2 Core).

SQLite (a file under ``results/``) is the embedded default; a PostgreSQL URL gives a team one shared store.
The schema is the same on both; see ``docs/experiments.md`` for the tables. One job a module:

* :mod:`~sim.experiment.store.schema`: the tables, the schema version and the rules for names and columns;
* :mod:`~sim.experiment.store.engine`: URLs, SQLite and PostgreSQL settings, connections, retries, bulk
  inserts;
* :mod:`~sim.experiment.store.migrations`: creating the schema and converting older versions in place
  (hand-written, not Alembic: the module says why);
* :mod:`~sim.experiment.store.writing` and :mod:`~sim.experiment.store.reading`: the two halves of
  :class:`ResultStore`.

The store knows nothing of analysis (paired comparisons, sensitivity indices are computed elsewhere and
only stored here), so the experiment layer depends on it and never the other way round.

Metrics are stored wide: one row per run and quarter, a column per metric of ``sim.metrics.METRICS``. A
run is then some forty short rows rather than some two thousand long ones, so storing it costs little next
to computing it. A metric added to the registry gets its column when a store is opened.
"""

from __future__ import annotations

from sim.experiment.store.engine import DEFAULT_URL, mask_url, resolve_url, store_exists
from sim.experiment.store.migrations import prepare
from sim.experiment.store.pruning import Removed, StorePruner
from sim.experiment.store.reading import ExperimentData, StoredRun, StoreReader
from sim.experiment.store.schema import SCHEMA_VERSION, SENSITIVITY_COLUMNS, SNAPSHOT_DB_COLUMNS, check_name
from sim.experiment.store.writing import RunLink, StoreWriter

__all__ = [
    "DEFAULT_URL",
    "SCHEMA_VERSION",
    "SENSITIVITY_COLUMNS",
    "SNAPSHOT_DB_COLUMNS",
    "ExperimentData",
    "Removed",
    "ResultStore",
    "RunLink",
    "StoredRun",
    "check_name",
    "mask_url",
    "resolve_url",
    "store_exists",
]


class ResultStore(StoreWriter, StoreReader, StorePruner):
    """A connection to the results database, creating (or converting) the schema on first use.

    Args:
        url: SQLAlchemy URL; default ``sqlite:///results/crsim.db`` (relative to the working folder).
        connect_timeout_seconds: how long to wait for a PostgreSQL server before giving up.
        create: False to open only a store that exists (commands that only read: nothing is created).

    Raises:
        StoreError: the URL is malformed, the driver is missing, the server is unreachable, or the
            database holds a schema of another version.

    Example:
        >>> store = ResultStore("sqlite:///results/crsim.db")  # doctest: +SKIP
        >>> store.list_experiments()[["name", "kind", "status"]]  # doctest: +SKIP
    """

    def __init__(self, url: str | None = None, connect_timeout_seconds: float = 10.0, create: bool = True) -> None:
        super().__init__(url, connect_timeout_seconds, create)
        self._metric_columns = prepare(self)

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResultStore({self.display_url!r})"
