"""Charts over time: fan charts of one metric, and the small multiples of governance activity.

A fan chart shows what the replications agree on (the median) and how far chance moves it (50% and
90% ranges), for every scenario on one axis, so a reader sees both the effect and its uncertainty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.charts import style
from sim.charts.data import (
    ChartError,
    bands,
    metric_spec,
    require_columns,
    require_rows,
    run_key,
    runs_per_scenario,
    start_year,
    yearly_flows,
)
from sim.metrics import METRICS_BY_NAME

GOVERNANCE_METRICS: tuple[str, ...] = (
    "reviews", "successful_challenges", "escalations", "remedial_notices",
    "terminations", "closures", "new_entrants", "consortia_delegated",
)


def _select(metrics: pd.DataFrame, scenarios: Sequence[str] | None) -> pd.DataFrame:
    if scenarios is None:
        return metrics
    unknown = [s for s in scenarios if s not in set(metrics["scenario"])]
    if unknown:
        raise ChartError(f"Scenario(s) {', '.join(unknown)} not in the data; it has "
                         f"{', '.join(style.scenario_order(metrics))}.")
    return metrics[metrics["scenario"].isin(scenarios)]


def series_for(metrics: pd.DataFrame, name: str, per_year: bool | None = None) -> tuple[pd.DataFrame, bool]:
    """The values a fan chart draws: quarterly for levels, per financial year for flows.

    Returns:
        A frame with run keys, ``scenario``, ``replication``, ``x`` (years from the start) and ``value``,
        and whether the values are yearly sums.
    """
    spec = metric_spec(name, metrics)
    yearly = spec.kind == "flow" if per_year is None else per_year
    if yearly and spec.kind == "flow":
        flows = yearly_flows(metrics, name)
        if not flows.empty:
            return flows.rename(columns={"year_end": "x"}), True
    keys = list(dict.fromkeys([*run_key(metrics), "scenario", "replication"]))
    rows = metrics if spec.kind == "level" else metrics[metrics["quarter"] > 0]
    out = rows[[*keys, "time_years", name]].rename(columns={"time_years": "x", name: "value"})
    return out, False


def fan_chart(
    metrics: pd.DataFrame,
    metric: str,
    *,
    scenarios: Sequence[str] | None = None,
    colours: Mapping[str, str] | None = None,
    provenance: style.Provenance | None = None,
    per_year: bool | None = None,
    layout: Literal["auto", "overlay", "panels"] = "auto",
    title: str | None = None,
) -> Figure:
    """Median and 50%/90% ranges of one metric over time, for each scenario.

    With one or two scenarios the fans share one axis. With more, overlapping bands turn to mud, so
    (``layout="auto"``) each scenario gets its own panel on a shared scale, with the baseline's median
    repeated in each as a dashed reference line.

    Args:
        metrics: the store's ``metrics`` frame (one row per run and quarter).
        metric: a name from :data:`sim.metrics.METRIC_NAMES`.
        scenarios: which scenarios to draw (default all, in the experiment's order).
        colours: scenario colours (default :func:`style.scenario_colours` of the data's order).
        provenance: footer details (default derived from the frame).
        per_year: sum a flow per financial year (the default for flows) or show it per quarter.
        layout: ``overlay`` (one axis), ``panels`` (one per scenario) or ``auto``.
        title: replaces the default title.

    Example:
        >>> fig = fan_chart(data.metrics, "outcome_mean", **experiment_style(data))  # doctest: +SKIP
        >>> fig.savefig("outcome.png")  # doctest: +SKIP
    """
    require_columns(metrics, ["scenario", "replication", "quarter", "time_years"], "A fan chart")
    spec = metric_spec(metric, metrics)
    metrics = _select(metrics, scenarios)
    require_rows(metrics, f"Fan chart of {metric}")
    colours = style.colours_for(metrics, colours)
    names = style.ordered(metrics, colours)
    series, yearly = series_for(metrics, metric, per_year)
    unit = style.display_unit(spec, series["value"], per_year=yearly)
    series = series.assign(value=unit.apply(series["value"]))
    fans = bands(series, "x")
    reps, runs = runs_per_scenario(metrics)
    if layout not in ("auto", "overlay", "panels"):
        raise ChartError(f"Unknown layout '{layout}'. Valid layouts: auto, overlay, panels.")
    panels = layout == "panels" or (layout == "auto" and len(names) > 2)

    if panels:
        ncols = 2 if len(names) > 1 else 1
        nrows = int(np.ceil(len(names) / ncols))
        fig = style.new_figure(style.HALF_A4[0], style.HALF_A4[1] * (0.62 + 0.38 * nrows))
        grid = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
        axes = [grid[i // ncols][i % ncols] for i in range(len(names))]
        for j in range(len(names), nrows * ncols):
            grid[j // ncols][j % ncols].set_visible(False)
    else:
        fig = style.new_figure()
        axes = [fig.add_subplot()] * len(names)
    reference = fans[fans["scenario"] == names[0]].sort_values("x")
    for i, (name, ax) in enumerate(zip(names, axes, strict=True)):
        band = fans[fans["scenario"] == name].sort_values("x")
        colour = colours[name]
        marker = "o" if yearly else None
        ax.fill_between(band["x"], band["q05"], band["q95"], color=colour, alpha=0.10 if panels else 0.08,
                        linewidth=0)
        ax.fill_between(band["x"], band["q25"], band["q75"], color=colour, alpha=0.25 if panels else 0.22,
                        linewidth=0)
        if panels and i > 0:
            ax.plot(reference["x"], reference["q50"], color=colours[names[0]], linewidth=1.0, linestyle="--")
        ax.plot(band["x"], band["q50"], color=colour, linewidth=1.8, marker=marker, markersize=3.5)
        if panels:
            style.panel_title(ax, name, colour)
        if i == 0 or panels:
            bottom_row = i >= len(names) - (2 if len(names) > 1 else 1)
            _time_axis(ax, series, metrics, yearly, label=(not panels) or bottom_row)
    y_label = style.axis_label(spec, unit)
    if panels:
        fig.supylabel(style.wrap_label(y_label, fig.get_size_inches()[1] - 1.6, style.FONT["label"]),
                      fontsize=style.FONT["label"], color=style.TEXT)
    else:
        axes[0].set_ylabel(style.wrap_label(y_label, style.HALF_A4[1] - 1.8, style.FONT["label"]),
                           fontsize=style.FONT["label"], color=style.TEXT)
    what = "summed per financial year" if yearly else ("per quarter" if spec.kind == "flow" else "each quarter")
    subtitle = (f"Line: median of {reps} {runs}; shading: middle 50% and 90% of them. "
                f"Values {what}.")
    if panels and len(names) > 1:
        subtitle += f" Dashed: the median of {names[0]}, for reference."
    if spec.kind == "level" and metrics["quarter"].min() == 0:
        subtitle += " Time 0 is the starting state."
    default_title = f"{spec.label} over time, by scenario"
    prov = provenance or style.Provenance.from_frames(metrics)
    legend = [] if panels else style.scenario_handles(names, colours)
    return style.finish_figure(fig, title or default_title, subtitle, prov, legend=legend)


def _time_axis(ax: Axes, series: pd.DataFrame, metrics: pd.DataFrame, yearly: bool, label: bool) -> None:
    """Financial-year ticks for yearly sums, whole years since the start otherwise."""
    style.style_axes(ax)
    if yearly:
        years = series.drop_duplicates("x").sort_values("x")
        ax.set_xticks(years["x"].to_numpy(float), [fy_label(v) for v in years["financial_year"]])
        text = "Financial year (April to March)"
        ax.margins(x=0.06)  # room for the last year's label
    else:
        ax.xaxis.get_major_locator().set_params(integer=True)
        text = style.years_label(start_year(metrics))
        ax.margins(x=0.02)
    if label:
        ax.set_xlabel(text, fontsize=style.FONT["label"], color=style.TEXT)
        ax.tick_params(labelbottom=True)


def fy_label(value: object) -> str:
    """``2011/12`` for a financial year given as 2011 or already as a label."""
    text = str(value)
    try:
        year = int(float(text))
    except ValueError:
        return text
    return f"{year}/{(year + 1) % 100:02d}"


def governance_chart(
    metrics: pd.DataFrame,
    *,
    metrics_shown: Sequence[str] = GOVERNANCE_METRICS,
    scenarios: Sequence[str] | None = None,
    colours: Mapping[str, str] | None = None,
    provenance: style.Provenance | None = None,
    title: str | None = None,
) -> Figure:
    """Governance activity each quarter: reviews, challenges, escalations, notices, terminations, closures.

    One small panel per measure (each with its own scale, since a consortium makes dozens of reviews for
    every termination), median line and middle-50% band for each scenario.
    """
    require_columns(metrics, ["scenario", "replication", "quarter", "time_years"], "The governance chart")
    for name in metrics_shown:
        metric_spec(name, metrics)
    metrics = _select(metrics, scenarios)
    require_rows(metrics, "Governance chart")
    colours = style.colours_for(metrics, colours)
    names = style.ordered(metrics, colours)
    reps, runs = runs_per_scenario(metrics)

    n = len(metrics_shown)
    ncols = 4 if n > 6 else 3 if n > 4 else max(1, n)
    nrows = int(np.ceil(n / ncols))
    width_in = style.HALF_A4[0]
    fig = style.new_figure(width_in, style.HALF_A4[1] * (1.25 if nrows > 1 else 0.85))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    for i, name in enumerate(metrics_shown):
        ax = axes[i // ncols][i % ncols]
        spec = METRICS_BY_NAME[name]
        rows = metrics if spec.kind == "level" else metrics[metrics["quarter"] > 0]
        fans = bands(rows.rename(columns={name: "value"}), "time_years", levels=(0.25, 0.5, 0.75))
        for scen in names:
            band = fans[fans["scenario"] == scen].sort_values("time_years")
            ax.fill_between(band["time_years"], band["q25"], band["q75"], color=colours[scen], alpha=0.2,
                            linewidth=0)
            ax.plot(band["time_years"], band["q50"], color=colours[scen], linewidth=1.3)
        style.style_axes(ax)
        unit = style.display_unit(spec, per_year=False)
        style.panel_title(ax, style.wrap_label(spec.label, width_in / ncols - 0.3, style.FONT["label"]))
        ax.set_ylabel(unit.text, fontsize=style.FONT["annotation"])
        ax.set_ylim(bottom=0)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if i + ncols >= n:
            ax.tick_params(labelbottom=True)
            ax.set_xlabel(style.wrap_label(style.years_label(start_year(metrics)), width_in / ncols - 0.3),
                          fontsize=style.FONT["annotation"])
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    subtitle = (f"Counts in each quarter (consortia with delegation: at the quarter's end). Line: median of "
                f"{reps} {runs}; shading: middle 50%. Each panel has its own scale.")
    prov = provenance or style.Provenance.from_frames(metrics)
    return style.finish_figure(fig, title or "Governance activity over time, by scenario", subtitle, prov,
                               legend=style.scenario_handles(names, colours))
