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
