"""One number style for the terminal and the briefing pack: units, England scaling and digits.

A reader compares numbers across a table, so each is shown in the unit a policy reader thinks in
(shares as per cent, differences in them as percentage points, money in £ million or £ billion chosen
for the values at hand, counts per quarter or year) and with as many decimals as the intervals need to
tell the numbers apart: never in scientific notation. A run that simulates a sample of England (``scale``
below 1) has money totals for that sample only; they are scaled up to England (divided by the scale) and
labelled so, since a minister asks what a reform costs England. Rates (per head, per 1,000) need no scaling.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sim.metrics import MetricSpec

MINUS = "−"  # a true minus sign: the same width as a plus, never read as a hyphen


@dataclass(frozen=True)
class DisplayUnit:
    """How a metric's values are shown: multiply by ``factor``, label with ``text``."""

    factor: float
    text: str

    def apply(self, values: Any) -> Any:
        return values * self.factor


_MONEY_STEPS = ((1e9, "£ billion"), (1e6, "£ million"), (1e3, "£ thousand"), (1.0, "£"))


def money_unit(max_abs: float, suffix: str = "") -> DisplayUnit:
    """Pounds in the largest step (billion, million, thousand) that keeps numbers above one."""
    for step, word in _MONEY_STEPS:
        if max_abs >= step:
            return DisplayUnit(1 / step, f"{word}{suffix}")
    return DisplayUnit(1.0, f"£{suffix}")


def england_factor(spec: MetricSpec, scale: float | None) -> float:
    """What a stored value is multiplied by to give England: ``1 / scale`` for money totals, else 1."""
    if spec.unit == "GBP" and scale is not None and 0 < scale < 1:
        return 1.0 / scale
    return 1.0


def display_unit(
    spec: MetricSpec, values: Any = None, *, per_year: bool = False, difference: bool = False,
    scale: float | None = None,
) -> DisplayUnit:
    """The unit a metric is shown in, for axis labels and tables.

    Args:
        spec: the metric.
        values: the raw numbers to be shown (to choose £ million or £ billion); optional.
        per_year: flows summed per financial year (otherwise per quarter).
        difference: the values are differences between scenarios (shares then in percentage points).
        scale: the share of England the runs simulate; money totals of a sample are scaled to England
            and the unit says so.

    Example:
        >>> from sim.metrics import metric
        >>> display_unit(metric("total_cost_gbp"), [3.3e9], per_year=True, scale=0.2).text
        '£ billion a year, England'
    """
    unit = spec.unit
    period = (" a year" if per_year else " a quarter") if spec.kind == "flow" else ""
    if unit.startswith("share"):
        rest = unit.removeprefix("share").strip()
        word = "percentage points" if difference else "%"
        return DisplayUnit(100.0, f"{word} {rest}".strip() if rest else word)
    if unit.startswith("GBP"):
        rest = unit.removeprefix("GBP").strip()
        if rest:  # a rate such as "GBP per patient a year": keep pounds
            return DisplayUnit(1.0, f"£ {rest}")
        import numpy as np  # here: the light commands that print numbers do not load numpy

        england = england_factor(spec, scale)
        arr = np.asarray(values, dtype=float).ravel() * england if values is not None else np.array([0.0])
        finite = arr[np.isfinite(arr)]
        max_abs = float(np.max(np.abs(finite))) if finite.size else 0.0
        base = money_unit(max_abs, period + (", England" if england != 1 else ""))
        return DisplayUnit(base.factor * england, base.text)
    return DisplayUnit(1.0, f"{unit}{period}")


def decimals_for(values: Iterable[float], widths: Iterable[float] = (), digits: int = 3) -> int:
    """Decimals that give the largest value ``digits`` significant figures and every interval's ends apart.

    So a level whose interval is narrow is not shown as ``16.6 [16.6 to 16.6]``, and a row of a table
    shares one number of decimals.
    """
    vals = [abs(float(v)) for v in values if v is not None and math.isfinite(v) and v != 0]
    wide = [abs(float(w)) for w in widths if w is not None and math.isfinite(w) and w > 0]
    d = max(0, digits - 1 - math.floor(math.log10(max(vals)))) if vals else 0
    if wide:  # one significant figure of the narrowest interval, so its two ends differ
        d = max(d, min(-math.floor(math.log10(min(wide))), d + 2))
    return min(d, 6)


def fmt_number(value: float | None, digits: int = 3, *, decimals: int | None = None, signed: bool = False) -> str:
    """A number with thousands separators and a true minus sign; ``–`` if missing; never an exponent.

    Example:
        >>> [fmt_number(v) for v in (1234.5, 14.567, -0.0543, 0.000331, None)]
        ['1,235', '14.6', '−0.0543', '0.000331', '–']
        >>> fmt_number(2.93, decimals=2, signed=True)
        '+2.93'
    """
    if value is None or not math.isfinite(value):
        return "–"
    if decimals is None:
        decimals = 0 if value == 0 else max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        text = text.lstrip("-")  # no "−0.00"
    elif signed and value > 0:
        text = "+" + text
    return text.replace("-", MINUS)


def fmt_interval(low: float | None, high: float | None, *, decimals: int | None = None) -> str:
    """``[low to high]``, both with the same decimals (the row's, if given); empty if undefined."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    if decimals is None:
        decimals = decimals_for([low, high], [high - low])
    return f"[{fmt_number(low, decimals=decimals)} to {fmt_number(high, decimals=decimals)}]"


def fmt_quantity(value: float | None, unit: DisplayUnit, *, decimals: int | None = None,
                 signed: bool = False) -> str:
    """A number with its unit as prose puts it: ``−£10.5m a year``, ``+1.44 percentage points``,
    ``−0.21 per 1,000 patients a year``.

    Example:
        >>> fmt_quantity(-10.5, DisplayUnit(1e-6, "£ million a year, England"), decimals=1, signed=True)
        '−£10.5m a year'
    """
    number = fmt_number(value, decimals=decimals, signed=signed)
    text = unit.text.removesuffix(", England")
    for word, short in (("£ billion", "bn"), ("£ million", "m"), ("£ thousand", "k"), ("£", "")):
        if text.startswith(word):
            sign = number[0] if number[:1] in ("+", MINUS) else ""
            return f"{sign}£{number[len(sign):]}{short}{text.removeprefix(word)}"
    if text.startswith("percentage points"):
        text = "percentage points"
    elif text.startswith("% "):
        return f"{number}%"
    return f"{number} {text}"


def format_number(value: float | None) -> str:
    """A single number in a terminal table where no unit has been chosen: money in m/bn, else three
    significant figures, never an exponent.

    Example:
        >>> [format_number(v) for v in (1.234e9, 25_600_000, 6651.2, 14.567, 0.0005432, None)]
        ['1.23bn', '25.6m', '6,651', '14.6', '0.000543', '–']
    """
    if value is None or not math.isfinite(value):
        return "–"
    a = abs(value)
    if a >= 1e9:
        return fmt_number(value / 1e9) + "bn"
    if a >= 1e5:
        return fmt_number(value / 1e6) + "m"
    if a >= 100 or (a >= 1 and float(value).is_integer()):
        return fmt_number(value, decimals=0)
    return fmt_number(value)
