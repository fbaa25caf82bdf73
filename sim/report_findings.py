"""Key findings: the box that opens the briefing pack, saying per scenario what changes and how sure we are.

A reader who opens only the first screen should know the answer and its uncertainty. So for each reform and
each headline measure with a better direction, one verdict (better, worse, no material change, uncertain;
:func:`sim.report_text.verdict`) decided by the measure's material threshold (:mod:`sim.metrics`,
overridable with ``--material``), the difference in natural units (percentage points, per 1,000 patients,
£ million a year for England) with its interval, and a closing line on what the intervals cover.

Sureness comes from what the comparison has: a plain comparison's paired 95% interval (simulation noise
only), or an uncertainty comparison's share of draws in which the reform does better (the same probability
as :mod:`sim.report_uncertainty`'s table, coloured by the same 90% / 10% limits), so the box and that
section never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.metrics import METRICS_BY_NAME, material_threshold
from sim.numbers import decimals_for, display_unit, fmt_interval, fmt_quantity
from sim.report_text import BETTER, NO_CHANGE, UNSURE, WORSE, esc, verdict

SECTION_ID = "key-findings"
TITLE = "Key findings"
LIKELY, UNLIKELY = 0.9, 0.1  # as sim.report_uncertainty colours P(better)
ORDER = (BETTER, WORSE, UNSURE, NO_CHANGE)
# Short names for the box's sentences (the tables below give the full labels).
SHORT: dict[str, str] = {
    "quality_mean": "quality of care", "quality_sd": "variation in quality", "outcome_mean": "avoidable admissions",
    "deprivation_gap": "the deprivation gap in admissions", "prescribing_spend_gbp": "prescribing spend",
    "prescribing_per_head_gbp": "prescribing per head", "total_cost_gbp": "total cost to the NHS",
}


@dataclass(frozen=True)
class Effect:
    """One scenario's effect on one measure, in words and numbers."""

    metric: str
    label: str
    verdict: str
    text: str  # "+6.04 percentage points [5.68 to 6.38]; better in 98% of the 64 draws"


@dataclass
class ScenarioFindings:
    scenario: str
    colour: str
    effects: list[Effect] = field(default_factory=list)

    def by_verdict(self) -> list[tuple[str, list[Effect]]]:
        return [(v, [e for e in self.effects if e.verdict == v]) for v in ORDER
                if any(e.verdict == v for e in self.effects)]

    def summary(self) -> str:
        """``better on quality of care (+1.44 percentage points [1.39 to 1.49]) ...; no material change in
        prescribing per head.`` (no numbers for no material change: the headline table has them)."""
        parts = []
        for word, effects in self.by_verdict():
            names = _join([e.label if word == NO_CHANGE else f"{e.label} ({e.text})" for e in effects])
            parts.append({BETTER: f"better on {names}", WORSE: f"worse on {names}",
                          UNSURE: f"uncertain on {names}", NO_CHANGE: f"no material change in {names}"}[word])
        return "; ".join(parts) + "." if parts else "no measure with a better direction to judge."


@dataclass
class KeyFindings:
    """The box, already in words; renders as HTML and Markdown."""

    baseline: str
    rows: list[ScenarioFindings]
    how_sure: str
    material_note: str
    coverage: str
    england_note: str = ""
    when: str = "at the horizon"

    @property
    def verdicts(self) -> dict[tuple[str, str], str]:
        """(scenario, metric) -> verdict, so the headline table marks differences as the box does."""
        return {(r.scenario, e.metric): e.verdict for r in self.rows for e in r.effects}

    def html(self) -> str:
        out = [f'<section id="{SECTION_ID}" class="key-findings"><h2>{TITLE}</h2>',
               f"<p>Against {esc(self.baseline)}, {esc(self.when)}:</p>", '<ul class="findings-list">']
        for row in self.rows:
            parts = []
            for word, effects in row.by_verdict():
                names = _join([f"<b>{esc(e.label)}</b>" if word == NO_CHANGE else
                               f'<b>{esc(e.label)}</b> <span class="num">({esc(e.text)})</span>' for e in effects])
                lead = {NO_CHANGE: "no material change in"}.get(word, f"{word} on")
                parts.append(f'<span class="verdict {word.split()[0]}">{esc(lead)}</span> {names}')
            out.append(f'<li data-scenario="{esc(row.scenario)}"><span class="swatch" style="background:'
                       f'{esc(row.colour)}"></span><strong>{esc(row.scenario)}</strong>: '
                       + "; ".join(parts) + ".</li>")
        out.append("</ul>")
        notes = [self.how_sure, self.material_note, self.england_note, self.coverage]
        out += [f'<p class="small">{esc(n)}</p>' for n in notes if n]
        out.append("</section>")
        return "\n".join(out)

    def markdown(self) -> list[str]:
        lines = [f"## {TITLE}", "", f"Against {self.baseline}, {self.when}:", ""]
        lines += [f"- **{row.scenario}**: {row.summary()}" for row in self.rows]
        lines.append("")
        for note in (self.how_sure, self.material_note, self.england_note, self.coverage):
            if note:
                lines += [note, ""]
        return lines


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:] if not label[:2].isupper() else label


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _numbers(spec: Any, mean: float, low: float, high: float, scale: float | None) -> str:
    unit = display_unit(spec, [mean, low, high], per_year=True, difference=True, scale=scale)
    m, lo, hi = (unit.apply(v) for v in (mean, low, high))
    d = decimals_for([m], [hi - lo] if np.isfinite(hi - lo) else [], digits=2)
    interval = fmt_interval(lo, hi, decimals=d)
    return fmt_quantity(m, unit, decimals=d, signed=True) + (f" {interval}" if interval else "")


