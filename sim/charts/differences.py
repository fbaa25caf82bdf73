"""Forest plot: how far each scenario moves each metric from the baseline at the horizon, with 95% CIs.

The differences are *paired*: replication ``k`` of every scenario shares its seed, population and shocks
(common random numbers), so the interval is that of the mean of per-replication differences, much
narrower than comparing two clouds of runs. The numbers come from the store's ``summary`` frame
(:func:`sim.experiment.paired.summarise`); nothing is recomputed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.charts import style
from sim.charts.data import ChartError, require_columns, require_rows
from sim.metrics import HEADLINE_METRICS, metric

SUMMARY_COLUMNS: tuple[str, ...] = (
    "metric", "scenario", "baseline", "quarter", "n", "mean", "diff_mean", "diff_ci_low", "diff_ci_high",
)


def forest_plot(
    summary: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    colours: Mapping[str, str] | None = None,
    provenance: style.Provenance | None = None,
    title: str | None = None,
    ncols: int = 2,
) -> Figure:
    """Paired differences from the baseline at the horizon, one panel per metric, one row per scenario.

    Args:
        summary: the store's ``summary`` frame (one row per metric and scenario, baseline included).
        metrics: metrics to show, each in its own panel with its own unit (default: the headline
            metrics in the summary). Four fit half an A4 page.
        colours: scenario colours (default: the summary's scenario order, baseline first).
        provenance: footer details.
        title: replaces the default title.
        ncols: panels per row.
    """
    require_columns(summary, SUMMARY_COLUMNS, "A forest plot")
    require_rows(summary, "Forest plot")
    present = list(pd.unique(summary["metric"]))
    if metrics is None:
        metrics = [m for m in HEADLINE_METRICS if m in present]
    for name in metrics:
        metric(name)
        if name not in present:
            raise ChartError(f"Metric '{name}' is not in the summary; it has {', '.join(present)}.")
    if not metrics:
        raise ChartError("Forest plot: no metrics to show.")
    baseline = str(summary["baseline"].iloc[0])
    colours = style.colours_for(summary, colours)
    others = [s for s in style.ordered(summary, colours) if s != baseline]
    if not others:
        raise ChartError(f"Forest plot: the summary has only the baseline '{baseline}', nothing to compare.")
    horizon = int(summary["quarter"].max())
    reps = int(summary["n"].min())

    n = len(metrics)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    row_height = 0.75 + 0.22 * len(others)
    fig = style.new_figure(style.HALF_A4[0], 1.3 + nrows * row_height)
    # Scenario names label the rows of the left column only (the rows are the same in every panel), so
    # the panels share the width that is left.
    label_in = max(len(s) for s in others) * 0.6 * style.FONT["tick"] / 72
    panel_width = (style.HALF_A4[0] - label_in) / ncols
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    ypos = np.arange(len(others))[::-1]
    for i, name in enumerate(metrics):
        ax = axes[i // ncols][i % ncols]
        spec = metric(name)
        rows = summary[summary["metric"] == name].set_index("scenario").reindex(others)
        values = rows[["diff_mean", "diff_ci_low", "diff_ci_high"]].to_numpy(dtype=float)
        unit = style.display_unit(spec, values, per_year=True, difference=True)
        values = unit.apply(values)
        ax.axvline(0, color=style.GREY, linewidth=0.9, zorder=1)
        for y, scen, (mid, lo, hi) in zip(ypos, others, values, strict=True):
            colour = colours[scen]
            if np.isfinite(lo) and np.isfinite(hi):
                ax.plot([lo, hi], [y, y], color=colour, linewidth=2.4, solid_capstyle="butt", zorder=2)
                ax.plot([lo, hi], [y, y], linestyle="none", marker="|", markersize=7, markeredgewidth=1.2,
                        color=colour, zorder=2)
            # A small dot with a white rim: an interval narrower than it still shows as its two end ticks.
            ax.plot([mid], [y], marker="o", markersize=3.5, color=colour, markeredgecolor="white",
                    markeredgewidth=0.5, zorder=3)
        ax.set_yticks(ypos, others)
        ax.tick_params(axis="y", labelleft=i % ncols == 0)
        ax.set_ylim(-1.1, len(others) - 0.4)  # room under the rows for the "better" note
        finite = values[np.isfinite(values)]
        span = float(np.max(np.abs(finite))) if finite.size else 0.0
        span = span * 1.15 if span > 0 else 1.0
        ax.set_xlim(-span, span)
        style.style_axes(ax, grid_axis="x")
        style.panel_title(ax, style.wrap_label(spec.label, panel_width - 0.3, style.FONT["label"]))
        ax.set_xlabel(style.wrap_label(f"Difference ({unit.text})", panel_width - 0.3),
                      fontsize=style.FONT["annotation"])
        if spec.better:
            higher = spec.better == "higher"
            ax.text(0.98 if higher else 0.02, 0.02, "better →" if higher else "← better", transform=ax.transAxes,
                    ha="right" if higher else "left", va="bottom", fontsize=style.FONT["annotation"],
                    color=style.MUTED, style="italic")
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    kinds = {metric(m).kind for m in metrics}
    read = "levels at the last quarter" if kinds == {"level"} else (
        "flows summed over the last four quarters" if kinds == {"flow"} else
        "levels at the last quarter, flows over the last four quarters")
    subtitle = (f"Mean difference from {baseline} at quarter {horizon} (dot) with its 95% confidence interval "
                f"(line), paired run by run (the same seeds, and draws) over {reps} runs per scenario; {read}.")
    prov = provenance or style.Provenance.from_frames(summary, replications=reps)
    return style.finish_figure(fig, title or f"Effect of each scenario against {baseline}", subtitle, prov)
