"""The explorer's page (Solara): controls on the left, results on the right, in three tabs.

The page only lays things out and keeps each visitor's choices (Solara's reactive variables are per
browser tab); the work is done by :mod:`sim.explorer.runs`, :mod:`sim.explorer.stored` and
:mod:`sim.explorer.funnel_view`. Every error a user can cause is a :class:`~sim.errors.SimError` shown
in words on the page, which stays usable: the previous result stays on screen.
"""

from __future__ import annotations

import html
import io
from typing import Any

import solara
import solara.lab
from matplotlib.figure import Figure

from sim.errors import SimError
from sim.explorer import funnel_view, runs, stored
from sim.explorer.controls import Control, assumption_controls, changed, lever_controls, value_of
from sim.scenario import load_scenario

#: Set by :func:`sim.explorer.server.serve` before the first page is served.
RUNNER = runs.Runner()

baseline = solara.reactive("status_quo")
scenario = solara.reactive("quality_premium")
scenario_file = solara.reactive("")
edits: solara.Reactive[dict[str, Any]] = solara.reactive({})
reps = solara.reactive(5)
scale = solara.reactive(1.0)
quarters = solara.reactive(40)
metric = solara.reactive("outcome_mean")
progress_text = solara.reactive("")
last_view: solara.Reactive[runs.RunView | None] = solara.reactive(None)
save_path = solara.reactive("")
save_message = solara.reactive("")
stored_name = solara.reactive("")
refresh = solara.reactive(0)
single_run: solara.Reactive[funnel_view.RecordedRun | None] = solara.reactive(None)
single_consortium = solara.reactive(-1)
single_quarter = solara.reactive(0)
single_error = solara.reactive("")


def png(fig: Figure) -> bytes:
    """A figure as PNG bytes (the page shows images, so the chart is the pack's chart exactly)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def scenario_ref() -> str:
    return scenario_file.value.strip() or scenario.value


def current_problem() -> str:
    """What is wrong with the scenario as edited, in the command line's words ('' when nothing is)."""
    try:
        runs.build_scenario(scenario_ref(), edits.value, scale=scale.value, quarters=quarters.value)
        runs.check_request(request())
    except SimError as exc:
        return str(exc)
    return ""


def request() -> runs.Request:
    return runs.Request(baseline.value, scenario_ref(), dict(edits.value), int(reps.value), float(scale.value),
                        int(quarters.value))


@solara.lab.task(prefer_threaded=True)
def run_task(req: runs.Request) -> runs.RunView:
    def report(share: float, text: str) -> None:
        run_task.progress = share
        progress_text.value = text

    view = RUNNER.run(req, report)
    last_view.value = view
    return view


# ------------------------------------------------------------------------------------------- controls


def _set_edit(path: str, value: Any) -> None:
    edits.value = {**edits.value, path: value}


@solara.component
def ControlInput(control: Control, resolved: Any) -> None:
    value = edits.value.get(control.path, resolved)
    label = f"{control.label} ({control.range_text})"
    with solara.Tooltip(control.help), solara.Column(classes=[control.css_class], gap="0px"):
        if control.kind == "choice":
            solara.Select(label, values=list(control.spec.choices), value=value,
                          on_value=lambda v: _set_edit(control.path, v))
        elif control.kind == "flag":
            solara.Checkbox(label=label, value=bool(value), on_value=lambda v: _set_edit(control.path, v))
        elif control.kind == "integer":
            solara.InputInt(label, value=int(value), on_value=lambda v: _set_edit(control.path, v))
        else:
            solara.InputFloat(label, value=float(value), on_value=lambda v: _set_edit(control.path, v))


def _load(ref: str) -> tuple[Any, str]:
    try:
        return load_scenario(ref), ""
    except SimError as exc:
        return None, str(exc)


