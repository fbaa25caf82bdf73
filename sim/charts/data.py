"""Reshaping the store's tidy frames into what a chart draws: horizon values, yearly flows, bands.

Kept apart from the drawing so that the numbers a chart shows can be tested (and tabulated in the
briefing pack) without rendering anything. The rules follow :mod:`sim.metrics`: a *level* is read at a
quarter; a *flow* is counted per quarter, summed over the four quarters ending at the horizon, or summed
per financial year. Quarter 0 is the starting state and carries no flow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sim.errors import SimError
from sim.metrics import METRIC_NAMES, MetricSpec, metric


class ChartError(SimError):
    """The data given to a chart cannot make it; the message says what is missing and what is allowed."""


RUN_KEYS: tuple[str, ...] = ("scenario", "replication")


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Fail with the missing columns named, rather than with a KeyError deep in the drawing."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ChartError(
            f"{what} needs columns {', '.join(missing)}; the frame has {', '.join(map(str, frame.columns))}."
        )


def require_rows(frame: pd.DataFrame, what: str) -> None:
    if frame.empty:
        raise ChartError(f"{what}: there is no data to draw (no finished runs, or everything was filtered out).")


def metric_spec(name: str, frame: pd.DataFrame | None = None) -> MetricSpec:
    """The registry entry for a metric, checking the frame holds it."""
    spec = metric(name)
    if frame is not None and name not in frame.columns:
        raise ChartError(f"Metric '{name}' is not in the data. Metrics in the data: "
                         f"{', '.join(c for c in frame.columns if c in METRIC_NAMES)}.")
    return spec


def run_key(frame: pd.DataFrame) -> list[str]:
    """Columns that identify a run: ``run_id`` when there, else scenario and replication."""
    return ["run_id"] if "run_id" in frame.columns else [c for c in RUN_KEYS if c in frame.columns]


def horizon_quarter(metrics: pd.DataFrame) -> int:
    """The last quarter every run reached (runs of one experiment share a length)."""
    require_columns(metrics, ["quarter"], "the horizon")
    require_rows(metrics, "the horizon")
    keys = run_key(metrics)
    return int(metrics.groupby(keys)["quarter"].max().min()) if keys else int(metrics["quarter"].max())


def horizon_values(
    metrics: pd.DataFrame, name: str, horizon: int | None = None, extra_keys: Sequence[str] = (),
) -> pd.DataFrame:
    """One value per run at the horizon: a level at the horizon quarter, a flow summed over its last year.

    Returns:
        A frame with the run keys, ``scenario``, ``replication`` (and ``extra_keys``) and ``value``.
    """
    spec = metric_spec(name, metrics)
    h = horizon_quarter(metrics) if horizon is None else int(horizon)
    keys = list(dict.fromkeys([*run_key(metrics), *[c for c in RUN_KEYS if c in metrics], *extra_keys]))
    if spec.kind == "level":
        rows = metrics[metrics["quarter"] == h]
    else:
        rows = metrics[(metrics["quarter"] > max(h - 4, 0)) & (metrics["quarter"] <= h)]
    if rows.empty:
        raise ChartError(f"No data at quarter {h} for '{name}'.")
    out = rows.groupby(keys, sort=False)[name].sum(min_count=1).reset_index(name="value")
    return out


def yearly_flows(metrics: pd.DataFrame, name: str) -> pd.DataFrame:
    """A flow summed per financial year and run, complete years only (a part-year would look like a fall).

    Returns:
        Run keys, ``scenario``, ``replication``, ``financial_year``, ``year_end`` (years from the start at
        the end of that financial year) and ``value``.
    """
    require_columns(metrics, ["quarter", "financial_year", "time_years"], "a yearly flow")
    keys = list(dict.fromkeys([*run_key(metrics), *[c for c in (*RUN_KEYS, "point_id") if c in metrics]]))
    rows = metrics[metrics["quarter"] > 0]
    grouped = rows.groupby([*keys, "financial_year"], sort=False)
    out = grouped.agg(value=(name, "sum"), quarters=("quarter", "size"), year_end=("time_years", "max"))
    out = out[out["quarters"] == 4].drop(columns="quarters").reset_index()
    return out


def bands(
    frame: pd.DataFrame, x: str, value: str = "value", by: str = "scenario",
    levels: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
) -> pd.DataFrame:
    """Quantiles of ``value`` across replications at each ``x`` for each group (for fan charts)."""
    grouped = frame.groupby([by, x], sort=False)[value]
    out = grouped.quantile(list(levels)).unstack()
    out.columns = [f"q{round(q * 100):02d}" for q in levels]
    out["n"] = grouped.size()
    return out.reset_index()


def mean_ci(values: pd.Series | np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and a t-interval across replications (NaN interval with one replication)."""
    from scipy import stats

    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(arr.mean())
    if arr.size < 2:
        return (mean, np.nan, np.nan)
    half = float(stats.t.ppf(0.5 + level / 2, arr.size - 1) * arr.std(ddof=1) / np.sqrt(arr.size))
    return (mean, mean - half, mean + half)


def summarise_runs(frame: pd.DataFrame, by: Sequence[str], value: str = "value") -> pd.DataFrame:
    """Mean, 95% interval and count of ``value`` per group."""
    rows = []
    for key, group in frame.groupby(list(by), sort=False):
        mean, lo, hi = mean_ci(group[value])
        key_t = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key_t, strict=True)), "mean": mean, "ci_low": lo, "ci_high": hi,
                     "n": int(group[value].notna().sum())})
    return pd.DataFrame(rows)


def start_year(metrics: pd.DataFrame) -> int | None:
    """The financial year of quarter 1 (the run's ``start_year``), if the frame says."""
    if "financial_year" not in metrics or "quarter" not in metrics:
        return None
    first = metrics.loc[metrics["quarter"] == 1, "financial_year"]
    if not len(first):
        return None
    text = str(first.iloc[0])  # an int (2011) or a label ("2011/12")
    return int(text[:4]) if text[:4].isdigit() else None


def runs_per_scenario(frame: pd.DataFrame) -> tuple[int, str]:
    """How many runs each scenario has (the fewest), and what to call them in a subtitle.

    A plain comparison's runs are its replications; an uncertainty comparison's are its assumption draws
    times its replications, which counting replications alone would miss.
    """
    drawn = "point_id" in frame.columns and frame["point_id"].nunique() > 1
    keys = ["point_id", "replication"] if drawn else ["replication"]
    n = int(frame.groupby("scenario")[keys].apply(lambda g: len(g.drop_duplicates())).min())
    return n, "runs (assumption draws x replications)" if drawn else "replications"
