"""Writing to the results database: experiments, runs (complete or failed), links, designs and indices.

* A run is stored once, keyed by (scenario hash, seed, model version), and *linked* to each experiment
  that uses it (``experiment_runs``). A run already stored is reused, never recomputed, which is what
  makes an interrupted sweep resume where it stopped and lets experiments share replications.
* Each finished run is written in one transaction (run row, metrics, snapshots, link), so a crash or
  SIGKILL leaves only whole runs.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sim.experiment.errors import StoreError
from sim.experiment.rows import QUARTER_COLUMNS, MetricRows, float_list, metric_rows
from sim.experiment.store.engine import KEYS_PER_QUERY, Database, bulk_insert, chunks
from sim.experiment.store.engine import now as _now
from sim.experiment.store.migrations import add_metric_columns
from sim.experiment.store.schema import (
    SENSITIVITY_COLUMNS,
    SNAPSHOT_DB_COLUMNS,
    check_name,
    design_points,
    experiment_runs,
    experiments,
    runs,
    sensitivity_indices,
)
from sim.version import MODEL_VERSION


@dataclass(frozen=True)
class RunLink:
    """Where a run belongs in an experiment."""

    experiment_id: int
    scenario: str
    point_id: int
    replication: int


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



def owner() -> dict[str, Any]:
    """The process running an experiment (kept in its options), so that one whose process is gone can be
    shown as stale rather than running forever."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


class StoreWriter(Database):
    """The writing half of :class:`~sim.experiment.store.ResultStore`."""

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
                             .values(status="running", updated=now, finished=None,
                                     options={**(row.options or {}), "owner": owner()}))
                return int(row.id), True
            new_id = conn.execute(experiments.insert().values(
                name=name, kind=kind, status="running", definition_hash=definition_hash, created=now,
                updated=now, finished=None, baseline=baseline, scenarios=list(scenarios), reps=reps,
                base_seed=base_seed, n_runs=n_runs, model_version=MODEL_VERSION, code_version=code_version,
                options={**dict(options), "owner": owner()},
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
        for start in range(0, len(pairs), KEYS_PER_QUERY):
            chunk = {(link.experiment_id, link.scenario, link.point_id, link.replication): run_id
                     for run_id, link in pairs[start:start + KEYS_PER_QUERY]}
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
                    bulk_insert(conn, "run_metrics", ("run_id", *QUARTER_COLUMNS, *names),
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

    def save_design(self, experiment_id: int, design: pd.DataFrame, sampled: pd.DataFrame) -> None:
        """Store the design points (idempotent: a resumed experiment keeps its first design).

        Rows are built a parameter at a time, so a large design (1,024 draws of 77 assumptions) never holds
        all its rows as Python objects at once.
        """

        def rows_of(param: str) -> list[dict[str, Any]]:
            values, raw = float_list(design[param]), float_list(sampled[param])
            return [{"experiment_id": experiment_id, "point_id": int(pid), "parameter": param, "value": v,
                     "sampled": s} for pid, v, s in zip(design.index, values, raw, strict=True)]

        def work(conn: Connection) -> None:
            have = conn.execute(sa.select(sa.func.count()).select_from(design_points)
                                .where(design_points.c.experiment_id == experiment_id)).scalar_one()
            if have == 0:
                for param in design.columns:
                    rows = rows_of(param)
                    for chunk in chunks(rows, 5000):
                        conn.execute(design_points.insert(), chunk)

        self._write_retrying(work)

    def add_design_points(self, experiment_id: int, design: pd.DataFrame, sampled: pd.DataFrame) -> None:
        """Store the points not stored yet: a search proposes its points as it goes, and a resumed search
        proposes its first points again (they are checked against the stored ones, not stored twice)."""

        def work(conn: Connection) -> None:
            have = set(conn.execute(sa.select(design_points.c.point_id).distinct()
                                    .where(design_points.c.experiment_id == experiment_id)).scalars())
            rows = [{"experiment_id": experiment_id, "point_id": int(pid), "parameter": param,
                     "value": float(design.at[pid, param]), "sampled": float(sampled.at[pid, param])}
                    for pid in design.index if int(pid) not in have for param in design.columns]
            for chunk in chunks(rows, 5000):
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


    def _add_metric_columns(self, names: Sequence[str]) -> None:
        self._metric_columns = add_metric_columns(self, names)


def _differences(old: Any, new: Any) -> str:
    """Which parts of two experiment definitions differ, in words (``scenario_content`` changes when a
    scenario file, an override or the schema's defaults changed)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return ""
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(keys)



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
        bulk_insert(conn, "practice_snapshots", ("run_id", *columns), list(zip(*data, strict=True)))



def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
