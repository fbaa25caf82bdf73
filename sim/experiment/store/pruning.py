"""Removing experiments from the store: ``experiments --delete NAME`` and ``experiments --prune``.

A run is shared by every experiment that reuses it (same scenario hash, seed and model version), so deleting
an experiment removes its links, design points and indices, and only those of its runs that no other
experiment still uses, with their metrics and snapshots. Each deletion is one transaction: an interrupted
prune leaves whole experiments. Rows are deleted explicitly rather than through ``ON DELETE CASCADE``, which
SQLite applies only when foreign keys are switched on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sim.experiment.store.engine import KEYS_PER_QUERY, Database, chunks
from sim.experiment.store.schema import (
    design_points,
    experiment_runs,
    experiments,
    practice_snapshots,
    run_metrics,
    runs,
    sensitivity_indices,
)


@dataclass(frozen=True)
class Removed:
    """What a deletion removed."""

    experiments: tuple[str, ...]
    runs: int  # runs no other experiment used
    kept_runs: int  # runs of the deleted experiments that others still use


class StorePruner(Database):
    """Deleting experiments and the runs only they use."""

    def delete_experiments(self, names: Sequence[str]) -> Removed:
        """Delete these experiments (each must exist), and their runs that no other experiment links to."""
        if not names:
            return Removed((), 0, 0)

        def work(conn: Connection) -> Removed:
            ids = dict(conn.execute(sa.select(experiments.c.name, experiments.c.id)
                                    .where(experiments.c.name.in_(list(names)))).all())
            if not ids:
                return Removed((), 0, 0)
            own = {r for (r,) in conn.execute(sa.select(experiment_runs.c.run_id).distinct()
                                               .where(experiment_runs.c.experiment_id.in_(list(ids.values()))))}
            for table in (experiment_runs, design_points, sensitivity_indices):
                conn.execute(table.delete().where(table.c.experiment_id.in_(list(ids.values()))))
            conn.execute(experiments.delete().where(experiments.c.id.in_(list(ids.values()))))
            still = set()
            for part in chunks(sorted(own), KEYS_PER_QUERY):
                still |= {r for (r,) in conn.execute(sa.select(experiment_runs.c.run_id).distinct()
                                                       .where(experiment_runs.c.run_id.in_(part)))}
            orphans = sorted(own - still)
            for part in chunks(orphans, KEYS_PER_QUERY):
                for table in (run_metrics, practice_snapshots):
                    conn.execute(table.delete().where(table.c.run_id.in_(part)))
                conn.execute(runs.delete().where(runs.c.id.in_(part)))
            return Removed(tuple(n for n in names if n in ids), len(orphans), len(own & still))

        return self._write_retrying(work)

    def superseded(self) -> list[str]:
        """Experiments repeated by a newer one with the same definition that completed (reruns of one command
        under new names): what ``--prune`` deletes."""
        query = (sa.select(experiments.c.name, experiments.c.definition_hash, experiments.c.status)
                 .order_by(experiments.c.created.desc(), experiments.c.id.desc()))
        with self._connect() as conn:
            rows = conn.execute(query).all()
        done: set[str] = set()
        out: list[str] = []
        for name, definition, status in rows:  # newest first
            if definition in done:
                out.append(name)
            elif status == "complete":
                done.add(definition)
        return out
