"""What the explorer's run button does, as plain functions: build the edited scenario exactly as the command
line would, compare it with the baseline through a :class:`~sim.experiment.Session` (so every run goes to
the results store and is reused), and turn the result into the fan chart and the paired-difference table
of the briefing pack.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from matplotlib.figure import Figure

from sim.charts.style import Provenance, experiment_style, scenario_colours
from sim.charts.timeseries import fan_chart
from sim.errors import SimError
from sim.experiment.running import Outcome
from sim.experiment.session import Session
from sim.metrics import HEADLINE_METRICS, METRICS_BY_NAME
from sim.params import Scenario
from sim.report_text import headline_rows
from sim.scenario import load_scenario, scenario_hash, shipped_scenarios
from sim.version import MODEL_VERSION

#: Replications and scale the page offers (a national comparison of a few replications takes seconds).
REPS_RANGE = (1, 50)
SCALE_RANGE = (0.01, 1.0)


class ExplorerError(SimError):
    """A request the page cannot carry out, worded for the user like the command line's refusals."""


@dataclass(frozen=True)
class Request:
    """One press of the run button."""

    baseline: str
    scenario: str
    edits: Mapping[str, Any]
    reps: int = 5
    scale: float = 1.0
    quarters: int = 40
    seed: int = 1


@dataclass(frozen=True)
class RunView:
    """What the page shows after a run: the stored experiment, its runs and its paired summary."""

    experiment: str
    baseline: str
    scenario: str
    metrics: pd.DataFrame
    summary: pd.DataFrame
    computed: int
    reused: int
    seconds: float
    command: str
    scale: float = 1.0  # the share of England simulated


def scenario_choices() -> list[str]:
    """The shipped scenarios, by name (``history/...`` validation scenarios last)."""
    names = list(shipped_scenarios())
    return sorted(names, key=lambda n: (n.startswith("history/"), n))


def check_request(req: Request) -> None:
    """Refuse replications and scale out of the page's range with the option named, as the CLI does."""
    lo, hi = REPS_RANGE
    if not isinstance(req.reps, int) or not lo <= req.reps <= hi:
        raise ExplorerError(f"Replications must be a whole number from {lo} to {hi}, not {req.reps}.")
    lo_s, hi_s = SCALE_RANGE
    if not isinstance(req.scale, int | float) or not lo_s <= req.scale <= hi_s:
        raise ExplorerError(f"Scale must be a share of England from {lo_s} to {hi_s}, not {req.scale}.")


def build_scenario(ref: str, edits: Mapping[str, Any], *, scale: float | None = None,
                   quarters: int | None = None) -> Scenario:
    """The scenario with the page's edits, validated by the same loader as ``--set`` (same messages)."""
    values = dict(edits)
    if scale is not None:
        values["run.scale"] = scale
    if quarters is not None:
        values["run.quarters"] = quarters
    scenario = load_scenario(ref, values)
    if edits:
        scenario = scenario.model_copy(update={"name": f"{scenario.name}_edited"})
    return scenario


def equivalent_command(req: Request) -> str:
    """The command line that gives the same runs (for the record, and to rerun without the page). ``--set``
    would change the baseline too, so an edited scenario is named by the file the page saves it to."""
    other = "EDITED.yaml" if req.edits else req.scenario
    return (f"python run_sim.py compare {req.baseline} {other} --reps {req.reps} --scale {req.scale:g} "
            f"--quarters {req.quarters} --seed {req.seed}")


