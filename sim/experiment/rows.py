"""A run's quarterly metrics as the store writes them: plain tuples, built where the run was computed.

Turning a metrics frame into rows of plain Python values takes pandas work that is small but not nothing
next to storing the rows. Done in the worker process (``sim.experiment.tasks.execute``), it costs the
orchestrating process nothing: that process alone writes to the database, so everything it does per run
limits how many runs a sweep can store per second. Kept free of SQLAlchemy so workers need not import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: The run's calendar: the columns of a metrics frame that are not metrics.
QUARTER_COLUMNS: tuple[str, ...] = ("quarter", "time_years", "financial_year")


@dataclass(frozen=True)
class MetricRows:
    """Rows for ``run_metrics``, less the run id (not known until the run is stored).

    Attributes:
        names: the metric columns, in the order of the values in each row.
        rows: one tuple per quarter: ``quarter, time_years, financial_year``, then a value per name
            (floats, None for NaN).
    """

    names: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def metric_names(metrics: pd.DataFrame) -> tuple[str, ...]:
    """The frame's metric columns: every numeric column but the calendar, in the frame's order."""
    return tuple(str(c) for c, dtype in zip(metrics.columns, metrics.dtypes, strict=True)
                 if c not in QUARTER_COLUMNS and pd.api.types.is_numeric_dtype(dtype))


def float_list(values: Any) -> list[float | None]:
    """Plain Python floats (drivers reject numpy scalars), with NaN as None (NULL on every backend)."""
    arr = np.asarray(values, dtype=float)
    out: list[Any] = arr.tolist()
    if np.isnan(arr).any():
        out = [None if v != v else v for v in out]
    return out


def metric_rows(metrics: pd.DataFrame) -> MetricRows:
    """The rows of a run's quarterly metrics frame (``sim.runner.RunResult.metrics``).

    Built from one 2-D array rather than cell by cell: this runs once per run, thousands of times a sweep.
    """
    names = metric_names(metrics)
    if metrics.empty:
        return MetricRows(names, [])
    n = len(metrics)
    positions = [metrics.columns.get_loc(c) for c in names]
    values = metrics.iloc[:, positions].to_numpy(dtype=float)
    cells: list[list[Any]] = values.tolist()
    if np.isnan(values).any():
        cells = [[None if v != v else v for v in row] for row in cells]
    quarters = metrics["quarter"].astype(int).tolist()
    years = float_list(metrics["time_years"]) if "time_years" in metrics else [None] * n
    labels = ([None if pd.isna(v) else str(v) for v in metrics["financial_year"].tolist()]
              if "financial_year" in metrics else [None] * n)
    return MetricRows(names, [(q, y, f, *row) for q, y, f, row in zip(quarters, years, labels, cells, strict=True)])
