"""One-call shortcuts: each opens a :class:`~sim.experiment.session.Session` for one experiment and closes it.

For several experiments in a row (a notebook), open a session yourself: the workers then start once.
Heavy modules are imported on the first call, so ``import sim.experiment`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from sim.metrics import DIRECTED_HEADLINE_METRICS, HEADLINE_METRICS

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiment.design import VarySpec
    from sim.experiment.plan import SnapshotPolicy
    from sim.experiment.results import ComparisonResult, DesignResult
    from sim.experiment.running import ProgressReporter
    from sim.experiment.store import ExperimentData
    from sim.optimise.api import OptimiseResult
    from sim.params import Scenario


def compare(
    scenarios: Sequence[str | Scenario], *, baseline: str | None = None, reps: int = 10, seed: int = 1,
    overrides: Sequence[str] = (), years: Sequence[float] = (), workers: int | None = None,
    scheduler: str | None = None, db: str | None = None, name: str | None = None,
    snapshots: SnapshotPolicy = "first", progress: bool | ProgressReporter = False,
    uncertainty: int | None = None, material: Mapping[str, float] | Sequence[str] = (),
    metrics: Sequence[str] = DIRECTED_HEADLINE_METRICS,
) -> ComparisonResult:
    """Compare scenarios over ``reps`` replications with common random numbers, storing every run.

    With ``uncertainty=N`` every scenario also runs at N draws of the assumptions, and the result's
    ``uncertainty`` and ``drivers`` say how likely each is to improve each metric and what that hinges on.

    ``workers``, ``scheduler``, ``db`` and ``progress`` are those of :class:`~sim.experiment.Session`; the
    rest are those of :meth:`Session.compare <sim.experiment.session.Session.compare>`.

    Example:
        >>> res = compare(["status_quo", "delegation"], reps=5, overrides=["run.scale=0.05"])  # doctest: +SKIP
        >>> res.summary.query("significant")  # doctest: +SKIP
    """
    from sim.experiment.session import Session

    with Session(db, workers=workers, scheduler=scheduler, progress=progress) as session:
        return session.compare(scenarios, baseline=baseline, reps=reps, seed=seed, overrides=overrides,
                               years=years, name=name, snapshots=snapshots, uncertainty=uncertainty,
                               material=material, metrics=metrics)


def sweep(
    scenario: str | Scenario, vary: Sequence[str | VarySpec], *, design: Literal["grid", "lhs"] = "grid",
    samples: int | None = None, reps: int = 1, seed: int = 1, overrides: Sequence[str] = (),
    workers: int | None = None, scheduler: str | None = None, db: str | None = None, name: str | None = None,
    snapshots: SnapshotPolicy = "none", progress: bool | ProgressReporter = False,
) -> DesignResult:
    """Sweep numeric parameters over a grid or a Latin hypercube (see :meth:`Session.sweep
    <sim.experiment.session.Session.sweep>`), in a session of its own."""
    from sim.experiment.session import Session

    with Session(db, workers=workers, scheduler=scheduler, progress=progress) as session:
        return session.sweep(scenario, vary, design=design, samples=samples, reps=reps, seed=seed,
                             overrides=overrides, name=name, snapshots=snapshots)


def sensitivity(
    scenario: str | Scenario, vary: Sequence[str | VarySpec], *, method: Literal["sobol", "morris"] = "sobol",
    samples: int | None = None, reps: int = 1, seed: int = 1, overrides: Sequence[str] = (),
    metrics: Sequence[str] = HEADLINE_METRICS, workers: int | None = None, scheduler: str | None = None,
    db: str | None = None, name: str | None = None, snapshots: SnapshotPolicy = "none",
    progress: bool | ProgressReporter = False,
) -> DesignResult:
    """Sobol or Morris indices of the headline metrics (see :meth:`Session.sensitivity
    <sim.experiment.session.Session.sensitivity>`), in a session of its own."""
    from sim.experiment.session import Session

    with Session(db, workers=workers, scheduler=scheduler, progress=progress) as session:
        return session.sensitivity(scenario, vary, method=method, samples=samples, reps=reps, seed=seed,
                                   overrides=overrides, metrics=metrics, name=name, snapshots=snapshots)


def optimise(
    base: str | Scenario, levers: Sequence[str], objectives: Sequence[str], *, constraints: Sequence[str] = (),
    trials: int = 100, population: int | None = None, sampler: str = "auto", reps: int = 3, seed: int = 1,
    overrides: Sequence[str] = (), uncertainty: int | None = None, robust: str = "mean",
    workers: int | None = None, scheduler: str | None = None, db: str | None = None, name: str | None = None,
    progress: bool | ProgressReporter = False,
) -> OptimiseResult:
    """Search BASE's levers for the best trade-offs (see :meth:`Session.optimise
    <sim.experiment.session.Session.optimise>`), in a session of its own.

    Example:
        >>> res = optimise("quality_premium", ["levers.quality_premium.per_head_gbp=0:20"],  # doctest: +SKIP
        ...                ["outcome_mean=min", "total_cost_gbp=min"], trials=50)
        >>> res.front  # doctest: +SKIP
    """
    from sim.experiment.session import Session

    with Session(db, workers=workers, scheduler=scheduler, progress=progress) as session:
        return session.optimise(base, levers, objectives, constraints=constraints, trials=trials,
                                population=population, sampler=sampler, reps=reps, seed=seed, overrides=overrides,
                                uncertainty=uncertainty, robust=robust, name=name)


def load_experiment(name: str, db: str | None = None, *, snapshots: bool = True) -> ExperimentData:
    """Load a stored experiment as DataFrames (see :class:`~sim.experiment.store.ExperimentData`)."""
    from sim.experiment.session import Session

    with Session(db) as session:
        return session.load_experiment(name, snapshots=snapshots)


def list_experiments(db: str | None = None) -> pd.DataFrame:
    """Every stored experiment with its kind, status and progress."""
    from sim.experiment.session import Session

    with Session(db) as session:
        return session.list_experiments()
