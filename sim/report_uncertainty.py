"""The briefing pack's lead section for an uncertainty comparison: how likely each reform is to work.

When a comparison has N draws of the uncertain assumptions (``compare ... --uncertainty N``), the pack leads,
right after the question, with: a table per scenario and headline metric (with a better direction) of the
probability that the scenario improves on the baseline and its mean difference with the 95% uncertainty
interval; a sentence per scenario naming the assumptions its quality difference hinges on (variance drivers);
the boxes of assumption values in which it does harm, in plain words (PRIM over every varied assumption, or a
plain statement that no draw does harm); and what the intervals cover. The numbers come from
:mod:`sim.uncertainty`; :mod:`sim.report` and :mod:`sim.report_page` call in through small hooks, and
:class:`Section` renders the same words as HTML and Markdown so ``index.html`` and ``summary.md`` agree.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.metrics import HEADLINE_METRICS, METRICS_BY_NAME
from sim.report_text import esc, fmt_interval, fmt_number

if TYPE_CHECKING:
    from sim.uncertainty.discovery import Search

SECTION_ID = "how-likely"
TITLE = "How likely each reform is to work"
HINGE_METRIC = "quality_mean"  # the difference whose drivers are named in words
CHART_METRICS: tuple[str, ...] = ("quality_mean", "outcome_mean")  # drivers charts
# Drivers cost about 1.5 s per scenario and metric, so only the differences the pack shows them for
# (compare --uncertainty writes those of every headline metric).
DRIVER_METRICS: tuple[str, ...] = tuple(dict.fromkeys((HINGE_METRIC, *CHART_METRICS)))
SHORT = {"quality_mean": "quality", "outcome_mean": "admissions"}  # in chart titles, which must stay short
TOP_DRIVERS = 3
THRESHOLD = 0.8  # the density a failure box must reach
LIKELY, UNLIKELY = 0.9, 0.1  # P(better) marked in the better / worse colour
FEW = 0.05  # fewer harmful draws than this share (PRIM's smallest box) are too few to find a region
MIN_CASES = 5  # nor fewer than five
LOW_EXPLAINED = 0.5  # below this out-of-bag R², the drivers sentence says they are only indicative


# ------------------------------------------------------------------------------------------ analysis


@dataclass
class Analysis:
    """The uncertainty comparison behind the pack and what was computed from it, once."""

    data: Any  # sim.uncertainty.stored.UncertaintyData
    metrics: list[str]  # shown: headline metrics with a better direction
    table: pd.DataFrame  # summarise_draws of every stored metric (uncertainty.csv)
    drivers: pd.DataFrame  # drivers_frame of DRIVER_METRICS (drivers.csv)
    drivers_problem: str = ""  # why there are no drivers, if there are none
    discoveries: dict[tuple[str, str], Any] = field(default_factory=dict)  # (scenario, metric) -> Discovery

    @property
    def n_draws(self) -> int:
        return int(self.data.n_draws)

    @property
    def others(self) -> list[str]:
        return [s for s in self.data.scenarios if s != self.data.baseline]


def prepare(store: Any, name: str, data: Any) -> Any | None:
    """For an uncertainty comparison, its draws and per-draw differences read from the store; else ``None``."""
    from sim.uncertainty.stored import is_uncertainty, load_uncertainty

    if not is_uncertainty(data.experiment):
        return None
    return load_uncertainty(store, name)


def shown_metrics(metrics: Sequence[str]) -> list[str]:
    """The pack's metrics that have a better direction (default: the headline metrics that do)."""
    chosen = [m for m in metrics if METRICS_BY_NAME[m].better]
    return chosen or [m for m in HEADLINE_METRICS if METRICS_BY_NAME[m].better]


