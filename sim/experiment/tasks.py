"""The unit of work sent to executors, and the function workers call on it.

A task carries the resolved :class:`~sim.params.Scenario` (a frozen pydantic model, so it pickles) and the
seed, plus where the run belongs in its experiment. Workers never touch the database: they return the
result to the orchestrating process, which alone writes, so the store needs no distributed locking.
"""

from __future__ import annotations

import itertools
import math
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sim.experiment.rows import MetricRows, metric_rows
from sim.params import Scenario


@dataclass(frozen=True)
class RunTask:
    """One run to perform: a scenario with a seed, and its place in an experiment.

    Attributes:
        scenario: the resolved scenario to run.
        seed: the replication's seed (``base_seed + replication``: common random numbers).
        scenario_hash: content hash of ``scenario``, computed once by the planner.
        label: the scenario's name in the experiment (compare) or the base scenario's name (sweeps).
        point_id: the design point (sweeps and sensitivity); 0 for comparisons.
        replication: replication number ``k`` (0-based).
        keep_snapshots: whether the practice snapshots should come back (they are large).
    """

    scenario: Scenario
    seed: int
    scenario_hash: str
    label: str
    point_id: int
    replication: int
    keep_snapshots: bool


@dataclass(frozen=True)
class TaskResult:
    """What a worker hands back: the run's result, or the error that stopped it.

    Attributes:
        task: the task this answers.
        result: the :class:`sim.runner.RunResult`, or None if the run raised.
        error: the formatted traceback when the run raised, else None.
        worker_seconds: wall time in the worker, including result preparation.
        rows: the run's metrics as the store writes them, built in the worker so that the process that
            stores every run need not (None if the run raised).
    """

    task: RunTask
    result: object | None
    error: str | None
    worker_seconds: float
    rows: MetricRows | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def execute(task: RunTask) -> TaskResult:
    """Run one task; any exception from the model is returned, not raised.

    Why returned: a sweep of thousands of points should record a failing point and carry on rather
    than lose the work of every other worker; the orchestrator marks the experiment incomplete.
    """
    from sim.runner import run

    started = time.perf_counter()
    try:
        # A run whose snapshots will not be kept never collects them (they dominate the time and memory of
        # a run at national scale, and the size of its result); its metrics are the same either way.
        result = run(task.scenario, task.seed, snapshots=task.keep_snapshots)
    except Exception:  # a model failure, recorded against this run
        return TaskResult(task, None, traceback.format_exc(limit=20), time.perf_counter() - started)
    return TaskResult(task, result, None, time.perf_counter() - started, metric_rows(result.metrics))


def sharing_a_start(tasks: Iterable[RunTask], limit: int, workers: int = 1) -> Iterator[list[RunTask]]:
    """Consecutive tasks in groups of at most ``limit`` that settle the same start (the same seed,
    run settings and assumptions: :func:`sim.start_cache.start_key`), for a pool to send each group to
    one worker, which then settles it once. Plans put such tasks next to each other: a comparison's
    scenarios at each replication, an uncertainty comparison's scenarios at each draw and replication.

    An experiment of fewer than ``limit`` runs per worker is grouped more finely, so that it still keeps
    every one of the ``workers`` busy (two runs on two workers go one to each, not both to one)."""
    from sim.start_cache import start_key

    source = iter(tasks)
    head = list(itertools.islice(source, workers * limit))
    if len(head) < workers * limit:  # the whole experiment
        limit = max(1, min(limit, math.ceil(len(head) / workers)))
    group: list[RunTask] = []
    group_key = None
    for task in itertools.chain(head, source):
        key = start_key(task.scenario, task.seed)
        if group and (key != group_key or len(group) >= limit):
            yield group
            group = []
        group.append(task)
        group_key = key
    if group:
        yield group


def execute_group(tasks: list[RunTask]) -> list[TaskResult]:
    """:func:`execute` each task in turn, in this worker (so that they share its cached start)."""
    return [execute(task) for task in tasks]


def failed_result(task: RunTask, message: str) -> TaskResult:
    """A TaskResult for a task the backend could not run (e.g. the result would not unpickle)."""
    return TaskResult(task, None, message, 0.0)
