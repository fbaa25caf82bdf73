"""The briefing pack's page: ``index.html`` (self-contained, no network) and ``summary.md`` from one model.

Both say the same things in the same order: the question, (with assumption draws) how likely each reform
is to work (:mod:`sim.report_uncertainty`), the scenarios in plain words, the headline table with
intervals, the charts, the assumptions and the provenance. Building one :class:`Page` and rendering it
twice keeps the two from drifting apart.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim import report_uncertainty
from sim.docs import parameter_label
from sim.metrics import METRICS_BY_NAME
from sim.report_style import CSS
from sim.report_text import Change, HeadlineRow, changes, esc, fmt_number, headline_rows


@dataclass
class ScenarioInfo:
    name: str
    colour: str
    description: str
    is_baseline: bool
    levers: list[Change]
    assumptions: list[Change]


@dataclass
class Page:
    """Everything the page shows, already in words."""

    title: str
    question: str
    how_read: str
    warning: str
    kind: str
    scenarios: list[ScenarioInfo]
    headline: list[HeadlineRow]
    headline_note: str
    other_table: pd.DataFrame | None
    charts: list[Any]  # sim.report.ChartFile
    tables: dict[str, str]
    run_settings: list[tuple[str, str]]
    model_assumptions: list[str]
    provenance: dict[str, Any] = field(default_factory=dict)
    uncertainty: report_uncertainty.Section | None = None  # leads the page when the runs have assumption draws
    findings: Any = None  # sim.report_findings.KeyFindings: the box at the top of a comparison's page

    # ---------------------------------------------------------------------------------- building

    @classmethod
    def build(cls, ctx: Any, chart_files: Sequence[Any], tables: Mapping[str, str], generated: str,
              reference: Mapping[str, Any]) -> Page:
        """Gather the words and tables of the page from the report's context."""
        exp = ctx.data.experiment
        kind = str(exp.get("kind"))
        baseline = str(exp.get("baseline") or ctx.scenarios[0])
        scenarios = []
        for name in ctx.scenarios:
            resolved = ctx.scenario_dicts.get(name, {})
            scenarios.append(ScenarioInfo(
                name=name, colour=ctx.colours[name], description=str(resolved.get("description") or "").strip(),
                is_baseline=(kind == "compare" and name == baseline),
                levers=changes(resolved, reference, "levers") if reference else [],
                assumptions=changes(resolved, reference, "assumptions") if reference else [],
            ))
        runs = ctx.data.runs
        complete = runs[runs["status"] == "complete"]
        reps = ctx.provenance.replications
        drawn = getattr(ctx, "uncertainty", None)
        first = next(iter(ctx.scenario_dicts.values()), {})
        run_cfg = first.get("run") or {}
        years = ctx.horizon / 4
        scale = run_cfg.get("scale")
        start = run_cfg.get("start_year")
        scale_text = f"{scale * 100:g}% of England" if scale is not None else "a sample of England"
        search = getattr(ctx, "search", None)
        n_draws = drawn.n_draws if drawn is not None else (
            search.data.n_draws if search is not None and search.data.n_draws > 1 else None)
        how_read = (
            f"Effects are read after {years:g} years (quarter {ctx.horizon}"
            + (f", from April {start}" if start else "") + "), over "
            + (f"{n_draws} draws of the uncertain assumptions × " if n_draws else "")
            + f"{reps} replication"
            + ("s" if reps != 1 else "") + " of each "
            + {"compare": "scenario", "optimise": "design"}.get(kind, "design point")
            + f", simulating {scale_text}. Replication k of every scenario uses seed "
            f"{ctx.provenance.base_seed} + k: the same practices and the same chance events, so differences "
            "between scenarios are paired and their intervals narrow. Levels (quality, rates) are read at "
            "that quarter; flows (money, counts) are summed over the year that ends there."
        )
        question = str((exp.get("options") or {}).get("question") or _question(kind, baseline, ctx))
        warning = ""
        n_runs = int(exp.get("n_runs") or len(runs))
        if exp.get("status") != "complete" or len(complete) < n_runs:
            warning = (f"This experiment is {exp.get('status')}: {len(complete)} of {n_runs} runs have finished. "
                       "The figures use the finished runs only; resume the experiment and report again.")
        headline: list[HeadlineRow] = []
        other: pd.DataFrame | None = None
        note = ""
        if kind == "compare":
            findings = getattr(ctx, "findings", None)
            headline = headline_rows(ctx.summary, ctx.scenarios, ctx.metrics, scale=ctx.scale, material=ctx.material,
                                     verdicts=findings.verdicts if findings is not None else None)
            over = "the runs (draws × replications)" if drawn is not None else "replications"
            england = (f" Money totals are for England: the runs simulate {ctx.scale * 100:g}% of it and are "
                       f"scaled up by {1 / ctx.scale:g}." if ctx.england else "")
            note = (f"Each cell: mean over {over} [95% confidence interval]. Under each scenario: Δ, the "
                    f"paired difference from {baseline} [95% interval], with the verdict of the key findings "
                    "(better or worse: a material difference, larger than the metric's threshold, that the "
                    "evidence is sure of). Shares are in per cent, differences in them in percentage points; "
                    f"money is a year.{england} " + report_uncertainty.interval_note(drawn))
        elif kind == "optimise":
            from sim.report_optimise import headline as search_headline

            other, note = search_headline(ctx.search)
        else:
            other = _other_table(ctx, kind)
            note = ("Sensitivity indices per metric and parameter, largest first, with 95% bootstrap intervals."
                    if kind == "sensitivity" else
                    "Mean of each metric at the horizon for each design point [95% interval over replications].")
        settings = [
            ("Scale", f"{scale * 100:g}% of England's practices and consortia" if scale is not None else "–"),
            ("Length", f"{run_cfg.get('quarters', ctx.horizon)} quarters"),
            ("First financial year", f"{start}/{(int(start) + 1) % 100:02d}" if start else "–"),
            ("Horizon of the effects", f"quarter {ctx.horizon} ({years:g} years)"),
            ("Replications", str(reps)),
        ]
        if kind == "compare":
            settings += report_uncertainty.settings(drawn)
        if kind == "optimise":
            from sim.report_optimise import settings as search_settings

            settings += search_settings(ctx.search)
        elif kind != "compare" and len(ctx.data.design):
            params = [c for c in ctx.data.design.columns if c != "point_id"]
            settings.append(("Varied", ", ".join(
                f"{p} {fmt_number(ctx.data.design[p].min())} to {fmt_number(ctx.data.design[p].max())}"
                for p in params)))
            settings.append(("Design points", str(len(ctx.data.design))))
        provenance = {
            "experiment": ctx.name, "kind": kind, "status": exp.get("status"), "created": exp.get("created"),
            "database": ctx.database, "model_version": ctx.provenance.model_version,
            "code_versions": ctx.code_versions, "base_seed": ctx.provenance.base_seed, "replications": reps,
            "runs_finished": len(complete), "runs_planned": n_runs,
            "run_seconds_total": float(pd.to_numeric(complete["elapsed_seconds"], errors="coerce").sum()),
            "scenarios": ctx.scenarios, "baseline": baseline if kind == "compare" else None,
            "options": exp.get("options"), "package_versions": ctx.package_versions,
            "report_generated": generated, "regenerate": ctx.regenerate or f"python run_sim.py report {ctx.name}",
            "scale": ctx.scale, "material": ctx.material,
        }
        return cls(
            title=f"Briefing pack: {ctx.name}", question=question, how_read=how_read, warning=warning, kind=kind,
            scenarios=scenarios, headline=headline, headline_note=note, other_table=other,
            charts=list(chart_files), tables=dict(tables), run_settings=settings,
            model_assumptions=MODEL_ASSUMPTIONS, provenance=provenance,
            uncertainty=report_uncertainty.section(drawn, ctx.colours) if drawn is not None else None,
            findings=getattr(ctx, "findings", None),
        )

    # ---------------------------------------------------------------------------------- html

    def html(self) -> str:
        parts = [
            "<!DOCTYPE html>", '<html lang="en-GB">', "<head>", '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<link rel="icon" href="data:,">',  # no favicon request, so no 404 in the console
            f"<title>{esc(self.title)}</title>", f"<style>{CSS}{report_uncertainty.css()}</style>", "</head>",
            "<body>", "<main>",
            f"<h1>{esc(self.title)}</h1>",
            '<p class="sub">Commissioning Reform Simulator: an agent-based model of GP commissioning reform '
            "in England. Model results under stated assumptions, not forecasts.</p>",
        ]
        if self.warning:
            parts.append(f'<p class="warning" role="alert">{esc(self.warning)}</p>')
        if self.findings:
            parts.append(self.findings.html())
        lead = f' · <a href="#{report_uncertainty.SECTION_ID}">How likely</a>' if self.uncertainty else ""
        first = '<a href="#key-findings">Key findings</a> · ' if self.findings else ""
        parts += [f'<nav>{first}<a href="#question">Question</a>{lead} · <a href="#scenarios">Scenarios</a> · '
                  '<a href="#headline-results">Headline results</a> · <a href="#charts">Charts</a> · '
                  '<a href="#assumptions">Assumptions</a> · <a href="#provenance">Provenance</a></nav>']
        parts += ['<section id="question"><h2>The question</h2>', f"<p class=\"question\">{esc(self.question)}</p>",
                  f"<p>{esc(self.how_read)}</p></section>"]
        if self.uncertainty:
            parts.append(self.uncertainty.html())
        parts.append(self._html_scenarios())
        parts.append(self._html_headline())
        parts.append(self._html_charts())
        parts.append(self._html_assumptions())
        parts.append(self._html_provenance())
        parts += ["</main>", "</body>", "</html>"]
        return "\n".join(parts) + "\n"

    def _html_scenarios(self) -> str:
        title = "The scenarios compared" if self.kind == "compare" else "The scenario"
        out = [f'<section id="scenarios"><h2>{title}</h2>']
        for s in self.scenarios:
            tag = ' <span class="tag">baseline</span>' if s.is_baseline else ""
            out.append(f'<div class="scenario"><h3><span class="swatch" style="background:{esc(s.colour)}"></span>'
                       f"{esc(s.name)}{tag}</h3>")
            if s.description:
                out.append(f"<p>{esc(s.description)}</p>")
            if s.levers:
                out.append("<p class=\"small\">Levers that differ from the status quo:</p><ul class=\"levers\">")
                out += [_html_change(c) for c in s.levers]
                out.append("</ul>")
            else:
                out.append('<p class="small">Levers as in the status quo.</p>')
            out.append("</div>")
        out.append("</section>")
        return "\n".join(out)

    def _html_headline(self) -> str:
        out = ['<section id="headline-results"><h2>Headline results</h2>']
        if self.headline:
            names = list(self.headline[0].cells) if self.headline else []
            head = "".join(
                f'<th scope="col"><span class="swatch" style="background:{esc(s.colour)}"></span>{esc(s.name)}'
                + ("<br><span class=\"small\">baseline</span>" if s.is_baseline else "") + "</th>"
                for s in self.scenarios if s.name in names)
            out.append('<div class="table-wrap"><table id="headline" class="headline">')
            out.append(f'<thead><tr><th scope="col">Measure (unit)</th>{head}</tr></thead><tbody>')
            for row in self.headline:
                cells = []
                for name in names:
                    cell = row.cells.get(name)
                    if cell is None:
                        cells.append("<td></td>")
                        continue
                    text = f'<span class="mean">{esc(cell.mean)}</span> <span class="ci">{esc(cell.interval)}</span>'
                    if cell.diff:
                        cls = {True: "better", False: "worse"}.get(cell.better, "ns")  # type: ignore[arg-type]
                        word = f" {cell.verdict}" if cell.verdict else ""
                        text += (f'<br><span class="diff {cls}">Δ {esc(cell.diff)} <span class="ci">'
                                 f"{esc(cell.diff_interval)}</span>{esc(word)}</span>")
                    cells.append(f"<td>{text}</td>")
                unit = row.unit if row.unit == row.diff_unit else f"{row.unit}; Δ in {row.diff_unit}"
                out.append(f'<tr><th scope="row">{esc(row.label)}<br><span class="small">{esc(unit)}</span></th>'
                           + "".join(cells) + "</tr>")
            out.append("</tbody></table></div>")
        elif self.other_table is not None:
            out.append('<div class="table-wrap">' + _html_frame(self.other_table, "headline") + "</div>")
        out.append(f'<p class="small">{esc(self.headline_note)}</p></section>')
        return "\n".join(out)

    def _html_charts(self) -> str:
        out = ['<section id="charts"><h2>Charts</h2>',
               '<p class="small">Each chart is a 300 dpi PNG sized for half an A4 page; click a chart to open it '
               "at full size. Colours mark the same scenario in every chart.</p>"]
        section = None
        for chart in self.charts:
            if chart.section != section:
                if section is not None:
                    out.append("</div>")
                section = chart.section
                out.append(f'<h3>{esc(section)}</h3><div class="charts">')
            png = chart.files["png"]
            links = " · ".join(f'<a href="{esc(path)}">{fmt.upper()}</a>' for fmt, path in chart.files.items())
            out.append(f'<figure id="{esc(chart.stem)}"><a href="{esc(png)}"><img src="{esc(png)}" '
                       f'alt="{esc(chart.title)}"></a><figcaption>{esc(chart.title)} '
                       f'<span class="small">({links})</span></figcaption></figure>')
        if section is not None:
            out.append("</div>")
        out.append("</section>")
        return "\n".join(out)

    def _html_assumptions(self) -> str:
        out = ['<section id="assumptions"><h2>Assumptions</h2>', '<table class="plain"><tbody>']
        out += [f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in self.run_settings]
        out.append("</tbody></table>")
        changed = [s for s in self.scenarios if s.assumptions]
        if changed:
            out.append("<p>Behavioural assumptions that differ from the central (status quo) values:</p>")
            for s in changed:
                out.append(f"<h3>{esc(s.name)}</h3><ul class=\"levers\">")
                out += [_html_change(c) for c in s.assumptions]
                out.append("</ul>")
        else:
            out.append("<p>Every scenario uses the central behavioural assumptions (the status quo values).</p>")
        out.append("<p>What the model assumes throughout:</p><ul>")
        out += [f"<li>{esc(a)}</li>" for a in self.model_assumptions]
        out.append("</ul></section>")
        return "\n".join(out)

    def _html_provenance(self) -> str:
        p = self.provenance
        rows = [
            ("Experiment", f"{p['experiment']} ({p['kind']}, {p['status']}, created {p['created']})"),
            ("Database", p["database"]), ("Model version", p["model_version"]),
            ("Code version", ", ".join(p["code_versions"])), ("Base seed", p["base_seed"]),
            ("Replications", p["replications"]), ("Runs", f"{p['runs_finished']} finished of {p['runs_planned']}"),
            ("Run time", f"{p['run_seconds_total']:.1f} s in total"),
            ("Packages", ", ".join(f"{k} {v}" for k, v in sorted((p["package_versions"] or {}).items()))),
            ("Report generated", p["report_generated"]), ("Regenerate with", p["regenerate"]),
        ]
        out = ['<section id="provenance"><h2>Provenance</h2>', '<table class="plain"><tbody>']
        out += [f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in rows]
        out.append("</tbody></table><p>Tables (CSV):</p><ul>")
        out += [f'<li><a href="{esc(path)}">{esc(path)}</a>: {esc(what)}</li>' for path, what in self.tables.items()]
        out.append('<li><a href="summary.md">summary.md</a>: this page as Markdown</li>')
        out.append('<li><a href="provenance.json">provenance.json</a>: the details above, machine-readable</li>')
        out.append("</ul></section>")
        return "\n".join(out)

    # ---------------------------------------------------------------------------------- markdown

    def markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        if self.warning:
            lines += [f"> **Warning:** {self.warning}", ""]
        lines += self.findings.markdown() if self.findings else []
        lines += ["## The question", "", md_text(self.question), "", self.how_read, ""]
        lines += self.uncertainty.markdown() if self.uncertainty else []
        lines += ["## The scenarios compared" if self.kind == "compare" else "## The scenario", ""]
        for s in self.scenarios:
            lines.append(f"### {md_text(s.name)}" + (" (baseline)" if s.is_baseline else ""))
            lines.append("")
            if s.description:
                lines += [md_text(s.description), ""]
            if s.levers:
                lines += ["Levers that differ from the status quo:", ""]
                lines += [f"- **{c.label}**: {md_text(c.value)} (status quo: {md_text(c.reference)}). "
                          f"{md_text(c.description)}" for c in s.levers]
            else:
                lines.append("Levers as in the status quo.")
            lines.append("")
        lines += ["## Headline results", ""]
        if self.headline:
            names = list(self.headline[0].cells)
            lines.append("| Measure (unit) | " + " | ".join(names) + " |")
            lines.append("|---|" + "---|" * len(names))
            for row in self.headline:
                cells = []
                for name in names:
                    cell = row.cells.get(name)
                    if cell is None:
                        cells.append("")
                        continue
                    text = f"{cell.mean} {cell.interval}"
                    if cell.diff:
                        mark = "**" if cell.better is not None else ""
                        word = f" {cell.verdict}" if cell.verdict else ""
                        text += f"<br>Δ {mark}{cell.diff}{mark} {cell.diff_interval}{word}"
                    cells.append(text)
                unit = row.unit if row.unit == row.diff_unit else f"{row.unit}; Δ in {row.diff_unit}"
                lines.append(f"| {row.label} ({unit}) | " + " | ".join(cells) + " |")
        elif self.other_table is not None:
            lines += _md_frame(self.other_table)
        lines += ["", self.headline_note, "", "## Charts", ""]
        for chart in self.charts:
            lines += [f"### {chart.title}", "", f"![{chart.title}]({chart.files['png']})", ""]
        lines += ["## Assumptions", ""]
        lines += [f"- {k}: {v}" for k, v in self.run_settings]
        lines.append("")
        for s in self.scenarios:
            if s.assumptions:
                lines += [f"Assumptions of **{s.name}** that differ from the central values:", ""]
                lines += [f"- **{c.label}**: {c.value} (central: {c.reference}). {c.description}"
                          for c in s.assumptions]
                lines.append("")
        lines += ["What the model assumes throughout:", ""] + [f"- {a}" for a in self.model_assumptions]
        p = self.provenance
        lines += ["", "## Provenance", "",
                  f"- Experiment: {p['experiment']} ({p['kind']}, {p['status']}, created {p['created']})",
                  f"- Database: {p['database']}", f"- Model version: {p['model_version']}",
                  f"- Code version: {', '.join(p['code_versions'])}", f"- Base seed: {p['base_seed']}",
                  f"- Replications: {p['replications']}; runs: {p['runs_finished']} finished of {p['runs_planned']}",
                  f"- Report generated: {p['report_generated']}", f"- Regenerate with: `{p['regenerate']}`", "",
                  "Tables (CSV):", ""]
        lines += [f"- [{path}]({path}): {what}" for path, what in self.tables.items()]
        return "\n".join(lines) + "\n"


