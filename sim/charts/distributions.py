"""Distribution of practice quality by contract type and by deprivation quintile, start against end.

The question a policy reader asks of a reform is not only "does the mean rise?" but "who gains?": do
APMS practices catch up, does the gap between the most and least deprived close. Each group is drawn
as a median (dot), middle 50% (thick bar) and 10th to 90th percentile (thin line) of practices, pooled
over replications, for the starting state and then for each scenario at the end of the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.charts import style
from sim.charts.data import ChartError, require_columns, require_rows

VALUES: dict[str, tuple[str, str, float]] = {
    # column: (label, unit, display factor)
    "quality": ("Clinical quality", "% of patients", 100.0),
    "achievement": ("QOF achievement", "% of points", 100.0),
    "recorded_achievement": ("Recorded achievement", "% of patients", 100.0),
    "outcome_per_1000": ("Avoidable emergency admissions", "per 1,000 patients a year", 1.0),
    "prescribing_per_head_gbp": ("Prescribing cost per head", "£ per patient a year", 1.0),
}
CONTRACT_ORDER: tuple[str, ...] = ("GMS", "PMS", "APMS")
QUINTILE_LABELS: tuple[str, ...] = ("1\nleast", "2", "3", "4", "5\nmost")


def deprivation_quintiles(snapshots: pd.DataFrame) -> pd.Series:
    """Quintile 1 (least deprived) to 5 (most), with cut points from the starting population.

    Fixed cut points, rather than re-cutting at the end, keep a practice in its quintile when others
    close or new providers enter, so start and end compare the same kinds of area.
    """
    start = snapshots[snapshots["quarter"] == snapshots["quarter"].min()]["deprivation"]
    edges = np.quantile(start.to_numpy(float), [0.2, 0.4, 0.6, 0.8])
    return pd.Series(np.searchsorted(edges, snapshots["deprivation"].to_numpy(float), side="right") + 1,
                     index=snapshots.index, name="quintile")


def _groups(frame: pd.DataFrame, by: str) -> list[str]:
    present = [str(v) for v in pd.unique(frame[by])]
    if by == "contract":
        return [c for c in CONTRACT_ORDER if c in present] + sorted(c for c in present if c not in CONTRACT_ORDER)
    return [str(q) for q in range(1, 6)]


def _draw_group_panel(
    ax: Axes, series: list[tuple[str, str, pd.DataFrame]], by: str, column: str, factor: float,
) -> None:
    """One panel: for each group along x, one interval per series (start, then each scenario)."""
    keys = _groups(pd.concat([rows for _, _, rows in series]), by)
    width = 0.8 / len(series)
    for gi, key in enumerate(keys):
        for si, (_label, colour, rows) in enumerate(series):
            values = rows.loc[rows[by].astype(str) == key, column].to_numpy(float) * factor
            if values.size == 0:
                continue
            p10, p25, p50, p75, p90 = np.quantile(values, [0.1, 0.25, 0.5, 0.75, 0.9])
            x = gi - 0.4 + width * (si + 0.5)
            ax.plot([x, x], [p10, p90], color=colour, linewidth=0.9, solid_capstyle="butt")
            ax.plot([x, x], [p25, p75], color=colour, linewidth=3.2, solid_capstyle="butt", alpha=0.55)
            ax.plot([x], [p50], marker="o", markersize=3.6, color=colour, markeredgecolor="white",
                    markeredgewidth=0.5)
        if gi:
            ax.axvline(gi - 0.5, color=style.LIGHT_GREY, linewidth=0.6)
    labels = keys if by == "contract" else list(QUINTILE_LABELS)
    ax.set_xticks(range(len(keys)), labels)
    ax.set_xlim(-0.5, len(keys) - 0.5)
    style.style_axes(ax)


def quality_distribution(
    snapshots: pd.DataFrame,
    value: str = "quality",
    *,
    scenarios: Sequence[str] | None = None,
    colours: Mapping[str, str] | None = None,
    provenance: style.Provenance | None = None,
    title: str | None = None,
) -> Figure:
    """Practice ``value`` by contract type and by deprivation quintile: start, and each scenario at the end.

    Args:
        snapshots: the store's ``snapshots`` frame.
        value: a practice column: ``quality`` (default), ``achievement``, ``recorded_achievement``,
            ``outcome_per_1000`` or ``prescribing_per_head_gbp``.
        scenarios: scenarios to show (default all).
        colours: scenario colours.
        provenance: footer details.
        title: replaces the default title.
    """
    if value not in VALUES:
        raise ChartError(f"Unknown practice value '{value}'. Valid values: {', '.join(VALUES)}.")
    label, unit, factor = VALUES[value]
    require_columns(snapshots, ["scenario", "replication", "quarter", "contract", "deprivation", value],
                    "The quality distribution chart")
    require_rows(snapshots, "Quality distribution")
    colours = style.colours_for(snapshots, colours)
    names = [s for s in style.ordered(snapshots, colours) if scenarios is None or s in scenarios]
    if not names:
        raise ChartError(f"Quality distribution: none of {', '.join(scenarios or [])} is in the snapshots.")
    frame = snapshots[snapshots["scenario"].isin(names)]
    frame = frame.assign(quintile=deprivation_quintiles(frame).astype(str))
    start_q, end_q = int(frame["quarter"].min()), int(frame["quarter"].max())
    starts = {s: frame[(frame["scenario"] == s) & (frame["quarter"] == start_q)] for s in names}
    first = starts[names[0]]
    same_start = all(len(s) == len(first) and np.allclose(s[value].to_numpy(float), first[value].to_numpy(float))
                     for s in starts.values())
    series: list[tuple[str, str, pd.DataFrame]] = []
    if same_start:
        series.append((f"start (quarter {start_q})", style.GREY, first))
    else:
        series.extend((f"{s}, start", style.LIGHT_GREY, starts[s]) for s in names)
    series.extend((f"{s}, quarter {end_q}", colours[s],
                   frame[(frame["scenario"] == s) & (frame["quarter"] == end_q)]) for s in names)
    reps = int(frame["replication"].nunique())

    fig = style.new_figure(style.HALF_A4[0], style.HALF_A4[1] * 1.15)
    ax_contract, ax_dep = fig.subplots(2, 1)
    _draw_group_panel(ax_contract, series, "contract", value, factor)
    _draw_group_panel(ax_dep, series, "quintile", value, factor)
    style.panel_title(ax_contract, "By contract type")
    style.panel_title(ax_dep, "By deprivation quintile of the practice population")
    for ax in (ax_contract, ax_dep):
        ax.set_ylabel(f"{label}\n({unit})", fontsize=style.FONT["annotation"])
    ax_contract.set_xlabel("Contract (type)", fontsize=style.FONT["annotation"])
    ax_dep.set_xlabel("Deprivation quintile (1 = least deprived, 5 = most)", fontsize=style.FONT["annotation"])
    handles = [Line2D([], [], color=colour, linewidth=3, label=text) for text, colour, _ in series]
    subtitle = (f"Practices pooled over {reps} replication{'s' if reps != 1 else ''}: dot = median, thick bar = "
                f"middle 50%, thin line = 10th to 90th percentile. Quintile cut points from the start.")
    prov = provenance or style.Provenance.from_frames(snapshots)
    return style.finish_figure(
        fig, title or f"{label} of practices by contract and deprivation, start and end", subtitle, prov,
        legend=handles)
