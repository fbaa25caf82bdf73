"""Funnel plots of practice performance against list size, with 2- and 3-standard-error limits.

A small practice's rate swings by chance; a funnel plot (Spiegelhalter, Stat Med 2005) draws the limits
that chance alone would keep 95% and 99.8% of practices inside, narrowing as lists grow, so a reader
sees which practices are unusual rather than merely small. Real practices differ by more than chance
(casemix, deprivation), so by default the limits are widened by the additive random-effects
overdispersion of Spiegelhalter (2005), estimated from winsorised z-scores; otherwise almost every
practice would be an "outlier".

Standard errors by measure:

- admissions per 1,000 a year (a Poisson count over a year): ``SE = sqrt(1000 * target / n)``;
- QOF achievement (a proportion; the list size stands in for the indicator denominators):
  ``SE = sqrt(p (1 - p) / n)``;
- prescribing cost per head (a mean of patient costs): ``SE = cv * target / sqrt(n)``, where ``cv`` is the
  coefficient of variation of cost between patients (an assumption, default 1.5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from sim.charts import style
from sim.charts.data import ChartError, require_columns, require_rows

Family = Literal["poisson", "binomial", "normal"]


@dataclass(frozen=True)
class FunnelMeasure:
    """A practice measure that can be drawn in a funnel plot."""

    column: str
    label: str
    unit: str
    family: Family
    factor: float = 1.0  # display factor (shares as %)
    better: Literal["higher", "lower"] = "lower"


MEASURES: dict[str, FunnelMeasure] = {
    "outcome": FunnelMeasure("outcome_per_1000", "Avoidable emergency admissions",
                             "per 1,000 patients a year", "poisson", better="lower"),
    "achievement": FunnelMeasure("achievement", "QOF achievement", "% of points", "binomial", 100.0,
                                 better="higher"),
    "prescribing": FunnelMeasure("prescribing_per_head_gbp", "Prescribing cost per head",
                                 "£ per patient a year", "normal", better="lower"),
}


def measure(name: str) -> FunnelMeasure:
    try:
        return MEASURES[name]
    except KeyError:
        raise ChartError(f"Unknown funnel measure '{name}'. Valid measures: {', '.join(MEASURES)}.") from None


def standard_error(family: Family, target: float, n: np.ndarray, cv: float = 1.5) -> np.ndarray:
    """Standard error of a practice's measure under chance alone, for list size ``n``."""
    n = np.asarray(n, dtype=float)
    if family == "poisson":
        return np.sqrt(1000.0 * target / n)
    if family == "binomial":
        return np.sqrt(max(target * (1 - target), 1e-12) / n)
    return cv * abs(target) / np.sqrt(n)


def overdispersion_tau2(y: np.ndarray, se: np.ndarray, target: float, winsor: float = 0.1) -> float:
    """Between-practice variance beyond chance (additive random effects, Spiegelhalter 2005 §7).

    ``phi`` is the mean squared z-score after winsorising the top and bottom ``winsor`` share; where
    ``n * phi > n - 1``, ``tau^2 = (n * phi - (n - 1)) / (sum w - sum w^2 / sum w)`` with ``w = 1/se^2``.
    """
    y, se = np.asarray(y, float), np.asarray(se, float)
    z = (y - target) / se
    lo, hi = np.quantile(z, [winsor, 1 - winsor])
    phi = float(np.mean(np.clip(z, lo, hi) ** 2))
    n = len(y)
    if n < 3 or n * phi <= n - 1:
        return 0.0
    w = 1.0 / se**2
    return float((n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()))


@dataclass(frozen=True)
class FunnelFit:
    target: float
    tau2: float
    z: np.ndarray  # each practice's (overdispersion-adjusted) z-score


def fit_funnel(values: np.ndarray, n: np.ndarray, family: Family, *, overdispersion: bool = True,
               cv: float = 1.5) -> FunnelFit:
    """The target (list-weighted mean), the overdispersion and each practice's z-score."""
    values, n = np.asarray(values, float), np.asarray(n, float)
    target = float(np.average(values, weights=n))
    se = standard_error(family, target, n, cv)
    tau2 = overdispersion_tau2(values, se, target) if overdispersion else 0.0
    return FunnelFit(target, tau2, (values - target) / np.sqrt(se**2 + tau2))