@solara.component
def Controls() -> None:
    ref = scenario_ref()  # hooks first, before any early return (Solara's rules of hooks)
    base, error = solara.use_memo(lambda: _load(ref), dependencies=[ref])
    key = (ref, tuple(sorted(edits.value.items())), scale.value, reps.value, quarters.value)
    problem = solara.use_memo(current_problem, dependencies=[key])
    if base is None:
        solara.Error(error, classes=["crsim-error"])
        solara.InputText("…or a scenario file (path)", value=scenario_file,
                         on_value=lambda v: (scenario_file.set(v), edits.set({})), classes=["crsim-scenario-file"])
        return
    solara.Select("Baseline", values=runs.scenario_choices(), value=baseline)
    solara.Select("Scenario", values=runs.scenario_choices(), value=scenario,
                  on_value=lambda v: (scenario.set(v), edits.set({})))
    solara.InputText("…or a scenario file (path)", value=scenario_file,
                     on_value=lambda v: (scenario_file.set(v), edits.set({})), classes=["crsim-scenario-file"])
    with solara.Row():
        solara.InputFloat(f"Scale (share of England, {runs.SCALE_RANGE[0]} to {runs.SCALE_RANGE[1]})",
                          value=scale, classes=["crsim-scale"])
        solara.InputInt(f"Replications ({runs.REPS_RANGE[0]} to {runs.REPS_RANGE[1]})", value=reps,
                        classes=["crsim-reps"])
        solara.InputInt("Quarters", value=quarters, classes=["crsim-quarters"])
    with solara.Details("Levers", expand=True):
        for control in lever_controls():
            ControlInput(control, value_of(base, control.path))
    with solara.Details("Key assumptions", expand=False):
        for control in assumption_controls():
            ControlInput(control, value_of(base, control.path))
    edited = changed(base, edits.value)
    solara.Text(f"{scale.value:g} of England, {reps.value} replications, {quarters.value} quarters.",
                classes=["crsim-settings"])
    solara.Text(f"Changed: {', '.join(f'{k}={v}' for k, v in edited.items()) or 'nothing yet'}",
                classes=["crsim-changed"])
    if problem:
        solara.Error(problem, classes=["crsim-error"])
    with solara.Row():
        solara.Button("Run comparison", on_click=lambda: run_task(request()), color="primary",
                      disabled=run_task.pending, classes=["crsim-run"])
        solara.Button("Reset changes", on_click=lambda: edits.set({}), text=True)
    SaveScenario()


@solara.component
def SaveScenario() -> None:
    def save() -> None:
        try:
            path = runs.save_scenario(scenario_ref(), changed(load_scenario(scenario_ref()), edits.value),
                                      save_path.value.strip())
        except (SimError, OSError) as exc:
            save_message.value = f"Not saved: {exc}"
        else:
            save_message.value = f"Saved {path}; check it with: python run_sim.py show {path}"

    with solara.Row():
        solara.InputText("Save the edited scenario as (file.yaml)", value=save_path, classes=["crsim-save-path"])
        solara.Button("Save YAML", on_click=save, classes=["crsim-save"])
    if save_message.value:
        solara.Text(save_message.value, classes=["crsim-save-message"])


# ------------------------------------------------------------------------------------------- results


def difference_html(rows: list[runs.DifferenceRow], baseline_name: str, scenario_name: str,
                    experiment: str = "") -> str:
    """The paired-difference table; it carries the experiment's name, so a reader (or a test) can tell
    that it shows the latest run."""
    head = (f"<tr><th>measure (at the horizon)</th><th>unit</th><th>{html.escape(baseline_name)}</th>"
            f"<th>{html.escape(scenario_name)}</th><th>difference [paired 95% CI]</th></tr>")
    body = []
    for r in rows:
        mark = " *" if r.significant else ""
        colour = "" if r.better is None else (' style="color:#1a7f37"' if r.better else ' style="color:#b42318"')
        body.append(f'<tr data-metric="{r.metric}"><td>{html.escape(r.label)}</td><td>{html.escape(r.unit)}</td>'
                    f"<td>{html.escape(r.baseline)}</td><td>{html.escape(r.scenario)}</td>"
                    f"<td{colour}><b>{html.escape(r.difference)}</b>{mark} {html.escape(r.interval)}"
                    + (f' <span style="font-size:11px">{html.escape(r.diff_unit)}</span>' if r.diff_unit else "")
                    + "</td></tr>")
    return ("<style>table.crsim-table td, table.crsim-table th {padding: 3px 10px; text-align: left}</style>"
            f'<table id="crsim-differences" class="crsim-table" data-experiment="{html.escape(experiment)}" '
            'style="border-collapse:collapse;font-size:13px" cellpadding="4">'
            f"<thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
            "<p style='font-size:12px'>* the paired interval excludes zero; green: an improvement, red: worse.</p>")