def analyse(loaded: Any, quarterly: pd.DataFrame, metrics: Sequence[str], horizon: int, *, seed: int = 0,
            workers: int | None = 1) -> Analysis:
    """Probabilities, drivers and failure boxes at the pack's horizon, the pairs' surrogates and PRIM
    searches spread over ``workers`` local processes (None: one per core).

    ``loaded`` is read at the runs' last quarter; for an earlier ``--horizon`` the per-draw differences are
    recomputed from the quarterly metrics (which :func:`prepare` gave their draw ids).
    """
    from sim.experiment.errors import ExperimentError
    from sim.uncertainty.discovery import discover_each
    from sim.uncertainty.drivers import FRAME_COLUMNS, drivers_frame
    from sim.uncertainty.summary import per_draw_differences, summarise_draws

    data = loaded
    if len(data.horizon) and int(data.horizon["quarter"].iloc[0]) != int(horizon):
        from sim.experiment.paired import horizon_values

        wanted = [m for m in data.per_draw["metric"].unique() if m in quarterly.columns]
        values = horizon_values(quarterly, horizon, wanted)
        data = dataclasses.replace(data, horizon=values,
                                   per_draw=per_draw_differences(values, data.baseline, wanted))
    present = set(data.per_draw["metric"])
    shown = [m for m in shown_metrics(metrics) if m in present]
    material = (data.options or {}).get("material")
    table = summarise_draws(data.per_draw, material if isinstance(material, dict) else None)
    focus = data.per_draw[data.per_draw["metric"].isin([m for m in DRIVER_METRICS if m in shown])]
    problem = ""
    try:
        drivers = drivers_frame(focus, data.draws, seed=seed, workers=workers)
    except ExperimentError as exc:
        drivers, problem = pd.DataFrame(columns=list(FRAME_COLUMNS)), str(exc)
    out = Analysis(data, shown, table, drivers, problem)
    searches = {(scenario, metric): _harm(data, scenario, metric) for scenario in out.others for metric in shown}
    found = {pair: search for pair, search in searches.items() if search is not None}
    out.discoveries.update(zip(found, discover_each(list(found.values()), workers), strict=True))
    return out


def _harm(data: Any, scenario: str, metric: str) -> Search | None:
    """The PRIM search, over every varied assumption, for the draws in which ``scenario`` makes ``metric``
    worse (None with fewer than two draws)."""
    rows = data.per_draw[(data.per_draw["scenario"] == scenario) & (data.per_draw["metric"] == metric)]
    diff = rows.set_index("draw")["difference"].reindex(data.draws.index)
    keep = diff.notna().to_numpy()
    if keep.sum() < 2:
        return None
    bound = {"below": 0.0} if METRICS_BY_NAME[metric].better == "higher" else {"above": 0.0}
    return data.draws.loc[keep], diff[keep].to_numpy(dtype=float), {"threshold": THRESHOLD, **bound}


def provenance_note(loaded: Any) -> tuple[str, ...]:
    """A chart footer's note of the draws (every chart of the pack pools them)."""
    return () if loaded is None else (f"{loaded.n_draws} assumption draws",)


# ------------------------------------------------------------------------------------------ charts, tables


def chart_plan(analysis: Analysis, provenance: Any) -> list[tuple[str, str, Callable[[], Any]]]:
    """'What it hinges on' (drivers of quality and admissions) and 'Where it fails' (each box found)."""
    from sim.charts.uncertainty import boxes_chart, drivers_chart

    plan: list[tuple[str, str, Callable[[], Any]]] = []
    drivers = analysis.drivers
    pairs = set(zip(drivers["scenario"], drivers["metric"], strict=True)) if len(drivers) else set()
    for scenario in analysis.others:
        for metric in CHART_METRICS:
            if (scenario, metric) in pairs:
                title = f"What {scenario}'s effect on {SHORT.get(metric, _label(metric))} hinges on"
                plan.append((f"drivers_{scenario}_{metric}", "What it hinges on",
                             lambda s=scenario, m=metric, t=title: drivers_chart(drivers, s, m, top=10,
                                                                                   provenance=provenance, title=t)))
    ranges = {c: (float(analysis.data.draws[c].min()), float(analysis.data.draws[c].max()))
              for c in analysis.data.draws.columns}
    for (scenario, metric), found in analysis.discoveries.items():
        found = dense(found)
        if len(found.boxes) and not too_few(found):
            title = f"Where {scenario} {_verb(metric)[1]} {_label(metric)}"  # short: long bold titles overflow
            plan.append((f"boxes_{scenario}_{metric}", "Where it fails",
                         lambda f=found, t=title: boxes_chart(f, ranges=ranges, provenance=provenance, title=t)))
    return plan