MODEL_ASSUMPTIONS: list[str] = [
    "A quarterly agent-based model: practices split discretionary effort between genuine improvement, "
    "recording and exception reporting, and prescribing efficiency, in response to what is paid for, peer "
    "challenge, remedial action and their own motivation.",
    "Recorded QOF achievement can exceed true quality (recording and exception reporting); health outcomes "
    "(avoidable emergency admissions) follow true quality with a lag and are worse where deprivation is higher.",
    "Consortia with the delegated role benchmark their practices with funnel plots and challenge outliers; "
    "success depends on the lead's skill and credibility and on the practice's autonomy.",
    "The board keeps contractual decisions: remedial notices, terminations and procurement of new providers.",
    "Behavioural parameters are uncertain: see the sensitivity analyses and docs/parameters.md for each value, "
    "its range and its source (or 'assumption').",
]


def md_text(text: Any) -> str:
    """Text from a scenario file, safe in Markdown: HTML in it is shown, not rendered, by Markdown viewers."""
    return html.escape(str(text), quote=False)


def _question(kind: str, baseline: str, ctx: Any) -> str:
    others = [s for s in ctx.scenarios if s != baseline]
    if kind == "compare":
        if not others:
            return f"What does the model project under {baseline}?"
        return (f"What would change, against {baseline}, under {_join(others)}: for quality of care, health "
                "outcomes, inequality, money and governance activity?")
    params = [c for c in ctx.data.design.columns if c != "point_id"]
    if kind == "sweep":
        return f"How do the headline results of {_join(ctx.scenarios)} respond to {_join(params)}?"
    return f"Which of {_join(params)} drive the headline results of {_join(ctx.scenarios)} most?"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _html_change(c: Change) -> str:
    return (f"<li><strong>{esc(c.label)}</strong>: {esc(c.value)} <span class=\"small\">(status quo: "
            f"{esc(c.reference)})</span><br><span class=\"small\">{esc(c.description)}</span></li>")


