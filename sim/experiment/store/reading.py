"""Reading the results database: experiments, runs, metrics, snapshots, designs and indices as DataFrames.

Everything the experiment layer, the briefing pack and export need comes through here (including the
resolved scenario stored with each run), so nothing outside the store runs SQL on its tables. Large
tables are read a chunk of runs at a time, so memory does not grow with the size of an experiment.
Nothing here analyses: a comparison's paired summary is computed by the caller.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from sim.experiment.errors import StoreError
from sim.experiment.store.engine import KEYS_PER_QUERY, Database, chunks
from sim.experiment.store.schema import (
    CALENDAR_COLUMNS,
    SENSITIVITY_COLUMNS,
    SNAPSHOT_DB_COLUMNS,
    design_points,
    experiment_runs,
    experiments,
    practice_snapshots,
    run_metrics,
    runs,
    schema_info,
    sensitivity_indices,
)
from sim.metrics import METRIC_NAMES
from sim.version import MODEL_VERSION


@dataclass
class ExperimentData:
    """One stored experiment as DataFrames (see ``docs/contracts.md``).

    Attributes:
        experiment: name, kind, status, created, baseline, scenarios, reps, base_seed, options.
        runs: one row per (scenario, point, replication) of the experiment; a plain comparison's have no
            ``point_id``, an uncertainty comparison's keep it (the assumption draw).
        metrics: one row per run and quarter, with every metric as a column.
        snapshots: practice rows of the runs that kept them.
        design: one row per design point with a column per varied parameter (sweeps, sensitivity; for an
            uncertainty comparison, the baseline's assumption values at each draw).
        summary: paired comparison at the horizon (compare experiments; see ``summarise``), filled in by
            :func:`sim.experiment.load_experiment`; the store itself leaves it empty.
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



def _live_status(status: str, options: Any) -> str:
    """``stale`` for an experiment marked running whose process, on this machine, is gone (killed outright:
    it never marked itself interrupted); repeating its command resumes it. Another machine's cannot be
    checked and stays ``running``."""
    found = (options or {}).get("owner") if isinstance(options, dict) else None
    if status != "running" or not isinstance(found, dict) or found.get("host") != socket.gethostname():
        return status
    try:
        os.kill(int(found["pid"]), 0)
    except ProcessLookupError:
        return "stale"
    except (OSError, KeyError, TypeError, ValueError):
        return status
    return status


class StoreReader(Database):
    """The reading half of :class:`~sim.experiment.store.ResultStore`."""

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        with self._connect() as conn:
            return int(conn.execute(
                sa.select(schema_info.c.value).where(schema_info.c.key == "schema_version")
            ).scalar_one())

    def experiment_names(self) -> list[str]:
        with self._connect() as conn:
            return list(conn.execute(sa.select(experiments.c.name).order_by(experiments.c.created)).scalars())

    def list_experiments(self) -> pd.DataFrame:
        """Every stored experiment with its progress: name, kind, status, created, scenarios, runs, options."""
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
                experiments.c.options,
            )
            .select_from(experiments.outerjoin(done, done.c.experiment_id == experiments.c.id))
            .order_by(experiments.c.created, experiments.c.id)
        )
        with self._connect() as conn:
            rows = conn.execute(query).mappings().all()
        columns = ["name", "kind", "status", "created", "scenarios", "reps", "n_runs", "runs_stored",
                   "model_version", "options"]
        records = [{**dict(r), "status": _live_status(r["status"], r["options"])} for r in rows]
        return pd.DataFrame(records, columns=columns)

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
        for start in range(0, len(wanted), KEYS_PER_QUERY):
            query = sa.select(runs.c.scenario_hash, runs.c.seed, runs.c.id, runs.c.has_snapshots).where(
                runs.c.model_version == model_version, runs.c.status == "complete",
                sa.tuple_(runs.c.scenario_hash, runs.c.seed).in_(wanted[start:start + KEYS_PER_QUERY]))
            with self._connect() as conn:
                for row in conn.execute(query):
                    found[(row.scenario_hash, int(row.seed))] = StoredRun(int(row.id), bool(row.has_snapshots))
        return found
    def run_errors(self, experiment_id: int) -> list[str]:
        """Errors of the experiment's failed runs (to say why it is incomplete)."""
        query = (sa.select(runs.c.error)
                 .select_from(experiment_runs.join(runs, runs.c.id == experiment_runs.c.run_id))
                 .where(experiment_runs.c.experiment_id == experiment_id, runs.c.status == "failed"))
        with self._connect() as conn:
            return [e for e in conn.execute(query).scalars().all() if e]

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
        metrics: Sequence[str] | None = None, runs_per_chunk: int = 500, scenarios: Sequence[str] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """The experiment's quarterly metrics, wide, a chunk of runs at a time (memory stays bounded).

        Each frame has ``run_id, scenario, point_id, replication, seed, quarter, time_years,
        financial_year`` and one column per stored metric (or per one of ``metrics``), in alphabetical
        order as in every earlier version of the store (:meth:`load_metrics` puts them in registry order).
        With ``scenarios``, only the runs stored under those labels (a search reads each batch's trials).
        """
        names = sorted(self._metric_columns if metrics is None
                       else {m for m in metrics if m in self._metric_columns})
        table = sa.table("run_metrics", *(sa.column(c) for c in (*CALENDAR_COLUMNS, *names)))
        links = self.load_runs(experiment_id)
        if scenarios is not None:
            links = links[links["scenario"].isin(list(scenarios))]
        run_ids = sorted(set(links["run_id"].tolist()))
        for chunk in chunks(run_ids, runs_per_chunk):
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
        for chunk in chunks(run_ids, runs_per_chunk):
            query = (sa.select(practice_snapshots.c.run_id, *cols)
                     .where(practice_snapshots.c.run_id.in_(chunk))
                     .order_by(practice_snapshots.c.run_id, practice_snapshots.c.quarter,
                               practice_snapshots.c.practice_id))
            with self._connect() as conn:
                frame = pd.DataFrame(conn.execute(query).all(), columns=["run_id", *SNAPSHOT_DB_COLUMNS])
            part = links[links["run_id"].isin(chunk)][["run_id", "scenario", "point_id", "replication"]]
            yield part.merge(frame, on="run_id", how="inner")

    def load_design(self, experiment_id: int, column: str = "value") -> pd.DataFrame:
        """Design points, one row per point with a column per parameter (``value`` or ``sampled``).

        Read a parameter at a time, so a large design is never held as one long table of Python rows.
        """
        where = design_points.c.experiment_id == experiment_id
        with self._connect() as conn:
            params = conn.execute(sa.select(design_points.c.parameter).where(where).distinct()).scalars().all()
            columns: dict[str, pd.Series] = {}
            for param in sorted(params):
                query = (sa.select(design_points.c.point_id, design_points.c[column])
                         .where(where, design_points.c.parameter == param).order_by(design_points.c.point_id))
                pairs = conn.execute(query).all()
                columns[param] = pd.Series([float(v) for _, v in pairs], index=[int(p) for p, _ in pairs],
                                           dtype=float)
        if not columns:
            return pd.DataFrame(columns=["point_id"])
        wide = pd.DataFrame(columns)
        wide.index.name = "point_id"
        return wide.sort_index().reset_index()

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

    def run_details(self, run_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The resolved scenario (``scenario``) and ``package_versions`` stored with each of the runs.

        The briefing pack describes scenarios from these rather than from scenario files, which may have
        changed since the runs.
        """
        ids = sorted({int(i) for i in run_ids})
        out: dict[int, dict[str, Any]] = {}
        for chunk in chunks(ids, KEYS_PER_QUERY):
            query = sa.select(runs.c.id, runs.c.scenario, runs.c.package_versions).where(runs.c.id.in_(chunk))
            with self._connect() as conn:
                for run_id, scenario, versions in conn.execute(query):
                    out[int(run_id)] = {"scenario": _json(scenario), "package_versions": _json(versions)}
        return out

    def load_experiment(self, name: str, *, snapshots: bool = True) -> ExperimentData:
        """An experiment as DataFrames (see :class:`ExperimentData`), without the comparison's ``summary``:
        that is analysis, which :func:`sim.experiment.load_experiment` adds.

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
        sensitivity = self.load_sensitivity(exp_id) if info["kind"] == "sensitivity" else pd.DataFrame()
        drawn = bool((info.get("options") or {}).get("draws"))  # an uncertainty comparison pairs by draw too
        if info["kind"] == "compare" and not drawn:
            runs_frame = runs_frame.drop(columns=["point_id"])
            metrics = metrics.drop(columns=["point_id"], errors="ignore")
            if not snaps.empty:
                snaps = snaps.drop(columns=["point_id"])
        return ExperimentData(
            experiment={k: info[k] for k in ("name", "kind", "status", "created", "baseline", "scenarios",
                                             "reps", "base_seed", "options", "n_runs", "model_version")},
            runs=runs_frame.drop(columns=["has_snapshots"]), metrics=metrics, snapshots=snaps,
            design=design, sensitivity=sensitivity,
        )



def _year_labels(labels: pd.Series) -> pd.Series:
    """Financial years as the model gave them: whole numbers if they all are, else text ("2011/12")."""
    numeric = pd.to_numeric(labels, errors="coerce")
    if len(labels) and numeric.notna().all() and (numeric == numeric.round()).all():
        return numeric.astype("int64")
    return labels.astype(object)



def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
