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
    keys = list(dict.fromkeys([*run_key(metrics), "scenario", "replication",
                               *(["point_id"] if "point_id" in metrics else [])]))
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
    difference: bool = False,
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
        difference: draw each scenario's paired difference from the first (the baseline) instead of its
            level, on one axis: for money, where the question is what a reform costs or saves and levels
            that differ by a fraction of a per cent would look the same.

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
    scale = provenance.scale if provenance is not None else None
    if difference and len(names) > 1:
        series = _paired(series, names[0])
        names = names[1:]
        layout = "overlay"
    else:
        difference = False
    unit = style.display_unit(spec, series["value"], per_year=yearly, difference=difference, scale=scale)
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
    if difference:
        axes[0].axhline(0, color=colours[style.ordered(metrics, colours)[0]], linewidth=1.0, linestyle="--")
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
            width = fig.get_size_inches()[0] / (2 if panels and len(names) > 1 else 1) - 0.7
            _time_axis(ax, series, metrics, yearly, label=(not panels) or bottom_row, width_in=width)
    y_label = style.axis_label(spec, unit, prefix="Difference in " if difference else "")
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
    if difference:
        base = style.ordered(metrics, colours)[0]
        default_title = f"{spec.label}: difference from {base} over time"
        subtitle = (f"Line: median of the paired differences from {base} (dashed: no difference) over {reps} "
                    f"{runs}; shading: middle 50% and 90% of them. Values {what}.")
        if scale is not None and 0 < scale < 1:
            subtitle += f" For England: the runs simulate {scale * 100:g}% of it."
    prov = provenance or style.Provenance.from_frames(metrics)
    legend = [] if panels else style.scenario_handles(names, colours)
    return style.finish_figure(fig, title or default_title, subtitle, prov, legend=legend)


def _paired(series: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each run's value minus the baseline's at the same replication (and draw) and time."""
    keys = [c for c in ("point_id", "replication") if c in series.columns] + ["x"]
    base = series[series["scenario"] == baseline][[*keys, "value"]].rename(columns={"value": "base"})
    others = series[series["scenario"] != baseline].merge(base, on=keys, how="inner")
    return others.assign(value=others["value"] - others["base"]).drop(columns="base")


def _time_axis(ax: Axes, series: pd.DataFrame, metrics: pd.DataFrame, yearly: bool, label: bool,
               width_in: float = style.HALF_A4[0] - 0.7) -> None:
    """Financial-year ticks for yearly sums (every k-th year, as many as fit the panel's width without
    touching), whole years since the start otherwise."""
    style.style_axes(ax)
    if yearly:
        years = series.drop_duplicates("x").sort_values("x")
        labels = [fy_label(v) for v in years["financial_year"]]
        room = style.text_width_in("2011/12 ", style.FONT["tick"]) * 1.3
        step = max(1, int(np.ceil(len(labels) * room / max(width_in, 0.5))))
        keep = slice(None, None, step)
        ax.set_xticks(years["x"].to_numpy(float)[keep], labels[keep])
        ax.set_xticks(years["x"].to_numpy(float), minor=True)
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


def constant(metrics: pd.DataFrame, name: str) -> bool:
    """Whether a series never changes over time in any run: a setting (consortia delegated under "all"),
    not an outcome, so a chart of it would say nothing the scenario descriptions do not."""
    keys = run_key(metrics)
    rows = metrics[metrics["quarter"] > 0] if METRICS_BY_NAME[name].kind == "flow" else metrics
    if rows.empty:
        return True
    return bool((rows.groupby(keys)[name].nunique(dropna=False) <= 1).all())


def governance_chart(
    metrics: pd.DataFrame,
    *,
    metrics_shown: Sequence[str] = GOVERNANCE_METRICS,
    scenarios: Sequence[str] | None = None,
    colours: Mapping[str, str] | None = None,
    provenance: style.Provenance | None = None,
    title: str | None = None,
) -> Figure:
    """Governance activity over time: reviews, challenges, escalations, notices, terminations, closures.

    One small panel per measure (each with its own scale, since a consortium makes dozens of reviews for
    every termination), median line and middle-50% band for each scenario. Counts are summed per
    financial year: the board's decisions (notices, terminations, procurement) come once a year, so
    quarterly counts would draw them as saw-teeth. A measure that never changes in any run (consortia
    delegated, where delegation is all or nothing) is left out.
    """
    require_columns(metrics, ["scenario", "replication", "quarter", "time_years"], "The governance chart")
    for name in metrics_shown:
        metric_spec(name, metrics)
    metrics = _select(metrics, scenarios)
    require_rows(metrics, "Governance chart")
    colours = style.colours_for(metrics, colours)
    names = style.ordered(metrics, colours)
    reps, runs = runs_per_scenario(metrics)
    shown = [m for m in metrics_shown if not constant(metrics, m)] or list(metrics_shown[:1])

    n = len(shown)
    ncols = 4 if n > 6 else 3 if n > 4 else max(1, n)
    nrows = int(np.ceil(n / ncols))
    width_in = style.HALF_A4[0]
    fig = style.new_figure(width_in, style.HALF_A4[1] * (1.25 if nrows > 1 else 0.85))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    yearly_any = False
    for i, name in enumerate(shown):
        ax = axes[i // ncols][i % ncols]
        spec = METRICS_BY_NAME[name]
        series, yearly = series_for(metrics, name)
        yearly_any |= yearly
        fans = bands(series, "x", levels=(0.25, 0.5, 0.75))
        for scen in names:
            band = fans[fans["scenario"] == scen].sort_values("x")
            ax.fill_between(band["x"], band["q25"], band["q75"], color=colours[scen], alpha=0.2, linewidth=0)
            ax.plot(band["x"], band["q50"], color=colours[scen], linewidth=1.3, marker="o" if yearly else None,
                    markersize=2)
        style.style_axes(ax)
        unit = style.display_unit(spec, per_year=yearly)
        style.panel_title(ax, style.wrap_label(spec.label, width_in / ncols - 0.3, style.FONT["label"]))
        ax.set_ylabel(style.wrap_label(unit.text, 1.6), fontsize=style.FONT["annotation"])
        ax.set_ylim(bottom=0)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if i + ncols >= n:
            ax.tick_params(labelbottom=True)
            ax.set_xlabel(style.wrap_label(style.years_label(start_year(metrics), yearly=yearly),
                                           width_in / ncols - 0.3), fontsize=style.FONT["annotation"])
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    left_out = [METRICS_BY_NAME[m].label.lower() for m in metrics_shown if m not in shown]
    subtitle = ("Counts summed per financial year, at its end" if yearly_any else "Counts in each quarter")
    subtitle += (f". Line: median of {reps} {runs}; shading: middle 50%. Each panel has its own scale.")
    if left_out:
        subtitle += f" Not shown, as they never change: {', '.join(left_out)}."
    prov = provenance or style.Provenance.from_frames(metrics)
    return style.finish_figure(fig, title or "Governance activity over time, by scenario", subtitle, prov,
                               legend=style.scenario_handles(names, colours))
