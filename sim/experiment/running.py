"""Running a plan: skip runs already stored, execute the rest, stream each result to the store.

1. the experiment row is created, or resumed if one of the same name and definition exists;
2. planned runs already in the store (same scenario hash, seed and model version) are looked up a batch at
   a time and linked, not recomputed; the rest go to the executor, a bounded number at a time;
3. each result is written to the store, in one transaction, as soon as it arrives, and dropped;
4. the experiment is marked complete only when every run is stored (and, for sensitivity analysis, the
   indices are computed and stored too). Ctrl-C marks it interrupted; finished runs are kept, and
   repeating the command resumes it.

Progress goes to a :class:`ProgressReporter`, a three-method protocol, so this loop knows nothing of how
progress is shown (the command line's bar is :class:`sim.experiment.progress.ProgressBar`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from sim.experiment.errors import ExecutorError, ExperimentError
from sim.experiment.executors import Executor
from sim.experiment.interrupts import deferred_interrupts
from sim.experiment.store import ResultStore, RunLink
from sim.experiment.tasks import RunTask, TaskResult
from sim.version import MODEL_VERSION, code_version, package_versions

#: Planned runs looked up in the store together. Another process may store one of them meanwhile; it is
#: then computed again here, and storing it links the stored copy rather than duplicating it.
_LOOKUP_BATCH = 250


@dataclass
class Outcome:
    """What running a plan did."""

    name: str
    experiment_id: int
    kind: str
    status: str
    total: int
    computed: int = 0
    reused: int = 0
    failed: int = 0
    resumed: bool = False
    elapsed_seconds: float = 0.0
    store_seconds: float = 0.0
    executor: str = ""
    database: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.computed + self.reused + self.failed

    @property
    def store_share(self) -> float:
        """Share of the wall time spent writing to the database."""
        return self.store_seconds / self.elapsed_seconds if self.elapsed_seconds > 0 else float("nan")


class ProgressReporter(Protocol):
    """Told when a plan starts, after each run is stored or linked, and when it stops (however it stops)."""

    def start(self, name: str, total: int) -> None: ...

    def advance(self, outcome: Outcome) -> None: ...

    def stop(self) -> None: ...


class NoProgress:
    """Reports nothing: the default for Python users."""

    def start(self, name: str, total: int) -> None:
        return None

    def advance(self, outcome: Outcome) -> None:
        return None

    def stop(self) -> None:
        return None


class PlannedExperiment(Protocol):
    """What :func:`run_plan` needs of a plan: a :class:`~sim.experiment.plan.Plan`, or a search whose runs
    are decided as it goes (:class:`sim.optimise.search.SearchPlan`)."""

    name: str
    kind: str
    baseline: str | None
    labels: list[str]
    reps: int
    base_seed: int
    options: dict[str, Any]

    @property
    def n_runs(self) -> int: ...

    @property
    def definition_hash(self) -> str: ...

    def definition(self) -> dict[str, Any]: ...

    def design_frames(self) -> Any: ...

    def tasks(self) -> Iterator[RunTask]: ...


#: Runs a batch of tasks to the end (each stored or linked) before returning.
RunTasks = Callable[[Iterable[RunTask]], None]
#: Drives an experiment's runs: given :data:`RunTasks`, the experiment id and the store (to read results
#: back), runs every task it needs.
Driver = Callable[[RunTasks, int, ResultStore], None]


def run_plan(
    plan: PlannedExperiment, store: ResultStore, executor: Executor, *, progress: ProgressReporter | None = None,
    on_complete: Callable[[int], None] | None = None, driver: Driver | None = None,
) -> Outcome:
    """Execute a plan, storing each run as it finishes; see the module docstring for the steps.

    Args:
        plan: from :func:`~sim.experiment.plan.plan_compare` or :func:`~sim.experiment.plan.plan_design`.
        store: where results go.
        executor: where runs execute.
        progress: told of each run done; default nothing is shown.
        on_complete: called with the experiment id once every run is stored, before the experiment is
            marked complete (sensitivity analysis computes its indices here).
        driver: what decides the runs; default all of ``plan.tasks()`` at once. A search passes its own,
            which runs a batch, reads the results and proposes the next (:mod:`sim.optimise.search`).

    Raises:
        KeyboardInterrupt: after marking the experiment interrupted; finished runs stay stored.
    """
    reporter = progress or NoProgress()
    started = time.perf_counter()
    status = "failed"
    exp_id: int | None = None
    try:
        # Ctrl-C is held until the experiment's row exists *and* its id is known here, so that an
        # interrupt is always followed by marking the experiment interrupted (never left "running").
        with deferred_interrupts():
            exp_id, resumed = store.begin_experiment(
                name=plan.name, kind=plan.kind, definition_hash=plan.definition_hash, baseline=plan.baseline,
                scenarios=plan.labels, reps=plan.reps, base_seed=plan.base_seed, n_runs=plan.n_runs,
                code_version=code_version(),
                options={**plan.options, "definition": json.loads(json.dumps(plan.definition(), default=str))},
            )
            outcome = Outcome(plan.name, exp_id, plan.kind, "running", plan.n_runs, resumed=resumed,
                              executor=executor.description, database=store.display_url)
        frames = plan.design_frames()
        if frames is not None:
            store.save_design(exp_id, *frames)
        reporter.start(plan.name, plan.n_runs)
        known_id = exp_id

        def run_tasks(tasks: Iterable[RunTask]) -> None:
            for result in executor.map_runs(_pending(tasks, store, known_id, outcome, reporter)):
                t0 = time.perf_counter()
                _store_result(store, known_id, result, outcome)
                outcome.store_seconds += time.perf_counter() - t0
                reporter.advance(outcome)

        try:
            if driver is None:
                run_tasks(plan.tasks())
            else:
                driver(run_tasks, exp_id, store)
        finally:
            reporter.stop()
        if outcome.failed:
            outcome.errors = store.run_errors(exp_id)
        else:
            if on_complete is not None:
                on_complete(exp_id)
            status = "complete"
    except (KeyboardInterrupt, ExecutorError):  # Ctrl-C, or the workers were lost: resumable
        status = "interrupted"
        raise
    finally:
        if exp_id is not None:
            outcome.status = status
            outcome.elapsed_seconds = time.perf_counter() - started
            # The store may be what failed; the experiment then simply stays marked running.
            with contextlib.suppress(Exception):
                store.finish_experiment(exp_id, status)
    return outcome


def _pending(planned: Iterable[RunTask], store: ResultStore, exp_id: int, outcome: Outcome,
             reporter: ProgressReporter) -> Iterator[RunTask]:
    """The tasks still to compute, a batch at a time; stored runs are linked instead."""
    tasks = iter(planned)
    while batch := list(itertools.islice(tasks, _LOOKUP_BATCH)):
        t0 = time.perf_counter()
        stored = store.find_runs((task.scenario_hash, task.seed) for task in batch)
        reuse, compute = [], []
        for task in batch:
            found = stored.get((task.scenario_hash, task.seed))
            usable = found is not None and (
                found.has_snapshots or not task.keep_snapshots or not task.scenario.run.snapshots)
            if usable:
                reuse.append((found.run_id, _link(exp_id, task)))
            else:
                compute.append(task)
        store.link_runs(reuse)
        outcome.store_seconds += time.perf_counter() - t0
        for _ in reuse:
            outcome.reused += 1
            reporter.advance(outcome)
        yield from compute


def _link(exp_id: int, task: RunTask) -> RunLink:
    return RunLink(exp_id, task.label, task.point_id, task.replication)


def _store_result(store: ResultStore, exp_id: int, result: TaskResult, outcome: Outcome) -> None:
    task = result.task
    if result.ok:
        meta = result.result.metadata  # type: ignore[union-attr]
        if meta.get("model_version") != MODEL_VERSION or meta.get("scenario_hash") != task.scenario_hash:
            raise ExecutorError(
                f"A worker ran model version {meta.get('model_version')} (scenario hash "
                f"{meta.get('scenario_hash')}), but this process has model version {MODEL_VERSION} (hash "
                f"{task.scenario_hash}). Install the same version of the simulator on every worker."
            )
        store.save_run(result.result, _link(exp_id, task), keep_snapshots=task.keep_snapshots, rows=result.rows)
        outcome.computed += 1
    else:
        store.save_failed_run(
            scenario=task.scenario, scenario_hash=task.scenario_hash, seed=task.seed,
            error=result.error or "unknown error", code_version=code_version(),
            package_versions=package_versions(), link=_link(exp_id, task),
        )
        outcome.failed += 1


def raise_if_failed(outcome: Outcome) -> None:
    """Turn failed runs into an error that says how many, and what the first one said."""
    if outcome.failed:
        first = outcome.errors[0].strip().splitlines()[-1] if outcome.errors else "no message recorded"
        raise ExperimentError(
            f"{outcome.failed} of {outcome.total} runs of '{outcome.name}' failed (first error: {first}). "
            f"The {outcome.computed + outcome.reused} finished runs are stored; the experiment is not marked "
            "complete. Fix the cause and run the same command again to finish it."
        )
