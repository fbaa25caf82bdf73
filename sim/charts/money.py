"""Money per scenario: QOF payments, quality premium, management and review costs, prescribing spend.

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


def money_chart(
    metrics: pd.DataFrame,
    *,
    items: Sequence[str] = MONEY_METRICS,
    horizon: int | None = None,
    colours: Mapping[str, str] | None = None,
    provenance: style.Provenance | None = None,
    title: str | None = None,
) -> Figure:
    """Yearly spending by item and scenario at the horizon, one panel per item.

    Args:
        metrics: the store's ``metrics`` frame.
        items: money metrics to show (each a GBP metric of :mod:`sim.metrics`).
        horizon: the last quarter of the year shown (default: the end of the run).
        colours: scenario colours.
        provenance: footer details.
        title: replaces the default title.
    """
    require_columns(metrics, ["scenario", "replication", "quarter"], "The money chart")
    require_rows(metrics, "Money chart")
    for name in items:
        if not metric_spec(name, metrics).unit.startswith("GBP"):
            raise ChartError(f"The money chart shows money; '{name}' is in {metric_spec(name).unit}.")
    h = horizon_quarter(metrics) if horizon is None else int(horizon)
    table = money_table(metrics, items, h)
    colours = style.colours_for(metrics, colours)
    names = style.ordered(metrics, colours)

    n = len(items)
    ncols = 3 if n > 4 else max(1, min(n, 2))
    nrows = int(np.ceil(n / ncols))
    fig = style.new_figure(style.HALF_A4[0], style.HALF_A4[1] * (1.15 if nrows > 1 else 0.8))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    xs = np.arange(len(names))
    for i, name in enumerate(items):
        ax = axes[i // ncols][i % ncols]
        spec = metric_spec(name)
        rows = table[table["metric"] == name].set_index("scenario").reindex(names)
        unit = style.display_unit(spec, rows[["mean", "ci_high"]].to_numpy(float), per_year=True)
        mean, lo, hi = (unit.apply(rows[c].to_numpy(float)) for c in ("mean", "ci_low", "ci_high"))
        ax.bar(xs, mean, color=[colours[s] for s in names], width=0.7)
        err = np.vstack([mean - lo, hi - mean])
        ok = np.isfinite(err).all(axis=0)
        if ok.any():
            ax.errorbar(xs[ok], mean[ok], yerr=err[:, ok], fmt="none", ecolor=style.MUTED, elinewidth=0.9,
                        capsize=2)
        for x, value, upper in zip(xs, mean, hi, strict=True):
            if np.isfinite(value):
                ax.text(x, upper if np.isfinite(upper) else value, f" {_short(value)}", ha="center",
                        va="bottom", fontsize=style.FONT["annotation"] - 0.5, color=style.TEXT, rotation=0)
        ax.margins(y=0.14)
        ax.set_xticks(xs, [""] * len(names))
        ax.tick_params(axis="x", length=0)
        style.style_axes(ax)
        style.panel_title(ax, spec.label)
        ax.set_ylabel(unit.text, fontsize=style.FONT["annotation"])
        top = float(np.nanmax(np.concatenate([mean, hi]))) if np.isfinite(mean).any() else 0.0
        if top <= 0:
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.5, "none in any scenario", transform=ax.transAxes, ha="center", va="center",
                    fontsize=style.FONT["annotation"], color=style.MUTED)
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    reps, runs = runs_per_scenario(metrics)
    subtitle = (f"Spending in the year to quarter {h} (sum of the last four quarters): bar = mean of {reps} "
                f"{runs}, line = 95% confidence interval. Each panel has its own scale.")
    prov = provenance or style.Provenance.from_frames(metrics)
    return style.finish_figure(fig, title or "Money a year by scenario at the end of the run", subtitle, prov,
                               legend=style.scenario_handles(names, colours, linewidth=6))


def _short(value: float) -> str:
    """Three significant figures, for the value written above a bar."""
    if value == 0:
        return "0"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
