"""Numbers for terminal tables: one format everywhere the CLI prints results."""

from __future__ import annotations

import math


def format_number(value: float | None) -> str:
    """Compact and readable: GBP-sized values in m/bn, others to three or so significant figures.

    Example:
        >>> [format_number(v) for v in (1.234e9, 25_600_000, 6651.2, 14.567, 0.05432, None)]
        ['1.23bn', '25.60m', '6,651', '14.57', '0.0543', '–']
    """
    if value is None or not math.isfinite(value):
        return "–"
    a = abs(value)
    if a >= 1e9:
        return f"{value / 1e9:,.2f}bn"
    if a >= 1e5:
        return f"{value / 1e6:,.2f}m"
    if a >= 100 or (a >= 1 and float(value).is_integer()):
        return f"{value:,.0f}"
    if a >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}" if a >= 1e-3 or a == 0 else f"{value:.2e}"