@solara.component
def MetricPicker() -> None:
    by_label = {label: name for name, label in runs.metric_choices()}
    current = next(label for label, name in by_label.items() if name == metric.value)
    solara.Select("Measure in the fan chart", values=list(by_label), value=current,
                  on_value=lambda label: metric.set(by_label[label]), classes=["crsim-metric"])


@solara.component
def RunProgress() -> None:
    """Only this redraws as runs finish, so progress costs the page nothing."""
    if run_task.pending:
        solara.ProgressLinear(run_task.progress or True)
        solara.Text(f"Running: {progress_text.value}", classes=["crsim-progress"])
    if run_task.error:
        solara.Error(f"The run failed: {run_task.exception}", classes=["crsim-error", "crsim-run-error"])


def _chart(view: runs.RunView, name: str) -> tuple[bytes | None, str]:
    try:
        return png(runs.fan_figure(view.metrics, name, [view.baseline, view.scenario], view.experiment,
                                   view.scale)), ""
    except SimError as exc:
        return None, str(exc)


@solara.component
def Results() -> None:
    RunProgress()
    view = last_view.value
    if view is None:
        solara.Info("Choose a baseline and a scenario, change a lever and press Run comparison.")
        return
    ResultView(view)


@solara.component
def ResultView(view: runs.RunView) -> None:
    image, error = solara.use_memo(lambda: _chart(view, metric.value), dependencies=[view.experiment, metric.value])
    table = solara.use_memo(
        lambda: difference_html(runs.difference_rows(view.summary, view.baseline, view.scenario,
                                                     scale=view.scale),
                                view.baseline, view.scenario, view.experiment), dependencies=[view.experiment])
    solara.Text(f"Experiment {view.experiment}: {view.baseline} and {view.scenario}, "
                f"{view.computed} runs computed and {view.reused} reused from the store in {view.seconds:.1f} s.",
                classes=["crsim-result-caption"])
    MetricPicker()
    if image is not None:
        solara.Image(image, classes=["crsim-fan"])
    else:
        solara.Error(error)
    solara.HTML(tag="div", unsafe_innerHTML=table)
    saved = " (EDITED.yaml: the edited scenario, saved with Save YAML)" if "EDITED.yaml" in view.command else ""
    solara.Text(f"Same runs from the command line: {view.command}{saved}", classes=["crsim-command"])


# ------------------------------------------------------------------------------------------- stored


def _experiments(key: object) -> tuple[list[str], str]:
    try:
        table = stored.experiment_table(RUNNER.session().store)
    except SimError as exc:
        return [], str(exc)
    return ([] if table.empty else [str(n) for n in table["name"]]), ""


def _open(name: str) -> tuple[stored.StoredView | None, str]:
    try:
        return stored.open_experiment(RUNNER.session().store, name), ""
    except SimError as exc:
        return None, str(exc)


@solara.component
def Stored() -> None:
    # Listed again after each run of the page, and on Refresh (for experiments run from the command line).
    key = (refresh.value, last_view.value.experiment if last_view.value else "")
    names, error = solara.use_memo(lambda: _experiments(key), dependencies=[key])
    solara.Button("Refresh the list", on_click=lambda: refresh.set(refresh.value + 1), text=True,
                  classes=["crsim-refresh"])
    if error:
        solara.Error(error)
        return
    if not names:
        solara.Info("No comparisons are stored yet: run one, or `run_sim.py compare ...`.")
        return
    solara.Select("Stored comparison", values=names, value=stored_name if stored_name.value in names else None,
                  on_value=stored_name.set, classes=["crsim-stored"])
    if stored_name.value in names:
        StoredExperiment(stored_name.value, key)


