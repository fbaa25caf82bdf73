"""The house style every chart shares, so that charts pasted side by side in a briefing paper agree.

One colour-blind-safe palette (Okabe & Ito 2008) assigned to scenarios by the order they appear in the
experiment, so a scenario has the same colour in every chart; figures sized for half an A4 page
(16 x 10 cm) with fonts that stay legible there; units on every axis, taken from :mod:`sim.metrics`; a
title that says what the chart shows; and a footer with the scenarios, replications, seed and model
version, so a chart cut out of its report still says where it came from.

Everything here uses the matplotlib object API (``Figure``, never ``pyplot``) with an Agg canvas attached to
each figure, and sets fonts per artist rather than through global ``rcParams``: figures can be made from
threads, are freed when dropped, and importing the charts does not change a notebook's backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from sim.metrics import MetricSpec
from sim.numbers import DisplayUnit as DisplayUnit  # re-exported: the charts' units are the tables'
from sim.numbers import display_unit as display_unit
from sim.numbers import money_unit as money_unit

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Black first: the first scenario of an experiment is its baseline, drawn as the reference.
OKABE_ITO: tuple[str, ...] = (
    "#000000",  # black
    "#E69F00",  # orange
    "#0072B2",  # blue
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow (last: weak on white)
)
GREY = "#8C8C8C"
LIGHT_GREY = "#D9D9D9"
TEXT = "#222222"
MUTED = "#555555"
# Colours with a fixed meaning outside the scenario palette (funnel plots, better/worse).
WARNING = "#E69F00"
ALARM = "#D55E00"
# A perceptually uniform, colour-blind-safe map for continuous values (sweep heat maps).
SEQUENTIAL_CMAP = "cividis"

CM = 1 / 2.54
HALF_A4 = (16 * CM, 10 * CM)  # inches: fits half an A4 page with margins
DPI = 300

FONT: dict[str, float] = {
    "title": 10.0,
    "subtitle": 8.0,
    "label": 8.0,
    "tick": 7.5,
    "legend": 7.5,
    "annotation": 7.0,
    "footer": 6.0,
}


def scenario_colours(names: Iterable[str]) -> dict[str, str]:
    """A colour for each scenario, assigned in the order given (the experiment's order).

    Passing the experiment's full scenario list to every chart is what keeps a scenario's colour the
    same across charts, even in a chart that leaves the baseline out. Beyond eight scenarios the palette
    repeats; charts with that many scenarios should be split.

    Example:
        >>> scenario_colours(["status_quo", "white_paper"])
        {'status_quo': '#000000', 'white_paper': '#E69F00'}
    """
    out: dict[str, str] = {}
    for name in names:
        if name not in out:
            out[name] = OKABE_ITO[len(out) % len(OKABE_ITO)]
    return out


def scenario_order(frame: pd.DataFrame, column: str = "scenario") -> list[str]:
    """Scenarios in the order they first appear (the store keeps the experiment's order)."""
    return [str(s) for s in pd.unique(frame[column])]


def ordered(frame: pd.DataFrame, colours: Mapping[str, str]) -> list[str]:
    """The frame's scenarios in the colours' (the experiment's) order, not the store's alphabetical one."""
    present = set(scenario_order(frame))
    return [name for name in colours if name in present]


def colours_for(frame: pd.DataFrame, colours: Mapping[str, str] | None) -> dict[str, str]:
    """The given colours, completed with stable ones for any scenario they miss."""
    out = dict(colours or {})
    for name in scenario_order(frame):
        if name not in out:
            out[name] = OKABE_ITO[len(out) % len(OKABE_ITO)]
    return out


def experiment_style(data: Any) -> dict[str, Any]:
    """``colours`` and ``provenance`` for every chart of one stored experiment.

    The store returns frames sorted by scenario name; the experiment keeps the order the user gave.
    Passing ``**experiment_style(data)`` to each chart function gives every chart of a notebook the
    same colours (baseline first, in black) and the full footer.

    Example:
        >>> fig = fan_chart(data.metrics, "outcome_mean", **experiment_style(data))  # doctest: +SKIP
    """
    exp = dict(getattr(data, "experiment", {}) or {})
    runs = getattr(data, "runs", None)
    order = [str(s) for s in exp.get("scenarios") or []]
    if runs is not None and "scenario" in runs:
        order += [s for s in scenario_order(runs) if s not in order]
    scale = experiment_scale(exp)
    reps = exp.get("reps")
    provenance = Provenance(
        scenarios=tuple(order), replications=int(reps) if reps is not None else None,
        base_seed=int(exp["base_seed"]) if exp.get("base_seed") is not None else None,
        model_version=str(exp["model_version"]) if exp.get("model_version") else None,
        experiment=exp.get("name"), scale=scale,
    )
    return {"colours": scenario_colours(order), "provenance": provenance}


def experiment_scale(experiment: dict[str, Any]) -> float | None:
    """The share of England a stored experiment's runs simulate (None if its scenarios differ in scale)."""
    scale = (experiment.get("options") or {}).get("scale")
    if isinstance(scale, list):
        scale = scale[0] if len(set(scale)) == 1 else None
    return float(scale) if scale is not None else None


# ----------------------------------------------------------------------------------------- provenance


@dataclass(frozen=True)
class Provenance:
    """What the footer of a chart says about where its numbers came from.

    Attributes:
        scenarios: scenario names in the experiment's order.
        replications: replications per scenario (or per design point).
        base_seed: seed of replication 0 (replication ``k`` uses ``base_seed + k``).
        model_version: :data:`sim.version.MODEL_VERSION` of the runs.
        experiment: the experiment's name, if the data came from the store.
        scale: share of England simulated.
        extra: further short notes, e.g. the horizon.
    """

    scenarios: tuple[str, ...] = ()
    replications: int | None = None
    base_seed: int | None = None
    model_version: str | None = None
    experiment: str | None = None
    scale: float | None = None
    extra: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_frames(cls, frame: pd.DataFrame, runs: pd.DataFrame | None = None, **kwargs: Any) -> Provenance:
        """Derive what can be derived from a tidy frame (and the runs table, if given)."""
        scenarios = tuple(scenario_order(frame)) if "scenario" in frame else ()
        reps = None
        if "replication" in frame:
            reps = int(frame["replication"].nunique())
        seed = None
        if "seed" in frame and len(frame):
            seed = int(frame["seed"].min())
        version = None
        if runs is not None and "model_version" in runs and len(runs):
            version = ", ".join(sorted({str(v) for v in runs["model_version"]}))
            if seed is None and "seed" in runs:
                seed = int(runs["seed"].min())
        values: dict[str, Any] = {
            "scenarios": scenarios, "replications": reps, "base_seed": seed, "model_version": version,
        }
        values.update(kwargs)
        return cls(**values)

    def footer_text(self) -> str:
        parts: list[str] = []
        if self.experiment:
            parts.append(f"Experiment {self.experiment}")
        if self.scenarios:
            parts.append("Scenarios: " + ", ".join(self.scenarios))
        if self.replications is not None:
            parts.append(f"{self.replications} replication{'s' if self.replications != 1 else ''}")
        if self.base_seed is not None:
            if self.replications and self.replications > 1:
                parts.append(f"seeds {self.base_seed}–{self.base_seed + self.replications - 1}")
            else:
                parts.append(f"seed {self.base_seed}")
        if self.scale is not None:
            parts.append(f"{self.scale * 100:g}% of England simulated")
        parts.extend(self.extra)
        parts.append(f"model {self.model_version}" if self.model_version else "model version unknown")
        return " · ".join(parts)

    def with_extra(self, *notes: str) -> Provenance:
        return Provenance(
            self.scenarios, self.replications, self.base_seed, self.model_version, self.experiment,
            self.scale, (*self.extra, *notes),
        )


# --------------------------------------------------------------------------------------------- units


# Units come from :mod:`sim.numbers` (shared with the terminal tables); re-exported for the charts.


def axis_label(spec: MetricSpec, unit: DisplayUnit, prefix: str = "") -> str:
    """``Label (unit)``, the form every axis takes."""
    lowered = spec.label if spec.label[:2].isupper() else spec.label[0].lower() + spec.label[1:]  # "QOF" stays
    label = f"{prefix}{lowered}" if prefix else spec.label
    return f"{label} ({unit.text})"


# ------------------------------------------------------------------------------------------- figures


def new_figure(
    width_in: float = HALF_A4[0], height_in: float = HALF_A4[1], dpi: int = DPI,
) -> Figure:
    """A blank figure in the house size, with constrained layout and a white background.

    The Agg canvas is attached here (no pyplot): it renders anywhere, and lets the title block measure
    the legend before the axes are laid out.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(width_in, height_in), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    fig.set_layout_engine(ConstrainedLayoutEngine(w_pad=0.04, h_pad=0.04, wspace=0.04, hspace=0.06))
    return fig


def text_width_in(text: str, size_pt: float, bold: bool = False) -> float:
    """The rendered width of one line of text in inches (DejaVu Sans, as the Agg renderer draws it)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(size=size_pt, weight="bold" if bold else "normal")
    width, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath=False)
    return width / 72


def _wrap(text: str, width_in: float, size_pt: float, bold: bool = False) -> list[str]:
    """Greedy word wrap by measured width, so a line never runs past the figure's edge."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if line and text_width_in(trial, size_pt, bold) > width_in:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines or [""]


def wrap_label(text: str, width_in: float, size_pt: float = FONT["annotation"]) -> str:
    """Wrap an axis label to the width of its panel, so a long unit is not cut off."""
    return "\n".join(_wrap(text, width_in, size_pt))


def _legend_columns(labels: Sequence[str], width_in: float, size_pt: float) -> int:
    """As many columns as fit across the figure, judging by the longest entry."""
    longest = max((len(label) for label in labels), default=1)
    entry_in = (longest * 0.58 + 4.2) * size_pt / 72  # text plus handle and spacing
    return max(1, min(len(labels), int(width_in / entry_in)))


def finish_figure(
    fig: Figure,
    title: str,
    subtitle: str | None = None,
    provenance: Provenance | None = None,
    *,
    legend: Sequence[Any] = (),
    legend_ncol: int | None = None,
) -> Figure:
    """Add the title block (title, subtitle, legend) and the footer, and fit the axes between them.

    The title says what the chart shows; the subtitle how to read it; the legend sits under them, and
    the footer says where the numbers came from. Space is measured and reserved for each, so that
    constrained layout keeps the axes clear of them at any figure size.
    """
    fig.set_label(title)  # so a report can caption the image with what it shows
    width_in, height_in = fig.get_size_inches()
    pt = 1 / 72 / height_in  # one point as a fraction of the figure's height
    left = 0.1 / width_in
    y = 1 - 0.08 / height_in
    for line in _wrap(title, width_in - 0.3, FONT["title"], bold=True):
        fig.text(left, y, line, ha="left", va="top", fontsize=FONT["title"], fontweight="bold", color=TEXT)
        y -= FONT["title"] * 1.25 * pt
    if subtitle:
        y -= 2 * pt
        for line in _wrap(subtitle, width_in - 0.25, FONT["subtitle"]):
            fig.text(left, y, line, ha="left", va="top", fontsize=FONT["subtitle"], color=MUTED)
            y -= FONT["subtitle"] * 1.25 * pt
    if legend:
        labels = [str(h.get_label()) for h in legend]
        ncol = legend_ncol or _legend_columns(labels, width_in - 0.25, FONT["legend"])
        y -= 2 * pt
        leg = fig.legend(
            handles=row_major(list(legend), ncol), loc="upper left", bbox_to_anchor=(left * 0.6, y), ncol=ncol,
            frameon=False, fontsize=FONT["legend"], handlelength=1.6, columnspacing=1.2, borderaxespad=0.0,
            borderpad=0.2,
        )
        leg.set_in_layout(False)
        extent = leg.get_window_extent(fig.canvas.get_renderer())
        y -= extent.height / fig.dpi / height_in
    top = y - 4 * pt
    bottom = 0.0
    if provenance is not None:
        lines = _wrap(provenance.footer_text(), width_in - 0.25, FONT["footer"])
        step = FONT["footer"] * 1.3 * pt
        yb = 0.05 / height_in
        for k, line in enumerate(lines):  # top line first, so the footer's texts read in order
            fig.text(left, yb + (len(lines) - 1 - k) * step, line, ha="left", va="bottom", fontsize=FONT["footer"],
                     color=MUTED)
        bottom = yb + len(lines) * step + 2 * pt
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0.0, bottom, 1.0, max(0.2, top - bottom)))
    return fig


def row_major(items: Sequence[Any], ncol: int) -> list[Any]:
    """Reorder legend entries so that matplotlib, which fills a legend column by column, shows them in
    reading order, row by row (the experiment's order, baseline first)."""
    n = len(items)
    if ncol <= 1 or n <= ncol:
        return list(items)
    rows = -(-n // ncol)
    grid: list[list[Any]] = [[] for _ in range(ncol)]
    for i, item in enumerate(items):
        grid[i % ncol].append(item)
    out: list[Any] = []
    for column in grid:
        out += column
    return out if all(len(c) in (rows, rows - 1) for c in grid) else list(items)


def style_axes(ax: Axes, *, grid_axis: str = "y") -> None:
    """Light grid, no top or right spine, house tick sizes."""
    ax.tick_params(labelsize=FONT["tick"], colors=TEXT, length=3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GREY)
    if grid_axis:
        ax.grid(True, axis=grid_axis, color=LIGHT_GREY, linewidth=0.6)
        ax.set_axisbelow(True)
    ax.xaxis.label.set_size(FONT["label"])
    ax.yaxis.label.set_size(FONT["label"])
    ax.title.set_size(FONT["label"])


def label_axes(ax: Axes, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel, fontsize=FONT["label"], color=TEXT)
    ax.set_ylabel(ylabel, fontsize=FONT["label"], color=TEXT)


def panel_title(ax: Axes, text: str, colour: str = TEXT) -> None:
    ax.set_title(text, fontsize=FONT["label"], color=colour, loc="left", fontweight="bold")


def scenario_handles(names: Sequence[str], colours: Mapping[str, str], linewidth: float = 2.2) -> list[Any]:
    """Legend entries for scenarios, in the experiment's order (pass to :func:`finish_figure`)."""
    from matplotlib.lines import Line2D

    return [Line2D([], [], color=colours[n], linewidth=linewidth, label=n) for n in names]


def years_label(start_year: int | None = None, yearly: bool = False) -> str:
    """The time axis label: years since the run started (April of its first financial year)."""
    since = f"Time since April {start_year}" if start_year else "Time since the start"
    if yearly:
        since = f"End of financial year: {since[0].lower()}{since[1:]}"
    return f"{since} (years)"
