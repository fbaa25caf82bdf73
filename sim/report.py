"""The briefing pack: every relevant chart, CSV tables, ``summary.md`` and an ``index.html`` of a stored experiment.

``python run_sim.py report EXPERIMENT`` (or ``compare ... --report``) writes a folder that a policy team
can open in a browser and cut charts from: the question, the scenarios in plain words, the headline
table with intervals, the charts, the assumptions and where the numbers came from.

Why it is built the way it is:

* Everything goes to a temporary sibling folder that is renamed into place at the end, so a failure
  (a bad metric, a database error, an interrupted run) never leaves a half-written pack; an earlier pack
  in the same place is replaced only once the new one is complete.
* The page is self-contained apart from its image files (relative paths): no web fonts, scripts or
  CDNs, so it opens offline and from a shared drive, and nothing leaks to the network.
* The scenarios' levers are described from the resolved parameters stored with each run (compared with
  the status quo), not from the scenario files, which may have changed since the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import SimError
from sim.outputs import clean_stale_partials
from sim.report_charts import PNG_DPI, ChartFile
from sim.report_options import FORMATS, ReportError, parse_formats, parse_material, parse_metrics

__all__ = ["FORMATS", "PNG_DPI", "ChartFile", "ReportError", "build_report", "parse_formats", "parse_metrics"]

MARKER = ".crsim-report"  # marks a folder as a briefing pack that a new one may replace


@dataclass
class ReportContext:
    """Everything the pack is made from, loaded once."""

    name: str
    data: Any  # sim.experiment.store.ExperimentData (finished runs only)
    scenarios: list[str]
    scenario_dicts: dict[str, dict[str, Any]]
    package_versions: dict[str, str]
    code_versions: list[str]
    database: str
    metrics: list[str]
    horizon: int
    colours: dict[str, str]
    provenance: Any  # sim.charts.style.Provenance
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)  # paired comparison at the horizon (compare)
    uncertainty: Any = None  # sim.report_uncertainty.Analysis, for a comparison with assumption draws
    search: Any = None  # sim.report_optimise.JudgedSearch, for a design search
    scale: float | None = None  # share of England simulated: money totals are scaled up to England
    material: dict[str, float] = field(default_factory=dict)  # --material thresholds (registry units)
    findings: Any = None  # sim.report_findings.KeyFindings, for a comparison
    regenerate: str = ""  # the command that writes this pack again
    progress: bool = False  # a progress bar on standard error while drawing
    workers: int | None = 1  # local processes for the analysis and for saving charts (None: one per core)

    @property
    def england(self) -> bool:
        """Whether the runs simulate a sample of England, so money totals are scaled up."""
        return self.scale is not None and 0 < self.scale < 1


# ------------------------------------------------------------------------------------------ inputs


def _load(
    name: str, db_url: str | None, metrics: list[str], horizon: int | None, workers: int | None = 1,
) -> ReportContext:
    from sim import report_optimise, report_uncertainty
    from sim.charts.style import Provenance, scenario_colours
    from sim.experiment.store import ResultStore

    with ResultStore(db_url, create=False) as store:  # reading only: a missing store is not created
        data = store.load_experiment(name)
        drawn = report_uncertainty.prepare(store, name, data)  # None unless it has assumption draws
        search = report_optimise.load(store, name) if data.experiment.get("kind") == "optimise" else None
        stored = store.run_details(data.runs["run_id"].tolist())
        database = store.display_url
    complete = data.runs[data.runs["status"] == "complete"] if len(data.runs) else data.runs
    if complete.empty or data.metrics.empty:
        raise ReportError(
            f"Experiment '{name}' has no finished runs (status: {data.experiment.get('status')}), so there is "
            "nothing to report. Run or resume it first (repeat the command that created it)."
        )
    done = set(complete["run_id"])
    data.metrics = data.metrics[data.metrics["run_id"].isin(done)].reset_index(drop=True)
    if len(data.snapshots):
        data.snapshots = data.snapshots[data.snapshots["run_id"].isin(done)].reset_index(drop=True)
    missing = [m for m in metrics if m not in data.metrics.columns]
    if missing:
        raise ReportError(f"Metric(s) {', '.join(missing)} are not stored for experiment '{name}'.")
    last = int(data.metrics.groupby("run_id")["quarter"].max().min())
    h = last if horizon is None else int(horizon)
    if not 1 <= h <= last:
        raise ReportError(f"--horizon {h} is outside the runs, which cover quarters 1 to {last}.")

    order = [str(s) for s in (data.experiment.get("scenarios") or [])]
    if search is not None:  # BASE and the designs on the front, not every design tried
        order += report_optimise.front_labels(search)
    else:
        order += [s for s in pd.unique(data.runs["scenario"]) if s not in order]
    scenario_dicts: dict[str, dict[str, Any]] = {}
    versions: dict[str, str] = {}
    codes: list[str] = []
    for row in complete.sort_values([c for c in ("replication", "point_id") if c in complete]).itertuples():
        info = stored.get(int(row.run_id), {})
        scenario_dicts.setdefault(str(row.scenario), info.get("scenario") or {})
        versions = versions or dict(info.get("package_versions") or {})
        if str(row.code_version) not in codes:
            codes.append(str(row.code_version))
    first = next(iter(scenario_dicts.values()), {})
    scale = (first.get("run") or {}).get("scale")
    reps = int(complete.groupby(["scenario", *(["point_id"] if "point_id" in complete else [])])["replication"]
               .nunique().min())
    provenance = Provenance(
        scenarios=tuple(order), replications=reps, base_seed=int(data.experiment.get("base_seed", 0)),
        model_version=str(data.experiment.get("model_version") or ", ".join(sorted(set(complete["model_version"])))),
        experiment=name, scale=scale, extra=(f"horizon quarter {h}", *report_uncertainty.provenance_note(drawn)),
    )
    ctx = ReportContext(
        name=name, data=data, scenarios=order, scenario_dicts=scenario_dicts, package_versions=versions,
        code_versions=codes, database=database, metrics=metrics, horizon=h,
        colours=scenario_colours(order) if search is None else report_optimise.colours(order),
        provenance=provenance, scale=float(scale) if scale is not None else None, search=search,
        workers=workers,
    )
    if data.experiment.get("kind") == "compare":
        ctx.summary = _summary(ctx)
    if drawn is not None:
        ctx.uncertainty = report_uncertainty.analyse(drawn, data.metrics, metrics, h, seed=provenance.base_seed,
                                                     workers=workers)
    return ctx


def _findings(ctx: ReportContext) -> Any:
    from sim.report_findings import build

    baseline = str(ctx.data.experiment.get("baseline") or ctx.scenarios[0])
    return build(ctx.summary, ctx.scenarios, ctx.metrics, ctx.colours, baseline=baseline, scale=ctx.scale,
                 material=ctx.material, analysis=ctx.uncertainty, horizon=ctx.horizon)


# ------------------------------------------------------------------------------------------ summary


def _summary(ctx: ReportContext) -> pd.DataFrame:
    """The paired comparison at the report's horizon, in the order of the scenarios."""
    from sim.experiment.paired import summarise

    baseline = str(ctx.data.experiment.get("baseline") or ctx.scenarios[0])
    summary = summarise(ctx.data.metrics, baseline, ctx.horizon, order=ctx.scenarios)
    order = {s: i for i, s in enumerate(ctx.scenarios)}
    return summary.sort_values(["metric", "scenario"], key=lambda col: col.map(order) if col.name == "scenario"
                               else col, kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------ tables


def _write_tables(ctx: ReportContext, folder: Path) -> dict[str, str]:
    """CSV tables; returns {file: description}."""
    from sim import report_text
    from sim.charts.money import money_table

    tables = folder / "tables"
    tables.mkdir()
    data, kind = ctx.data, ctx.data.experiment.get("kind")
    written: dict[str, str] = {}

    def put(name: str, frame: pd.DataFrame, what: str) -> None:
        frame.to_csv(tables / name, index=False)
        written[f"tables/{name}"] = what

    if kind == "compare":
        summary = ctx.summary
        put("headline.csv", report_text.headline_frame(
            summary, ctx.scenarios, ctx.metrics, scale=ctx.scale, material=ctx.material,
            verdicts=ctx.findings.verdicts if ctx.findings is not None else None),
            "the headline table as shown, in display units (money for England)")
        put("summary.csv", summary, "every metric at the horizon: means, paired differences, 95% intervals (raw units)")
        put("money.csv", money_table(data.metrics, horizon=ctx.horizon, scale=ctx.scale),
            "money a year by scenario at the horizon (GBP" + (", scaled up to England" if ctx.england else "")
            + "), mean and 95% interval")
        if ctx.uncertainty is not None:
            from sim.report_uncertainty import write_tables

            write_tables(ctx.uncertainty, put)
    elif kind == "optimise":
        from sim.report_optimise import write_tables

        write_tables(ctx.search, put)
    elif kind == "sweep" or kind == "sensitivity":
        put("design_points.csv", _design_summary(ctx), "each design point's parameters and the metrics at the horizon")
    if kind == "sensitivity" and len(data.sensitivity):
        put("sensitivity.csv", data.sensitivity, "sensitivity indices with their 95% intervals")
    put("scenarios.csv", _scenario_table(ctx), "every lever and assumption that differs from the status quo")
    put("runs.csv", data.runs, "the runs behind the pack: seeds, versions, timings")
    return written


def _design_summary(ctx: ReportContext) -> pd.DataFrame:
    from sim.charts.data import summarise_runs
    from sim.charts.sensitivity import sweep_values

    frames = []
    for name in ctx.metrics:
        values = sweep_values(ctx.data.metrics, ctx.data.runs, ctx.data.design, name, ctx.horizon)
        table = summarise_runs(values, ["point_id"])
        frames.append(table.rename(columns={c: f"{name}_{c}" for c in ("mean", "ci_low", "ci_high", "n")}))
    out = ctx.data.design
    for frame in frames:
        out = out.merge(frame, on="point_id", how="left")
    return out


def _reference() -> dict[str, Any]:
    from sim.scenario import load_scenario, scenario_dict

    try:
        return scenario_dict(load_scenario("status_quo"))
    except SimError:
        return {}


def _scenario_table(ctx: ReportContext) -> pd.DataFrame:
    from sim.report_text import changes

    ref = _reference()
    rows = []
    for scen in ctx.scenarios:
        resolved = ctx.scenario_dicts.get(scen, {})
        for section in ("levers", "assumptions"):
            for ch in changes(resolved, ref, section):
                rows.append({"scenario": scen, "kind": section[:-1], "parameter": ch.path, "label": ch.label,
                             "value": ch.value, "status_quo": ch.reference, "meaning": ch.description})
    return pd.DataFrame(rows, columns=["scenario", "kind", "parameter", "label", "value", "status_quo", "meaning"])


# ------------------------------------------------------------------------------------------ build


def regenerate_command(
    experiment: str, db_url: str | None, out: Path, formats: Sequence[str], *, metrics: Sequence[str] | None,
    horizon: int | None, material: dict[str, float],
) -> str:
    """The command that writes this pack again, exactly: the same store, folder, formats and options.

    A password in the database URL is masked (it is not written into a page that may be shared).
    """
    import shlex

    from sim.experiment.store import mask_url, resolve_url

    words = ["python", "run_sim.py", "report", experiment]
    if db_url:
        words += ["--db", mask_url(resolve_url(db_url))]
    words += ["--out", str(out)]
    extra = [f for f in formats if f != "png"]
    if extra:
        words += ["--formats", ",".join(["png", *extra])]
    if metrics is not None:
        words += ["--metrics", ",".join(metrics)]
    if horizon is not None:
        words += ["--horizon", str(horizon)]
    if material:
        words += ["--material", *(f"{k}={v:g}" for k, v in material.items())]
    return shlex.join(words)


def default_out_dir(experiment: str) -> Path:
    """``results/EXPERIMENT/report``: beside the tables ``compare`` writes, as the README says."""
    from sim.cli_options import RESULTS_DIR

    return RESULTS_DIR / experiment / "report"


# What a pack consists of; only these are ever replaced in an existing folder.
PACK_ENTRIES: tuple[str, ...] = (MARKER, "index.html", "summary.md", "provenance.json", "charts", "tables")


def _check_target(out: Path) -> None:
    """Refuse a folder where the pack would overwrite files it did not write."""
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out} exists and is a file; choose another folder with --out.")
    if out.is_dir() and not (out / MARKER).exists():
        clash = [e for e in PACK_ENTRIES if (out / e).exists()]
        if clash:
            raise ReportError(
                f"{out} already holds {', '.join(clash)}, not written by the simulator's report; choose "
                "another folder with --out (an earlier briefing pack there would be replaced)."
            )


