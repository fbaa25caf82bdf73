"""A many-objective search over a scenario's levers, on paired runs, stored and resumable.

Why Optuna: its ask-and-tell interface lets the search propose a batch of designs, hand their runs to any
of our executors (and to the store, which reuses runs already done), and only then report back, so the
runs stay ours: paired, stored, resumable. NSGA-II (several objectives) and TPE (one) both take
categorical levers and constraints. pymoo has more algorithms but no categorical variables without
hand-written operators.

How a search resumes: the sampler is seeded, and every trial is evaluated on the same seeds, so after an
interrupt the same command proposes the same designs again in the same order; their runs are found in the
store and linked instead of computed, and the search carries on where it stopped. The designs proposed
are checked against those stored, so a changed sampler (another Optuna version) is refused, not mixed in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.experiment.errors import DesignError, ExperimentError
from sim.experiment.plan import MAX_RUNS, check_common, default_name
from sim.experiment.store import ResultStore
from sim.experiment.store.schema import check_name
from sim.experiment.tasks import RunTask
from sim.optimise.measures import Values, constraint_measure, objective_measure, regrets, values_by_label
from sim.optimise.spec import Constraint, Lever, Objective, Robustness
from sim.params import Scenario
from sim.scenario import scenario_hash, with_values
from sim.version import MODEL_VERSION

if TYPE_CHECKING:
    from sim.experiment.running import RunTasks
    from sim.uncertainty.draws import AssumptionDraws

Sampler = Literal["nsga2", "tpe"]
SAMPLERS: tuple[str, ...] = ("auto", "nsga2", "tpe")
MAX_TRIALS = 100_000
#: Designs proposed at a time by default. NSGA-II needs a population to breed from; TPE learns from every
#: result, so it proposes few at a time (24 trials at 4 a time beat a 5 x 5 grid on two levers; at 8 a
#: time they did not: tests/test_optimise.py).
DEFAULT_POPULATION: dict[str, int] = {"nsga2": 16, "tpe": 4}


def trial_label(number: int) -> str:
    """How a trial's runs are labelled in the store (BASE's keep the base scenario's name)."""
    return f"trial-{number:05d}"


