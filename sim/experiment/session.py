"""A session: one results database and one place to run, shared by every experiment started from it.

Python users (scripts, notebooks) set the store, the workers and progress once, and then compare, sweep
and analyse sensitivity as often as they like; the worker processes are started once and reused. The
module-level shortcuts (:func:`sim.experiment.compare` and friends) open a session for one call.

Every input is checked before the session touches the database or starts a worker: the store and the
executor are opened on first use, store first, so a typo or an unreachable scheduler leaves nothing
behind.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import pandas as pd

from sim.experiment.design import VarySpec, make_design, parse_varies
from sim.experiment.errors import DesignError, ExecutorError, ExperimentError
from sim.experiment.executors import Executor, check_workers, make_executor
from sim.experiment.paired import interval_width_ratio
from sim.experiment.plan import Plan, SnapshotPolicy, plan_compare, plan_design, resolve, year_quarters
from sim.experiment.results import (
    ComparisonResult,
    DesignResult,
    design_table,
    experiment_data,
    summarise_at,
)
from sim.experiment.running import (
    Driver,
    Outcome,
    PlannedExperiment,
    ProgressReporter,
    raise_if_failed,
    run_plan,
)
from sim.experiment.store import ExperimentData, ResultStore
from sim.metrics import DIRECTED_HEADLINE_METRICS, HEADLINE_METRICS, METRICS_BY_NAME
from sim.params import Scenario

if TYPE_CHECKING:
    from sim.optimise.api import OptimiseResult
    from sim.optimise.spec import Constraint, Lever, Objective, Robustness

#: Called once every run of a design is stored, before the experiment is marked complete; returns indices.
_Analysis = Callable[[ResultStore, Plan, int], pd.DataFrame]


def check_not_bootstrapping() -> None:
    """Refuse to start an experiment while this process is a multiprocessing child still importing its
    parent's main module: the caller's script lacks a main guard and is being re-run by a worker pool it
    started itself. Raised before anything is stored, so no experiment is left running or failed."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise ExperimentError(
            "An experiment was started while a worker process was importing the main script, which means "
            "the script starts worker processes (multiprocessing, concurrent.futures) of its own without a "
            "main guard. Put the code that runs experiments under\n    if __name__ == \"__main__\":\n"
            "(experiments' own workers need no guard)."
        )


