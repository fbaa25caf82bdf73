"""The briefing pack's charts: which charts an experiment gets, drawn and saved in every format.

Apart from :mod:`sim.report` (loading, tables, the folder) so each stays small. A chart maker may return
``None`` when there is nothing to show (a series constant across scenarios and time): the pack then
leaves that chart out rather than drawing a flat line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

PNG_DPI = 300


@dataclass
class ChartFile:
    """One chart of the pack: where its files are and what it shows."""

    stem: str
    title: str
    section: str
    files: dict[str, str] = field(default_factory=dict)  # format -> path relative to the pack


def chart_plan(ctx: Any) -> list[tuple[str, str, Callable[[], Any]]]:
    """(file stem, section, maker) for every chart relevant to the experiment's kind."""
    from sim import charts

    data, kind = ctx.data, ctx.data.experiment.get("kind")
    style = {"colours": ctx.colours, "provenance": ctx.provenance}
    plan: list[tuple[str, str, Callable[[], Any]]] = []
    metrics = data.metrics[data.metrics["quarter"] <= ctx.horizon]
    # A metric that never changes in any run is a setting (consortia delegated under "all"), not a result:
    # no chart of its own, no panel in the forest plots, no empty sensitivity chart.
    varying = [m for m in ctx.metrics if not charts.constant(metrics, m)]
    if kind == "compare":
        if ctx.uncertainty is not None:  # the pack leads with how likely each reform is to work
            from sim.report_uncertainty import chart_plan

            plan += chart_plan(ctx.uncertainty, ctx.provenance)
        summary = ctx.summary
        baseline = str(data.experiment.get("baseline") or ctx.scenarios[0])
        per = -(-len(varying) // max(1, -(-len(varying) // 4)))  # at most four a chart, shared evenly
        chunks = [varying[i:i + per] for i in range(0, len(varying), per)]
        for i, chunk in enumerate(chunks, 1):
            title = f"Effects against {baseline}: " + _short_list(chunk)
            plan.append((f"effects_{i}", "Effects against the baseline",
                         lambda chunk=chunk, title=title: charts.forest_plot(summary, chunk, title=title, **style)))
        for name in varying:
            # Money: the question is what a reform costs or saves, so the paired difference from the baseline.
            money = charts.metric_spec(name).unit == "GBP" and len(ctx.scenarios) > 1
            plan.append((f"fan_{name}", "Over time", lambda name=name, money=money: charts.fan_chart(
                metrics, name, difference=money, **style)))
        plan.append(("money", "Money", lambda: charts.money_chart(metrics, horizon=ctx.horizon, **style)))
        plan.append(("governance", "Governance activity", lambda: charts.governance_chart(metrics, **style)))
        snaps = data.snapshots
        if len(snaps):
            snaps = snaps[snaps["quarter"] <= ctx.horizon]
            for measure in ("outcome", "achievement", "prescribing"):
                plan.append((f"funnel_{measure}", "Practices",
                             lambda measure=measure: charts.funnel_plot(snaps, measure, **style)))
            plan.append(("distribution_quality", "Practices",
                         lambda: charts.quality_distribution(snaps, "quality", **style)))
    elif kind == "sweep":
        params = [c for c in data.design.columns if c != "point_id"]
        groups = [params] if len(params) <= 2 else [[p] for p in params]
        for name in varying:
            for group in groups:
                stem = f"sweep_{name}" + ("" if len(groups) == 1 else f"_{group[0].rsplit('.', 1)[-1]}")
                plan.append((stem, "Sweep", lambda name=name, group=group: charts.sweep_chart(
                    metrics, data.runs, data.design, name, group, horizon=ctx.horizon, **style)))
    elif kind == "optimise":
        from sim.report_optimise import chart_plan as search_charts

        plan += search_charts(ctx.search)
    elif kind == "sensitivity":
        sens = data.sensitivity
        for name in [m for m in varying if m in set(sens["metric"])] if len(sens) else []:
            for method in pd.unique(sens.loc[sens["metric"] == name, "method"]):
                plan.append((f"sensitivity_{name}_{method}", "Sensitivity",
                             lambda name=name, method=method: charts.sensitivity_chart(
                                 sens, name, method=str(method), provenance=ctx.provenance)))
        params = [c for c in data.design.columns if c != "point_id"]
        for name in varying[:4]:
            for par in params[:6]:
                plan.append((f"response_{name}_{par.rsplit('.', 1)[-1]}", "Responses",
                             lambda name=name, par=par: charts.sweep_chart(
                                 metrics, data.runs, data.design, name, [par], horizon=ctx.horizon, **style)))
    return plan


def _short_list(names: Sequence[str]) -> str:
    from sim.metrics import metric

    labels = [metric(n).label for n in names]
    labels = [labels[0]] + [lab[:1].lower() + lab[1:] for lab in labels[1:]]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def write_charts(ctx: Any, folder: Path, formats: Sequence[str]) -> list[ChartFile]:
    """Draw every chart of the plan and save it in every format; the saving (most of the cost at 300 dpi)
    goes to ``ctx.workers`` local processes where there are enough charts, and gives the same files."""
    from sim.charts.saving import FigureSaver
    from sim.experiment.progress import Steps

    out: list[ChartFile] = []
    (folder / "charts").mkdir()
    plan = chart_plan(ctx)
    with Steps(f"Briefing pack {ctx.name}: charts", len(plan), ctx.progress) as steps, \
            FigureSaver(ctx.workers, len(plan)) as saver:
        for stem, section, make in plan:
            fig = make()
            if fig is None:  # nothing to show (a series constant across scenarios and time)
                steps.advance(stem)
                continue
            title = str(fig.get_label() or stem)
            chart = ChartFile(stem, title, section)
            chart.files = {fmt: f"charts/{stem}.{fmt}" for fmt in formats}
            saver.save(fig, [(folder / rel, {"format": fmt, "dpi": PNG_DPI, "metadata": _image_metadata(fmt, title)})
                             for fmt, rel in chart.files.items()])
            out.append(chart)
            steps.advance(stem)
    return out


def _image_metadata(fmt: str, title: str) -> dict[str, Any]:
    if fmt == "svg":
        return {"Title": title, "Date": None}
    if fmt == "pdf":
        return {"Title": title, "Creator": "Commissioning Reform Simulator", "CreationDate": None}
    return {"Title": title, "Software": "Commissioning Reform Simulator"}