def boxes_frame(analysis: Analysis) -> pd.DataFrame:
    """Every discovery's boxes stacked, with the scenario and metric they belong to (``boxes.csv``)."""
    from sim.uncertainty.discovery import BOX_COLUMNS

    frames = [found.boxes.assign(scenario=s, metric=m) for (s, m), found in analysis.discoveries.items()
              if len(found.boxes)]
    columns = ["scenario", "metric", *BOX_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def write_tables(analysis: Analysis, put: Callable[[str, pd.DataFrame, str], None]) -> None:
    n = analysis.n_draws
    put("uncertainty.csv", analysis.table, f"each scenario's difference from the baseline over the {n} draws: mean, "
        "95% uncertainty interval (low, high), probability of improvement (raw units)")
    put("drivers.csv", analysis.drivers, "share of the variance of each scenario's difference in quality and in "
        "admissions due to each assumption (first-order and total Sobol indices; explained: the surrogate's "
        "out-of-bag R²)")
    put("boxes.csv", boxes_frame(analysis), "the boxes of assumption values in which a scenario does harm "
        "(PRIM: coverage and density of each box)")
    put("per_draw.csv", analysis.data.per_draw, "each scenario's difference from the baseline at every draw")
    put("draws.csv", analysis.data.draws.reset_index(), "the assumption values of every draw")


# ------------------------------------------------------------------------------------------ words


@dataclass(frozen=True)
class Column:
    metric: str
    label: str
    unit: str  # of the differences
    better: str  # "higher" or "lower"

    @property
    def delta(self) -> str:
        return f"Δ {self.unit}" if self.unit.startswith("per ") else f"Δ in {self.unit}"


@dataclass(frozen=True)
class Cell:
    probability: float
    mean: str
    interval: str

    @property
    def percent(self) -> str:
        return percent(self.probability)

    @property
    def tone(self) -> str:
        return "better" if self.probability >= LIKELY else "worse" if self.probability <= UNLIKELY else "ns"


@dataclass(frozen=True)
class Findings:
    scenario: str
    colour: str
    cells: dict[str, Cell]
    hinges: str
    failures: list[tuple[str, str]]  # (what, sentences): a metric's label, or "No harm"


@dataclass
class Section:
    """The lead section, already in words; renders as HTML and Markdown."""

    intro: str
    columns: list[Column]
    rows: list[Findings]
    table_note: str
    boxes_lead: str
    boxes_note: str
    coverage: str

    def html(self) -> str:
        head = "".join(f'<th scope="col">{esc(c.label)}<br><span class="small">{esc(c.delta)}; '
                       f"{esc(c.better)} is better</span></th>" for c in self.columns)
        out = [f'<section id="{SECTION_ID}"><h2>{esc(TITLE)}</h2>', f"<p>{esc(self.intro)}</p>",
               '<div class="table-wrap"><table id="probability" class="headline">',
               f'<thead><tr><th scope="col">Scenario</th>{head}</tr></thead><tbody>']
        for row in self.rows:
            cells = []
            for col in self.columns:
                cell = row.cells.get(col.metric)
                if cell is None:
                    cells.append("<td>–</td>")
                    continue
                cells.append(f'<td data-scenario="{esc(row.scenario)}" data-metric="{esc(col.metric)}" '
                             f'data-probability="{cell.probability!r}"><span class="diff {cell.tone}">'
                             f'<span class="prob">{esc(cell.percent)}</span></span><br><span class="diff">Δ '
                             f'{esc(cell.mean)} <span class="ci">{esc(cell.interval)}</span></span></td>')
            name = esc(row.scenario).replace("_", "_<wbr>")  # long names may break at an underscore
            out.append(f'<tr><th scope="row"><span class="swatch" style="background:{esc(row.colour)}"></span>'
                       f"{name}</th>" + "".join(cells) + "</tr>")
        out += ["</tbody></table></div>", f'<p class="small">{esc(self.table_note)}</p>',
                f'<p class="coverage">{esc(self.coverage)}</p>', f"<p>{esc(self.boxes_lead)}</p>"]
        for row in self.rows:
            out.append(f'<div class="scenario findings" id="{SECTION_ID}-{esc(row.scenario)}"><h3>'
                       f'<span class="swatch" style="background:{esc(row.colour)}"></span>{esc(row.scenario)}</h3>')
            if row.hinges:
                out.append(f'<p class="hinges"><strong>What it hinges on.</strong> {esc(row.hinges)}</p>')
            out.append('<p><strong>Where it does harm.</strong></p><ul class="failures">'
                       + "".join(f"<li><strong>{esc(what)}</strong>: {esc(text)}</li>" for what, text in row.failures)
                       + "</ul></div>")
        out.append(f'<p class="small">{esc(self.boxes_note)}</p></section>')
        return "\n".join(out)

    def markdown(self) -> list[str]:
        lines = [f"## {TITLE}", "", self.intro, ""]
        lines.append("| Scenario | " + " | ".join(f"{c.label} ({c.delta}; {c.better} is better)"
                                                 for c in self.columns) + " |")
        lines.append("|---|" + "---|" * len(self.columns))
        for row in self.rows:
            cells = [(f"**{c.percent}**<br>Δ {c.mean} {c.interval}" if c is not None else "–")
                     for c in (row.cells.get(col.metric) for col in self.columns)]
            lines.append(f"| {row.scenario} | " + " | ".join(cells) + " |")
        lines += ["", self.table_note, "", f"> {self.coverage}", "", self.boxes_lead, ""]
        for row in self.rows:
            lines += [f"### {row.scenario}", ""]
            if row.hinges:
                lines += [f"**What it hinges on.** {row.hinges}", ""]
            lines += ["**Where it does harm.**", ""]
            lines += [f"- **{what}**: {text}" for what, text in row.failures] + [""]
        lines += [self.boxes_note, ""]
        return lines


def percent(p: float) -> str:
    """A probability as a whole per cent (``–`` if undefined)."""
    return "–" if p is None or not math.isfinite(p) else f"{100 * p:.0f}%"


def _signed(value: float) -> str:
    text = fmt_number(value)
    return text if text.startswith(("−", "–")) or text == "0" else f"+{text}"


def _label(metric: str) -> str:
    label = METRICS_BY_NAME[metric].label
    return label[0].lower() + label[1:]


def _verb(metric: str) -> tuple[str, str]:
    """Doing harm to a metric: ('lower', 'lowers') where higher is better, else ('raise', 'raises')."""
    return ("lower", "lowers") if METRICS_BY_NAME[metric].better == "higher" else ("raise", "raises")


def _join(items: Sequence[str], word: str = "or") -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def _column(metric: str, rows: pd.DataFrame) -> tuple[Column, float]:
    from sim.charts.style import display_unit

    spec = METRICS_BY_NAME[metric]
    values = rows[["mean_difference", "low", "high"]].to_numpy(dtype=float).ravel()
    unit = display_unit(spec, values, per_year=True, difference=True)
    return Column(metric, spec.label, unit.text, str(spec.better)), unit.factor


def section(analysis: Analysis, colours: dict[str, str]) -> Section:
    """The lead section's words and numbers from the analysis."""
    data, n = analysis.data, analysis.n_draws
    table = analysis.table.set_index(["scenario", "metric"])
    columns: list[Column] = []
    factors: dict[str, float] = {}
    for metric in analysis.metrics:
        rows = analysis.table[analysis.table["metric"] == metric]
        if len(rows):
            col, factors[metric] = _column(metric, rows)
            columns.append(col)
    findings = []
    for scenario in analysis.others:
        cells = {}
        for col in columns:
            if (scenario, col.metric) in table.index:
                r = table.loc[(scenario, col.metric)]
                f = factors[col.metric]
                cells[col.metric] = Cell(float(r["probability_better"]), _signed(r["mean_difference"] * f),
                                         fmt_interval(r["low"] * f, r["high"] * f))
        findings.append(Findings(scenario, colours.get(scenario, "#777"), cells, _hinges(analysis, scenario),
                                 _failures(analysis, scenario)))
    reps, d = int(data.reps), int(data.draws.shape[1])
    runs = f"{n} draw{'s' if n != 1 else ''} × {reps} replication{'s' if reps != 1 else ''}"
    se = 100 * math.sqrt(0.25 / n) if n else float("nan")
    intro = (f"Every scenario was run at the same {n} draws of the model's {d} uncertain assumptions, "
             f"{reps} replication{'s' if reps != 1 else ''} each with the baseline's seeds ({runs} = {n * reps} "
             f"paired runs per scenario), so each difference from {data.baseline} is paired over both what we do "
             "not know about behaviour and chance. The table gives, for each reform and each measure with a "
             "better direction, the probability that the reform improves on the baseline.")
    note = (f"Each cell: P(better), the share of the {n} draws in which the scenario improves the measure (with "
            f"{n} draws it is known to about ±{se:.0f} percentage points), in blue at {percent(LIKELY)} or more, "
            f"in orange at {percent(UNLIKELY)} or less; under it, Δ: the mean paired difference from "
            f"{data.baseline} over the draws [95% uncertainty interval: the central 95% of the per-draw "
            "differences]. Shares are in per cent, differences in them in percentage points; money is a year.")
    coverage = (f"What these intervals cover: the assumptions' declared distributions (docs/parameters.md, "
                "docs/uncertainty.md) and the remaining simulation noise, over "
                f"{runs}. They do not cover the model's structural limits: what it leaves out or simplifies "
                "(docs/ODD.md, 'What the model cannot do'), nor doubt about the distributions themselves.")
    lead = ("For each reform below: the assumptions its difference in quality hinges on (variance drivers), and "
            "where it does harm: for each measure, the draws in which it makes the measure worse than the baseline "
            f"and the boxes of assumption values, found by scenario discovery (PRIM) over all {d} varied "
            f"assumptions, in which at least {percent(THRESHOLD)} of the draws do harm.")
    boxes = ("A box's density is the share of its draws in which the reform does harm; its coverage, the share of "
             "all such draws it holds. The limits are the baseline's assumption values. Where few draws do harm, a "
             "box can be fitted to them that restricts many assumptions at once: read it as where harm clusters in "
             "these draws, and check it with more draws (run_sim.py discover).")
    return Section(intro, columns, findings, note, lead, boxes, coverage)


def _hinges(analysis: Analysis, scenario: str) -> str:
    what = f"the difference {scenario} makes to {_label(HINGE_METRIC)}"
    if HINGE_METRIC not in analysis.metrics:
        return ""
    if analysis.drivers_problem:
        return f"What {what} hinges on could not be estimated: {analysis.drivers_problem}"
    from sim.docs import parameter_label

    rows = analysis.drivers[(analysis.drivers["scenario"] == scenario) & (analysis.drivers["metric"] == HINGE_METRIC)]
    top = rows[rows["total"] > 0.01].head(TOP_DRIVERS)
    if rows.empty:
        return ""
    if top.empty:
        return f"No single assumption drives {what}: its spread across the draws is simulation noise."
    parts = [f"{parameter_label(r.parameter)} ({100 * r.total:.0f}%, {100 * r.first_order:.0f}% alone)"
             for r in top.itertuples()]
    first = top.iloc[0]
    parts[0] = (f"{parameter_label(first['parameter'])} ({100 * first['total']:.0f}% of the difference's variance "
                f"across the draws with its interactions, {100 * first['first_order']:.0f}% alone)")
    names = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    text = f"{what[0].upper()}{what[1:]} hinges most on {names}."

    explained = float(rows["explained"].iloc[0])
    if explained < LOW_EXPLAINED:
        text += (f" The surrogate behind these shares reproduces only {100 * explained:.0f}% of that variance on "
                 "draws it did not see (the rest is noise between replications, or structure it missed), so read "
                 "the ranking as indicative.")
    return text


def dense(found: Any) -> Any:
    """A discovery with only its boxes that reach the density threshold (a box short of it is not a region
    in which the reform mostly does harm, so the page does not state it; boxes.csv keeps it)."""
    short = set(found.short_of_threshold)
    if not short:
        return found
    return dataclasses.replace(found, boxes=found.boxes[~found.boxes["box"].isin(short)].reset_index(drop=True),
                               short_of_threshold=())


def too_few(found: Any) -> bool:
    """Too few harmful draws to say where they cluster (a box fitted to a handful of draws in dozens of
    dimensions would describe those draws, not a region)."""
    return 0 < found.n_cases < max(MIN_CASES, FEW * found.n_draws)


def _failures(analysis: Analysis, scenario: str) -> list[tuple[str, str]]:
    from sim.docs import parameter_label
    from sim.uncertainty.discovery import describe_boxes

    n = analysis.n_draws
    out: list[tuple[str, str]] = []
    never: list[str] = []
    rare: list[tuple[str, int]] = []
    for metric in analysis.metrics:
        found = analysis.discoveries.get((scenario, metric))
        if found is None:
            continue
        base, third = _verb(metric)
        k, total = found.n_cases, found.n_draws
        what, harm = METRICS_BY_NAME[metric].label, f"{scenario} {third} it"
        boxes = dense(found).boxes
        if k == 0:
            never.append(f"{base} {_label(metric)}")
        elif k == total:
            out.append((what, f"in every one of the {total} draws {harm}, whatever the assumptions."))
        elif too_few(found):
            rare.append((f"{third} {_label(metric)}", k))
        elif len(boxes):
            sentences = describe_boxes(dense(found), outcome="it does so", label=parameter_label)
            out.append((what, " ".join([f"in {k} of the {total} draws {harm}.",
                                        *(b[0].upper() + b[1:] for b in sentences)])))
        elif k >= THRESHOLD * total:
            out.append((what, f"in {k} of the {total} draws {harm}: almost whatever the assumptions, with no "
                              "region of them standing out."))
        else:
            out.append((what, f"in {k} of the {total} draws {harm}, but no box of assumption values holds those "
                              f"draws at a density of at least {percent(THRESHOLD)}: they are spread across the "
                              "assumptions."))
    if rare:
        parts = [f"{what} in {k}" + (f" of the {n} draws" if i == 0 else "") for i, (what, k) in enumerate(rare)]
        out.insert(0, ("Rarely", f"{scenario} {_join(parts, 'and')}: too few draws to tell which assumptions "
                                 "lead there."))
    if never:
        out.insert(0, ("No harm", f"in none of the {n} draws does {scenario} {_join(never)}."))
    return out


def interval_note(analysis: Analysis | None) -> str:
    """What the headline table's intervals cover: appended to its note."""
    if analysis is None:
        return ("These intervals cover simulation noise only: every behavioural assumption is held at its central "
                "value, so they say how sure the model is given those values, not how likely a reform is to work. "
                "To vary the assumptions over their declared distributions and see the probability that each "
                "reform improves each measure, run the comparison with --uncertainty N (README, 'Will it work? "
                "Decisions under uncertainty'; docs/uncertainty.md).")
    return (f"The runs span {analysis.n_draws} draws of the assumptions, paired by draw and replication, so each "
            "interval here is that of the expected (average) difference over the assumptions' distributions; how "
            f"widely the difference spreads over them is in '{TITLE}' above.")


def settings(analysis: Analysis | None) -> list[tuple[str, str]]:
    if analysis is None:
        return [("Assumptions", "held at their central values (no uncertainty draws)")]
    d = analysis.data
    return [("Assumption draws", f"{d.n_draws} draws of {d.draws.shape[1]} assumptions (seed "
                                 f"{(d.options or {}).get('draw_seed', '–')}), {d.reps} replication(s) each")]


def css() -> str:
    return ("\n.prob { font-size: 1.15rem; } ul.failures li { margin-bottom: 6px; } table#probability th, "
            "table#probability td { padding: 6px 5px; } table#probability .ci { display: block; font-size: 0.76rem; }"
            " table#probability tbody th { min-width: 10em; } "
            "p.coverage { background: #f3f6fa; border-left: 5px solid #0b5394; padding: 8px 12px; }\n")