def limits(fit: FunnelFit, family: Family, n: np.ndarray, z: float, cv: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    se = np.sqrt(standard_error(family, fit.target, n, cv) ** 2 + fit.tau2)
    return fit.target - z * se, fit.target + z * se


def _panels(
    snapshots: pd.DataFrame, column: str, scenarios: list[str], replication: int,
) -> list[tuple[str, str, pd.DataFrame]]:
    """(title, scenario, rows) per panel: one shared start panel when every scenario starts the same."""
    rows = snapshots[snapshots["replication"] == replication]
    starts, ends = {}, {}
    for scen in scenarios:
        own = rows[rows["scenario"] == scen]
        if own.empty:
            continue
        q0, q1 = int(own["quarter"].min()), int(own["quarter"].max())
        starts[scen] = own[own["quarter"] == q0]
        ends[scen] = own[own["quarter"] == q1]
    if not starts:
        raise ChartError(f"Funnel plot: no practice snapshots for replication {replication}.")
    first = next(iter(starts.values()))
    same_start = all(
        len(s) == len(first) and np.allclose(s[column].to_numpy(), first[column].to_numpy())
        for s in starts.values()
    )
    panels: list[tuple[str, str, pd.DataFrame]] = []
    if same_start:
        panels.append(("Start, every scenario", "", first))
        for scen, end in ends.items():
            panels.append((f"{scen}, end", scen, end))
    else:
        for scen in starts:
            panels.append((f"{scen}, start", scen, starts[scen]))
            panels.append((f"{scen}, end", scen, ends[scen]))
    return panels


def _thousands(value: float, _position: int) -> str:
    """A list-size tick in thousands (a module function, so that the figure pickles for a worker to save)."""
    return f"{value / 1000:g}k"


def funnel_plot(
    snapshots: pd.DataFrame,
    measure_name: str = "outcome",
    *,
    scenarios: Sequence[str] | None = None,
    replication: int | None = None,
    overdispersion: bool = True,
    cv: float = 1.5,
    colours: Mapping[str, str] | None = None,
    provenance: style.Provenance | None = None,
    title: str | None = None,
) -> Figure:
    """Practices' performance against list size at the start and the end of a run, outliers marked.

    Args:
        snapshots: the store's ``snapshots`` frame (practice rows at quarter 0 and each year end).
        measure_name: ``outcome`` (admissions per 1,000), ``achievement`` (QOF) or ``prescribing``.
        scenarios: scenarios to show (default all).
        replication: which replication's practices to draw (default the first).
        overdispersion: widen the limits for between-practice variation beyond chance.
        cv: patient-level coefficient of variation of prescribing cost (``prescribing`` only).
        colours: scenario colours, for the panel titles.
        provenance: footer details.
        title: replaces the default title.
    """
    spec = measure(measure_name)
    require_columns(snapshots, ["scenario", "replication", "quarter", "list_size", spec.column], "A funnel plot")
    require_rows(snapshots, "Funnel plot")
    colours = style.colours_for(snapshots, colours)
    names = [s for s in style.ordered(snapshots, colours) if scenarios is None or s in scenarios]
    if scenarios is not None and len(names) != len(set(scenarios)):
        missing = sorted(set(scenarios) - set(names))
        raise ChartError(f"Funnel plot: scenario(s) {', '.join(missing)} not in the snapshots.")
    rep = int(snapshots["replication"].min()) if replication is None else int(replication)
    panels = _panels(snapshots, spec.column, names, rep)

    n = len(panels)
    ncols = n if n <= 3 else 3
    nrows = int(np.ceil(n / ncols))
    height = style.HALF_A4[1] if nrows == 1 else style.HALF_A4[1] * 0.72 * nrows
    fig = style.new_figure(style.HALF_A4[0], height)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    x_max = max(float(rows["list_size"].max()) for _, _, rows in panels)
    grid = np.linspace(max(50.0, min(float(rows["list_size"].min()) for _, _, rows in panels) * 0.8),
                       x_max * 1.03, 200)
    tau_notes = []
    beyond: list[tuple[int, int]] = []
    for i, (text, scen, rows) in enumerate(panels):
        ax = axes[i // ncols][i % ncols]
        rows = rows[(rows["list_size"] > 0) & rows[spec.column].notna()]
        values = rows[spec.column].to_numpy(float)
        sizes = rows["list_size"].to_numpy(float)
        fit = fit_funnel(values, sizes, spec.family, overdispersion=overdispersion, cv=cv)
        tau_notes.append(fit.tau2 > 0)
        for zed, style_ in ((2.0, "--"), (3.0, "-")):
            lo, hi = limits(fit, spec.family, grid, zed, cv)
            ax.plot(grid, lo * spec.factor, color=style.MUTED, linestyle=style_, linewidth=0.9)
            ax.plot(grid, hi * spec.factor, color=style.MUTED, linestyle=style_, linewidth=0.9)
        ax.axhline(fit.target * spec.factor, color=style.TEXT, linewidth=0.8)
        absz = np.abs(fit.z)
        inside, warn, alarm = absz <= 2, (absz > 2) & (absz <= 3), absz > 3
        # Many practices within the limits at a ceiling (QOF) would merge into a solid block: smaller, lighter dots.
        dense = inside.sum() > 400
        ax.scatter(sizes[inside], values[inside] * spec.factor, s=3 if dense else 5, color=style.GREY,
                   alpha=0.3 if dense else 0.55, linewidths=0, zorder=2)
        ax.scatter(sizes[warn], values[warn] * spec.factor, s=10, facecolors="none",
                   edgecolors=style.WARNING, linewidths=0.8, zorder=3)
        ax.scatter(sizes[alarm], values[alarm] * spec.factor, s=14, color=style.ALARM, marker="D",
                   linewidths=0, zorder=4)
        worse = fit.z > 3 if spec.better == "lower" else fit.z < -3
        style.style_axes(ax)
        # The counts go above the panel, under its title, so they never cover practices.
        ax.set_title(text, fontsize=style.FONT["label"], color=colours.get(scen, style.TEXT) if scen else style.TEXT,
                     loc="left", fontweight="bold", pad=style.FONT["annotation"] * 2.6 + 4)
        ax.text(0.0, 1.01, f"{int(alarm.sum())} beyond 3 SE ({int(worse.sum())} worse)\n{int(warn.sum())} "
                "between 2 and 3 SE", transform=ax.transAxes, linespacing=1.1, ha="left", va="bottom",
                fontsize=style.FONT["annotation"] - 0.5, color=style.MUTED)
        beyond.append((int(alarm.sum()), len(values)))
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        if i // ncols == nrows - 1 or i + ncols >= n:
            ax.set_xlabel("Registered list size (patients)", fontsize=style.FONT["annotation"])
            ax.tick_params(labelbottom=True)
        if i % ncols == 0:
            ax.set_ylabel(f"{spec.label}\n({spec.unit})", fontsize=style.FONT["annotation"])
    all_values = np.concatenate([rows[spec.column].dropna().to_numpy(float) for _, _, rows in panels]) * spec.factor
    lo_v, hi_v = float(np.min(all_values)), float(np.max(all_values))
    pad = 0.25 * (hi_v - lo_v) if hi_v > lo_v else 1.0
    floor = 0.0 if lo_v >= 0 else lo_v - pad
    ceiling = 100.0 * 1.02 if spec.family == "binomial" else hi_v + pad
    axes[0][0].set_ylim(max(floor, lo_v - pad), min(ceiling, hi_v + pad))
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    legend = [
        Line2D([], [], color=style.TEXT, linewidth=0.8, label="mean (list-weighted)"),
        Line2D([], [], color=style.MUTED, linestyle="--", linewidth=0.9, label="2 SE (95%)"),
        Line2D([], [], color=style.MUTED, linewidth=0.9, label="3 SE (99.8%)"),
        Line2D([], [], linestyle="none", marker="o", markerfacecolor="none", markeredgecolor=style.WARNING,
               label="between 2 and 3 SE"),
        Line2D([], [], linestyle="none", marker="D", color=style.ALARM, markersize=4, label="beyond 3 SE"),
    ]
    if overdispersion and any(tau_notes):
        adj = "Limits widened for overdispersion (variation beyond chance)"
    else:
        out, total = (sum(k for k, _ in beyond), sum(m for _, m in beyond))
        adj = "Limits for chance variation alone"
        if overdispersion and total and out / total > 0.01:  # against 0.3% beyond 3 SE by chance
            adj += (f": the overdispersion estimated from the middle 80% of practices is nil, yet "
                    f"{100 * out / total:.1f}% of practices lie beyond 3 SE (0.3% would by chance), a tail of "
                    "variation beyond chance that the limits do not absorb")
    q0 = int(snapshots["quarter"].min())
    q1 = int(snapshots["quarter"].max())
    subtitle = (f"Each dot is a practice (replication {rep}) at the start (quarter {q0}) or the end (quarter "
                f"{q1}); limits around the list-weighted mean of the practices in the panel. {adj}.")
    prov = provenance or style.Provenance.from_frames(snapshots)
    return style.finish_figure(fig, title or f"{spec.label} by practice against list size, start and end",
                               subtitle, prov, legend=legend)