def build(
    summary: pd.DataFrame, scenarios: Sequence[str], metrics: Sequence[str], colours: Mapping[str, str], *,
    baseline: str, scale: float | None = None, material: Mapping[str, float] | None = None,
    analysis: Any = None, horizon: int | None = None,
) -> KeyFindings:
    """The key findings of a comparison at the pack's horizon.

    Args:
        summary: the paired summary at the horizon (:func:`sim.experiment.paired.summarise`).
        scenarios: in the experiment's order; the baseline is left out of the box.
        metrics: the pack's metrics; those with a better direction are judged.
        colours: scenario colours.
        baseline: the scenario differences are taken from.
        scale: the runs' share of England (money totals are scaled up to England).
        material: thresholds overriding the registry's, in its units (money for England).
        analysis: a :class:`sim.report_uncertainty.Analysis` when the runs have assumption draws.
    """
    judged = [m for m in metrics if METRICS_BY_NAME[m].better and m in set(summary["metric"])]
    table = analysis.table.set_index(["scenario", "metric"]) if analysis is not None else None
    rows = []
    for scen in [s for s in scenarios if s != baseline]:
        row = ScenarioFindings(scen, colours.get(scen, "#777"))
        for name in judged:
            spec = METRICS_BY_NAME[name]
            threshold = material_threshold(name, scale, dict(material or {}))
            if table is not None and (scen, name) in table.index:
                r = table.loc[(scen, name)]
                p = float(r["probability_better"])
                mean = float(r["mean_difference"])
                word = verdict(spec.better, mean, threshold, p >= LIKELY or p <= UNLIKELY)
                n = int(r["n_draws"]) if "n_draws" in r else analysis.n_draws
                text = (_numbers(spec, mean, float(r["low"]), float(r["high"]), scale)
                        + f"; better in {100 * p:.0f}% of {n} draws")
            else:
                sel = summary[(summary["metric"] == name) & (summary["scenario"] == scen)]
                if sel.empty:
                    continue
                r = sel.iloc[0]
                mean = float(r["diff_mean"])
                word = verdict(spec.better, mean, threshold, bool(r["significant"]))
                text = _numbers(spec, mean, float(r["diff_ci_low"]), float(r["diff_ci_high"]), scale)
            row.effects.append(Effect(name, SHORT.get(name, _lower(spec.label)), word, text))
        rows.append(row)
    when = f"after {horizon / 4:g} years (quarter {horizon})" if horizon else "at the horizon"
    return KeyFindings(baseline, rows, _how_sure(analysis, summary), _material_note(judged, scale, material),
                       _coverage(analysis, summary), _england(scale), when)


def _how_sure(analysis: Any, summary: pd.DataFrame) -> str:
    if analysis is not None:
        n = analysis.n_draws
        return (f"How sure: each figure is the mean difference over {n} draws of the uncertain assumptions "
                f"(paired by draw and seed), the central 95% of the draws in brackets, and the share of draws in "
                f"which the reform does better. Better or worse: a material effect in at least "
                f"{100 * LIKELY:.0f}% (or at most {100 * UNLIKELY:.0f}%) of the draws better, as in "
                f"'{_uncertainty_title()}' below; uncertain: a material effect the draws do not settle.")
    n = int(summary["n"].min()) if "n" in summary and len(summary) else 0
    return (f"How sure: each figure is the mean difference over {n} paired replications with its 95% confidence "
            "interval in brackets. Better or worse: a material effect whose interval excludes no effect; "
            "uncertain: a material effect whose interval does not.")


def _uncertainty_title() -> str:
    from sim.report_uncertainty import TITLE as UNCERTAINTY_TITLE

    return UNCERTAINTY_TITLE


def _material_note(judged: Sequence[str], scale: float | None, material: Mapping[str, float] | None) -> str:
    parts = []
    for name in judged:
        spec = METRICS_BY_NAME[name]
        threshold = material_threshold(name, None, dict(material or {}))  # in England's terms
        if threshold > 0:
            unit = display_unit(spec, [threshold], per_year=True, difference=True)
            shown = unit.apply(threshold)
            places = len(f"{shown:g}".partition(".")[2])  # as declared: 0.5, not 0.500
            parts.append(f"{SHORT.get(name, _lower(spec.label))} {fmt_quantity(shown, unit, decimals=places)}")
    if not parts:
        return ""
    return ("Material: an effect smaller than " + _join(parts) + " is no material change (the thresholds of "
            "sim/metrics.py; change one with --material METRIC=DELTA).")


def _england(scale: float | None) -> str:
    if scale is None or not 0 < scale < 1:
        return ""
    return (f"Money is for England: the runs simulate {100 * scale:g}% of England's practices, and their money "
            f"totals are scaled up by {1 / scale:g}. Rates per patient or per 1,000 need no scaling.")


def _coverage(analysis: Any, summary: pd.DataFrame) -> str:
    if analysis is not None:
        return ("What the intervals cover: the assumptions' declared distributions and the remaining simulation "
                "noise; not what the model leaves out or simplifies (docs/ODD.md), nor doubt about the "
                "distributions themselves.")
    return ("What the intervals cover: simulation noise only. Every behavioural assumption is held at its central "
            "value, so they say how sure the model is given those values, not how likely the reform is to work; "
            "run the comparison with --uncertainty N for that.")
