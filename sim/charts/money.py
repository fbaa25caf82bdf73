"""Money per scenario: what each reform adds to or saves on QOF payments, the premium, management and review
costs, prescribing and the total, against the baseline.

Each item gets its own panel and scale, because they differ by orders of magnitude (prescribing is
billions, reviews are thousands) and a shared axis would flatten the small ones to nothing. Values are
yearly: each flow summed over the four quarters ending at the horizon, mean over replications with a
95% confidence interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.charts import style
from sim.charts.data import (
    ChartError,
    horizon_quarter,
    horizon_values,
    metric_spec,
    require_columns,
    require_rows,
    runs_per_scenario,
)
from sim.charts.data import summarise_runs as _summarise
from sim.numbers import fmt_quantity

MONEY_METRICS: tuple[str, ...] = (
    "qof_payments_gbp", "quality_premium_gbp", "management_cost_gbp", "review_cost_gbp",
    "prescribing_spend_gbp", "total_cost_gbp",
)


def money_table(
    metrics: pd.DataFrame, items: Sequence[str] = MONEY_METRICS, horizon: int | None = None,
    scale: float | None = None,
) -> pd.DataFrame:
    """Yearly money per scenario at the horizon: ``metric, scenario, mean, ci_low, ci_high, n`` in GBP
    (for England when ``scale``, the runs' share of it, is below 1)."""
    from sim.numbers import england_factor

    frames = []
    for name in items:
        values = horizon_values(metrics, name, horizon)
        values["value"] = values["value"] * england_factor(metric_spec(name), scale)
        table = _summarise(values, ["scenario"])
        table.insert(0, "metric", name)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def money_differences(metrics: pd.DataFrame, items: Sequence[str] = MONEY_METRICS, horizon: int | None = None,
                      baseline: str | None = None, scale: float | None = None) -> pd.DataFrame:
    """Each scenario's paired difference from the baseline in yearly money at the horizon (GBP, for England
    when ``scale`` is below 1): ``metric, scenario, mean, ci_low, ci_high, n`` (a t-interval over the
    paired runs: same replication, and draw, as the baseline's)."""
    from sim.charts.data import mean_ci
    from sim.numbers import england_factor

    rows = []
    order = style.scenario_order(metrics)
    base = baseline or order[0]
    pair = [c for c in ("point_id", "replication") if c in metrics.columns]
    for name in items:
        values = horizon_values(metrics, name, horizon, extra_keys=[c for c in pair if c != "replication"])
        values["value"] = values["value"] * england_factor(metric_spec(name), scale)
        keyed = values.set_index(["scenario", *pair])["value"]
        reference = keyed.xs(base, level="scenario")
        for scen in order:
            if scen == base:
                continue
            diff = (keyed.xs(scen, level="scenario") - reference).dropna()
            mean, lo, hi = mean_ci(diff.to_numpy(float))
            rows.append({"metric": name, "scenario": scen, "mean": mean, "ci_low": lo, "ci_high": hi,
                         "n": int(diff.size)})
    return pd.DataFrame(rows, columns=["metric", "scenario", "mean", "ci_low", "ci_high", "n"])


def money_chart(
    metrics: pd.DataFrame,
    *,
    items: Sequence[str] = MONEY_METRICS,
    horizon: int | None = None,
    colours: Mapping[str, str] | None = None,
    provenance: style.Provenance | None = None,
    title: str | None = None,
) -> Figure:
    """What each reform adds to or saves on each item of spending a year at the horizon, against the
    baseline (the experiment's first scenario): one panel per item, each on its own scale, scenarios named
    on the rows (not told apart by colour alone), a paired 95% interval on each difference. The baseline's
    own level is in each panel's title; the levels are in ``money_table``.

    Args:
        metrics: the store's ``metrics`` frame.
        items: money metrics to show (each a GBP metric of :mod:`sim.metrics`).
        horizon: the last quarter of the year shown (default: the end of the run).
        colours: scenario colours, in the experiment's order (the first is the baseline).
        provenance: footer details (its ``scale`` scales money up to England).
        title: replaces the default title.
    """
    require_columns(metrics, ["scenario", "replication", "quarter"], "The money chart")
    require_rows(metrics, "Money chart")
    for name in items:
        if not metric_spec(name, metrics).unit.startswith("GBP"):
            raise ChartError(f"The money chart shows money; '{name}' is in {metric_spec(name).unit}.")
    h = horizon_quarter(metrics) if horizon is None else int(horizon)
    colours = style.colours_for(metrics, colours)
    names = style.ordered(metrics, colours)
    if len(names) < 2:
        raise ChartError("The money chart compares scenarios with a baseline: the data has only one scenario.")
    base, others = names[0], names[1:]
    scale = provenance.scale if provenance is not None else None
    diffs = money_differences(metrics, items, h, base, scale)
    levels = money_table(metrics, items, h, scale=scale).set_index(["metric", "scenario"])

    n = len(items)
    ncols = 3 if n > 4 else max(1, min(n, 2))
    nrows = int(np.ceil(n / ncols))
    row_in = 0.55 + 0.2 * len(others)
    fig = style.new_figure(style.HALF_A4[0], 1.6 + nrows * (row_in + 0.45))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    ypos = np.arange(len(others))[::-1]
    for i, name in enumerate(items):
        ax = axes[i // ncols][i % ncols]
        spec = metric_spec(name)
        rows = diffs[diffs["metric"] == name].set_index("scenario").reindex(others)
        values = rows[["mean", "ci_low", "ci_high"]].to_numpy(float)
        none = not np.isfinite(values).any() or np.nanmax(np.abs(values)) < 1.0  # under £1: rounding, no effect
        if none:
            values = np.zeros_like(values)
            ax.text(0.5, 0.5, "no difference in any scenario", transform=ax.transAxes, ha="center", va="bottom",
                    fontsize=style.FONT["annotation"], color=style.MUTED)
        unit = style.display_unit(spec, values if not none else [1e6], per_year=True, difference=True)
        shown = unit.apply(values)
        ax.axvline(0, color=style.GREY, linewidth=0.9, zorder=1)
        for y, scen, (mid, lo, hi) in zip(ypos, others, shown if not none else [], strict=False):
            if np.isfinite(lo) and np.isfinite(hi):
                ax.plot([lo, hi], [y, y], color=colours[scen], linewidth=2.4, solid_capstyle="butt", zorder=2)
            ax.plot([mid], [y], marker="o", markersize=3.5, color=colours[scen], markeredgecolor="white",
                    markeredgewidth=0.5, zorder=3)
        ax.set_yticks(ypos, others)
        ax.tick_params(axis="y", labelleft=i % ncols == 0, length=0)
        ax.set_ylim(-0.6, len(others) - 0.4)
        finite = shown[np.isfinite(shown)]
        span = float(np.max(np.abs(finite))) * 1.2 if finite.size and np.max(np.abs(finite)) > 0 else 1.0
        ax.set_xlim(-span, span)
        ax.xaxis.get_major_locator().set_params(nbins=4)
        ax.ticklabel_format(axis="x", style="plain", useOffset=False)
        style.style_axes(ax, grid_axis="x")
        level = levels.loc[(name, base), "mean"] if (name, base) in levels.index else np.nan
        level_unit = style.display_unit(spec, [level], per_year=True)
        style.panel_title(ax, style.wrap_label(spec.label, style.HALF_A4[0] / ncols - 0.8, style.FONT["label"]))
        ax.set_xlabel(style.wrap_label(f"{unit.text} ({base}: {fmt_quantity(level_unit.apply(level), level_unit)})",
                                       style.HALF_A4[0] / ncols - 0.4), fontsize=style.FONT["annotation"])
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    reps, runs = runs_per_scenario(metrics)
    england = f" For England: the runs simulate {scale * 100:g}% of it." if scale is not None and 0 < scale < 1 else ""
    subtitle = (f"Difference from {base} in the year to quarter {h} (sum of its four quarters): dot = mean over "
                f"{reps} paired {runs}, line = 95% confidence interval; right of zero costs more. Each panel "
                f"has its own scale; under it, {base}'s own spending.{england}")
    prov = provenance or style.Provenance.from_frames(metrics)
    return style.finish_figure(fig, title or f"What each scenario adds to spending a year, against {base}",
                               subtitle, prov)
