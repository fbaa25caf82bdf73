"""Planning an experiment: every run it needs, checked before anything runs.

Planning resolves the scenarios, builds the design and checks every design point against the scenario
schema, so a mistake (a typo in a path, a value out of range, a baseline not compared) costs a second and
touches neither the database nor any worker. A :class:`Plan` then generates its runs lazily.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from sim.experiment.design import Design
from sim.experiment.errors import DesignError, ExperimentError
from sim.experiment.store.schema import check_name
from sim.experiment.tasks import RunTask
from sim.params import Scenario
from sim.scenario import load_scenario, parse_override, scenario_hash, with_values
from sim.version import MODEL_VERSION

if TYPE_CHECKING:
    from sim.uncertainty.draws import AssumptionDraws

Kind = Literal["compare", "sweep", "sensitivity"]
SnapshotPolicy = Literal["all", "first", "none"]
SNAPSHOT_POLICIES: tuple[str, ...] = ("all", "first", "none")

# Parameters a design may not vary: the horizon at which a sweep is read must be the same for every run.
_NOT_VARIABLE = {"run.quarters": "every run must reach the same horizon; use --quarters to set it"}

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
        draws: the assumption draws of an uncertainty comparison (every compared scenario runs at each).
        draw_values: each compared scenario's assumption values at every draw (its own distributions).
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
    draws: AssumptionDraws | None = None
    draw_values: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def is_uncertain(self) -> bool:
        """An uncertainty comparison: the compared scenarios at draws of the assumptions."""
        return self.draws is not None

    @property
    def n_runs(self) -> int:
        if self.draws is not None:
            return self.draws.n_draws * len(self.compared) * self.reps
        return len(self.point_hashes) * self.reps

    def definition(self) -> dict[str, Any]:
        """What makes two experiments the same: kind, scenarios (by hash), design, seeds, model version."""
        return {
            "kind": self.kind, "model_version": MODEL_VERSION, "reps": self.reps, "base_seed": self.base_seed,
            "scenarios": self.labels, "baseline": self.baseline,
            "scenario_content": hashlib.sha256("".join(self.point_hashes).encode()).hexdigest()[:16],
            "design": None if self.design is None else self.design.describe(),
            **({"draws": self.options["draws"], "draw_seed": self.options["draw_seed"],
                "distributions": self.options["distributions_digest"]} if self.draws is not None else {}),
        }

    @property
    def definition_hash(self) -> str:
        blob = json.dumps(self.definition(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def keep_snapshots(self, replication: int) -> bool:
        return self.snapshots == "all" or (self.snapshots == "first" and replication == 0)

    def design_frames(self) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """The points to store (values as applied, and as sampled), or None for a plain comparison.

        An uncertainty comparison stores the baseline's values at each draw (the coordinates in which its
        drivers and failure boxes are stated) and the quantiles drawn.
        """
        if self.design is not None:
            return self.design.frame(applied=True), self.design.frame(applied=False)
        if self.draws is not None:
            values = pd.DataFrame(self.draw_values[self.baseline or self.labels[0]], columns=list(self.draws.paths))
            values.index.name = "point_id"
            return values, self.draws.quantile_frame()
        return None

    def tasks(self) -> Iterator[RunTask]:
        """The runs, generated lazily so that a sweep of any size is never all in memory at once.

        Comparisons go replication by replication (so an interrupted comparison is balanced across
        scenarios); sweeps go point by point (so each point's scenario is built once); an uncertainty
        comparison goes draw by draw, every scenario at each (so an interrupted one stays paired). Runs
        that settle the same start come one after the other, for executors to keep together
        (:func:`~sim.experiment.tasks.sharing_a_start`).
        """
        if self.draws is not None:
            yield from self._draw_tasks()
            return
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


    def _draw_tasks(self) -> Iterator[RunTask]:
        assert self.draws is not None
        integer = self.options["integer"]
        for draw in range(self.draws.n_draws):
            drawn = []
            for label, scenario in self.compared:
                point = self.draws.point(self.draw_values[label], draw, integer)
                at_draw = with_values(scenario, point, f"{label} at assumption draw {draw}")
                drawn.append((label, at_draw, scenario_hash(at_draw)))
            for rep in range(self.reps):  # the scenarios side by side: they share the replication's start
                for label, at_draw, digest in drawn:
                    yield RunTask(at_draw, self.base_seed + rep, digest, label, draw, rep,
                                  self.keep_snapshots(rep) and draw == 0)


#: Seeds are stored as 64-bit signed integers: the last seed, ``base_seed + reps - 1``, may not exceed this.
MAX_SEED = 2**63 - 1
#: The most runs one experiment may plan (scenarios or points × draws × replications).
MAX_RUNS = 1_000_000


def check_common(reps: int, snapshots: str, base_seed: int = 1) -> None:
    """Refuse replications, a seed or a snapshot policy no experiment can use (shared by every planner)."""
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < 1:
        raise ExperimentError(f"--reps must be a whole number of at least 1, not {reps!r}.")
    if reps > MAX_RUNS:
        raise ExperimentError(f"--reps {reps:,} is more than the {MAX_RUNS:,} runs one experiment may hold.")
    if (isinstance(base_seed, bool) or not isinstance(base_seed, int | np.integer)
            or not 0 <= base_seed <= MAX_SEED - reps + 1):
        raise ExperimentError(
            f"--seed {str(base_seed)[:40]} is not allowed with {reps} replications: the seeds SEED to SEED + "
            f"REPS - 1 must be whole numbers from 0 to 2**63 - 1, so SEED from 0 to {MAX_SEED - reps + 1:,}.")
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
    check_common(reps, snapshots, base_seed)
    if not scenarios:
        raise ExperimentError("Give at least one scenario to compare.")
    if len(scenarios) * reps > MAX_RUNS:
        raise ExperimentError(f"{len(scenarios)} scenarios × {reps:,} replications is more than the {MAX_RUNS:,} "
                              "runs one experiment may hold.")
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


def plan_uncertainty(
    scenarios: Sequence[Scenario], draws: int, *, baseline: str | None = None, reps: int = 1, base_seed: int = 1,
    name: str | None = None, snapshots: SnapshotPolicy = "none",
) -> Plan:
    """Plan an uncertainty comparison: every scenario at each of ``draws`` points of the assumptions.

    The draws are a scrambled Sobol design on quantiles (seeded by ``base_seed``), mapped through each
    scenario's own distributions (:mod:`sim.uncertainty`); replication k at every draw uses seed
    ``base_seed + k``. With ``snapshots`` other than none, only draw 0 keeps practice snapshots.

    Raises:
        DesignError: a number of draws below 2 (or too many).
        ExperimentError: as :func:`plan_compare`.
    """
    from sim.uncertainty.distributions import scenario_distributions
    from sim.uncertainty.draws import check_draws, distributions_digest, make_draws, varied_paths

    check_draws(draws)
    if draws * len(scenarios) * reps > MAX_RUNS:
        raise DesignError(f"{draws:,} draws × {len(scenarios)} scenarios × {reps:,} replications is more than the "
                          f"{MAX_RUNS:,} runs one experiment may hold.")
    plan = plan_compare(scenarios, baseline=baseline, reps=reps, base_seed=base_seed,
                        name=name or default_name("compare"), snapshots=snapshots)
    dists = {label: scenario_distributions(s) for label, s in plan.compared}
    paths = varied_paths(list(dists.values()))
    the_draws = make_draws(draws, paths, base_seed)
    plan.draws = the_draws
    plan.draw_values = {label: the_draws.values(d) for label, d in dists.items()}
    first = next(iter(dists.values()))
    plan.options.update({
        **the_draws.describe(), "distributions_digest": distributions_digest(dists),
        "integer": [first[p].integer for p in paths],
        "distributions": {label: {p: d[p].describe() for p in paths} for label, d in dists.items()},
    })
    return plan


def plan_design(
    base: Scenario, design: Design, *, kind: Kind, reps: int = 1, base_seed: int = 1, name: str | None = None,
    snapshots: SnapshotPolicy = "none",
) -> Plan:
    """Plan a sweep or sensitivity analysis: every design point checked against the schema now.

    Raises:
        DesignError: a varied parameter that may not vary, or a point the scenario schema rejects.
    """
    check_common(reps, snapshots, base_seed)
    if design.n_points * reps > MAX_RUNS:
        raise DesignError(f"{design.n_points:,} points × {reps} replications is more than the {MAX_RUNS:,} runs "
                          "one experiment may hold.")
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



def resolve(ref: str | Scenario, overrides: Sequence[str] = ()) -> Scenario:
    """A scenario from a shipped name, a path or a Scenario object, with ``path=value`` overrides applied."""
    if isinstance(ref, Scenario):
        return with_values(ref, dict(parse_override(o) for o in overrides), "overrides") if overrides else ref
    return load_scenario(ref, list(overrides))


def year_quarters(years: Sequence[float], quarters: int) -> list[int]:
    """The quarters at the end of ``years`` (after the start), checked to lie within a run of ``quarters``."""
    out = []
    for year in years:
        if not np.isfinite(float(year)):
            raise ExperimentError(f"--years {year}: give finite numbers of years after the start.")
        q = round(float(year) * 4)
        if not 0 < q <= quarters:
            raise ExperimentError(
                f"--years {year:g}: must be after the start and within the run ({quarters / 4:g} years)."
            )
        if q != quarters and q not in out:
            out.append(q)
    return out