def _yaml_word(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class PageProgress:
    """A :class:`~sim.experiment.running.ProgressReporter` that hands the share done to the page."""

    def __init__(self, report: Callable[[float, str], None]) -> None:
        self._report = report
        self._total = 0

    def start(self, name: str, total: int) -> None:
        self._total = total
        self._report(0.0, f"0 of {total} runs")

    def advance(self, outcome: Outcome) -> None:
        done = outcome.done
        self._report(100.0 * done / max(self._total, 1), f"{done} of {self._total} runs ({outcome.reused} reused)")

    def stop(self) -> None:
        pass


class Runner:
    """One results database and one pool of workers for every visitor of the page, used one run at a time
    (the workers are started once, so a second run starts at once)."""

    def __init__(self, db: str | None = None, workers: int | None = None) -> None:
        self.db = db
        self.workers = workers
        self._session: Session | None = None
        self._lock = threading.Lock()

    def session(self) -> Session:
        if self._session is None:
            self._session = Session(self.db, workers=self.workers)
        return self._session

    def run(self, req: Request, progress: Callable[[float, str], None] | None = None) -> RunView:
        """Compare the edited scenario with the baseline; every error is a :class:`SimError` for the page."""
        check_request(req)
        base = build_scenario(req.baseline, {}, scale=req.scale, quarters=req.quarters)
        other = build_scenario(req.scenario, req.edits, scale=req.scale, quarters=req.quarters)
        if other.name == base.name:
            other = other.model_copy(update={"name": f"{other.name}_2"})
        name = f"explore-{datetime.now():%Y%m%d-%H%M%S-%f}"
        start = time.perf_counter()
        with self._lock:
            session = self.session()
            session.progress = PageProgress(progress) if progress else False
            try:
                # No practice snapshots: writing them would double the wait, and a later experiment that
                # wants them (a briefing pack) recomputes those runs and adds them to the store.
                result = session.compare([base, other], reps=req.reps, seed=req.seed, name=name, snapshots="none")
            finally:
                session.progress = False
        out = result.outcome
        return RunView(result.name, base.name, other.name, result.metrics, result.summary, out.computed,
                       out.reused, time.perf_counter() - start, equivalent_command(req), float(req.scale))

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()


# ---------------------------------------------------------------------------------------- showing results


def metric_choices() -> list[tuple[str, str]]:
    """(name, label) of the metrics a fan chart can show, headline metrics first."""
    rest = [m for m in METRICS_BY_NAME if m not in HEADLINE_METRICS]
    return [(m, METRICS_BY_NAME[m].label) for m in (*HEADLINE_METRICS, *rest)]


def fan_figure(view_metrics: pd.DataFrame, metric: str, order: Sequence[str], experiment: str | None = None,
               scale: float | None = None) -> Figure:
    """The briefing pack's fan chart of one metric, the baseline first and in its colour (``scale``: the
    share of England simulated, for the footer)."""
    colours = scenario_colours(order)
    provenance = Provenance.from_frames(view_metrics, model_version=MODEL_VERSION, experiment=experiment,
                                        scale=scale)
    return fan_chart(view_metrics, metric, scenarios=list(order), colours=colours, layout="overlay",
                     provenance=provenance)


def stored_fan_figure(data: Any, metric: str) -> Figure:
    """The fan chart of a stored experiment, in the pack's colours and with its provenance."""
    return fan_chart(data.metrics, metric, **experiment_style(data))


@dataclass(frozen=True)
class DifferenceRow:
    metric: str
    label: str
    unit: str
    baseline: str
    scenario: str
    difference: str
    interval: str
    significant: bool
    better: bool | None
    diff_unit: str = ""  # the difference's own unit where it differs from the levels' (£m under £bn levels)


def difference_rows(summary: pd.DataFrame, baseline: str, scenario: str,
                    metrics: Sequence[str] = HEADLINE_METRICS, *, scale: float | None = None) -> list[DifferenceRow]:
    """The paired differences at the horizon in the pack's number style (:func:`headline_rows`): money
    totals of runs at ``scale`` < 1 scaled to England, and judged against England's material threshold
    at that scale, as the pack does."""
    horizon = summary[summary["quarter"] == summary["quarter"].max()] if "quarter" in summary else summary
    rows = []
    for row in headline_rows(horizon, [baseline, scenario], metrics, scale=scale):
        base, other = row.cells.get(baseline), row.cells.get(scenario)
        if base is None or other is None:
            continue
        rows.append(DifferenceRow(row.metric, row.label, row.unit, f"{base.mean} {base.interval}".strip(),
                                  f"{other.mean} {other.interval}".strip(), other.diff, other.diff_interval,
                                  other.significant, other.better,
                                  row.diff_unit if row.diff_unit != row.unit else ""))
    return rows


# ---------------------------------------------------------------------------------------- saving the scenario


def scenario_yaml(ref: str, edits: Mapping[str, Any], name: str | None = None) -> str:
    """The edited scenario as a self-contained YAML file: every resolved value (so it needs no other file
    and reads the same in a year), which ``run_sim.py show`` and every command accept as it is."""
    scenario = build_scenario(ref, edits)
    data = scenario.model_dump(mode="json")  # the schema's own order, choices as their words
    if name:
        data["name"] = name
    if not data.get("uncertainty"):
        data.pop("uncertainty", None)
    changes = ", ".join(f"{p}={_yaml_word(v)}" for p, v in edits.items()) or "no changes"
    header = (f"# Saved from the explorer: {ref} with {changes}.\n"
              f"# Hash {scenario_hash(scenario)}; check it with: python run_sim.py show THIS_FILE\n")
    return header + yaml.safe_dump(data, sort_keys=False, width=110)


def save_scenario(ref: str, edits: Mapping[str, Any], path: str | Path, name: str | None = None) -> Path:
    """Write :func:`scenario_yaml` to ``path`` (refusing to overwrite a file or to write outside a folder)."""
    target = Path(path).expanduser()
    if target.suffix not in (".yaml", ".yml"):
        raise ExplorerError(f"Save the scenario to a .yaml file, not '{target.name}'.")
    if target.exists():
        raise ExplorerError(f"{target} already exists; choose another file name.")
    if not target.parent.is_dir():
        raise ExplorerError(f"Folder {target.parent} does not exist.")
    text = scenario_yaml(ref, edits, name or target.stem)
    target.write_text(text, encoding="utf-8")
    return target