class Session:
    """Experiments against one database, run in one place.

    Args:
        db: database URL; None means SQLite at ``results/crsim.db`` under the working folder
            (``$CRSIM_DB_URL`` is read by the command line, not here).
        workers: 1 runs in this process; N in N local processes; None one per core.
        scheduler: a Dask scheduler address (``tcp://HOST:PORT``) instead of local processes.
        progress: True shows a progress bar on standard error; or any
            :class:`~sim.experiment.running.ProgressReporter`.

    Example:
        >>> with Session(db="sqlite:///results/tutorial.db", workers=2) as s:  # doctest: +SKIP
        ...     res = s.compare(["status_quo", "white_paper"], reps=4, overrides=["run.scale=0.05"])
        ...     swept = s.sweep("white_paper", ["assumptions.leadership.skill_mean=0.2:0.8:3"])
    """

    def __init__(self, db: str | None = None, *, workers: int | None = None, scheduler: str | None = None,
                 progress: bool | ProgressReporter = False) -> None:
        check_workers(workers)
        if workers is not None and scheduler:
            raise ExecutorError("Give either --workers (local) or --scheduler (Dask cluster), not both.")
        self.db = db
        self.workers = workers
        self.scheduler = scheduler
        self.progress = progress
        self._store: ResultStore | None = None
        self._executor: Executor | None = None

    # ------------------------------------------------------------------------------ resources

    @property
    def store(self) -> ResultStore:
        """The results database, opened on first use."""
        if self._store is None:
            self._store = ResultStore(self.db)
        return self._store

    @property
    def executor(self) -> Executor:
        """Where runs execute, started on first use (after the store, so a bad database starts nothing)."""
        if self._executor is None:
            _ = self.store
            self._executor = make_executor(self.workers, self.scheduler)
        return self._executor

    def close(self) -> None:
        """Stop the workers and close the database; the session can be used again afterwards."""
        executor, self._executor = self._executor, None
        store, self._store = self._store, None
        try:
            if executor is not None:
                executor.close()
        finally:
            if store is not None:
                store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.scheduler or ("one process per core" if self.workers is None else f"{self.workers} workers")
        return f"Session(db={self.db!r}, {where})"

    def _reporter(self) -> ProgressReporter | None:
        if self.progress is True:
            from sim.experiment.progress import ProgressBar

            return ProgressBar()
        return self.progress or None

    def run_experiment(self, plan: PlannedExperiment, explicit_name: bool, analyse: _Analysis | None = None,
                       driver: Driver | None = None) -> tuple[Outcome, pd.DataFrame]:
        """Run a plan in this session; return its outcome and what ``analyse`` returned (empty without one).

        Without ``explicit_name`` a name already stored gets a numeric suffix; ``driver`` decides the runs
        of a search (:func:`~sim.experiment.running.run_plan`).
        """
        check_not_bootstrapping()
        store, executor = self.store, self.executor
        if not explicit_name:  # two automatic names in one second get a numeric suffix
            names, base, k = set(store.experiment_names()), plan.name, 2
            while plan.name in names:
                plan.name, k = f"{base}-{k}", k + 1
        analysed: list[pd.DataFrame] = []

        def finish(exp_id: int) -> None:
            if analyse is not None:
                analysed.append(analyse(store, plan, exp_id))

        outcome = run_plan(plan, store, executor, progress=self._reporter(), on_complete=finish, driver=driver)
        raise_if_failed(outcome)
        return outcome, (analysed[0] if analysed else pd.DataFrame())

    # ------------------------------------------------------------------------------ experiments

    def compare(
        self, scenarios: Sequence[str | Scenario], *, baseline: str | None = None, reps: int = 10, seed: int = 1,
        overrides: Sequence[str] = (), years: Sequence[float] = (), name: str | None = None,
        snapshots: SnapshotPolicy = "first", uncertainty: int | None = None,
        material: Mapping[str, float] | Sequence[str] = (), metrics: Sequence[str] = DIRECTED_HEADLINE_METRICS,
    ) -> ComparisonResult:
        """Compare scenarios over ``reps`` replications with common random numbers, storing every run.

        Args:
            scenarios: shipped names, paths, or Scenario objects; ``overrides`` apply to each.
            baseline: the scenario differences are taken from; default the first.
            reps: replications per scenario; replication k of every scenario uses seed ``seed + k``.
            seed: seed of replication 0.
            overrides: ``path=value`` settings applied to every scenario (``--set``, ``--scale``...).
            years: years after the start at which to summarise as well as at the horizon.
            name: experiment name; default ``compare-<timestamp>``. Repeating a name resumes it.
            snapshots: which runs keep practice snapshots (all, first, none; with draws, of draw 0 only).
            uncertainty: run every scenario at this many draws of the assumptions (their distributions:
                :mod:`sim.uncertainty.distributions`), ``reps`` replications each, paired over both.
            material: with draws, ``{metric: delta}`` (or ``"METRIC=DELTA"`` strings): also the probability
                that the improvement exceeds delta.
            metrics: with draws, the metrics whose drivers are analysed (default the headline metrics with a
                better direction).

        Returns:
            A :class:`~sim.experiment.results.ComparisonResult`; ``summary`` has the paired differences, and
            with draws ``uncertainty``, ``drivers``, ``per_draw`` and ``draws`` are filled.
        """
        if uncertainty is not None:
            return self._compare_uncertain(scenarios, uncertainty, baseline=baseline, reps=reps, seed=seed,
                                           overrides=overrides, name=name, snapshots=snapshots,
                                           material=material, metrics=metrics)
        resolved = [resolve(s, overrides) for s in scenarios]
        plan = plan_compare(resolved, baseline=baseline, reps=reps, base_seed=seed, name=name, snapshots=snapshots)
        quarters = year_quarters(years, min(s.run.quarters for s in resolved))
        outcome, _ = self.run_experiment(plan, name is not None)
        data = self.store.load_metrics(outcome.experiment_id).drop(columns=["point_id"])
        summary = summarise_at(data, plan.baseline or plan.labels[0], quarters, order=plan.labels)
        return ComparisonResult(plan.name, outcome, summary, interval_width_ratio(summary), data)

    def _compare_uncertain(
        self, scenarios: Sequence[str | Scenario], draws: int, *, baseline: str | None, reps: int, seed: int,
        overrides: Sequence[str], name: str | None, snapshots: SnapshotPolicy,
        material: Mapping[str, float] | Sequence[str], metrics: Sequence[str],
    ) -> ComparisonResult:
        from sim.experiment.plan import plan_uncertainty
        from sim.uncertainty.drivers import FRAME_COLUMNS, MIN_DRAWS, drivers_frame
        from sim.uncertainty.stored import load_uncertainty
        from sim.uncertainty.summary import parse_material, summarise_draws

        wanted = dict(material) if isinstance(material, Mapping) else parse_material(list(material))
        unknown = [m for m in metrics if m not in METRICS_BY_NAME]
        if unknown:
            raise ExperimentError(f"Unknown metric {', '.join(unknown)}; known: {', '.join(sorted(METRICS_BY_NAME))}.")
        resolved = [resolve(s, overrides) for s in scenarios]
        plan = plan_uncertainty(resolved, draws, baseline=baseline, reps=reps, base_seed=seed, name=name,
                                snapshots=snapshots)
        outcome, _ = self.run_experiment(plan, name is not None)
        data = load_uncertainty(self.store, plan.name)
        recent = data.last_year  # read once, for the draws' differences and the paired summary alike
        summary = summarise_at(recent, data.baseline, order=plan.labels)
        table = summarise_draws(data.per_draw, wanted)
        focus = data.per_draw[data.per_draw["metric"].isin(list(metrics))]
        # Too few draws to apportion variance: the probabilities stand, the drivers table stays empty.
        drivers = (drivers_frame(focus, data.draws, seed=seed, workers=self.workers) if data.n_draws >= MIN_DRAWS
                   else pd.DataFrame(columns=list(FRAME_COLUMNS)))
        return ComparisonResult(plan.name, outcome, summary, interval_width_ratio(summary), recent,
                                uncertainty=table, drivers=drivers, per_draw=data.per_draw, draws=data.draws)

    def sweep(
        self, scenario: str | Scenario, vary: Sequence[str | VarySpec], *, design: Literal["grid", "lhs"] = "grid",
        samples: int | None = None, reps: int = 1, seed: int = 1, overrides: Sequence[str] = (),
        name: str | None = None, snapshots: SnapshotPolicy = "none",
    ) -> DesignResult:
        """Sweep numeric parameters over a grid or a Latin hypercube, ``reps`` replications per point.

        Args:
            scenario: the base scenario (name, path or Scenario).
            vary: ``PATH=LOW:HIGH[:STEPS]`` strings (or parsed :class:`~sim.experiment.design.VarySpec`).
            design: ``grid`` (STEPS per parameter, default 5) or ``lhs`` (``samples`` points, default 20).
            samples: number of points of a Latin hypercube.
            reps, seed, overrides, name, snapshots: as for :meth:`compare`.

        Returns:
            A :class:`~sim.experiment.results.DesignResult` with the tidy table of every run at the horizon.
        """
        if design not in ("grid", "lhs"):
            raise DesignError(f"--design must be grid or lhs, not '{design}'.")
        return self._design("sweep", scenario, vary, design, samples, reps, seed, overrides, name, snapshots)

    def sensitivity(
        self, scenario: str | Scenario, vary: Sequence[str | VarySpec], *,
        method: Literal["sobol", "morris"] = "sobol", samples: int | None = None, reps: int = 1, seed: int = 1,
        overrides: Sequence[str] = (), metrics: Sequence[str] = HEADLINE_METRICS, name: str | None = None,
        snapshots: SnapshotPolicy = "none",
    ) -> DesignResult:
        """Global sensitivity analysis of the headline metrics to the varied assumptions (SALib).

        Args:
            method: ``sobol`` (first-order and total indices with intervals; ``samples`` a power of two,
                default 64, giving ``samples * (D + 2)`` points) or ``morris`` (mu*, sigma; ``samples``
                trajectories, default 10, giving ``samples * (D + 1)`` points).
            metrics: the metrics to analyse (default the headline metrics).
            scenario, vary, reps, seed, overrides, name, snapshots: as for :meth:`sweep`.

        Returns:
            A :class:`~sim.experiment.results.DesignResult` whose ``indices`` has one row per (metric,
            parameter).
        """
        from sim.experiment.indices import analyse

        if method not in ("sobol", "morris"):
            raise DesignError(f"--method must be sobol or morris, not '{method}'.")

        def analysis(store: ResultStore, plan: Plan, exp_id: int) -> pd.DataFrame:
            assert plan.design is not None
            table = design_table(store, exp_id, plan.design)
            indices = analyse(plan.design, table, [m for m in metrics if m in table.columns], seed=seed)
            store.save_sensitivity(exp_id, indices)
            return indices

        return self._design("sensitivity", scenario, vary, method, samples, reps, seed, overrides, name, snapshots,
                            analysis)

    def _design(
        self, kind: Literal["sweep", "sensitivity"], scenario: str | Scenario, vary: Sequence[str | VarySpec],
        design: str, samples: int | None, reps: int, seed: int, overrides: Sequence[str], name: str | None,
        snapshots: SnapshotPolicy, analysis: _Analysis | None = None,
    ) -> DesignResult:
        specs = parse_varies(list(vary))
        base = resolve(scenario, overrides)
        the_design = make_design(design, list(specs), samples, seed)
        plan = plan_design(base, the_design, kind=kind, reps=reps, base_seed=seed, name=name, snapshots=snapshots)
        outcome, indices = self.run_experiment(plan, name is not None, analysis)
        table = design_table(self.store, outcome.experiment_id, the_design)
        return DesignResult(plan.name, outcome, the_design.frame(), table, indices)

    def optimise(
        self, base: str | Scenario, levers: Sequence[str | Lever], objectives: Sequence[str | Objective], *,
        constraints: Sequence[str | Constraint] = (), trials: int = 100, population: int | None = None,
        sampler: str = "auto", reps: int = 3, seed: int = 1, overrides: Sequence[str] = (),
        uncertainty: int | None = None, robust: str | Robustness = "mean", name: str | None = None,
    ) -> OptimiseResult:
        """Search BASE's levers for the designs with the best trade-offs between the objectives.

        Every trial is BASE with the levers moved, run on the seeds BASE runs on (``seed + k``), so its
        differences from BASE and from every other trial are paired. Optuna proposes ``population`` designs
        at a time (NSGA-II for several objectives, TPE for one); their runs are stored, and the same call
        again (same ``name``) resumes: the seeded sampler proposes the same designs, whose runs are reused.

        Args:
            base: the scenario the levers are moved from (name, path or Scenario); ``overrides`` apply.
            levers: ``"PATH=LOW:HIGH"`` (a number or whole number) or ``"PATH=A,B,C"`` (one of the values).
            objectives: ``"METRIC=max"`` or ``"METRIC=min"``, read at the horizon.
            constraints: ``"METRIC<=VALUE"`` or ``">="``; a signed VALUE (``+0``) is a difference from BASE.
            trials: designs to evaluate besides BASE.
            population: designs proposed at a time (fixed, so the result does not depend on the workers);
                default 16 for NSGA-II, 4 for TPE.
            sampler: auto (NSGA-II for two or more objectives, TPE for one), nsga2 or tpe.
            uncertainty: evaluate every design at this many draws of the assumptions (the same draws).
            robust: with draws, ``mean``, ``percentile:P`` (the worst P% of draws) or ``regret``.
            reps, seed, name: as for :meth:`compare`.

        Returns:
            An :class:`~sim.optimise.api.OptimiseResult` with every trial and the Pareto front.
        """
        from sim.optimise.api import run_search

        return run_search(self, base, levers, objectives, constraints=constraints, trials=trials,
                          population=population, sampler=sampler, reps=reps, seed=seed, overrides=overrides,
                          uncertainty=uncertainty, robust=robust, name=name)

    # ------------------------------------------------------------------------------ reading

    def load_experiment(self, name: str, *, snapshots: bool = True) -> ExperimentData:
        """A stored experiment as DataFrames (see :class:`~sim.experiment.store.ExperimentData`)."""
        return experiment_data(self.store, name, snapshots=snapshots)

    def list_experiments(self) -> pd.DataFrame:
        """Every stored experiment with its kind, status and progress."""
        return self.store.list_experiments()

