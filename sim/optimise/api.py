"""The design search from Python: :func:`optimise` (and :meth:`sim.experiment.Session.optimise`).

Levers, objectives and constraints are given as the command line writes them (``"PATH=LOW:HIGH"``,
``"METRIC=min"``, ``"METRIC<=+0"``) or as parsed objects; the result holds DataFrames read back from the
store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.optimise.spec import (
    Constraint,
    Lever,
    Objective,
    Robustness,
    parse_constraint,
    parse_lever,
    parse_objective,
    parse_robustness,
)

if TYPE_CHECKING:
    from sim.experiment.running import Outcome
    from sim.experiment.session import Session
    from sim.optimise.front import SearchData
    from sim.params import Scenario


@dataclass
class OptimiseResult:
    """A finished search.

    Attributes:
        name: the experiment's name in the store.
        outcome: counts and timings of the runs (``reused`` counts the runs a resumed search found stored).
        trials: every trial: lever values, search scores, constraint measures, ``feasible``, ``on_front``.
        front: the Pareto front (``pareto.csv``): each design's levers, and per objective its search score,
            mean and paired difference from BASE with 95% intervals.
        base: BASE's mean and interval on each objective.
        search: the stored search as read back (:class:`~sim.optimise.front.SearchData`), which the tables
            and the chart are made from.
    """

    name: str
    outcome: Outcome
    trials: pd.DataFrame
    front: pd.DataFrame
    base: dict[str, Any]
    search: SearchData


def search_inputs(levers: Sequence[str | Lever], objectives: Sequence[str | Objective],
                  constraints: Sequence[str | Constraint], robust: str | Robustness
                  ) -> tuple[list[Lever], list[Objective], list[Constraint], Robustness]:
    """Parse whatever is text; the checks are the command line's."""
    return ([parse_lever(x) if isinstance(x, str) else x for x in levers],
            [parse_objective(x) if isinstance(x, str) else x for x in objectives],
            [parse_constraint(x) if isinstance(x, str) else x for x in constraints],
            parse_robustness(robust) if isinstance(robust, str) else robust)


def run_search(
    session: Session, base: str | Scenario, levers: Sequence[str | Lever], objectives: Sequence[str | Objective],
    *, constraints: Sequence[str | Constraint] = (), trials: int = 100, population: int | None = None,
    sampler: str = "auto", reps: int = 3, seed: int = 1, overrides: Sequence[str] = (),
    uncertainty: int | None = None, robust: str | Robustness = "mean", name: str | None = None,
) -> OptimiseResult:
    """Plan, run and read back a search in ``session`` (see :meth:`sim.experiment.Session.optimise`)."""
    from sim.experiment.plan import resolve
    from sim.optimise.front import base_row, load_search, pareto_table, trial_table
    from sim.optimise.search import plan_search, search_driver

    parsed = search_inputs(levers, objectives, constraints, robust)
    if uncertainty is not None:
        from sim.uncertainty.draws import check_draws

        check_draws(uncertainty)
    plan = plan_search(resolve(base, overrides), parsed[0], parsed[1], constraints=parsed[2], robust=parsed[3],
                       trials=trials, population=population, sampler=sampler, reps=reps, base_seed=seed,
                       draws=uncertainty, name=name)
    outcome, _ = session.run_experiment(plan, name is not None, driver=search_driver(plan))
    data = load_search(session.store, plan.name)
    table = trial_table(data)
    return OptimiseResult(plan.name, outcome, table, pareto_table(data, table), base_row(data), data)
