"""Layout defects of a matplotlib figure, from the bounding boxes the renderer gives its text.

Two defects a reader sees and a pixel test cannot name: text drawn over other text (tick labels, titles,
legends, annotations, footers) and text cut off at the figure's edge. Each text artist that is drawn is
measured once with the Agg renderer; legends are taken as whole boxes, since their entries sit inside them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.transforms import Bbox

TOLERANCE_PX = 1.0  # anti-aliasing: boxes that touch are not a defect


@dataclass(frozen=True)
class Box:
    what: str
    bbox: Bbox


def _drawn(text: Text) -> bool:
    return bool(text.get_visible() and text.get_text().strip() and text.get_alpha() != 0)


def _axis_texts(ax: Axes) -> Iterator[tuple[str, Text]]:
    for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        for tick in axis._update_ticks():  # the ticks actually drawn (inside the view limits)
            for label in (tick.label1, tick.label2):
                if label.get_visible():
                    yield f"{name} tick '{label.get_text()}'", label
        yield f"{name} label", axis.label
        yield f"{name} offset", axis.get_offset_text()
    for title in (ax.title, ax._left_title, ax._right_title):
        yield "axes title", title
    for text in ax.texts:
        yield "axes text", text


def boxes(fig: Figure) -> list[Box]:
    """Every drawn text artist of the figure (legends whole) with its rendered bounding box, in pixels."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out: list[Box] = []
    legends: list[Legend] = list(fig.legends)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for what, text in _axis_texts(ax):
            if _drawn(text):
                out.append(Box(f"{what} (panel '{ax.get_title(loc='left') or ax.get_title()}')",
                               text.get_window_extent(renderer)))
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
    for text in fig.texts:
        if _drawn(text):
            out.append(Box(f"figure text '{text.get_text()[:40]}'", text.get_window_extent(renderer)))
    for sup in (getattr(fig, "_supxlabel", None), getattr(fig, "_supylabel", None), getattr(fig, "_suptitle", None)):
        if sup is not None and _drawn(sup) and sup not in fig.texts:
            out.append(Box("figure label", sup.get_window_extent(renderer)))
    for legend in legends:
        if legend.get_visible():
            out.append(Box("legend", legend.get_window_extent(renderer)))
    return out


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return min(w, h)


def defects(fig: Figure) -> list[str]:
    """What overlaps or falls outside the figure; empty for a clean layout."""
    found = boxes(fig)
    width, height = fig.bbox.width, fig.bbox.height
    problems = []
    for box in found:
        b = box.bbox
        if b.x0 < -TOLERANCE_PX or b.y0 < -TOLERANCE_PX or b.x1 > width + TOLERANCE_PX or b.y1 > height + TOLERANCE_PX:
            problems.append(f"{box.what} falls outside the figure ({b.x0:.0f}, {b.y0:.0f}, {b.x1:.0f}, {b.y1:.0f} "
                            f"in {width:.0f} x {height:.0f})")
    for i, first in enumerate(found):
        for second in found[i + 1:]:
            if _overlap(first.bbox, second.bbox) > TOLERANCE_PX:
                problems.append(f"{first.what} overlaps {second.what}")
    return problems