@dataclass
class SearchPlan:
    """A design search, checked: what :func:`sim.experiment.running.run_plan` runs with a search driver.

    Attributes:
        base: the BASE scenario (with overrides): every trial is it with the levers moved.
        levers, objectives, constraints, robust: what is searched, for what, under what.
        trials: designs to evaluate (BASE is evaluated besides them).
        population: designs proposed at a time (NSGA-II's population; TPE's random start).
        sampler: nsga2 or tpe.
        draws: assumption draws every design is evaluated at (None: the scenario's own assumptions).
        draw_values: BASE's assumption values at each draw.
    """

    name: str
    base: Scenario
    levers: list[Lever]
    objectives: list[Objective]
    constraints: list[Constraint]
    robust: Robustness
    trials: int
    population: int
    sampler: Sampler
    reps: int
    base_seed: int
    draws: AssumptionDraws | None = None
    draw_values: np.ndarray | None = None
    options: dict[str, Any] = field(default_factory=dict)
    kind: str = "optimise"
    snapshots: str = "none"

    @property
    def baseline(self) -> str:
        return self.base.name

    @property
    def labels(self) -> list[str]:
        return [self.base.name]

    @property
    def n_draws(self) -> int:
        return 1 if self.draws is None else self.draws.n_draws

    @property
    def n_runs(self) -> int:
        return (self.trials + 1) * self.n_draws * self.reps

    @property
    def metric_names(self) -> list[str]:
        return list(dict.fromkeys([o.metric for o in self.objectives] + [c.metric for c in self.constraints]))

    def definition(self) -> dict[str, Any]:
        """What makes two searches the same (the sampler's library version too: it decides the designs)."""
        import optuna

        return {
            "kind": self.kind, "model_version": MODEL_VERSION, "reps": self.reps, "base_seed": self.base_seed,
            "base": scenario_hash(self.base), "levers": [lever.describe() for lever in self.levers],
            "objectives": [o.describe() for o in self.objectives],
            "constraints": [c.describe() for c in self.constraints], "robust": self.robust.describe(),
            "trials": self.trials, "population": self.population, "sampler": self.sampler,
            "optuna": optuna.__version__, "draws": self.options.get("draws"),
            "distributions": self.options.get("distributions_digest"),
        }

    @property
    def definition_hash(self) -> str:
        blob = json.dumps(self.definition(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def design_frames(self) -> None:
        return None  # the designs are stored as they are proposed

    def tasks(self) -> Iterator[RunTask]:
        raise ExperimentError("A search decides its runs as it goes; run it with its driver (search_driver).")

    def designed(self, values: dict[str, Any]) -> Scenario:
        """BASE with the levers at ``values`` (validated: a combination the schema refuses raises)."""
        return with_values(self.base, values, "the searched levers") if values else self.base

    def run_tasks(self, scenario: Scenario, label: str) -> list[RunTask]:
        """A design's runs: at every draw (or once), every replication, on the seeds BASE uses."""
        out = []
        for draw in range(self.n_draws):
            drawn = scenario
            if self.draws is not None and self.draw_values is not None:
                point = self.draws.point(self.draw_values, draw, self.options["integer"])
                drawn = with_values(scenario, point, f"{label} at assumption draw {draw}")
            digest = scenario_hash(drawn)
            out += [RunTask(drawn, self.base_seed + rep, digest, label, draw, rep, False) for rep in range(self.reps)]
        return out


def plan_search(
    base: Scenario, levers: Sequence[Lever], objectives: Sequence[Objective], *,
    constraints: Sequence[Constraint] = (), robust: Robustness | None = None, trials: int = 100,
    population: int | None = None, sampler: str = "auto", reps: int = 3, base_seed: int = 1, draws: int | None = None,
    name: str | None = None,
) -> SearchPlan:
    """Plan a design search, checking everything before anything runs.

    Raises:
        DesignError: no levers or objectives, a lever or objective given twice, a number of trials or a
            population out of range, a robustness measure without draws, or BASE's name clashing with the
            trials' labels.
    """
    check_common(reps, "none", base_seed)
    robust = robust or Robustness("mean")
    if not levers:
        raise DesignError("Give at least one --lever PATH=LOW:HIGH or PATH=A,B,C to search over.")
    if not objectives:
        raise DesignError("Give at least one --objective METRIC=max or METRIC=min.")
    for what, items in (("--lever", [lv.path for lv in levers]), ("--objective", [o.metric for o in objectives])):
        twice = sorted({i for i in items if items.count(i) > 1})
        if twice:
            raise DesignError(f"{what} {', '.join(twice)} is given more than once.")
    if isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= MAX_TRIALS:
        raise DesignError(f"--trials must be a whole number from 1 to {MAX_TRIALS:,}, not {trials!r}.")
    if sampler not in SAMPLERS:
        raise DesignError(f"--sampler must be one of {', '.join(SAMPLERS)}, not '{sampler}'.")
    chosen: Sampler = ("nsga2" if len(objectives) > 1 else "tpe") if sampler == "auto" else sampler  # type: ignore[assignment]
    population = DEFAULT_POPULATION[chosen] if population is None else population
    if isinstance(population, bool) or not isinstance(population, int) or not 2 <= population <= 1000:
        raise DesignError(f"--population must be a whole number from 2 to 1,000, not {population!r}.")
    if robust.kind != "mean" and draws is None:
        raise DesignError(f"--robust {robust.describe()} needs draws of the assumptions to be robust to: add "
                          "--uncertainty N.")
    if base.name.startswith("trial-"):
        raise DesignError(f"The base scenario's name '{base.name}' starts with 'trial-', which labels the "
                          "trials; give it another name.")
    plan = SearchPlan(name=check_name(name or default_name("optimise")), base=base, levers=list(levers),
                      objectives=list(objectives), constraints=list(constraints), robust=robust, trials=trials,
                      population=population, sampler=chosen, reps=reps, base_seed=base_seed)
    if plan.n_runs > MAX_RUNS:
        raise DesignError(f"{trials + 1:,} designs × {plan.n_draws} draws × {reps} replications is more than "
                          f"the {MAX_RUNS:,} runs one experiment may hold.")
    plan.options = {"snapshots": "none", "quarters": base.run.quarters, "scale": base.run.scale,
                    "base_scenario_hash": scenario_hash(base), "search": plan_summary(plan),
                    "question": question(plan)}
    if draws is not None:
        _add_draws(plan, draws)
        if plan.n_runs > MAX_RUNS:
            raise DesignError(f"{trials + 1:,} designs × {draws:,} draws × {reps} replications is more than the "
                              f"{MAX_RUNS:,} runs one experiment may hold.")
    try:
        plan.designed({lever.path: _middle(lever) for lever in levers})
    except ScenarioError as exc:
        raise DesignError(f"--lever: the levers' middle values make an invalid scenario: {exc}") from None
    return plan


def plan_summary(plan: SearchPlan) -> dict[str, Any]:
    """The search's settings as stored with the experiment (read back by :mod:`sim.optimise.front`)."""
    return {"levers": [lv.describe() for lv in plan.levers], "objectives": [o.describe() for o in plan.objectives],
            "constraints": [c.describe() for c in plan.constraints], "robust": plan.robust.describe(),
            "trials": plan.trials, "population": plan.population, "sampler": plan.sampler}


def question(plan: SearchPlan) -> str:
    """What the search asks, in words (the briefing pack's first line)."""
    from sim.metrics import METRICS_BY_NAME

    goals = [f"{'higher' if o.direction == 'max' else 'lower'} {phrase(METRICS_BY_NAME[o.metric].label)}"
             for o in plan.objectives]
    levers = [lv.path.removeprefix("levers.") for lv in plan.levers]
    limits = f", within {', '.join(c.describe() for c in plan.constraints)}" if plan.constraints else ""
    robust = {"mean": "", "regret": ", judged on the largest regret over draws of the assumptions",
              "percentile": f", judged on the worst {plan.robust.percent or 0:g}% of draws of the assumptions"}[
        plan.robust.kind]
    return (f"Which settings of {', '.join(levers)} give the best trade-offs between {' and '.join(goals)}, "
            f"against {plan.base.name}{limits}{robust}?")


def phrase(label: str) -> str:
    """A metric's label inside a sentence: 'Total cost to the NHS' -> 'total cost to the NHS'."""
    return label[:1].lower() + label[1:]


def _middle(lever: Lever) -> Any:
    if lever.kind == "choice":
        return lever.choices[0]
    assert lever.low is not None and lever.high is not None
    mid = (lever.low + lever.high) / 2
    return round(mid) if lever.kind == "integer" else mid


def _add_draws(plan: SearchPlan, n: int) -> None:
    from sim.uncertainty.distributions import scenario_distributions
    from sim.uncertainty.draws import distributions_digest, make_draws, varied_paths

    dists = scenario_distributions(plan.base)
    paths = varied_paths([dists])
    plan.draws = make_draws(n, paths, plan.base_seed)
    plan.draw_values = plan.draws.values(dists)
    plan.options.update({**plan.draws.describe(), "distributions_digest": distributions_digest({"base": dists}),
                         "integer": [dists[p].integer for p in paths]})


# ------------------------------------------------------------------------------------------ the driver


def _distributions(levers: Sequence[Lever]) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for lever in levers:
        if lever.kind == "choice":
            out[lever.path] = CategoricalDistribution(list(lever.choices))
        elif lever.kind == "integer":
            out[lever.path] = IntDistribution(int(lever.low), int(lever.high))  # type: ignore[arg-type]
        else:
            out[lever.path] = FloatDistribution(float(lever.low), float(lever.high))  # type: ignore[arg-type]
    return out


def make_study(plan: SearchPlan) -> Any:
    """A fresh in-memory study with the plan's seeded sampler (a resumed search replays into one)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if plan.sampler == "nsga2":
        sampler = optuna.samplers.NSGAIISampler(seed=plan.base_seed, population_size=plan.population)
    else:
        sampler = optuna.samplers.TPESampler(seed=plan.base_seed, n_startup_trials=plan.population,
                                             multivariate=True, constant_liar=True)
    directions = ["minimize" if plan.robust.kind == "regret" or o.direction == "min" else "maximize"
                  for o in plan.objectives]
    return optuna.create_study(directions=directions, sampler=sampler)


def search_driver(plan: SearchPlan) -> Any:
    """The driver :func:`~sim.experiment.running.run_plan` calls: BASE's runs, then batch after batch of
    proposed designs, each run (or found stored), read back and told to the sampler."""

    def drive(run_tasks: RunTasks, exp_id: int, store: ResultStore) -> None:
        from optuna.trial import TrialState

        study, dists = make_study(plan), _distributions(plan.levers)
        horizon, names = plan.base.run.quarters, plan.metric_names
        run_tasks(plan.run_tasks(plan.base, plan.base.name))
        stored = _read(store, exp_id, [plan.base.name], horizon, names, plan)
        if plan.base.name not in stored:
            return  # BASE failed: run_plan reports the failed runs
        seen: dict[str, Values] = {plan.base.name: stored[plan.base.name]}
        known = store.load_design(exp_id)
        done = 0
        while done < plan.trials:
            batch = [study.ask(dists) for _ in range(min(plan.population, plan.trials - done))]
            numbers = list(range(done, done + len(batch)))
            _check_replay(plan, known, numbers, [t.params for t in batch])
            store.add_design_points(exp_id, *_design_frame(plan, numbers, [t.params for t in batch]))
            tasks: list[RunTask] = []
            invalid: set[int] = set()
            for number, trial in zip(numbers, batch, strict=True):
                try:
                    tasks += plan.run_tasks(plan.designed(dict(trial.params)), trial_label(number))
                except ScenarioError as exc:
                    invalid.add(number)
                    trial.set_user_attr("invalid", str(exc))
            run_tasks(tasks)
            labels = [trial_label(n) for n in numbers if n not in invalid]
            results = _read(store, exp_id, labels, horizon, names, plan)
            seen.update(results)
            told = regrets(seen, plan.objectives) if plan.robust.kind == "regret" else {}
            for number, trial in zip(numbers, batch, strict=True):
                values = results.get(trial_label(number))
                if values is None:
                    study.tell(trial, state=TrialState.FAIL)
                    continue
                base = seen[plan.base.name]
                for k, constraint in enumerate(plan.constraints):
                    trial.set_constraint(str(k), constraint.violation(
                        constraint_measure(values, base, constraint, plan.robust)))
                scores = told.get(trial_label(number)) or [
                    objective_measure(values, base, o, plan.robust) for o in plan.objectives]
                study.tell(trial, scores)
            done += len(batch)

    return drive


def _read(store: ResultStore, exp_id: int, labels: Sequence[str], horizon: int, names: Sequence[str],
          plan: SearchPlan) -> dict[str, Values]:
    if not labels:
        return {}
    quarters = list(range(max(horizon - 3, 0), horizon + 1))
    frames = list(store.iter_metrics(exp_id, quarters=quarters, metrics=names, scenarios=labels))
    metrics = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return values_by_label(metrics, horizon, names, plan.n_draws, plan.reps)


def _design_frame(plan: SearchPlan, numbers: Sequence[int], params: Sequence[dict[str, Any]]
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.DataFrame([{lv.path: lv.encode(p[lv.path]) for lv in plan.levers} for p in params],
                         index=pd.Index(list(numbers), name="point_id"))
    return frame, frame


def _check_replay(plan: SearchPlan, known: pd.DataFrame, numbers: Sequence[int],
                  params: Sequence[dict[str, Any]]) -> None:
    """A resumed search must propose what it proposed before; anything else would mix two searches."""
    if known.empty:
        return
    stored = known.set_index("point_id") if "point_id" in known.columns else known
    for number, values in zip(numbers, params, strict=True):
        if number not in stored.index:
            continue
        for lever in plan.levers:
            if not np.isclose(float(stored.at[number, lever.path]), lever.encode(values[lever.path])):
                raise ExperimentError(
                    f"Resuming '{plan.name}': trial {number} now proposes {lever.path}={values[lever.path]}, "
                    f"but {lever.decode(float(stored.at[number, lever.path]))} is stored. The sampler no longer "
                    "replays this search (was Optuna or the simulator upgraded?); start it under a new --name "
                    "(its finished runs are reused).")
