"""The trade-offs a design search found: a Pareto front (two objectives) or parallel coordinates (more).

Both show each design's search score on each objective as a difference from BASE (or a regret), in the
metric's display unit; money is scaled to England when the search simulated a sample of it. Designs on
the front are drawn in colour, every other design in grey, so a reader sees both the best trade-offs
and how much of the space the search tried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.charts import style
from sim.charts.data import ChartError, metric
from sim.numbers import DisplayUnit, display_unit, fmt_number

FRONT = style.OKABE_ITO[2]  # blue


@dataclass(frozen=True)
class Axis:
    """One objective as the chart shows it: the trials' column, the metric, and which way is better."""

    column: str
    metric: str
    direction: str  # "max" or "min"
    regret: bool = False
    note: str = ""  # how the draws were summarised, e.g. "worst 10% of draws"

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "max" and not self.regret


def _scaled(values: np.ndarray, axis: Axis, scale: float) -> tuple[np.ndarray, DisplayUnit]:
    """The values in the metric's display unit (money of a sample of England scaled up to all of it)."""
    unit = display_unit(metric(axis.metric), values, per_year=True, difference=True, scale=scale)
    return unit.apply(values), unit


def _label(axis: Axis, unit: DisplayUnit, scale: float, prefix: bool = True) -> str:
    spec = metric(axis.metric)
    what = ("regret on " if axis.regret else "difference from BASE in ") if prefix else ""
    note = f", {axis.note}" if axis.note else ""
    return f"{what}{spec.label[0].lower() + spec.label[1:]} ({unit.text}{note})"


def pareto_chart(trials: pd.DataFrame, axes: Sequence[Axis], *, base: str, scale: float = 1.0,
                 provenance: style.Provenance | None = None, title: str | None = None) -> Figure:
    """The designs a search tried and its front: a scatter for two objectives, parallel coordinates for more.

    Args:
        trials: :func:`sim.optimise.front.trial_table` (``complete``, ``feasible``, ``on_front`` and a
            column per objective's score).
        axes: the objectives, in the search's order.
        base: BASE's name (the zero line).
        scale: the share of England simulated (money is scaled up to England).
    """
    if len(axes) < 2:
        raise ChartError("A Pareto chart needs two or more objectives; one objective has a best design, "
                         "not a front.")
    missing = [a.column for a in axes if a.column not in trials.columns]
    if missing:
        raise ChartError(f"Pareto chart: the trials have no column {', '.join(missing)}.")
    done = trials[trials["complete"].astype(bool)]
    if done.empty:
        raise ChartError("Pareto chart: no trial has finished.")
    if len(axes) == 2:
        return _scatter(done, axes, base, scale, provenance, title)
    return _parallel(done, axes, base, scale, provenance, title)


def _scatter(done: pd.DataFrame, axes: Sequence[Axis], base: str, scale: float,
             provenance: style.Provenance | None, title: str | None) -> Figure:
    fig = style.new_figure()
    ax = fig.subplots()
    (x, ux), (y, uy) = (_scaled(done[a.column].to_numpy(float), a, scale) for a in axes)
    feasible, front = done["feasible"].to_numpy(bool), done["on_front"].to_numpy(bool)
    ax.scatter(x[feasible & ~front], y[feasible & ~front], s=12, color=style.GREY, alpha=0.6, linewidths=0)
    ax.scatter(x[~feasible], y[~feasible], s=14, facecolors="none", edgecolors=style.GREY, linewidths=0.6)
    sx, sy = _staircase(x[front], y[front], axes[0].higher_is_better, axes[1].higher_is_better)
    ax.plot(sx, sy, color=FRONT, linewidth=1.0, alpha=0.7)
    ax.scatter(x[front], y[front], s=22, color=FRONT, zorder=3)
    if not any(a.regret for a in axes):
        ax.axhline(0, color=style.TEXT, linewidth=0.6)
        ax.axvline(0, color=style.TEXT, linewidth=0.6)
        ax.scatter([0], [0], marker="*", s=70, color=style.TEXT, zorder=4)
    ax.set_xlabel(style.wrap_label(_label(axes[0], ux, scale), style.HALF_A4[0] * 0.8, style.FONT["label"]),
                  fontsize=style.FONT["label"])
    ax.set_ylabel(style.wrap_label(_label(axes[1], uy, scale), style.HALF_A4[1] * 0.5, style.FONT["label"]),
                  fontsize=style.FONT["label"])
    ax.tick_params(labelsize=style.FONT["tick"])
    ax.grid(True, color=style.LIGHT_GREY, linewidth=0.5)
    ax.set_axisbelow(True)
    better = (("right" if axes[0].higher_is_better else "left"), ("up" if axes[1].higher_is_better else "down"))
    legend = [Line2D([], [], marker="o", linestyle="-", color=FRONT, markersize=4, label="on the front"),
              Line2D([], [], marker="o", linestyle="", color=style.GREY, markersize=3.5, label="other designs")]
    if (~feasible).any():
        legend.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markeredgecolor=style.GREY,
                             markersize=3.5, label="breaks a constraint"))
    if not any(a.regret for a in axes):
        legend.append(Line2D([], [], marker="*", linestyle="", color=style.TEXT, markersize=6, label=base))
    style.finish_figure(
        fig, title or f"{len(done)} designs searched; {int(front.sum())} on the front",
        f"Each dot is a design's result over every run; better is {better[0]} and {better[1]}. No design beats "
        "one on the front on both objectives at once.", provenance, legend=legend)
    return fig


