"""Independent analyses, one per (scenario, metric), spread over local processes.

A comparison's surrogate fits (:mod:`sim.uncertainty.drivers`) and PRIM searches
(:mod:`sim.uncertainty.discovery`) take about a second each at 64 draws and share nothing, so a
four-scenario comparison's twenty-odd pairs of each split across the cores. Each task is a pure,
single-threaded function of its inputs (seeded), so the results are the same for any number of processes.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Fewer tasks than this run in this process: starting workers and importing the analysis libraries in
#: them (about a second) would cost more than it saves.
MIN_TASKS = 4


def processes_for(workers: int | None, tasks: int) -> int:
    """Processes to use for ``tasks`` tasks: ``workers`` (None: one per core), at most one per task, and
    1 (this process) for fewer than :data:`MIN_TASKS` tasks."""
    if tasks < MIN_TASKS:
        return 1
    return max(1, min(int(workers or os.cpu_count() or 1), tasks))


def map_tasks(fn: Callable[[T], R], items: Iterable[T], workers: int | None = 1) -> list[R]:
    """``[fn(item) for item in items]``, in order, over :func:`processes_for` local processes.

    ``fn`` must be a module-level function of the ``sim`` package (workers import it by name). An
    exception in a task is raised here, as it would be in a loop.
    """
    items = list(items)
    processes = processes_for(workers, len(items))
    if processes == 1:
        return [fn(item) for item in items]
    from sim.experiment.executors import worker_context

    with cf.ProcessPoolExecutor(max_workers=processes, mp_context=worker_context()) as pool:
        return list(pool.map(fn, items))
