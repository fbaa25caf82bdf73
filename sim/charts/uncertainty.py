"""Charts of an uncertainty comparison: what a scenario's difference hinges on, and where it fails.

The drivers chart ranks assumptions by their Sobol indices for one scenario and metric (first order:
alone; total: with interactions), and says how much of the variance the surrogate behind them explains,
so a reader does not over-read indices that describe only part of the spread. The box chart shows PRIM's
boxes as ranges on each restricted assumption's full range, with the box's coverage and density; the
trade-off chart shows the peeling trajectory PRIM walked, so a reader can see what a simpler or a
denser box would have cost.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.charts import style
from sim.charts.data import ChartError, require_columns
from sim.charts.sensitivity import SOBOL_COLOURS
from sim.docs import parameter_label
from sim.errors import SimError
from sim.metrics import metric as metric_registry
from sim.uncertainty.discovery import Discovery, fmt

BOX_COLOUR = "#0072B2"
VISIBLE = 0.005  # smaller total indices are left out of the drivers chart (they would draw as nothing)


def _metric_label(name: str) -> str:
    try:
        return metric_registry(name).label
    except SimError:
        return name


def _percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def drivers_chart(
    drivers: pd.DataFrame,
    scenario: str,
    metric: str,
    *,
    top: int = 10,
    provenance: style.Provenance | None = None,
    title: str | None = None,
) -> Figure:
    """First-order and total Sobol indices of one scenario's difference in one metric, largest total first.

    Args:
        drivers: the drivers table (:func:`sim.uncertainty.drivers.drivers_frame`).
        scenario, metric: which difference to draw.
        top: show at most this many assumptions.
        provenance: footer details.
        title: replaces the default title.
    """
    if drivers.empty:
        raise ChartError("Drivers chart: the drivers table is empty (no scenario, metric or draw to draw).")
    require_columns(drivers, ["scenario", "metric", "parameter", "first_order", "total", "explained"],
                    "A drivers chart")
    if scenario not in set(drivers["scenario"].astype(str)):
        raise ChartError(f"Drivers chart: no scenario '{scenario}'; the table has "
                         f"{', '.join(map(str, pd.unique(drivers['scenario'])))}.")
    own = drivers[drivers["scenario"].astype(str) == scenario]
    if metric not in set(own["metric"].astype(str)):
        raise ChartError(f"Drivers chart: no metric '{metric}' for scenario '{scenario}'; it has "
                         f"{', '.join(map(str, pd.unique(own['metric'])))}.")
    rows = own[own["metric"].astype(str) == metric]
    explained = float(rows["explained"].iloc[0])
    rows = rows.sort_values(["total", "first_order"], ascending=False, kind="stable")
    shown = rows[rows["total"] >= VISIBLE].head(max(1, top))
    hidden = len(rows) - max(1, len(shown))
    rows = shown if len(shown) else rows.head(1)
    label = _metric_label(metric)
    fig = style.new_figure()
    ax = fig.add_subplot()
    if float(rows["total"].max()) <= 0:
        why = ("The difference is the same in every draw:\nno assumption drives it." if explained >= 1 else
               f"No assumption explains the difference's spread\n(the surrogate reproduces {_percent(explained)} "
               "of it).")
        ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes,
                fontsize=style.FONT["label"], color=style.MUTED)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        handles: list = []
    else:
        slots = max(len(rows), 5)  # a chart of one or two assumptions keeps bars of the usual thickness
        y = slots - 1 - np.arange(len(rows))
        h = 0.38
        ax.set_ylim(-0.6, slots - 0.4)
        for offset, col, key in ((h / 2, "total", "ST"), (-h / 2, "first_order", "S1")):
            ax.barh(y + offset, rows[col].to_numpy(float), height=h, color=SOBOL_COLOURS[key])
        ax.set_yticks(y, [style.wrap_label(parameter_label(str(p)), 2.2, style.FONT["tick"])
                          for p in rows["parameter"]])
        ax.set_xlim(0, min(1.0, max(0.1, float(rows["total"].max()) * 1.12)))
        ax.set_xlabel("Sobol index (share of the variance of the difference across draws)",
                      fontsize=style.FONT["label"])
        style.style_axes(ax, grid_axis="x")
        handles = [Patch(color=SOBOL_COLOURS["ST"], label="total (with interactions)"),
                   Patch(color=SOBOL_COLOURS["S1"], label="first order (alone)")]
    if handles:
        read = (f"How much of the spread of {scenario}'s difference from the baseline in {label.lower()} each "
                f"assumption explains. Note: the surrogate these indices come from reproduces "
                f"{_percent(explained)} of that spread on draws it did not see; the rest is replication noise or "
                "structure it missed.")
        if hidden:
            read += f" {hidden} other assumption{'s' if hidden != 1 else ''} not shown (smaller indices)."
    else:
        read = f"{scenario}'s difference from the baseline in {label.lower()} across the draws of the assumptions."
    prov = provenance or style.Provenance()
    return style.finish_figure(fig, title or f"What {scenario}'s difference in {label.lower()} hinges on",
                               read, prov, legend=handles)


def _require_boxes(discovery: Discovery, what: str) -> None:
    if not isinstance(discovery, Discovery):
        raise ChartError(f"{what} needs the result of sim.uncertainty.discovery.discover.")
    if discovery.boxes.empty:
        raise ChartError(f"{what}: there is no box to draw. {discovery.message}")


def boxes_chart(
    discovery: Discovery,
    *,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    provenance: style.Provenance | None = None,
    title: str | None = None,
) -> Figure:
    """PRIM's boxes: each restricted assumption's limits drawn on its full range, one panel per box.

    Args:
        discovery: the result of :func:`sim.uncertainty.discovery.discover`.
        ranges: each assumption's full range (e.g. its distribution's support); default the draws' range.
        provenance: footer details.
        title: replaces the default title.
    """
    _require_boxes(discovery, "Box chart")
    spans = {**discovery.ranges, **dict(ranges or {})}
    groups = list(discovery.boxes.groupby("box", sort=True))
    counts = [len(rows) for _, rows in groups]
    height = min(24 * style.CM, max(7.5 * style.CM, (4.6 + 0.62 * sum(counts) + 0.9 * len(groups)) * style.CM))
    fig = style.new_figure(height_in=height)
    axes = fig.subplots(len(groups), 1, squeeze=False, gridspec_kw={"height_ratios": [c + 0.6 for c in counts]})
    for ax, (number, rows) in zip(axes[:, 0], groups, strict=True):
        y = np.arange(len(rows))[::-1]
        names = []
        for yi, r in zip(y, rows.itertuples(index=False), strict=True):
            lo, hi = spans.get(str(r.parameter), (float(r.low), float(r.high)))
            width = hi - lo if hi > lo else 1.0
            a, b = (float(r.low) - lo) / width, (float(r.high) - lo) / width
            a, b = max(0.0, a), min(1.0, b)
            ax.barh(yi, 1.0, left=0.0, height=0.55, color=style.LIGHT_GREY)
            ax.barh(yi, b - a, left=a, height=0.55, color=BOX_COLOUR)
            if a > 0:
                ax.text(a - 0.01, yi, fmt(float(r.low)), ha="right", va="center",
                        fontsize=style.FONT["annotation"], color=style.TEXT)
            if b < 1:
                ax.text(b + 0.01, yi, fmt(float(r.high)), ha="left", va="center",
                        fontsize=style.FONT["annotation"], color=style.TEXT)
            names.append(f"{parameter_label(str(r.parameter))}\n[{fmt(lo)} to {fmt(hi)}]")
        ax.set_yticks(y, names)
        ax.set_xlim(-0.12, 1.12)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["min", "", "", "", "max"])
        style.style_axes(ax, grid_axis="")
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
        ax.tick_params(axis="y", labelsize=style.FONT["annotation"])
        first = rows.iloc[0]
        short = " (short of the density threshold)" if int(number) in discovery.short_of_threshold else ""
        style.panel_title(ax, f"Box {int(number)}: coverage {_percent(float(first['coverage']))}, "
                              f"density {_percent(float(first['density']))}{short}")
    axes[-1, 0].set_xlabel("Position in the assumption's range (limits labelled in its own units)",
                           fontsize=style.FONT["label"])
    read = (f"Cases: draws where the difference is {discovery.condition} ({discovery.n_cases} of "
            f"{discovery.n_draws}). Blue: the box's range on each assumption it restricts; grey: the full range. "
            "Density: share of draws in the box that are cases; coverage: share of all cases in the box.")
    prov = provenance or style.Provenance()
    return style.finish_figure(fig, title or f"Where the difference is {discovery.condition}: PRIM boxes",
                               read, prov, legend=[Patch(color=BOX_COLOUR, label="inside the box"),
                                                   Patch(color=style.LIGHT_GREY, label="full range")])


def tradeoff_chart(
    discovery: Discovery,
    *,
    provenance: style.Provenance | None = None,
    title: str | None = None,
) -> Figure:
    """PRIM's peeling trajectory: coverage against density, coloured by restricted dimensions, chosen point marked.

    Args:
        discovery: the result of :func:`sim.uncertainty.discovery.discover`.
        provenance: footer details.
        title: replaces the default title.
    """
    _require_boxes(discovery, "Trade-off chart")
    traj = discovery.trajectory
    require_columns(traj, ["box", "coverage", "density", "res_dim", "chosen"], "A trade-off chart")
    boxes = [int(b) for b in pd.unique(traj["box"])]
    fig = style.new_figure()
    axes = fig.subplots(1, len(boxes), squeeze=False, sharey=True)
    top = int(traj["res_dim"].max())
    colours = [style.OKABE_ITO[1:][i % 7] for i in range(top + 1)]
    cmap = ListedColormap(colours) if top < 7 else None
    levels = np.arange(-0.5, top + 1.5)
    norm = BoundaryNorm(levels, cmap.N) if cmap is not None else None
    mesh = None
    for ax, number in zip(axes[0], boxes, strict=True):
        own = traj[traj["box"] == number]
        ax.plot(own["coverage"], own["density"], color=style.LIGHT_GREY, linewidth=0.8, zorder=1)
        mesh = ax.scatter(own["coverage"], own["density"], c=own["res_dim"], s=14, zorder=2,
                          cmap=cmap if cmap is not None else style.SEQUENTIAL_CMAP, norm=norm,
                          vmin=None if norm is not None else 0, vmax=None if norm is not None else top,
                          edgecolors="white", linewidths=0.3)
        chosen = own[own["chosen"].astype(bool)]
        ax.scatter(chosen["coverage"], chosen["density"], s=70, facecolors="none", edgecolors=style.ALARM,
                   linewidths=1.4, zorder=3)
        ax.axhline(discovery.threshold, color=style.GREY, linewidth=0.8, linestyle="--", zorder=0)
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("Coverage (share of all cases in the box)", fontsize=style.FONT["label"])
        style.style_axes(ax, grid_axis="both")
        if len(boxes) > 1:
            style.panel_title(ax, f"Box {number}")
    axes[0, 0].set_ylabel("Density (share of the box's\ndraws that are cases)", fontsize=style.FONT["label"])
    if mesh is not None:
        bar = fig.colorbar(mesh, ax=list(axes[0]), pad=0.02, ticks=range(top + 1) if top < 12 else None)
        bar.set_label("Restricted assumptions", fontsize=style.FONT["annotation"])
        bar.ax.tick_params(labelsize=style.FONT["tick"])
    handles = [Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor="none",
                      markeredgecolor=style.ALARM, label="box reported"),
               Line2D([], [], color=style.GREY, linestyle="--",
                      label=f"density threshold {_percent(discovery.threshold)}")]
    read = ("Each point is a box on PRIM's peeling trajectory, from the whole space (coverage 100%) to ever "
            "smaller, denser boxes. The box reported is the one with the highest coverage that reaches the "
            f"threshold, less any limit that is not significant. Cases: difference {discovery.condition}.")
    prov = provenance or style.Provenance()
    return style.finish_figure(fig, title or "PRIM's trade-off between coverage and density", read, prov,
                               legend=handles)
