"""A stored search read back: every trial judged, and the Pareto front with its intervals.

Read from the store, not kept from the search loop, so a resumed search and an uninterrupted one give the
same front, and ``report`` can rebuild it later. The front is judged on the point estimates the sampler
saw (the robustness measure of each objective); each front design's interval then says how sure that
estimate is: a t-interval over its runs (every draw and replication) of its mean, and of its paired
difference from BASE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.errors import ExperimentError
from sim.experiment.store import ResultStore
from sim.optimise.measures import (
    Values,
    constraint_measure,
    interval,
    objective_measure,
    pareto_mask,
    per_draw,
    regrets,
    values_by_label,
)
from sim.optimise.search import trial_label
from sim.optimise.spec import (
    Constraint,
    Lever,
    Objective,
    Robustness,
    parse_constraint,
    parse_objective,
    parse_robustness,
)


@dataclass
class SearchData:
    """What a stored search holds, decoded."""

    name: str
    base: str
    levers: list[Lever]
    objectives: list[Objective]
    constraints: list[Constraint]
    robust: Robustness
    designs: pd.DataFrame  # one row per proposed trial: trial, then each lever's value
    values: dict[str, Values]  # label -> metric -> (draws, replications)
    n_draws: int
    reps: int
    scale: float
    status: str
    model_version: str = ""
    base_seed: int = 1


def load_search(store: ResultStore, name: str) -> SearchData:
    """A stored search by name.

    Raises:
        ExperimentError: no such experiment, or it is not a search.
    """
    info = store.experiment_info(name)
    if info["kind"] != "optimise":
        raise ExperimentError(f"'{name}' is a {info['kind']} experiment, not a design search (optimise).")
    options = info["options"]
    search = options["search"]
    levers = [Lever(d["path"], d["kind"], d["low"], d["high"], tuple(d["choices"])) for d in search["levers"]]
    objectives = [parse_objective(text) for text in search["objectives"]]
    constraints = [parse_constraint(text) for text in search["constraints"]]
    names = list(dict.fromkeys([o.metric for o in objectives] + [c.metric for c in constraints]))
    n_draws, reps, horizon = int(options.get("draws") or 1), int(info["reps"]), int(options["quarters"])
    quarters = list(range(max(horizon - 3, 0), horizon + 1))
    frames = list(store.iter_metrics(info["id"], quarters=quarters, metrics=names))
    metrics = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    stored = store.load_design(info["id"])
    designs = pd.DataFrame({"trial": stored["point_id"].astype(int) if len(stored) else []})
    for lever in levers:
        designs[lever.path] = [lever.decode(v) for v in stored[lever.path]] if len(stored) else []
    return SearchData(name, info["baseline"], levers, objectives, constraints, parse_robustness(search["robust"]),
                      designs, values_by_label(metrics, horizon, names, n_draws, reps), n_draws, reps,
                      float(options.get("scale", 1.0)), info["status"], str(info["model_version"]),
                      int(info["base_seed"]))


def trial_table(data: SearchData) -> pd.DataFrame:
    """Every proposed trial: its levers, each objective's measure, each constraint's, and whether it is
    complete, feasible and on the front. Regret is against the best design at each draw among all."""
    base = data.values.get(data.base)
    if base is None:
        raise ExperimentError(f"The search '{data.name}' has no finished BASE runs to compare designs with.")
    done = {label: v for label, v in data.values.items()}
    regret = regrets(done, data.objectives) if data.robust.kind == "regret" else {}
    rows = []
    for record in data.designs.to_dict("records"):
        label = trial_label(int(record["trial"]))
        values = data.values.get(label)
        row: dict[str, Any] = dict(record)
        row["complete"] = values is not None
        for k, objective in enumerate(data.objectives):
            row[score_column(objective, data.robust)] = (np.nan if values is None else regret[label][k] if regret
                                                   else objective_measure(values, base, objective, data.robust))
        violations = []
        for constraint in data.constraints:
            measured = np.nan if values is None else constraint_measure(values, base, constraint, data.robust)
            row[constraint_column(constraint)] = measured
            violations.append(constraint.violation(measured))
        row["feasible"] = values is not None and all(v <= 0 for v in violations)
        rows.append(row)
    table = pd.DataFrame(rows, columns=["trial", *[lv.path for lv in data.levers], "complete",
                                        *[score_column(o, data.robust) for o in data.objectives],
                                        *[constraint_column(c) for c in data.constraints], "feasible"])
    table["on_front"] = False
    feasible = table["feasible"].to_numpy(dtype=bool)
    if feasible.any():
        signs = np.array([-1.0 if data.robust.kind == "regret" else o.sign for o in data.objectives])
        scores = table.loc[feasible, [score_column(o, data.robust) for o in data.objectives]].to_numpy(float) * signs
        table.loc[feasible, "on_front"] = pareto_mask(scores)
    # A design the sampler proposed twice is one design: only its first trial stands on the front.
    repeated = table.duplicated(subset=[lv.path for lv in data.levers], keep="first")
    table.loc[repeated, "on_front"] = False
    return table


def score_column(objective: Objective, robust: Robustness) -> str:
    """The column of a trial's search score: ``outcome_mean_diff`` (the mean difference from BASE),
    ``outcome_mean_diff_p10`` (its value in the worst 10% of draws) or ``outcome_mean_regret``."""
    if robust.kind == "regret":
        return f"{objective.metric}_regret"
    if robust.kind == "percentile":
        return f"{objective.metric}_diff_p{robust.percent:g}"
    return f"{objective.metric}_diff"


def constraint_column(constraint: Constraint) -> str:
    """The column of a constraint's measure: ``total_cost_gbp_diff (<=+0)`` or ``total_cost_gbp (<=1e+10)``."""
    limit = constraint.describe().split(constraint.op, 1)[1]
    return f"{constraint.metric}{'_diff' if constraint.relative else ''} ({constraint.op}{limit})"