@solara.component
def StoredExperiment(name: str, key: object) -> None:
    view, error = solara.use_memo(lambda: _open(name), dependencies=[name, key])
    if view is None:
        solara.Error(error)
        return
    MetricPicker()
    try:
        solara.Image(png(runs.stored_fan_figure(view.data, metric.value)), classes=["crsim-stored-fan"])
    except SimError as exc:
        solara.Error(str(exc))
    for other in view.scenarios[1:]:
        rows = runs.difference_rows(view.data.summary, view.baseline, other, scale=view.scale)
        solara.HTML(tag="div", unsafe_innerHTML=difference_html(rows, view.baseline, other, view.name))
    if view.n_draws:
        solara.HTML(tag="h3", unsafe_innerHTML=f"Over {view.n_draws} draws of the assumptions")
        items = "".join(f"<tr><td>{html.escape(r['scenario'])}</td><td>{html.escape(r['metric'])}</td>"
                        f"<td>{html.escape(r['unit'])}</td><td><b>{r['probability']}</b></td>"
                        f"<td>{r['mean']} {r['interval']}</td></tr>"
                        for r in stored.probability_rows(view))
        solara.HTML(tag="div", unsafe_innerHTML=(
            '<table id="crsim-probabilities" class="crsim-table"><thead><tr><th>scenario</th><th>measure</th>'
            "<th>unit</th>"
            "<th>probability of improvement</th><th>mean difference [95% of draws]</th></tr></thead>"
            f"<tbody>{items}</tbody></table>"))
        for name, sentences in view.failures.items():
            solara.HTML(tag="div", unsafe_innerHTML=f"<b>Where {html.escape(name)} fails</b><ul>"
                        + "".join(f"<li>{html.escape(s)}</li>" for s in sentences) + "</ul>")


# ------------------------------------------------------------------------------------------- single run


@solara.component
def SingleRun() -> None:
    def record() -> None:
        try:
            built = runs.build_scenario(scenario_ref(), edits.value, scale=scale.value, quarters=quarters.value)
            recorded = funnel_view.record_run(built)
        except SimError as exc:
            single_error.value = str(exc)
            return
        single_error.value = ""
        single_consortium.value = funnel_view.consortium_sizes(recorded)[0][0]  # the largest
        single_quarter.value = 1
        single_run.value = recorded

    solara.Text("One run of the edited scenario (seed 1) at the chosen scale, stepped quarter by quarter.")
    solara.Button("Run once", on_click=record, classes=["crsim-single-run"])
    if single_error.value:
        solara.Error(single_error.value, classes=["crsim-error"])
    recorded = single_run.value
    if recorded is None:
        return
    sizes = funnel_view.consortium_sizes(recorded)
    labels = {f"{c} ({k} practices)": c for c, k in sizes}
    current = next((label for label, c in labels.items() if c == single_consortium.value), None)
    solara.Select("Consortium", values=list(labels), value=current,
                  on_value=lambda v: single_consortium.set(labels[v]))
    last = len(recorded.frames) - 1
    with solara.Row():
        solara.Button("◀ quarter", on_click=lambda: single_quarter.set(max(0, single_quarter.value - 1)))
        solara.SliderInt("Quarter", value=single_quarter, min=0, max=last)
        solara.Button("quarter ▶", on_click=lambda: single_quarter.set(min(last, single_quarter.value + 1)),
                      classes=["crsim-step"])
    frame = recorded.frame(single_quarter.value)
    mine = frame.consortium == single_consortium.value
    solara.Text(f"Quarter {frame.quarter}: {int(frame.challenged[mine].sum())} challenged, "
                f"{int(frame.escalated[mine].sum())} escalated.", classes=["crsim-single-caption"])
    fig = funnel_view.funnel_figure(recorded, single_consortium.value, single_quarter.value)
    solara.Image(png(fig), classes=["crsim-funnel"])


# ------------------------------------------------------------------------------------------- page


@solara.component
def Page() -> None:
    solara.Title("Commissioning Reform Simulator: explorer")
    solara.HTML(tag="h2", unsafe_innerHTML="Commissioning Reform Simulator: try a reform")
    with solara.Columns([1, 2]):
        with solara.Column():
            Controls()
        with solara.lab.Tabs():
            with solara.lab.Tab("Comparison"):
                Results()
            with solara.lab.Tab("Stored experiments"):
                Stored()
            with solara.lab.Tab("Single run"):
                SingleRun()
