"""The words and tables of the briefing pack: scenarios in plain words, the headline table, formatting.

Kept apart from :mod:`sim.report` (which loads data, draws and writes files) so the text can be tested
on its own and reused, e.g. in a notebook. Numbers follow :mod:`sim.numbers` (the terminal's style too): shares as per
cent and differences in percentage points, money in £ million or £ billion a year for England, intervals
in brackets with the decimals they need.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.metrics import HEADLINE_METRICS, METRICS_BY_NAME
from sim.numbers import decimals_for, display_unit, fmt_interval, fmt_number

# ------------------------------------------------------------------------------------------ verdicts

BETTER, WORSE, NO_CHANGE, UNSURE = "better", "worse", "no material change", "uncertain"


def verdict(better: str | None, mean: float, threshold: float, sure: bool | None) -> str:
    """Better, worse, no material change or uncertain: one rule for the key findings and the tables.

    ``sure`` is whether the evidence excludes no effect: a paired interval that excludes zero, or (over
    assumption draws) a probability of improvement of at least 90% or at most 10%. An effect smaller than
    the metric's material threshold is no material change however sure it is; a material one that is not
    sure is uncertain. A metric with no better direction gets no verdict (``""``).
    """
    if not better or mean is None or not math.isfinite(mean):
        return ""
    if abs(mean) < threshold:
        return NO_CHANGE
    if not sure:
        return UNSURE
    return BETTER if (mean > 0) == (better == "higher") else WORSE


# ----------------------------------------------------------------------------------- headline table


@dataclass(frozen=True)
class HeadlineCell:
    mean: str
    interval: str
    diff: str = ""
    diff_interval: str = ""
    significant: bool = False
    verdict: str = ""  # better / worse / no material change / uncertain, where the metric has a direction

    @property
    def better(self) -> bool | None:
        """Whether the difference is a material improvement (None: neither better nor worse)."""
        return {BETTER: True, WORSE: False}.get(self.verdict)


@dataclass(frozen=True)
class HeadlineRow:
    metric: str
    label: str
    unit: str
    diff_unit: str
    cells: dict[str, HeadlineCell]


def headline_rows(
    summary: pd.DataFrame, scenarios: Sequence[str], metrics: Sequence[str] | None = None, *,
    scale: float | None = None, verdicts: Mapping[tuple[str, str], str] | None = None,
    material: Mapping[str, float] | None = None,
) -> list[HeadlineRow]:
    """The headline table: for each headline metric, each scenario's mean and its difference from baseline.

    Means and differences have a unit each (a percentage is followed by percentage points; money levels in
    £ billion may differ by £ million), money totals scaled to England, and a row's numbers share the
    decimals its intervals need. ``verdicts`` (from the key findings) mark each difference; without them
    the paired interval and the metric's material threshold decide.
    """
    from sim.metrics import material_threshold

    names = [m for m in (metrics or HEADLINE_METRICS) if m in set(summary["metric"])]
    out: list[HeadlineRow] = []
    for name in names:
        spec = METRICS_BY_NAME[name]
        rows = summary[summary["metric"] == name].set_index("scenario")
        unit = display_unit(spec, rows[["mean", "ci_low", "ci_high"]].to_numpy(float), per_year=True, scale=scale)
        diffs = rows.loc[rows.index != rows["baseline"].iloc[0], ["diff_mean", "diff_ci_low", "diff_ci_high"]]
        dunit = display_unit(spec, diffs.to_numpy(float), per_year=True, difference=True, scale=scale)
        level_d = decimals_for(unit.apply(rows["mean"].to_numpy(float)),
                               unit.apply((rows["ci_high"] - rows["ci_low"]).to_numpy(float)))
        diff_d = decimals_for(dunit.apply(diffs["diff_mean"].to_numpy(float)),
                              dunit.apply((diffs["diff_ci_high"] - diffs["diff_ci_low"]).to_numpy(float)))
        threshold = material_threshold(name, scale, dict(material or {}))
        cells: dict[str, HeadlineCell] = {}
        for scen in scenarios:
            if scen not in rows.index:
                continue
            r = rows.loc[scen]
            is_base = scen == r["baseline"]
            word = ""
            if not is_base:
                word = (verdicts or {}).get((scen, name)) or verdict(spec.better, float(r["diff_mean"]), threshold,
                                                                     bool(r["significant"]))
            f, g = unit.factor, dunit.factor
            cells[scen] = HeadlineCell(
                mean=fmt_number(r["mean"] * f, decimals=level_d),
                interval=fmt_interval(r["ci_low"] * f, r["ci_high"] * f, decimals=level_d),
                diff="" if is_base else fmt_number(r["diff_mean"] * g, decimals=diff_d, signed=True),
                diff_interval="" if is_base else fmt_interval(r["diff_ci_low"] * g, r["diff_ci_high"] * g,
                                                              decimals=diff_d),
                significant=bool(r["significant"]) and not is_base,
                verdict=word,
            )
        out.append(HeadlineRow(name, spec.label, unit.text, dunit.text, cells))
    return out


def headline_frame(
    summary: pd.DataFrame, scenarios: Sequence[str], metrics: Sequence[str] | None = None, **kwargs: Any,
) -> pd.DataFrame:
    """The headline table as a plain frame (for ``headline.csv``), in display units."""
    records = []
    for row in headline_rows(summary, scenarios, metrics, **kwargs):
        for scen, cell in row.cells.items():
            records.append({
                "metric": row.metric, "label": row.label, "unit": row.unit, "difference_unit": row.diff_unit,
                "scenario": scen,
                "mean": cell.mean, "interval_95": cell.interval, "difference_from_baseline": cell.diff,
                "difference_interval_95": cell.diff_interval, "significant": cell.significant,
                "verdict": cell.verdict,
            })
    return pd.DataFrame(records)


# ------------------------------------------------------------------------------- scenarios in words


@dataclass(frozen=True)
class Change:
    """One parameter that differs from the reference (the status quo)."""

    path: str
    label: str
    value: str
    reference: str
    description: str


def _value_text(value: Any, unit: str) -> str:
    """A value with its unit in words: ``£5 per person per year``, ``0.5 share of points``, ``per head``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        number = f"{value:,g}"
        if unit.startswith("GBP"):
            rest = unit.removeprefix("GBP").strip()
            return f"£{number} {rest}".strip()
        return f"{number} {unit}" if unit and unit not in ("choice", "flag", "score", "multiplier") else number
    return str(value).replace("_", " ")


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def changes(scenario: Mapping[str, Any], reference: Mapping[str, Any], section: str) -> list[Change]:
    """Parameters of ``section`` (``levers`` or ``assumptions``) that differ from the reference scenario."""
    from sim.docs import parameter_label
    from sim.scenario import parameter_specs

    specs = {s.path: s for s in parameter_specs()}
    mine, ref = _flatten(scenario), _flatten(reference)
    out: list[Change] = []
    for path, spec in specs.items():
        if not path.startswith(section + "."):
            continue
        value, base = mine.get(path, spec.default), ref.get(path, spec.default)
        if value == base or (isinstance(value, float) and isinstance(base, float) and math.isclose(value, base)):
            continue
        out.append(Change(path, parameter_label(path), _value_text(value, spec.unit), _value_text(base, spec.unit),
                          spec.description))
    return out


# ------------------------------------------------------------------------------------------- html


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)
