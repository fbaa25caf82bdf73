"""What the experiment commands print: the paired comparison, a design's means, how the runs went.

In the pack's number style (:mod:`sim.numbers`), so the terminal and the briefing pack agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from sim.cli_options import console
from sim.metrics import HEADLINE_METRICS, METRICS_BY_NAME
from sim.numbers import format_number


def pm(value: float, conf: float) -> str:
    """``value ± conf``, or a dash for an index that does not exist (the metric never varied)."""
    if value is None or not np.isfinite(value):
        return "–"
    return f"{format_number(value)} ± {format_number(conf)}"


def print_summary(summary: pd.DataFrame, title: str, scale: float | None = None) -> None:
    """One block per headline metric: each scenario's mean, and its paired difference from the baseline.

    The pack's number style (:mod:`sim.numbers`): shares in per cent and differences in percentage points,
    money in £ million or £ billion a year (for England, when the runs simulate a sample of it), each
    block's numbers with the decimals its intervals need, no exponents.
    """
    from sim.numbers import decimals_for, display_unit, fmt_interval, fmt_number

    table = Table(title=title, title_justify="left")
    table.add_column("scenario", overflow="fold")
    table.add_column("mean [95% CI]", justify="right")
    table.add_column("difference [paired CI]", justify="right")
    table.add_column("unpaired 95% CI", justify="right")
    table.add_column("width ratio", justify="right")
    for name in [m for m in HEADLINE_METRICS if m in set(summary["metric"])]:
        spec = METRICS_BY_NAME[name]
        rows = summary[summary["metric"] == name]
        others = rows[rows["scenario"] != rows["baseline"]]
        level = display_unit(spec, rows[["mean", "ci_low", "ci_high"]].to_numpy(float), per_year=True, scale=scale)
        diff = display_unit(spec, others[["diff_mean", "diff_ci_low", "diff_ci_high"]].to_numpy(float),
                            per_year=True, difference=True, scale=scale)
        dl = decimals_for(level.apply(rows["mean"].to_numpy(float)),
                          level.apply((rows["ci_high"] - rows["ci_low"]).to_numpy(float)))
        dd = decimals_for(diff.apply(others["diff_mean"].to_numpy(float)),
                          diff.apply((others["diff_ci_high"] - others["diff_ci_low"]).to_numpy(float)))
        short = "percentage points" if diff.text.startswith("percentage points") else diff.text
        units = level.text if level.text == diff.text else f"{level.text}; differences in {short}"
        table.add_row(f"[bold]{spec.label}[/bold] [dim]({units})[/dim]", end_section=False)
        for row in rows.itertuples():
            mean = (f"{fmt_number(level.apply(row.mean), decimals=dl)} "
                    f"{fmt_interval(level.apply(row.ci_low), level.apply(row.ci_high), decimals=dl)}")
            if row.scenario == row.baseline:
                table.add_row(f"  {row.scenario}", mean, "baseline", "", "")
                continue
            width_u = row.unpaired_ci_high - row.unpaired_ci_low
            width_p = row.diff_ci_high - row.diff_ci_low
            ratio = width_p / width_u if np.isfinite(width_u) and width_u > 0 else np.nan
            mark = "[bold]*[/bold] " if row.significant else ""
            table.add_row(
                f"  {row.scenario}", mean,
                f"{mark}{fmt_number(diff.apply(row.diff_mean), decimals=dd, signed=True)} "
                f"{fmt_interval(diff.apply(row.diff_ci_low), diff.apply(row.diff_ci_high), decimals=dd)}",
                fmt_interval(diff.apply(row.unpaired_ci_low), diff.apply(row.unpaired_ci_high), decimals=dd),
                f"{ratio:.2f}" if np.isfinite(ratio) else "–",
            )
        table.add_section()
    console.print(table)
    note = ("width ratio = paired interval width / unpaired interval width (below 1: pairing by common random "
            "numbers narrowed it).")
    if scale is not None and 0 < scale < 1:
        note += (f" Money totals are for England: the runs simulate {scale * 100:g}% of it, scaled up by "
                 f"{1 / scale:g}.")
    console.print(f"[dim]{note}[/dim]")


def print_outcome(outcome: Any) -> None:
    parts = [f"{outcome.computed} runs computed", f"{outcome.reused} reused from the store"]
    if outcome.failed:
        parts.append(f"{outcome.failed} failed")
    share = outcome.store_share
    console.print(
        f"[bold]{outcome.name}[/bold] ({outcome.kind}, {outcome.status}): {', '.join(parts)} on "
        f"{outcome.executor} in {outcome.elapsed_seconds:.1f} s"
        + (f" ({share:.0%} of it writing to the database)" if np.isfinite(share) else "")
        + f". Stored in {outcome.database}."
    )


def print_design_means(result: Any, what: str, limit: int = 25) -> None:
    table_data = result.table
    params = list(result.design.columns)
    headline = [m for m in HEADLINE_METRICS if m in table_data.columns]
    means = table_data.groupby("point_id")[params + headline].mean()
    table = Table(title=f"{result.name}: {len(means)} points, mean over replications at the horizon"
                  + (f" (first {limit}; all in the CSV)" if len(means) > limit else ""))
    table.add_column("point", justify="right")
    for p in params:
        table.add_column(p.rsplit(".", 1)[-1], justify="right")
    from sim.numbers import display_unit, fmt_number

    units = {m: display_unit(METRICS_BY_NAME[m], means[m].to_numpy(float), per_year=True) for m in headline}
    for m in headline:
        table.add_column(f"{METRICS_BY_NAME[m].label} ({units[m].text})", justify="right")
    for pid, row in means.head(limit).iterrows():
        table.add_row(str(pid), *(format_number(row[c]) for c in params),
                      *(fmt_number(units[m].apply(row[m])) for m in headline))
    console.print(table)