def _other_table(ctx: Any, kind: str) -> pd.DataFrame:
    """The headline table of a sweep (points) or a sensitivity analysis (indices)."""
    if kind == "sensitivity" and len(ctx.data.sensitivity):
        sens = ctx.data.sensitivity
        rows = []
        for (metric, method), group in sens.groupby(["metric", "method"], sort=False):
            key, conf = ("ST", "ST_conf") if method == "sobol" else ("mu_star", "mu_star_conf")
            for rec in group.sort_values(key, ascending=False).head(5).itertuples():
                rows.append({"metric": METRICS_BY_NAME[metric].label if metric in METRICS_BY_NAME else metric,
                             "method": method, "parameter": parameter_label(rec.parameter),
                             "index": f"{key} {fmt_number(getattr(rec, key))} ± {fmt_number(getattr(rec, conf))}"})
        return pd.DataFrame(rows)
    from sim.charts.data import summarise_runs
    from sim.charts.sensitivity import sweep_values
    from sim.charts.style import display_unit

    design = ctx.data.design
    table = design.rename(columns={c: parameter_label(c) for c in design.columns if c != "point_id"})
    for name in ctx.metrics[:6]:
        values = sweep_values(ctx.data.metrics, ctx.data.runs, design, name, ctx.horizon)
        spec = METRICS_BY_NAME[name]
        unit = display_unit(spec, values["value"], per_year=True)
        summ = summarise_runs(values, ["point_id"]).set_index("point_id")
        cells = []
        for point in design["point_id"]:
            if point not in summ.index:
                cells.append("–")
                continue
            mean, low, high = (summ.loc[point, c] * unit.factor for c in ("mean", "ci_low", "ci_high"))
            cells.append(fmt_number(mean) + (f" [{fmt_number(low)} to {fmt_number(high)}]" if pd.notna(low) else ""))
        table[f"{spec.label} ({unit.text})"] = cells
    return table.head(60)


def _html_frame(frame: pd.DataFrame, table_id: str) -> str:
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f'<table id="{esc(table_id)}" class="headline"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _md_frame(frame: pd.DataFrame) -> list[str]:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return lines


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return fmt_number(value)
    return str(value)
