"""Saving figures, here or in worker processes: at 300 dpi the saving is most of a chart's cost.

The figure is drawn in this process, pickled, and saved by a worker, which writes the same bytes (checked
by the tests). A figure that does not pickle (an artist holding a lambda) is saved here.
"""

from __future__ import annotations

import concurrent.futures as cf
import pickle
from pathlib import Path
from typing import Any

#: Where a figure goes: (path, ``savefig`` keyword arguments: format, dpi, metadata), one for each file.
Targets = list[tuple[Path, dict[str, Any]]]


class FigureSaver:
    """Saves figures, over ``workers`` local processes (None: one per core) where there are enough of them
    (:func:`sim.uncertainty.pool.processes_for`). Leaving the block waits for every file and raises the
    first error."""

    def __init__(self, workers: int | None, figures: int) -> None:
        from sim.uncertainty.pool import processes_for

        self.processes = processes_for(workers, figures)
        self._pool: cf.ProcessPoolExecutor | None = None
        self._pending: list[cf.Future[None]] = []

    def __enter__(self) -> FigureSaver:
        if self.processes > 1:
            from sim.experiment.executors import worker_context

            self._pool = cf.ProcessPoolExecutor(max_workers=self.processes, mp_context=worker_context())
        return self

    def save(self, fig: Any, targets: Targets) -> None:
        """Save ``fig`` to every target, then clear it (its memory goes now, not when the block ends)."""
        payload = None
        if self._pool is not None:
            try:
                payload = pickle.dumps(fig)
            except (pickle.PicklingError, AttributeError, TypeError):  # an artist that does not pickle
                payload = None
        if payload is None or self._pool is None:
            save_figure(fig, targets)
        else:
            self._pending.append(self._pool.submit(_save_pickled, payload, targets))
        fig.clear()

    def __exit__(self, *exc: object) -> None:
        if self._pool is None:
            return
        try:
            for future in self._pending:
                if exc[0] is None:
                    future.result()
                else:
                    future.cancel()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def save_figure(fig: Any, targets: Targets) -> None:
    for path, options in targets:
        fig.savefig(path, **options)


def _save_pickled(payload: bytes, targets: Targets) -> None:
    """In a worker: a figure drawn by the caller's process, saved to its files."""
    save_figure(pickle.loads(payload), targets)
