"""Which assumptions matter: sensitivity indices, and a metric's response to one or two parameters.

Sobol indices split the variance of a metric between parameters (first-order ``S1``: alone; total
``ST``: with all its interactions); Morris screening ranks parameters by the mean absolute elementary
effect ``mu*`` with ``sigma`` flagging interactions or non-linearity. Both come with intervals from
SALib's bootstrap, drawn here so that a reader does not over-read a small index. A sweep shows the
metric at the horizon against the swept parameter(s), with replication noise visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.charts import style
from sim.charts.data import (
    ChartError,
    horizon_quarter,
    horizon_values,
    metric_spec,
    require_columns,
    require_rows,
    summarise_runs,
)
from sim.docs import parameter_label

SOBOL_COLOURS = {"S1": "#56B4E9", "ST": "#0072B2"}


def _method(frame: pd.DataFrame, method: str | None) -> str:
    methods = [str(m) for m in pd.unique(frame["method"])]
    if method is None:
        if len(methods) != 1:
            raise ChartError(f"The sensitivity results hold methods {', '.join(methods)}; choose one.")
        return methods[0]
    if method not in methods:
        raise ChartError(f"No '{method}' results; the sensitivity frame has {', '.join(methods) or 'none'}.")
    return method


def sensitivity_chart(
    sensitivity: pd.DataFrame,
    metric: str,
    *,
    method: str | None = None,
    top: int = 12,
    provenance: style.Provenance | None = None,
    title: str | None = None,
) -> Figure:
    """Sobol (S1 and ST) or Morris (mu* and sigma) indices of one metric, largest first, with intervals.

    Args:
        sensitivity: the store's ``sensitivity`` frame.
        metric: the metric whose indices to draw.
        method: ``sobol`` or ``morris`` (default: the only one present).
        top: show at most this many parameters (the most influential).
        provenance: footer details.
        title: replaces the default title.
    """
    require_columns(sensitivity, ["metric", "parameter", "method"], "A sensitivity chart")
    spec = metric_spec(metric)
    rows = sensitivity[sensitivity["metric"] == metric]
    if rows.empty:
        present = ", ".join(str(m) for m in pd.unique(sensitivity["metric"])) or "none"
        raise ChartError(f"No sensitivity results for metric '{metric}'; results exist for: {present}.")
    method = _method(rows, method)
    rows = rows[rows["method"] == method]
    fig = style.new_figure()
    ax = fig.add_subplot()
    if method == "sobol":
        require_columns(rows, ["S1", "S1_conf", "ST", "ST_conf"], "A Sobol chart")
        rows = rows.sort_values("ST", ascending=False).head(top)
        y = np.arange(len(rows))[::-1]
        h = 0.38
        for offset, col in ((h / 2, "ST"), (-h / 2, "S1")):
            ax.barh(y + offset, rows[col], height=h, color=SOBOL_COLOURS[col],
                    xerr=rows[f"{col}_conf"].to_numpy(float), error_kw={"elinewidth": 0.8, "ecolor": style.MUTED,
                                                                        "capsize": 1.5})
        ax.axvline(0, color=style.GREY, linewidth=0.8)
        ax.set_xlabel("Sobol index (share of the metric's variance)", fontsize=style.FONT["label"])
        handles = [Patch(color=SOBOL_COLOURS["ST"], label="total effect ST (with interactions)"),
                   Patch(color=SOBOL_COLOURS["S1"], label="first-order S1 (alone)")]
        read = ("Bars: index; lines: 95% bootstrap interval. ST much above S1 means the parameter acts through "
                "interactions. The indices are estimates from a finite sample: one below 0 or above 1 is sampling "
                "error, about 0 (or 1) within its interval.")
    elif method == "morris":
        require_columns(rows, ["mu_star", "mu_star_conf", "sigma"], "A Morris chart")
        rows = rows.sort_values("mu_star", ascending=False).head(top)
        y = np.arange(len(rows))[::-1]
        unit = style.display_unit(spec, rows[["mu_star", "sigma"]].to_numpy(float), per_year=True,
                                  difference=True)
        ax.barh(y, unit.apply(rows["mu_star"]), height=0.6, color=SOBOL_COLOURS["ST"],
                xerr=unit.apply(rows["mu_star_conf"].to_numpy(float)),
                error_kw={"elinewidth": 0.8, "ecolor": style.MUTED, "capsize": 1.5})
        ax.plot(unit.apply(rows["sigma"]), y, linestyle="none", marker="D", markersize=4, color=style.ALARM)
        ax.set_xlabel(style.wrap_label(f"Effect on {spec.label.lower()} of moving the parameter across its "
                                       f"range ({unit.text})", style.HALF_A4[0] - 2.2, style.FONT["label"]),
                      fontsize=style.FONT["label"])
        handles = [Patch(color=SOBOL_COLOURS["ST"], label="μ* (mean absolute effect)"),
                   Line2D([], [], linestyle="none", marker="D", color=style.ALARM, label="σ (spread of effects)")]
        read = ("Bars: μ* with 95% bootstrap interval; diamonds: σ. σ near or above μ* means interactions or a "
                "curved response.")
    else:
        raise ChartError(f"Unknown sensitivity method '{method}'. Valid methods: sobol, morris.")
    ax.set_yticks(y, [parameter_label(p) for p in rows["parameter"]])
    ax.set_ylabel("Parameter (scenario path)", fontsize=style.FONT["label"])
    style.style_axes(ax, grid_axis="x")
    prov = provenance or style.Provenance()
    name = "Sobol" if method == "sobol" else "Morris"
    return style.finish_figure(fig, title or f"What drives {spec.label.lower()}: {name} sensitivity indices",
                               read, prov, legend=handles)


def sweep_values(
    metrics: pd.DataFrame, runs: pd.DataFrame, design: pd.DataFrame, metric: str, horizon: int | None = None,
) -> pd.DataFrame:
    """One row per run: the metric at the horizon joined to the run's design point's parameter values."""
    require_columns(runs, ["run_id", "point_id"], "A sweep chart (runs)")
    require_columns(design, ["point_id"], "A sweep chart (design)")
    require_columns(metrics, ["run_id"], "A sweep chart (metrics)")
    values = horizon_values(metrics, metric, horizon)
    values = values.merge(runs[["run_id", "point_id"]], on="run_id", how="inner")
    return values.merge(design, on="point_id", how="inner")


MAX_LEVELS = 12  # more distinct values of a parameter than this: a scattered design, not a grid
BINS = 6


def sweep_chart(
    metrics: pd.DataFrame,
    runs: pd.DataFrame,
    design: pd.DataFrame,
    metric: str,
    parameters: Sequence[str] | None = None,
    *,
    horizon: int | None = None,
    colours: Mapping[str, str] | None = None,
    provenance: style.Provenance | None = None,
    title: str | None = None,
) -> Figure:
    """A metric at the horizon against one swept parameter (line and interval) or two (heat map).

    Args:
        metrics, runs, design: the store's frames of a sweep (runs carry ``point_id``).
        metric: the metric on the vertical axis (or the colour, for two parameters).
        parameters: one or two design columns (default: the design's, if it has one or two).
        horizon: quarter at which the metric is read (default the end).
        colours: scenario colours (one line per scenario in a one-parameter sweep).
        provenance: footer details.
        title: replaces the default title.
    """
    spec = metric_spec(metric, metrics)
    require_rows(metrics, "Sweep chart")
    available = [c for c in design.columns if c != "point_id"]
    if parameters is None:
        if len(available) > 2:
            raise ChartError(f"The sweep varies {len(available)} parameters ({', '.join(available)}); "
                             "choose one or two to draw.")
        parameters = available
    parameters = list(parameters)
    unknown = [p for p in parameters if p not in available]
    if unknown or not 1 <= len(parameters) <= 2:
        raise ChartError(f"Sweep chart: give one or two of the swept parameters ({', '.join(available)}); "
                         f"got {', '.join(parameters) or 'none'}.")
    h = horizon_quarter(metrics) if horizon is None else int(horizon)
    values = sweep_values(metrics, runs, design, metric, h)
    unit = style.display_unit(spec, values["value"], per_year=True)
    values = values.assign(value=unit.apply(values["value"]))
    reps = int(values.groupby("point_id")["value"].size().min())
    fig = style.new_figure()
    ax = fig.add_subplot()
    read_at = f"at quarter {h}" if spec.kind == "level" else f"in the year to quarter {h}"
    if len(parameters) == 1:
        par = parameters[0]
        colours = style.colours_for(values, colours)
        names = style.ordered(values, colours)
        # Other parameters vary between the points of a Latin hypercube or Sobol design, so joining the points
        # in the order of this one draws a zig-zag: there, the line is the mean within bins of this parameter.
        scattered = values[par].nunique() > MAX_LEVELS
        for scen in names:
            own = values[values["scenario"] == scen]
            colour = colours[scen]
            ax.scatter(own[par], own["value"], s=6, color=colour, alpha=0.35, linewidths=0)
            if scattered:
                bins = pd.qcut(own[par], BINS, duplicates="drop")
                table = summarise_runs(own.assign(bin=bins), ["bin"])
                table[par] = own.groupby(bins, observed=True)[par].mean().to_numpy()
                table = table.sort_values(par)
            else:
                table = summarise_runs(own, [par]).sort_values(par)
            if table["ci_low"].notna().any():
                ax.fill_between(table[par], table["ci_low"], table["ci_high"], color=colour, alpha=0.2, linewidth=0)
            ax.plot(table[par], table["mean"], color=colour, linewidth=1.8, marker="o", markersize=3)
        ax.set_xlabel(parameter_label(par, with_unit=True), fontsize=style.FONT["label"])
        ax.set_ylabel(style.wrap_label(style.axis_label(spec, unit), style.HALF_A4[1] - 2.2, style.FONT["label"]),
                      fontsize=style.FONT["label"])
        style.style_axes(ax)
        handles = style.scenario_handles(names, colours) if len(names) > 1 else []
        line = (f"line = mean within {BINS} bins of equal size, with 95% interval (the other parameters vary "
                "between runs)" if scattered else
                f"line = mean over replications ({reps} per point) with 95% interval")
        subtitle = f"{spec.label} {read_at}: {line}; dots = single runs."
        what = f"{spec.label} against {parameter_label(par)}"
    else:
        px, py = parameters
        grid = values.groupby([px, py])["value"].mean().reset_index()
        xs, ys = np.sort(grid[px].unique()), np.sort(grid[py].unique())
        if len(xs) * len(ys) == len(grid):
            z = grid.pivot(index=py, columns=px, values="value").reindex(index=ys, columns=xs).to_numpy(float)
            mesh = ax.pcolormesh(_edges(xs), _edges(ys), z, cmap=style.SEQUENTIAL_CMAP, shading="flat")
            if z.size <= 48:  # small grids: write the value in each cell
                middle = (np.nanmin(z) + np.nanmax(z)) / 2
                for (iy, ix), value in np.ndenumerate(z):
                    ax.text(xs[ix], ys[iy], f"{value:.3g}", ha="center", va="center",
                            fontsize=style.FONT["annotation"], color="white" if value < middle else "black")
        else:  # not a grid (Latin hypercube): colour each design point
            mesh = ax.scatter(grid[px], grid[py], c=grid["value"], cmap=style.SEQUENTIAL_CMAP, s=28,
                              edgecolors="white", linewidths=0.4)
        bar = fig.colorbar(mesh, ax=ax, pad=0.02)
        bar.set_label(style.axis_label(spec, unit), fontsize=style.FONT["annotation"])
        bar.ax.tick_params(labelsize=style.FONT["tick"])
        ax.set_xlabel(parameter_label(px, with_unit=True), fontsize=style.FONT["label"])
        ax.set_ylabel(parameter_label(py, with_unit=True), fontsize=style.FONT["label"])
        style.style_axes(ax, grid_axis="")
        subtitle = (f"Colour: mean {spec.label.lower()} {read_at} over {reps} replication{'s' if reps != 1 else ''} "
                    "per design point.")
        what = f"{spec.label} across {parameter_label(px)} and {parameter_label(py)}"
        handles = []
    prov = provenance or style.Provenance.from_frames(values)
    return style.finish_figure(fig, title or what, subtitle, prov, legend=handles)


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges half-way between grid values, so each cell is centred on its design value."""
    centres = np.asarray(centres, float)
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mids = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mids[0]], mids, [2 * centres[-1] - mids[-1]]])