def build_report(
    experiment: str,
    db_url: str | None = None,
    out_dir: Path | None = None,
    formats: Sequence[str] = ("png",),
    *,
    metrics: Sequence[str] | None = None,
    horizon: int | None = None,
    material: Sequence[str] | dict[str, float] = (),
    progress: bool = False,
    workers: int | None = 1,
) -> Path:
    """Write the briefing pack of a stored experiment and return its folder.

    Args:
        experiment: the experiment's name in the store.
        db_url: results database URL (default ``sqlite:///results/crsim.db``).
        out_dir: the pack's folder (default ``results/EXPERIMENT/report``); an earlier pack there is
            replaced once the new one is complete; other files there are left alone.
        formats: image formats besides PNG (``svg``, ``pdf``); PNG is always written (at 300 dpi).
        metrics: metrics to chart and tabulate (default the headline metrics).
        horizon: the quarter at which effects are read (default the end of the runs).
        material: ``METRIC=DELTA`` thresholds (or a dict) replacing the registry's for the verdicts, in
            the registry's units (money totals: GBP a year for England).
        progress: print a line per chart as it is drawn (the command line's ``report``).
        workers: local processes for an uncertainty comparison's surrogates and PRIM searches, and for
            saving the charts (None: one per core); the pack is the same for any number.

    Raises:
        SimError: an unknown experiment (the message lists the stored ones), one without finished runs,
            an unknown metric or format, or an unusable output folder. Nothing is written then.

    Example:
        >>> build_report("four-scenarios", formats=["png", "svg"])  # doctest: +SKIP
        PosixPath('results/four-scenarios/report')
    """
    fmts = parse_formats(formats)
    names = parse_metrics(metrics)
    thresholds = dict(material) if isinstance(material, dict) else parse_material(list(material))
    out = Path(out_dir) if out_dir is not None else default_out_dir(experiment)
    _check_target(out)
    ctx = _load(experiment, db_url, names, horizon, workers)
    ctx.material = thresholds
    ctx.progress = progress
    ctx.regenerate = regenerate_command(experiment, db_url, out, fmts, metrics=None if metrics is None else names,
                                        horizon=horizon, material=thresholds)
    if ctx.data.experiment.get("kind") == "compare":
        ctx.findings = _findings(ctx)
    elif ctx.search is not None:
        from sim.report_optimise import findings

        ctx.findings = findings(ctx)

    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_partials(out)  # left by a report that was killed outright
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        _write_pack(ctx, tmp, fmts)
        _install(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_pack(ctx: ReportContext, folder: Path, formats: Sequence[str]) -> None:
    import matplotlib

    from sim import report_page
    from sim.report_charts import write_charts

    with matplotlib.rc_context({"svg.hashsalt": "crsim"}):  # stable SVG ids between runs
        chart_files = write_charts(ctx, folder, formats)
    tables = _write_tables(ctx, folder)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = report_page.Page.build(ctx, chart_files, tables, generated, _reference())
    (folder / "index.html").write_text(page.html(), encoding="utf-8")
    (folder / "summary.md").write_text(page.markdown(), encoding="utf-8")
    (folder / "provenance.json").write_text(json.dumps(page.provenance, indent=2, default=str), encoding="utf-8")
    (folder / MARKER).write_text(f"briefing pack of experiment {ctx.name}, {generated}\n", encoding="utf-8")


def _install(tmp: Path, out: Path) -> None:
    """Put the finished pack in place: a rename if the folder is new, else swap the pack's entries.

    Other files in the folder (``compare`` writes its tables there) are left alone; entries of an
    earlier pack are moved aside first and deleted only once the new ones are in.
    """
    if not out.exists():
        tmp.rename(out)
        return
    trash = out.with_name(f".{out.name}.old-{os.getpid()}")
    shutil.rmtree(trash, ignore_errors=True)
    trash.mkdir()
    for entry in PACK_ENTRIES:
        if (out / entry).exists():
            (out / entry).rename(trash / entry)
    for entry in PACK_ENTRIES:
        if (tmp / entry).exists():
            (tmp / entry).rename(out / entry)
    shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------ CLI


def _cmd_report(args: argparse.Namespace) -> int:
    db = args.db or os.environ.get("CRSIM_DB_URL") or None  # as the experiment commands do
    out = build_report(args.experiment, db, args.out, args.formats, metrics=args.metrics, horizon=args.horizon,
                       material=args.material, progress=args.progress, workers=args.workers)
    _announce(out)
    return 0


def _announce(out: Path) -> None:
    from sim.cli_options import console

    index = (out / "index.html").resolve()
    console.print(f"Briefing pack in [bold]{out}[/bold]; open {index.as_uri()} in a browser.")


def add_report_options(parser: argparse.ArgumentParser, *, with_out: bool = True) -> None:
    """Options shared by ``report`` and ``compare --report``."""
    if with_out:
        parser.add_argument("--out", type=Path, help="folder for the pack (default results/EXPERIMENT/report)")
    parser.add_argument("--formats", nargs="+", default=["png"], metavar="FORMAT",
                        help="chart formats: png (always), svg, pdf; space- or comma-separated, e.g. "
                             "--formats png svg or --formats png,svg (default png)")
    parser.add_argument("--metrics", metavar="LIST",
                        help="metrics to chart, comma-separated (default the headline metrics)")
    parser.add_argument("--horizon", type=int, metavar="QUARTER",
                        help="quarter at which effects are read (default the end of the runs)")
    parser.add_argument("--material", nargs="+", default=[], metavar="METRIC=DELTA",
                        help="the smallest difference that counts as better or worse, in the metric's unit "
                             "(money: GBP a year for England), replacing sim/metrics.py's, e.g. "
                             "quality_mean=0.01")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` command (``compare --report`` calls :func:`build_report` itself)."""
    p = sub.add_parser("report", help="write the briefing pack (charts, tables, summary.md, index.html) of a "
                                      "stored experiment")
    p.add_argument("experiment", help="name of a stored experiment (run_sim.py experiments lists them)")
    p.add_argument("--db", metavar="URL",
                   help="results database URL (default $CRSIM_DB_URL or sqlite:///results/crsim.db)")
    add_report_options(p)
    p.add_argument("--workers", type=int, default=None,
                   help="local processes for the uncertainty analysis and for saving the charts "
                        "(default: one per core)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="do not show the progress bar")
    p.set_defaults(func=_cmd_report)