def pareto_table(data: SearchData, trials: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per design on the front: its lever values, then for each objective its search score, its
    mean with a 95% interval and its paired difference from BASE with a 95% interval (over every run:
    each draw and replication), ordered by the first objective's score, best first."""
    table = trial_table(data) if trials is None else trials
    front = table[table["on_front"]]
    base = data.values[data.base]
    rows = []
    for record in front.to_dict("records"):
        values = data.values[trial_label(int(record["trial"]))]
        row = {"trial": int(record["trial"]), **{lv.path: record[lv.path] for lv in data.levers}}
        for objective in data.objectives:
            metric = objective.metric
            row[f"{metric}_mean"], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = interval(values[metric])
            diffs = values[metric] - base[metric]
            row[f"{metric}_diff"], row[f"{metric}_diff_ci_low"], row[f"{metric}_diff_ci_high"] = interval(diffs)
            score = score_column(objective, data.robust)
            if score not in row:  # a robust score (a tail or a regret), besides the mean difference
                row[score] = record[score]
            if data.n_draws > 1:
                row[f"{metric}_p_better"] = float(np.mean(per_draw(values, base, metric) * objective.sign > 0))
        for constraint in data.constraints:
            row[constraint_column(constraint)] = record[constraint_column(constraint)]
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    first = data.objectives[0]
    ascending = data.robust.kind == "regret" or first.direction == "min"
    return out.sort_values(score_column(first, data.robust), ascending=ascending, ignore_index=True)


def base_row(data: SearchData) -> dict[str, Any]:
    """BASE's own mean and interval on each objective (the reference every difference is from)."""
    base = data.values[data.base]
    row: dict[str, Any] = {"design": data.base}
    for objective in data.objectives:
        mean, lo, hi = interval(base[objective.metric])
        row.update({f"{objective.metric}_mean": mean, f"{objective.metric}_ci_low": lo,
                    f"{objective.metric}_ci_high": hi})
    return row


def front_chart(trials: pd.DataFrame, data: SearchData) -> Any:
    """The Pareto chart of a stored search (two objectives: the front; more: parallel coordinates)."""
    from sim.charts.pareto import Axis, pareto_chart
    from sim.charts.style import Provenance

    note = {"mean": "mean over the draws" if data.n_draws > 1 else "", "regret": "largest over the draws",
            "percentile": f"worst {data.robust.percent or 0:g}% of draws"}[data.robust.kind]
    axes = [Axis(score_column(o, data.robust), o.metric, o.direction, data.robust.kind == "regret", note)
            for o in data.objectives]
    draws = f"{data.n_draws} draws of the assumptions, {data.robust.describe()}" if data.n_draws > 1 else ""
    provenance = Provenance(scenarios=(data.base,), replications=data.reps, base_seed=data.base_seed,
                            model_version=data.model_version, experiment=data.name, scale=data.scale,
                            extra=tuple(x for x in (draws,) if x))
    return pareto_chart(trials, axes, base=data.base, scale=data.scale, provenance=provenance)


def front_cells(front: pd.DataFrame, data: SearchData, *, short: bool = False) -> tuple[list[str], list[list[str]]]:
    """The front as the terminal and the briefing pack show it: a column per lever, then per objective its
    paired difference from BASE with its 95% interval in the metric's display unit (money a year for
    England), and with draws the robust score and the share of draws in which it beats BASE. ``short``
    headers (the lever's last name, no direction) fit a terminal."""
    from sim.docs import parameter_label
    from sim.metrics import METRICS_BY_NAME
    from sim.numbers import decimals_for, display_unit, fmt_interval, fmt_number

    leaves = [lever.path.rsplit(".", 1)[-1] for lever in data.levers]
    columns = [(leaf if short and leaves.count(leaf) == 1 else parameter_label(lever.path))
               for lever, leaf in zip(data.levers, leaves, strict=True)]
    cells: list[list[str]] = [[lever_text(row[lv.path]) for lv in data.levers] for row in front.to_dict("records")]
    for objective in data.objectives:
        m, spec = objective.metric, METRICS_BY_NAME[objective.metric]
        raw = front[[f"{m}_diff", f"{m}_diff_ci_low", f"{m}_diff_ci_high"]].to_numpy(float)
        unit = display_unit(spec, raw, per_year=True, difference=True, scale=data.scale)
        shown = unit.apply(raw)
        places = decimals_for(shown[:, 0], shown[:, 2] - shown[:, 1])
        better = "" if short else f", {'higher' if objective.direction == 'max' else 'lower'} is better"
        columns.append(f"{spec.label}{better} ({unit.text})")
        robust = data.robust.kind != "mean"
        if robust:
            worst = f"worst {data.robust.percent:g}%" + ("" if short else " of draws")
            columns.append("regret" if data.robust.kind == "regret" else worst)
        if data.n_draws > 1:
            columns.append("draws better")
        score = front[score_column(objective, data.robust)].to_numpy(float) * (unit.factor if robust else 1)
        for k, row in enumerate(front.to_dict("records")):
            cells[k].append(f"{fmt_number(shown[k, 0], decimals=places, signed=True)} "
                            f"{fmt_interval(shown[k, 1], shown[k, 2], decimals=places)}")
            if robust:
                cells[k].append(fmt_number(score[k], decimals=places, signed=data.robust.kind != "regret"))
            if data.n_draws > 1:
                cells[k].append(f"{row[f'{m}_p_better']:.0%}")
    return columns, cells


def lever_text(value: Any) -> str:
    """A lever's value as tables and findings show it: numbers in the number style, choices as they are."""
    from sim.numbers import fmt_number

    return fmt_number(float(value)) if isinstance(value, float | int) and not isinstance(value, bool) else str(value)
