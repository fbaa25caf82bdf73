"""The single-run view for modellers, in the Mesa style: one run stepped quarter by quarter, and the
practices of one consortium on its funnel plot of avoidable admissions, with the practices challenged that
quarter and those escalated to the board marked.

The run is recorded once (every quarter's practice arrays), so stepping back and forth redraws without
running the model again. Which practices were challenged is read from the state the model keeps: a review
adds one to a practice's count of unresolved challenges, and nothing else raises it by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.charts import style
from sim.charts.funnel import fit_funnel, limits
from sim.model import CommissioningModel
from sim.params import Scenario
from sim.version import MODEL_VERSION


@dataclass(frozen=True)
class QuarterFrame:
    """The practices of every consortium at the end of one quarter."""

    quarter: int
    consortium: np.ndarray
    list_size: np.ndarray
    admissions_per_1000: np.ndarray  # observed over the last four quarters (what a lead benchmarks)
    challenged: np.ndarray  # reviewed and challenged in this quarter
    escalated: np.ndarray  # escalated to the board (stays marked)
    delegated: np.ndarray  # per consortium


@dataclass(frozen=True)
class RecordedRun:
    scenario: str
    seed: int
    start_year: int
    scale: float
    frames: list[QuarterFrame]
    n_consortia: int

    def frame(self, quarter: int) -> QuarterFrame:
        return self.frames[max(0, min(quarter, len(self.frames) - 1))]


class _YearEndWatch:
    """Keeps each practice's challenge count and escalation flag as they stand just before the board's
    year-end decisions clear them, so a year-end quarter's challenges and escalations can still be shown.
    It wraps this one model's board only, and reads arrays without changing them."""

    def __init__(self, model: CommissioningModel) -> None:
        self.before: tuple[np.ndarray, np.ndarray] | None = None
        board = model.board
        decide = board.contract_actions

        def watched(assessment_noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ps = model.practices
            self.before = (ps.unresolved[: ps.n].copy(), ps.escalated[: ps.n].copy())
            return decide(assessment_noise)

        board.contract_actions = watched  # type: ignore[method-assign]

    def take(self, model: CommissioningModel) -> tuple[np.ndarray, np.ndarray]:
        """(challenge counts, escalated flags) after the quarter's reviews, padded to today's rows."""
        ps, n = model.practices, model.practices.n
        if self.before is None:
            return ps.unresolved[:n].copy(), ps.escalated[:n].copy()
        unresolved, escalated = (_pad(a, n) for a in self.before)
        self.before = None
        return unresolved, escalated


def _pad(values: np.ndarray, n: int) -> np.ndarray:
    return np.pad(values[:n], (0, max(0, n - values.size)))


def _frame(model: CommissioningModel, unresolved: np.ndarray, escalated: np.ndarray,
           previous: np.ndarray | None) -> QuarterFrame:
    ps, n = model.practices, model.practices.n
    rows = ps.active
    challenged = np.zeros(n, bool) if previous is None else unresolved == _pad(previous, n) + 1
    observed = ps.admissions_last4[:, :n].sum(axis=0) / np.maximum(ps.list_size[:n], 1.0) * 1000.0
    if model.quarter < 4:  # before a year of counts, the latent rate stands in for the observed one
        observed = ps.outcome_per_1000[:n].copy()
    return QuarterFrame(model.quarter, ps.consortium[rows].copy(), ps.list_size[rows].copy(), observed[rows],
                        challenged[rows], escalated[rows].astype(bool), model.consortia.delegated.copy())


def record_run(scenario: Scenario, seed: int = 1) -> RecordedRun:
    """Run a scenario once, keeping each quarter's practices (no snapshots, no store: a look, not a result)."""
    model = CommissioningModel(scenario, seed, snapshots=False)
    watch = _YearEndWatch(model)
    unresolved, escalated = watch.take(model)
    frames = [_frame(model, unresolved, escalated, None)]
    for _ in range(scenario.run.quarters):
        previous = model.practices.unresolved[: model.practices.n].copy()
        model.step()
        unresolved, escalated = watch.take(model)
        frames.append(_frame(model, unresolved, escalated, previous))
    return RecordedRun(scenario.name, seed, scenario.run.start_year, scenario.run.scale, frames, model.n_consortia)


def consortium_sizes(run: RecordedRun) -> list[tuple[int, int]]:
    """(consortium, practices at the start), largest first: the choices of the page's consortium picker."""
    counts = np.bincount(run.frames[0].consortium, minlength=run.n_consortia)
    return sorted(((int(c), int(k)) for c, k in enumerate(counts) if k > 0), key=lambda t: -t[1])


def funnel_figure(run: RecordedRun, consortium: int, quarter: int) -> Figure:
    """One consortium's practices in one quarter against funnel limits at 2 and 3 standard errors."""
    fr = run.frame(quarter)
    mine = fr.consortium == consortium
    n, y = fr.list_size[mine], fr.admissions_per_1000[mine]
    fig = style.new_figure()
    ax = fig.add_subplot()
    style.style_axes(ax)
    if mine.sum() >= 3:
        fit = fit_funnel(y, n, "poisson")
        grid = np.linspace(max(n.min() * 0.8, 100.0), n.max() * 1.1, 200)
        for z, dash in ((2.0, "--"), (3.0, ":")):
            low, high = limits(fit, "poisson", grid, z)
            ax.plot(grid, low, color=style.TEXT, linewidth=0.8, linestyle=dash)
            ax.plot(grid, high, color=style.TEXT, linewidth=0.8, linestyle=dash)
        ax.axhline(fit.target, color=style.TEXT, linewidth=0.8)
    ch, esc = fr.challenged[mine], fr.escalated[mine]
    ax.scatter(n, y, s=16, color="#9aa5b1", zorder=2)
    ax.scatter(n[ch], y[ch], s=60, facecolors="none", edgecolors="#c0392b", linewidths=1.6, zorder=3)
    ax.scatter(n[esc], y[esc], s=40, marker="x", color="#111111", linewidths=1.6, zorder=4)
    style.label_axes(ax, "Registered patients", "Avoidable admissions per 1,000 patients a year")
    year = run.start_year + (fr.quarter - 1) // 4 if fr.quarter else run.start_year
    who = "the consortium" if fr.delegated[consortium] else "the board (remotely)"
    subtitle = (f"Quarter {fr.quarter} (financial year {year}/{(year + 1) % 100:02d}); {int(mine.sum())} practices, "
                f"reviewed by {who}: {int(ch.sum())} challenged this quarter, {int(esc.sum())} escalated so far. "
                "Lines: target, 2 and 3 standard errors (overdispersion-adjusted).")
    legend = [Line2D([], [], marker="o", linestyle="", color="#9aa5b1", label="practice"),
              Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markeredgecolor="#c0392b",
                     label="challenged this quarter"),
              Line2D([], [], marker="x", linestyle="", color="#111111", label="escalated to the board")]
    prov = style.Provenance(scenarios=(run.scenario,), replications=1, base_seed=run.seed, scale=run.scale,
                            model_version=MODEL_VERSION)
    title = f"Consortium {consortium}: practices on the funnel plot"
    return style.finish_figure(fig, title, subtitle, prov, legend=legend)