def _staircase(x: np.ndarray, y: np.ndarray, x_up: bool, y_up: bool) -> tuple[np.ndarray, np.ndarray]:
    """The front's edge: between neighbouring designs, through the corner worse on both objectives (the
    boundary of what the front dominates)."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    px, py = [xs[0]] if len(xs) else [], [ys[0]] if len(ys) else []
    for i in range(len(xs) - 1):
        a, b = (xs[i + 1], ys[i]), (xs[i], ys[i + 1])
        worse_x = min if x_up else max
        worse_y = min if y_up else max
        corner = a if (a[0] == worse_x(xs[i], xs[i + 1]) and a[1] == worse_y(ys[i], ys[i + 1])) else b
        px += [corner[0], xs[i + 1]]
        py += [corner[1], ys[i + 1]]
    return np.asarray(px), np.asarray(py)


def _parallel(done: pd.DataFrame, axes: Sequence[Axis], base: str, scale: float,
              provenance: style.Provenance | None, title: str | None) -> Figure:
    fig = style.new_figure()
    ax = fig.subplots()
    scaled = [_scaled(done[a.column].to_numpy(float), a, scale) for a in axes]
    columns = []
    for (values, _), axis in zip(scaled, axes, strict=True):
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        span = high - low if high > low else 1.0
        share = (values - low) / span
        columns.append(share if axis.higher_is_better else 1 - share)  # better is always up
    grid = np.column_stack(columns)
    xs = np.arange(len(axes))
    front = done["on_front"].to_numpy(bool)
    for row in grid[~front]:
        ax.plot(xs, row, color=style.LIGHT_GREY, linewidth=0.6, zorder=1)
    for row in grid[front]:
        ax.plot(xs, row, color=FRONT, linewidth=1.0, alpha=0.8, zorder=2)
    for i, ((values, _), axis) in enumerate(zip(scaled, axes, strict=True)):
        ax.axvline(i, color=style.TEXT, linewidth=0.6)
        best, worst = (np.nanmax(values), np.nanmin(values)) if axis.higher_is_better else (
            np.nanmin(values), np.nanmax(values))
        for y, value, va in ((1.0, best, "bottom"), (0.0, worst, "top")):
            ax.annotate(fmt_number(value, signed=True), (i, y), xytext=(0, 3 if va == "bottom" else -3),
                        textcoords="offset points", ha="center", va=va, fontsize=style.FONT["annotation"])
    room = 0.8 * (style.HALF_A4[0] - 0.6) / len(axes)  # inches of width each axis's label may take
    ax.set_xticks(xs, [style.wrap_label(_label(a, u, scale, prefix=False), room, style.FONT["tick"])
                       for a, (_, u) in zip(axes, scaled, strict=True)], fontsize=style.FONT["tick"])
    ax.set_yticks([])
    ax.set_ylim(-0.15, 1.15)
    ax.set_xlim(-0.3, len(axes) - 0.7)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    legend = [Line2D([], [], color=FRONT, label="on the front"),
              Line2D([], [], color=style.LIGHT_GREY, label="other designs")]
    style.finish_figure(
        fig, title or f"{len(done)} designs searched; {int(front.sum())} on the front",
        f"Each line is a design; on every axis better is up, from the worst to the best design found (the "
        f"numbers), as {'regrets' if any(a.regret for a in axes) else f'differences from {base}'}.", provenance,
        legend=legend)
    return fig
