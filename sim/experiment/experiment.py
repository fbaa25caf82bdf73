"""Running experiments: plan the runs, skip those already stored, execute the rest, stream results to the store.

An experiment is a set of runs, each (scenario, seed), plus what to make of them. Planning checks every
input before anything runs (scenarios, design points and their ranges), so a mistake costs seconds. Then:

1. the experiment row is created, or resumed if one of the same name and definition exists;
2. planned runs already in the store (same scenario hash, seed and model version) are looked up a batch at
   a time and linked, not recomputed; the rest go to the executor, a bounded number at a time;
3. each result is written to the store, in one transaction, as soon as it arrives, and dropped;
4. the experiment is marked complete only when every run is stored (and, for sensitivity analysis, the
   indices are computed and stored too). Ctrl-C marks it interrupted; finished runs are kept, and
   repeating the command resumes it.

The public functions :func:`compare`, :func:`sweep` and :func:`sensitivity` do all of this and return
DataFrames; the command line (``sim.experiment.commands``) adds printing and files.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from sim.experiment.compare import horizon_values, interval_width_ratio, median_width_ratio, summarise
from sim.experiment.design import Design, VarySpec, make_design, parse_varies
from sim.experiment.errors import DesignError, ExecutorError, ExperimentError
from sim.experiment.executors import Executor, make_executor
from sim.experiment.interrupts import deferred_interrupts
from sim.experiment.store import ExperimentData, ResultStore, RunLink, check_name
from sim.experiment.tasks import RunTask, TaskResult
from sim.metrics import HEADLINE_METRICS
from sim.params import Scenario
from sim.scenario import load_scenario, scenario_hash, with_values
from sim.version import MODEL_VERSION, code_version, package_versions

Kind = Literal["compare", "sweep", "sensitivity"]
SnapshotPolicy = Literal["all", "first", "none"]
SNAPSHOT_POLICIES: tuple[str, ...] = ("all", "first", "none")

# Parameters a design may not vary: the horizon at which a sweep is read must be the same for every run.
_NOT_VARIABLE = {"run.quarters": "every run must reach the same horizon; use --quarters to set it"}


# ------------------------------------------------------------------------------------------ plans


@dataclass
class Plan:
    """Every run an experiment needs, checked and ready to execute.

    Attributes:
        name: experiment name (unique in the store).
        kind: compare, sweep or sensitivity.
        baseline: the reference scenario of a comparison.
        labels: the compared scenarios' names, or the base scenario's name for a design.
        reps: replications per scenario or point; replication k uses seed ``base_seed + k``.
        base_seed: seed of replication 0.
        snapshots: which runs keep practice snapshots: all, first (replication 0) or none.
        options: JSON-able settings stored with the experiment.
        point_hashes: content hash of each compared scenario, or of each design point's scenario.
        base: the base scenario of a design.
        compared: (label, scenario) of each compared scenario.
        design: the design of a sweep or sensitivity analysis.
    """

    name: str
    kind: Kind
    baseline: str | None
    labels: list[str]
    reps: int
    base_seed: int
    snapshots: SnapshotPolicy
    options: dict[str, Any]
    point_hashes: list[str]
    base: Scenario | None = None
    compared: list[tuple[str, Scenario]] = field(default_factory=list)
    design: Design | None = None

    @property
    def n_runs(self) -> int:
        return len(self.point_hashes) * self.reps

    def definition(self) -> dict[str, Any]:
        """What makes two experiments the same: kind, scenarios (by hash), design, seeds, model version."""
        return {
            "kind": self.kind, "model_version": MODEL_VERSION, "reps": self.reps, "base_seed": self.base_seed,
            "scenarios": self.labels, "baseline": self.baseline,
            "scenario_content": hashlib.sha256("".join(self.point_hashes).encode()).hexdigest()[:16],
            "design": None if self.design is None else self.design.describe(),
        }

    @property
    def definition_hash(self) -> str:
        blob = json.dumps(self.definition(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def keep_snapshots(self, replication: int) -> bool:
        return self.snapshots == "all" or (self.snapshots == "first" and replication == 0)

    def tasks(self) -> Iterator[RunTask]:
        """The runs, generated lazily so that a sweep of any size is never all in memory at once.

        Comparisons go replication by replication (so an interrupted comparison is balanced across
        scenarios); sweeps go point by point (so each point's scenario is built once).
        """
        if self.kind == "compare":
            for rep in range(self.reps):
                for (label, scenario), digest in zip(self.compared, self.point_hashes, strict=True):
                    yield RunTask(scenario, self.base_seed + rep, digest, label, 0, rep, self.keep_snapshots(rep))
            return
        assert self.design is not None and self.base is not None
        label = self.labels[0]
        for point_id, digest in enumerate(self.point_hashes):
            scenario = with_values(self.base, self.design.values(point_id), f"design point {point_id}")
            for rep in range(self.reps):
                yield RunTask(scenario, self.base_seed + rep, digest, label, point_id, rep,
                              self.keep_snapshots(rep))


def _check_common(reps: int, snapshots: str) -> None:
    if reps < 1:
        raise ExperimentError(f"--reps must be at least 1, not {reps}.")
    if snapshots not in SNAPSHOT_POLICIES:
        raise ExperimentError(f"--snapshots must be one of {', '.join(SNAPSHOT_POLICIES)}, not '{snapshots}'.")


def default_name(kind: str) -> str:
    return f"{kind}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def plan_compare(
    scenarios: Sequence[Scenario], *, baseline: str | None = None, reps: int = 10, base_seed: int = 1,
    name: str | None = None, snapshots: SnapshotPolicy = "first",
) -> Plan:
    """Plan a comparison of scenarios with common random numbers.

    Raises:
        ExperimentError: no scenarios, one named twice, a baseline not among them, or bad options.
    """
    _check_common(reps, snapshots)
    if not scenarios:
        raise ExperimentError("Give at least one scenario to compare.")
    labels = [s.name for s in scenarios]
    dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dupes:
        raise ExperimentError(f"Scenario {', '.join(dupes)} is listed more than once; each needs its own name.")
    baseline = baseline or labels[0]
    if baseline not in labels:
        raise ExperimentError(f"Baseline '{baseline}' is not one of the compared scenarios: {', '.join(labels)}.")
    name = check_name(name or default_name("compare"))
    return Plan(
        name=name, kind="compare", baseline=baseline, labels=labels, reps=reps, base_seed=base_seed,
        snapshots=snapshots, point_hashes=[scenario_hash(s) for s in scenarios],
        compared=list(zip(labels, scenarios, strict=True)),
        options={"snapshots": snapshots, "scenario_hashes": [scenario_hash(s) for s in scenarios],
                 "quarters": [s.run.quarters for s in scenarios], "scale": [s.run.scale for s in scenarios]},
    )


def plan_design(
    base: Scenario, design: Design, *, kind: Kind, reps: int = 1, base_seed: int = 1, name: str | None = None,
    snapshots: SnapshotPolicy = "none",
) -> Plan:
    """Plan a sweep or sensitivity analysis: every design point checked against the schema now.

    Raises:
        DesignError: a varied parameter that may not vary, or a point the scenario schema rejects.
    """
    _check_common(reps, snapshots)
    for spec in design.specs:
        if spec.path in _NOT_VARIABLE:
            raise DesignError(f"--vary: '{spec.path}' cannot be varied: {_NOT_VARIABLE[spec.path]}.")
    hashes = []
    for point_id in range(design.n_points):
        scenario = with_values(base, design.values(point_id), f"design point {point_id}")
        hashes.append(scenario_hash(scenario))
    name = check_name(name or default_name(kind))
    return Plan(
        name=name, kind=kind, baseline=None, labels=[base.name], reps=reps, base_seed=base_seed,
        snapshots=snapshots, point_hashes=hashes, base=base, design=design,
        options={"snapshots": snapshots, "base_scenario_hash": scenario_hash(base),
                 "quarters": base.run.quarters, "scale": base.run.scale, **design.describe()},
    )


# ------------------------------------------------------------------------------------------ running


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
    def store_share(self) -> float:
        """Share of the wall time spent writing to the database."""
        return self.store_seconds / self.elapsed_seconds if self.elapsed_seconds > 0 else float("nan")


def _progress(enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
        console=Console(stderr=True), disable=not enabled, transient=False,
    )


def run_plan(
    plan: Plan, store: ResultStore, executor: Executor, *, progress: bool = False,
    on_complete: Callable[[int], None] | None = None,
) -> Outcome:
    """Execute a plan, storing each run as it finishes; see the module docstring for the steps.

    Args:
        plan: from :func:`plan_compare` or :func:`plan_design`.
        store: where results go.
        executor: where runs execute.
        progress: show a progress bar (count done and time left) on standard error.
        on_complete: called with the experiment id once every run is stored, before the experiment is
            marked complete (sensitivity analysis computes its indices here).

    Raises:
        KeyboardInterrupt: after marking the experiment interrupted; finished runs stay stored.
    """
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
        if plan.design is not None:
            store.save_design(exp_id, plan.design.frame(applied=True), plan.design.frame(applied=False))
        with _progress(progress) as bar:
            bar_id = bar.add_task(plan.name, total=plan.n_runs, detail="")

            def advance() -> None:
                detail = f"{outcome.computed} run, {outcome.reused} reused"
                if outcome.failed:
                    detail += f", [red]{outcome.failed} failed[/red]"
                bar.update(bar_id, advance=1, detail=detail)

            def pending() -> Iterator[RunTask]:
                """The tasks still to compute, a batch at a time; stored runs are linked instead."""
                tasks = plan.tasks()
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
                    outcome.reused += len(reuse)
                    outcome.store_seconds += time.perf_counter() - t0
                    for _ in reuse:
                        advance()
                    yield from compute

            for result in executor.map_runs(pending()):
                t0 = time.perf_counter()
                _store_result(store, exp_id, result, outcome)
                outcome.store_seconds += time.perf_counter() - t0
                advance()
        if outcome.failed:
            outcome.errors = store.run_errors(exp_id)
        else:
            if on_complete is not None:
                on_complete(exp_id)
            status = "complete"
    except KeyboardInterrupt:
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


#: Planned runs looked up in the store together. Another process may store one of them meanwhile; it is
#: then computed again here, and storing it links the stored copy rather than duplicating it.
_LOOKUP_BATCH = 250


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


# ------------------------------------------------------------------------------------------ python API


@dataclass
class ComparisonResult:
    """A finished comparison.

    Attributes:
        name: the experiment's name in the store.
        outcome: counts and timings of the runs.
        summary: :func:`~sim.experiment.compare.summarise` at the horizon and at each chosen year.
        widths: paired and unpaired interval widths and their ratio, per metric and scenario.
        metrics: quarterly metrics of every run.
    """

    name: str
    outcome: Outcome
    summary: pd.DataFrame
    widths: pd.DataFrame
    metrics: pd.DataFrame

    @property
    def width_ratio(self) -> float:
        """Median paired/unpaired interval width over the headline metrics at the horizon."""
        horizon = self.summary["quarter"].max()
        return median_width_ratio(self.summary[self.summary["quarter"] == horizon], HEADLINE_METRICS)


@dataclass
class DesignResult:
    """A finished sweep or sensitivity analysis.

    Attributes:
        name: the experiment's name in the store.
        outcome: counts and timings of the runs.
        design: the points (applied values), indexed by ``point_id``.
        table: one row per run: ``point_id, replication, seed``, the parameters, every metric at the horizon.
        indices: sensitivity indices (empty for sweeps).
    """

    name: str
    outcome: Outcome
    design: pd.DataFrame
    table: pd.DataFrame
    indices: pd.DataFrame = field(default_factory=pd.DataFrame)


def _resolve(ref: str | Scenario, overrides: Sequence[str]) -> Scenario:
    if isinstance(ref, Scenario):
        return with_values(ref, dict(_pairs(overrides)), "overrides") if overrides else ref
    return load_scenario(ref, list(overrides))


def _pairs(overrides: Sequence[str]) -> list[tuple[str, Any]]:
    from sim.scenario import parse_override

    return [parse_override(o) for o in overrides]


def _open(db: str | None, workers: int | None, scheduler: str | None) -> tuple[ResultStore, Executor]:
    """Store first, then executor: neither an unreachable database nor scheduler leaves anything behind."""
    store = ResultStore(db)
    try:
        executor = make_executor(workers, scheduler)
    except BaseException:
        store.close()
        raise
    return store, executor


def _unique_name(store: ResultStore, plan: Plan, explicit: bool) -> None:
    """An automatic name that collides (two experiments in one second) gets a numeric suffix."""
    if explicit:
        return
    names = set(store.experiment_names())
    base, k = plan.name, 2
    while plan.name in names:
        plan.name = f"{base}-{k}"
        k += 1


def compare(
    scenarios: Sequence[str | Scenario], *, baseline: str | None = None, reps: int = 10, seed: int = 1,
    overrides: Sequence[str] = (), years: Sequence[float] = (), workers: int | None = None,
    scheduler: str | None = None, db: str | None = None, name: str | None = None,
    snapshots: SnapshotPolicy = "first", progress: bool = False,
) -> ComparisonResult:
    """Compare scenarios over ``reps`` replications with common random numbers, storing every run.

    Args:
        scenarios: shipped names, paths, or Scenario objects; ``overrides`` apply to each.
        baseline: the scenario differences are taken from; default the first.
        reps: replications per scenario; replication k of every scenario uses seed ``seed + k``.
        seed: seed of replication 0.
        overrides: ``path=value`` settings applied to every scenario (``--set``, ``--scale``...).
        years: years after the start at which to summarise as well as at the horizon.
        workers: 1 in-process, N local processes, None one per core.
        scheduler: Dask scheduler address instead of local processes.
        db: database URL; default SQLite under ``results/``.
        name: experiment name; default ``compare-<timestamp>``. Repeating a name resumes it.
        snapshots: which runs keep practice snapshots (all, first, none).
        progress: show a progress bar.

    Returns:
        A :class:`ComparisonResult`; ``summary`` has the paired differences with their intervals.

    Example:
        >>> res = compare(["status_quo", "delegation"], reps=5, overrides=["run.scale=0.05"])  # doctest: +SKIP
        >>> res.summary.query("significant")  # doctest: +SKIP
    """
    resolved = [_resolve(s, overrides) for s in scenarios]
    plan = plan_compare(resolved, baseline=baseline, reps=reps, base_seed=seed, name=name, snapshots=snapshots)
    quarters = _year_quarters(years, min(s.run.quarters for s in resolved))
    store, executor = _open(db, workers, scheduler)
    try:
        _unique_name(store, plan, name is not None)
        outcome = run_plan(plan, store, executor, progress=progress)
        raise_if_failed(outcome)
        metrics = store.load_metrics(outcome.experiment_id).drop(columns=["point_id"])
    finally:
        executor.close()
        store.close()
    summary = summarise_at(metrics, plan.baseline or plan.labels[0], quarters, order=plan.labels)
    return ComparisonResult(plan.name, outcome, summary, interval_width_ratio(summary), metrics)


def summarise_at(metrics: pd.DataFrame, baseline: str, quarters: Sequence[int] = (),
                 order: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`summarise` at the horizon, then at each extra quarter, stacked."""
    frames = [summarise(metrics, baseline, order=order)]
    frames += [summarise(metrics, baseline, q, order=order) for q in quarters]
    return pd.concat(frames, ignore_index=True)


def _year_quarters(years: Sequence[float], quarters: int) -> list[int]:
    out = []
    for year in years:
        q = round(float(year) * 4)
        if not 0 < q <= quarters:
            raise ExperimentError(
                f"--years {year:g}: must be after the start and within the run ({quarters / 4:g} years)."
            )
        if q != quarters and q not in out:
            out.append(q)
    return out


def _design_run(
    kind: Kind, scenario: str | Scenario, vary: Sequence[str | VarySpec], *, design: str, samples: int | None,
    reps: int, seed: int, overrides: Sequence[str], workers: int | None, scheduler: str | None,
    db: str | None, name: str | None, snapshots: SnapshotPolicy, progress: bool,
    analyse_with: Callable[[ResultStore, Plan, int], pd.DataFrame] | None = None,
) -> DesignResult:
    specs = parse_varies(list(vary))
    base = _resolve(scenario, overrides)
    the_design = make_design(design, list(specs), samples, seed)
    plan = plan_design(base, the_design, kind=kind, reps=reps, base_seed=seed, name=name, snapshots=snapshots)
    store, executor = _open(db, workers, scheduler)
    indices = pd.DataFrame()
    try:
        _unique_name(store, plan, name is not None)

        def finish(exp_id: int) -> None:
            nonlocal indices
            if analyse_with is not None:
                indices = analyse_with(store, plan, exp_id)

        outcome = run_plan(plan, store, executor, progress=progress, on_complete=finish)
        raise_if_failed(outcome)
        table = design_table(store, outcome.experiment_id, the_design)
        if analyse_with is not None and indices.empty:
            indices = store.load_sensitivity(outcome.experiment_id)
    finally:
        executor.close()
        store.close()
    return DesignResult(plan.name, outcome, the_design.frame(), table, indices)


def design_table(store: ResultStore, experiment_id: int, design: Design | None = None,
                 horizon_quarter: int | None = None) -> pd.DataFrame:
    """The tidy table of a sweep: one row per run with its parameters and every metric at the horizon.

    Reads only the quarters the horizon needs, a chunk of runs at a time, so building it takes little
    memory however many runs the sweep has (the table itself is one short row per run).
    """
    horizon = horizon_quarter if horizon_quarter is not None else store.horizon_quarter(experiment_id)
    if horizon is None:
        return pd.DataFrame()
    quarters = list(range(max(horizon - 3, 0), horizon + 1))
    parts = [horizon_values(chunk, horizon)
             for chunk in store.iter_metrics(experiment_id, quarters=quarters, runs_per_chunk=200)]
    if not parts:
        return pd.DataFrame()
    values = pd.concat(parts, ignore_index=True)
    points = design.frame() if design is not None else store.load_design(experiment_id).set_index("point_id")
    table = points.reset_index().merge(values.drop(columns=["scenario", "run_id"], errors="ignore"),
                                       on="point_id", how="right")
    lead = ["point_id", "replication", "seed", "quarter"]
    return table[lead + [c for c in table.columns if c not in lead]].sort_values(
        ["point_id", "replication"], ignore_index=True)


def sweep(
    scenario: str | Scenario, vary: Sequence[str | VarySpec], *, design: Literal["grid", "lhs"] = "grid",
    samples: int | None = None, reps: int = 1, seed: int = 1, overrides: Sequence[str] = (),
    workers: int | None = None, scheduler: str | None = None, db: str | None = None, name: str | None = None,
    snapshots: SnapshotPolicy = "none", progress: bool = False,
) -> DesignResult:
    """Sweep numeric parameters over a grid or a Latin hypercube, ``reps`` replications per point.

    Args:
        scenario: the base scenario (name, path or Scenario).
        vary: ``PATH=LOW:HIGH[:STEPS]`` strings (or parsed :class:`VarySpec`).
        design: ``grid`` (STEPS per parameter, default 5) or ``lhs`` (``samples`` points, default 20).
        samples: number of points of a Latin hypercube.
        reps, seed, overrides, workers, scheduler, db, name, snapshots, progress: as for :func:`compare`.

    Returns:
        A :class:`DesignResult` with the tidy table of every run at the horizon.
    """
    if design not in ("grid", "lhs"):
        raise DesignError(f"--design must be grid or lhs, not '{design}'.")
    return _design_run("sweep", scenario, vary, design=design, samples=samples, reps=reps, seed=seed,
                       overrides=overrides, workers=workers, scheduler=scheduler, db=db, name=name,
                       snapshots=snapshots, progress=progress)


def sensitivity(
    scenario: str | Scenario, vary: Sequence[str | VarySpec], *, method: Literal["sobol", "morris"] = "sobol",
    samples: int | None = None, reps: int = 1, seed: int = 1, overrides: Sequence[str] = (),
    metrics: Sequence[str] = HEADLINE_METRICS, workers: int | None = None, scheduler: str | None = None,
    db: str | None = None, name: str | None = None, snapshots: SnapshotPolicy = "none", progress: bool = False,
) -> DesignResult:
    """Global sensitivity analysis of the headline metrics to the varied assumptions (SALib).

    Args:
        method: ``sobol`` (first-order and total indices with intervals; ``samples`` a power of two,
            default 64, giving ``samples * (D + 2)`` points) or ``morris`` (mu*, sigma; ``samples``
            trajectories, default 10, giving ``samples * (D + 1)`` points).
        metrics: the metrics to analyse (default the headline metrics).
        Others as for :func:`sweep`.

    Returns:
        A :class:`DesignResult` whose ``indices`` has one row per (metric, parameter).
    """
    from sim.experiment.sensitivity import analyse

    if method not in ("sobol", "morris"):
        raise DesignError(f"--method must be sobol or morris, not '{method}'.")

    def analyse_with(store: ResultStore, plan: Plan, exp_id: int) -> pd.DataFrame:
        assert plan.design is not None
        table = design_table(store, exp_id, plan.design)
        indices = analyse(plan.design, table, [m for m in metrics if m in table.columns], seed=seed)
        store.save_sensitivity(exp_id, indices)
        return indices

    return _design_run("sensitivity", scenario, vary, design=method, samples=samples, reps=reps, seed=seed,
                       overrides=overrides, workers=workers, scheduler=scheduler, db=db, name=name,
                       snapshots=snapshots, progress=progress, analyse_with=analyse_with)


def load_experiment(name: str, db: str | None = None, *, snapshots: bool = True) -> ExperimentData:
    """Load a stored experiment as DataFrames (see :class:`~sim.experiment.store.ExperimentData`)."""
    with ResultStore(db) as store:
        return store.load_experiment(name, snapshots=snapshots)


def list_experiments(db: str | None = None) -> pd.DataFrame:
    """Every stored experiment with its kind, status and progress."""
    with ResultStore(db) as store:
        return store.list_experiments()
