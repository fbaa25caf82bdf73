"""Command-line output of an uncertainty comparison, and the ``discover`` command (where a reform fails).

``compare ... --uncertainty N`` (registered with the experiment commands) calls :func:`report_uncertainty`
to print and write the probability of improvement and the drivers. ``discover`` runs PRIM scenario
discovery on a stored uncertainty comparison. Inputs are checked before anything is read or written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from sim.charts.style import display_unit
from sim.cli_options import RESULTS_DIR, add_db_option, console, db_url
from sim.docs import parameter_label
from sim.experiment.errors import ExperimentError
from sim.metrics import HEADLINE_METRICS, METRICS_BY_NAME
from sim.numbers import decimals_for, fmt_interval, fmt_number, format_number

TOP_DRIVERS = 3


def _percent(p: float) -> str:
    return "–" if p is None or not np.isfinite(p) else f"{p:.0%}"


def print_uncertainty(table: pd.DataFrame, drivers: pd.DataFrame, *, name: str, n_draws: int, reps: int) -> None:
    """The probability of improvement per scenario and headline metric (and any with a material delta), with
    the top drivers of each; every metric is in uncertainty.csv."""
    material = table["material_delta"].notna().any()
    out = Table(title=f"{name}: how likely each scenario is to improve on the baseline, over {n_draws} draws of "
                      f"the assumptions x {reps} replication(s)", title_justify="left")
    out.add_column("scenario", overflow="fold")
    out.add_column("mean difference [95% uncertainty interval]", justify="right")
    out.add_column("P(better)", justify="right")
    if material:
        out.add_column("P(better by > delta)", justify="right")
    out.add_column("hinges on (total index)", overflow="fold")
    shown = list(HEADLINE_METRICS) + [m for m in table.loc[table["material_delta"].notna(), "metric"].unique()
                                      if m not in HEADLINE_METRICS]
    for metric in [m for m in shown if m in set(table["metric"])]:
        spec = METRICS_BY_NAME[metric]
        rows = table[table["metric"] == metric]
        # The pack's number style: shares in percentage points, money in the step that fits, no exponents.
        unit = display_unit(spec, rows[["low", "high"]].to_numpy(float), per_year=True, difference=True)
        out.add_row(f"[bold]{spec.label}[/bold] [dim]({unit.text}; better: "
                    f"{spec.better or 'n/a'})[/dim]", end_section=False)
        for row in rows.itertuples():
            top = drivers[(drivers["scenario"] == row.scenario) & (drivers["metric"] == metric)] \
                if len(drivers) else pd.DataFrame()
            hinge = ", ".join(f"{parameter_label(r.parameter)} {r.total:.2f}"
                              for r in top.head(TOP_DRIVERS).itertuples() if r.total > 0.01) or "–"
            if len(top) and hinge != "–":
                hinge += f" [dim]({float(top['explained'].iloc[0]):.0%} explained)[/dim]"
            d = decimals_for([unit.apply(row.mean_difference)], [unit.apply(row.high - row.low)], digits=3)
            cells = [f"  {row.scenario}",
                     f"{fmt_number(unit.apply(row.mean_difference), decimals=d, signed=True)} "
                     f"{fmt_interval(unit.apply(row.low), unit.apply(row.high), decimals=d)}",
                     _percent(row.probability_better)]
            if material:
                cells.append(_percent(row.probability_material) + (
                    f" (> {fmt_number(unit.apply(row.material_delta))})" if np.isfinite(row.material_delta) else ""))
            cells.append(hinge)
            out.add_row(*cells)
        out.add_section()
    console.print(out)
    if drivers.empty:
        from sim.uncertainty.drivers import MIN_DRAWS

        console.print(f"[dim]No drivers: apportioning the variance needs at least {MIN_DRAWS} draws "
                      f"(128 or more for a stable ranking).[/dim]")
    console.print("[dim]The 95% uncertainty interval holds the central 95% of the paired difference over the "
                  "assumptions' distributions and the remaining simulation noise; it does not cover what the model "
                  "leaves out (docs/ODD.md, 'What the model cannot do'). P(better) is the share of draws in which "
                  "the scenario improves the metric.[/dim]")


def write_uncertainty(result: Any, out: Path, formats: tuple[str, ...] = ("png",), workers: int | None = 1,
                      ) -> list[Path]:
    """uncertainty.csv, drivers.csv, per_draw.csv, draws.csv and a drivers chart per scenario and metric
    (saved over ``workers`` local processes; None: one per core)."""
    from sim.charts.saving import FigureSaver
    from sim.charts.uncertainty import drivers_chart

    written = []
    for frame, file in ((result.uncertainty, "uncertainty.csv"), (result.drivers, "drivers.csv"),
                        (result.per_draw, "per_draw.csv"), (result.draws, "draws.csv")):
        path = out / file
        tmp = path.with_suffix(".csv.tmp")
        frame.to_csv(tmp, index=file == "draws.csv")
        tmp.replace(path)
        written.append(path)
    charts = out / "drivers"
    charts.mkdir(exist_ok=True)
    pairs = [key for key, _ in result.drivers.groupby(["scenario", "metric"], sort=False)]
    with FigureSaver(workers, len(pairs)) as saver:
        for scenario, metric in pairs:
            paths = [charts / f"{scenario}__{metric}.{fmt}" for fmt in formats]
            saver.save(drivers_chart(result.drivers, str(scenario), str(metric)),
                       [(path, {"format": fmt}) for path, fmt in zip(paths, formats, strict=True)])
            written.extend(paths)
    return written


# ------------------------------------------------------------------------------------------ discover


def _cmd_discover(args: argparse.Namespace) -> int:
    from sim.charts.uncertainty import boxes_chart, tradeoff_chart
    from sim.experiment.store import ResultStore
    from sim.outputs import write_outputs
    from sim.uncertainty.discovery import describe_boxes, discover
    from sim.uncertainty.stored import load_uncertainty

    if (args.below is None) == (args.above is None):
        raise ExperimentError("discover: give exactly one of --below X or --above X.")
    if args.metric not in METRICS_BY_NAME:
        raise ExperimentError(f"discover: unknown metric '{args.metric}'. Known: {', '.join(sorted(METRICS_BY_NAME))}.")
    if not 0 < args.threshold <= 1:
        raise ExperimentError(f"discover: --threshold is a density between 0 and 1, not {args.threshold}.")
    with ResultStore(db_url(args), create=False) as store:
        data = load_uncertainty(store, args.experiment)
    if args.scenario not in data.scenarios[1:]:
        raise ExperimentError(
            f"discover: '{args.scenario}' is not a compared scenario of '{args.experiment}' other than its "
            f"baseline {data.baseline}; choose one of {', '.join(data.scenarios[1:])}.")
    rows = data.per_draw[(data.per_draw["scenario"] == args.scenario) & (data.per_draw["metric"] == args.metric)]
    if rows.empty:
        raise ExperimentError(f"discover: '{args.experiment}' has no stored values of metric '{args.metric}'.")
    value = rows.set_index("draw").reindex(data.draws.index)["difference"]
    keep = value.notna().to_numpy()
    columns = list(data.draws.columns)
    if args.params:
        from sim.uncertainty.stored import select_parameters

        columns = select_parameters(columns, args.params)
        if not columns:
            raise ExperimentError(f"discover: --params {' '.join(args.params)} matches none of the varied "
                                  f"assumptions (for example {data.draws.columns[0]}).")
    found = discover(data.draws.loc[keep, columns], value[keep].to_numpy(dtype=float), below=args.below,
                     above=args.above, threshold=args.threshold)
    what = f"{args.scenario}'s difference in {METRICS_BY_NAME[args.metric].label.lower()}"
    console.print(f"[bold]{args.experiment}[/bold]: {found.n_cases} of {found.n_draws} draws have {what} "
                  f"{found.condition}.")
    if found.boxes.empty:
        console.print(found.message)
    else:
        table = Table(title="Boxes of assumption values (the baseline's values at each draw)", title_justify="left")
        for col in ("box", "parameter", "low", "high", "coverage", "density"):
            table.add_column(col, justify="left" if col == "parameter" else "right")
        for r in found.boxes.itertuples():
            table.add_row(str(r.box), parameter_label(r.parameter), format_number(r.low), format_number(r.high),
                          _percent(r.coverage), _percent(r.density))
        console.print(table)
        verb = "falls short" if args.below is not None else "runs high"
        for sentence in describe_boxes(found, outcome=f"{what} {verb}", label=parameter_label):
            console.print(f"  {sentence}")
    out = Path(args.out) if args.out else RESULTS_DIR / args.experiment / "discover" / \
        f"{args.scenario}__{args.metric}__{'below' if args.below is not None else 'above'}"

    def write(folder: Path) -> None:  # into a temporary folder, moved into place once whole
        found.boxes.to_csv(folder / "boxes.csv", index=False)
        found.trajectory.to_csv(folder / "trajectory.csv", index=False)
        if not found.boxes.empty:
            ranges = {c: (float(data.draws[c].min()), float(data.draws[c].max())) for c in data.draws.columns}
            for fig, file in ((boxes_chart(found, ranges=ranges), "boxes.png"),
                              (tradeoff_chart(found), "tradeoff.png")):
                fig.savefig(folder / file)

    write_outputs(out, write)
    console.print(f"Boxes in [bold]{out / 'boxes.csv'}[/bold] (with trajectory.csv and the charts).")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "discover", help="scenario discovery (PRIM): the assumption values in which a reform fails",
        description="On a stored uncertainty comparison (compare ... --uncertainty N), find the boxes of "
                    "assumption values in which a scenario's difference from the baseline falls below (or above) "
                    "X, with their coverage and density (EMA Workbench's PRIM).",
    )
    p.add_argument("experiment", help="experiment name (see `run_sim.py experiments`)")
    p.add_argument("--scenario", required=True, help="a compared scenario (not the baseline)")
    p.add_argument("--metric", required=True, help="metric name, e.g. quality_mean")
    bound = p.add_mutually_exclusive_group(required=True)
    bound.add_argument("--below", type=float, metavar="X", help="cases: the difference is below X (e.g. 0: harm "
                                                                "for a metric where higher is better)")
    bound.add_argument("--above", type=float, metavar="X", help="cases: the difference is above X")
    p.add_argument("--params", nargs="+", metavar="PATTERN",
                   help="search only these assumptions (glob patterns, e.g. 'assumptions.leadership.*')")
    p.add_argument("--threshold", type=float, default=0.8,
                   help="least share of a box's draws that must be cases (density; default %(default)s)")
    p.add_argument("--out", type=Path, help="folder (default results/EXPERIMENT/discover/SCENARIO__METRIC__below/)")
    add_db_option(p)
    p.set_defaults(func=_cmd_discover)
