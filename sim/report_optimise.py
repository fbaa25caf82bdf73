"""The briefing pack of a design search: its Pareto chart and the front's table.

Kept apart from :mod:`sim.report` (which knows comparisons, sweeps and sensitivity analyses) so the pack
learns a new kind of experiment by one call per step: :func:`load`, :func:`front_labels`,
:func:`chart_plan` and :func:`write_tables`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass
class JudgedSearch:
    """A stored search (:class:`sim.optimise.front.SearchData`) and its trials judged, read once."""

    data: Any
    trials: pd.DataFrame
    front: pd.DataFrame


def load(store: Any, name: str) -> JudgedSearch:
    from sim.optimise.front import load_search, pareto_table, trial_table

    data = load_search(store, name)
    trials = trial_table(data)
    return JudgedSearch(data, trials, pareto_table(data, trials))


def colours(order: list[str]) -> dict[str, str]:
    """BASE in black and the front's designs in the other colours, cycling: a front may hold more designs
    than the palette has colours, and none of them should look like BASE."""
    from sim.charts.style import OKABE_ITO

    rest = OKABE_ITO[1:]
    return {label: OKABE_ITO[0] if i == 0 else rest[(i - 1) % len(rest)] for i, label in enumerate(order)}


def front_labels(search: JudgedSearch) -> list[str]:
    """The run labels of the designs on the front, in the front's order (the pack lists these)."""
    from sim.optimise.search import trial_label

    return [trial_label(int(t)) for t in search.front["trial"]] if len(search.front) else []


def chart_plan(search: JudgedSearch) -> list[tuple[str, str, Callable[[], Any]]]:
    """The Pareto chart (two objectives: the front; more: parallel coordinates); none for one objective."""
    from sim.optimise.front import front_chart

    if len(search.data.objectives) < 2:
        return []
    return [("pareto", "Trade-offs the search found", lambda: front_chart(search.trials, search.data))]


def write_tables(search: JudgedSearch, put: Callable[[str, pd.DataFrame, str], None]) -> None:
    put("pareto.csv", search.front,
        "the designs on the Pareto front: lever values, each objective's mean and paired difference from BASE "
        "with 95% intervals")
    put("trials.csv", search.trials, "every design tried: lever values, search scores, constraints, feasibility")


def headline(search: JudgedSearch) -> tuple[pd.DataFrame, str]:
    """The pack's headline table (the front, in the pack's number style) and the note under it."""
    from sim.optimise.front import front_cells

    data = search.data
    columns, rows = front_cells(search.front, data)
    draws = (f" over {data.n_draws} draws of the assumptions and {data.reps} replication"
             f"{'s' if data.reps != 1 else ''} at each" if data.n_draws > 1 else
             f" over {data.reps} replication{'s' if data.reps != 1 else ''}")
    robust = ("" if data.robust.kind == "mean" else
              f" The search judged designs on {data.robust.describe()} of the draws (its column); 'draws better' is "
              f"the share of draws in which a design beats {data.base}.")
    note = (f"The designs on the Pareto front, ordered by the first objective: no design tried beats one of them "
            f"on every objective at once. Each cell: the paired difference from {data.base}, mean{draws} [95% "
            f"interval]; money is a year for England.{robust} The front is judged on these estimates: designs "
            "whose intervals overlap may swap places with more replications. Every design tried is in "
            "tables/trials.csv.")
    return pd.DataFrame(rows, columns=columns), note


def settings(search: JudgedSearch) -> list[tuple[str, str]]:
    """The search's own lines in the pack's settings table."""
    data = search.data
    levers = "; ".join(f"{lv.path} {lv.low:g} to {lv.high:g}" if lv.kind != "choice"
                       else f"{lv.path} one of {', '.join(map(str, lv.choices))}" for lv in data.levers)
    lines = [("Levers searched", levers),
             ("Objectives", ", ".join(o.describe() for o in data.objectives)),
             ("Designs tried", f"{len(search.trials)} ({int(search.trials['on_front'].sum())} on the front)")]
    if data.constraints:
        lines.append(("Constraints", ", ".join(c.describe() for c in data.constraints)))
    if data.n_draws > 1:
        lines.append(("Assumption draws", f"{data.n_draws}, judged on {data.robust.describe()}"))
    return lines


def findings(ctx: Any) -> Any:
    """The key findings of a search: a few designs of the front in words (the best on each objective, and
    the best on the first of those that beat BASE on every objective), judged as a comparison's are."""
    from sim.experiment.paired import SUMMARY_COLUMNS
    from sim.report_findings import build

    search: JudgedSearch = ctx.search
    data, front = search.data, search.front
    if front.empty:
        return None
    picks: dict[int, str] = {}
    for objective in data.objectives:
        best = front[f"{objective.metric}_diff"].idxmax() if objective.direction == "max" else \
            front[f"{objective.metric}_diff"].idxmin()
        picks.setdefault(int(front.at[best, "trial"]), f"best on {phrase_of(objective.metric)}")
    # Designs better than BASE on every objective (on the estimates: the verdicts say how sure each is).
    beats = front[[all(row[f"{o.metric}_diff"] * o.sign > 0 for o in data.objectives)
                   for row in front.to_dict("records")]]
    if len(beats):
        picks.setdefault(int(beats.iloc[0]["trial"]), f"better than {data.base} on every objective")
    rows, names = [], {}
    for trial, why in picks.items():
        record = front[front["trial"] == trial].iloc[0]
        label = f"trial-{trial:05d}"
        names[label] = f"{why}: {design_words(data, record)}"
        for objective in data.objectives:
            m = objective.metric
            low, high = record[f"{m}_diff_ci_low"], record[f"{m}_diff_ci_high"]
            rows.append({"metric": m, "scenario": label, "baseline": data.base, "n": data.n_draws * data.reps,
                         "diff_mean": record[f"{m}_diff"], "diff_ci_low": low, "diff_ci_high": high,
                         "significant": bool(low > 0 or high < 0)})
    summary = pd.DataFrame(rows).reindex(columns=list(SUMMARY_COLUMNS))
    box = build(summary, [data.base, *names], [o.metric for o in data.objectives], ctx.colours, baseline=data.base,
                scale=ctx.scale, material=ctx.material, horizon=ctx.horizon)
    for row in box.rows:
        row.scenario = names[row.scenario]
    draws = f" over {data.n_draws} draws of the assumptions" if data.n_draws > 1 else ""
    box.how_sure = (f"Chosen from the {len(front)} designs on the Pareto front ({len(search.trials)} tried): each "
                    f"figure is the design's mean paired difference from {data.base}{draws} with its 95% interval. "
                    "Better or worse: a material effect whose interval excludes no effect.")
    if data.n_draws > 1:
        box.coverage = ("What the intervals cover: the assumptions' declared distributions and simulation noise, "
                        "for each design as found; the front itself is judged on these estimates.")
    return box


def phrase_of(metric: str) -> str:
    from sim.metrics import METRICS_BY_NAME
    from sim.optimise.search import phrase

    return phrase(METRICS_BY_NAME[metric].label)


def design_words(data: Any, record: Any) -> str:
    """A design in words: ``per head 17.3, distribution contribution, required improvement 0.0037``."""
    from sim.docs import parameter_label
    from sim.optimise.front import lever_text

    return ", ".join(f"{parameter_label(lever.path).rsplit(': ', 1)[-1].lower()} {lever_text(record[lever.path])}"
                     for lever in data.levers)
