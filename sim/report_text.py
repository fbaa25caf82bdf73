"""The words and tables of the briefing pack: scenarios in plain words, the headline table, formatting.

Kept apart from :mod:`sim.report` (which loads data, draws and writes files) so the text can be tested
on its own and reused, e.g. in a notebook. Numbers are shown as a policy reader expects them: shares as
per cent, money in £ million a year, three significant figures, intervals in brackets.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.charts.style import DisplayUnit, display_unit
from sim.metrics import HEADLINE_METRICS, METRICS_BY_NAME

# ------------------------------------------------------------------------------------------ numbers


def fmt_number(value: float, digits: int = 3) -> str:
    """Three significant figures with thousands separators; a proper minus sign; ``–`` for missing."""
    if value is None or not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{value:,.{decimals}f}"
    return text.replace("-", "−")


def fmt_interval(low: float, high: float) -> str:
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f"[{fmt_number(low)} to {fmt_number(high)}]"


# ----------------------------------------------------------------------------------- headline table


@dataclass(frozen=True)
class HeadlineCell:
    mean: str
    interval: str
    diff: str = ""
    diff_interval: str = ""
    significant: bool = False
    better: bool | None = None  # whether the difference is an improvement, where the metric says


@dataclass(frozen=True)
class HeadlineRow:
    metric: str
    label: str
    unit: str
    diff_unit: str
    cells: dict[str, HeadlineCell]


def _unit_for(name: str, summary: pd.DataFrame) -> DisplayUnit:
    spec = METRICS_BY_NAME[name]
    rows = summary[summary["metric"] == name]
    return display_unit(spec, rows["mean"].to_numpy(float), per_year=True)


def headline_rows(
    summary: pd.DataFrame, scenarios: Sequence[str], metrics: Sequence[str] | None = None,
) -> list[HeadlineRow]:
    """The headline table: for each headline metric, each scenario's mean and its difference from baseline.

    Differences use the same unit as the means (so a percentage is followed by percentage points).
    """
    names = [m for m in (metrics or HEADLINE_METRICS) if m in set(summary["metric"])]
    out: list[HeadlineRow] = []
    for name in names:
        spec = METRICS_BY_NAME[name]
        unit = _unit_for(name, summary)
        diff_unit = display_unit(spec, None, per_year=True, difference=True).text if unit.factor == 100 else unit.text
        rows = summary[summary["metric"] == name].set_index("scenario")
        cells: dict[str, HeadlineCell] = {}
        for scen in scenarios:
            if scen not in rows.index:
                continue
            r = rows.loc[scen]
            f = unit.factor
            is_base = scen == r["baseline"]
            better = None
            if not is_base and spec.better and bool(r["significant"]):
                better = (r["diff_mean"] > 0) == (spec.better == "higher")
            cells[scen] = HeadlineCell(
                mean=fmt_number(r["mean"] * f),
                interval=fmt_interval(r["ci_low"] * f, r["ci_high"] * f),
                diff="" if is_base else _signed(r["diff_mean"] * f),
                diff_interval="" if is_base else fmt_interval(r["diff_ci_low"] * f, r["diff_ci_high"] * f),
                significant=bool(r["significant"]) and not is_base,
                better=better,
            )
        out.append(HeadlineRow(name, spec.label, unit.text, diff_unit, cells))
    return out


def _signed(value: float) -> str:
    text = fmt_number(value)
    return text if text.startswith(("−", "–")) or text == "0" else f"+{text}"


def headline_frame(
    summary: pd.DataFrame, scenarios: Sequence[str], metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The headline table as a plain frame (for ``headline.csv``), in display units."""
    records = []
    for row in headline_rows(summary, scenarios, metrics):
        for scen, cell in row.cells.items():
            records.append({
                "metric": row.metric, "label": row.label, "unit": row.unit, "difference_unit": row.diff_unit,
                "scenario": scen,
                "mean": cell.mean, "interval_95": cell.interval, "difference_from_baseline": cell.diff,
                "difference_interval_95": cell.diff_interval, "significant": cell.significant,
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
