"""The explorer's logic without a browser: controls from the schema, the run button's comparison, saving the
edited scenario, stored experiments, the single-run funnel view and the ``explore`` command's refusals."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, run_cli

from sim.errors import SimError
from sim.experiment.session import Session
from sim.explorer import controls, funnel_view, runs, stored
from sim.report_text import fmt_number
from sim.runner import run
from sim.scenario import load_scenario, parameter_spec, scenario_hash

PREMIUM = "levers.quality_premium.per_head_gbp"
SMALL = {"scale": 0.03, "quarters": 8}


# ------------------------------------------------------------------------------------------- controls


def test_controls_take_range_unit_and_help_from_the_schema():
    offered = controls.lever_controls() + controls.assumption_controls()
    assert PREMIUM in [c.path for c in offered]
    for control in offered:
        spec = parameter_spec(control.path)
        assert control.spec == spec
        assert spec.description in control.help
        if spec.is_numeric:
            assert control.range_text == f"{spec.low:g} to {spec.high:g} {spec.unit}".strip()
        elif spec.kind == "choice":
            assert control.range_text == ", ".join(spec.choices)
        assert control.css_class == "crsim-control-" + control.path.replace(".", "-")
    premium = next(c for c in offered if c.path == PREMIUM)
    assert premium.range_text == "0 to 50 GBP per person per year"


def test_changed_keeps_only_real_edits():
    scenario = load_scenario("quality_premium")
    assert controls.value_of(scenario, PREMIUM) == 5.0
    assert controls.value_of(scenario, "levers.quality_premium.distribution") == "per_head"
    edits = {PREMIUM: 5.0, "levers.qof.outcome_weight": 0.5}
    assert controls.changed(scenario, edits) == {"levers.qof.outcome_weight": 0.5}


# ------------------------------------------------------------------------------------------- bad input


def _cli_error(*args: str) -> str:
    done = run_cli(*args)
    assert done.returncode == 2, done.stderr
    return " ".join(done.stderr.replace("error:", "").split())


def test_a_value_out_of_range_gets_the_command_lines_message():
    with pytest.raises(SimError) as page:
        runs.build_scenario("quality_premium", {PREMIUM: 500})
    cli = _cli_error("show", "quality_premium", "--set", f"{PREMIUM}=500")
    assert " ".join(str(page.value).split()) == cli
    assert "Allowed: a number from 0.0 to 50.0 (GBP per person per year)" in cli


@pytest.mark.parametrize("content", [None, "levers: [unclosed\n", "levers:\n  qof:\n    outcome_weight: lots\n"])
def test_an_unreadable_scenario_file_gets_the_command_lines_message(tmp_path: Path, content: str | None):
    path = tmp_path / "mine.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SimError) as page:
        runs.build_scenario(str(path), {})
    assert " ".join(str(page.value).split()) == _cli_error("show", str(path))


def test_replications_and_scale_out_of_range_are_refused_by_name():
    with pytest.raises(runs.ExplorerError, match="Replications must be a whole number from 1 to 50"):
        runs.check_request(runs.Request("status_quo", "delegation", {}, reps=0))
    with pytest.raises(runs.ExplorerError, match=r"Scale must be a share of England from 0\.01 to 1\.0"):
        runs.check_request(runs.Request("status_quo", "delegation", {}, scale=3.0))


# ------------------------------------------------------------------------------------------- running


@pytest.fixture
def runner(sqlite_url: str):
    r = runs.Runner(sqlite_url, workers=1)
    yield r
    r.close()


def _outcome_difference(view: runs.RunView) -> str:
    rows = runs.difference_rows(view.summary, view.baseline, view.scenario)
    return next(r.difference for r in rows if r.metric == "outcome_mean")


def test_run_stores_reuses_and_shows_the_effect_of_an_edit(runner: runs.Runner):
    shares: list[float] = []
    req = runs.Request("status_quo", "quality_premium", {PREMIUM: 20.0}, reps=2, **SMALL)
    first = runner.run(req, lambda share, text: shares.append(share))
    assert (first.computed, first.reused) == (4, 0)
    assert shares[0] == 0.0 and shares[-1] == 100.0 and shares == sorted(shares)
    assert first.scenario == "quality_premium_edited" and first.baseline == "status_quo"
    again = runner.run(req)
    assert (again.computed, again.reused) == (0, 4)  # the store's runs, not new ones
    assert _outcome_difference(again) == _outcome_difference(first)
    cheaper = runner.run(runs.Request("status_quo", "quality_premium", {PREMIUM: 1.0}, reps=2, **SMALL))
    assert (cheaper.computed, cheaper.reused) == (2, 2)  # the baseline's runs are shared
    assert _outcome_difference(cheaper) != _outcome_difference(first)
    names = set(runner.session().store.experiment_names())
    assert {first.experiment, again.experiment, cheaper.experiment} <= names
    fig = runs.fan_figure(first.metrics, "outcome_mean", [first.baseline, first.scenario])
    assert "Avoidable emergency admissions" in fig.get_label()


def test_a_failed_run_leaves_the_runner_usable(runner: runs.Runner):
    with pytest.raises(SimError, match="less than or equal to 50"):
        runner.run(runs.Request("status_quo", "quality_premium", {PREMIUM: 99.0}, reps=1, **SMALL))
    ok = runner.run(runs.Request("status_quo", "quality_premium", {PREMIUM: 9.0}, reps=1, **SMALL))
    assert ok.computed == 2


def test_difference_rows_are_in_the_packs_number_style(runner: runs.Runner):
    view = runner.run(runs.Request("status_quo", "delegation", {}, reps=2, **SMALL))
    rows = runs.difference_rows(view.summary, view.baseline, view.scenario)
    quality = next(r for r in rows if r.metric == "quality_mean")
    assert quality.unit == "% of patients"
    assert quality.difference[0] in "+−0" and quality.interval.startswith("[") and " to " in quality.interval
    assert "-" not in quality.difference  # a proper minus sign, as in the pack


# ------------------------------------------------------------------------------------------- saving


def test_a_saved_scenario_is_accepted_by_show_unchanged(tmp_path: Path):
    edits = {PREMIUM: 12.5, "levers.delegation.mode": "conditional"}
    path = runs.save_scenario("quality_premium", edits, tmp_path / "premium_12.yaml")
    expected = scenario_hash(runs.build_scenario("quality_premium", edits))
    done = run_cli("show", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"# premium_12 (hash {expected})")
    reloaded = load_scenario(path)
    assert reloaded.levers.quality_premium.per_head_gbp == 12.5
    assert reloaded.levers.delegation.mode.value == "conditional"
    with pytest.raises(runs.ExplorerError, match="already exists"):
        runs.save_scenario("quality_premium", edits, path)
    with pytest.raises(runs.ExplorerError, match=r"\.yaml file"):
        runs.save_scenario("quality_premium", edits, tmp_path / "premium.txt")


# ------------------------------------------------------------------------------------------- stored


def test_a_stored_uncertainty_comparison_shows_probabilities_and_failure_boxes(sqlite_url: str):
    with Session(sqlite_url, workers=1) as session:
        session.compare(["status_quo", "delegation"], uncertainty=stored.MIN_DRAWS_FOR_BOXES, reps=1,
                        overrides=["run.scale=0.02", "run.quarters=8"], name="with-draws")
        session.compare(["status_quo", "delegation"], reps=2, overrides=["run.scale=0.02", "run.quarters=8"],
                        name="plain")
        store = session.store
        table = stored.experiment_table(store)
        assert list(table["name"]) == ["plain", "with-draws"]  # newest first
        plain = stored.open_experiment(store, "plain")
        assert plain.n_draws == 0 and plain.probabilities.empty and plain.failures == {}
        assert not plain.data.summary.empty
        view = stored.open_experiment(store, "with-draws")
    assert view.n_draws == stored.MIN_DRAWS_FOR_BOXES
    rows = stored.probability_rows(view)
    assert {r["scenario"] for r in rows} == {"delegation"}
    assert all(r["probability"].endswith("%") and 0 <= int(r["probability"][:-1]) <= 100 for r in rows)
    quality = next(r for r in rows if r["metric"] == "Mean clinical quality")
    assert quality["unit"] == "percentage points of patients"  # the pack's units, not shares
    raw = view.probabilities.query("scenario == 'delegation' and metric == 'quality_mean'")["mean_difference"]
    assert quality["mean"] == fmt_number(100 * float(raw.iloc[0]))
    assert set(view.failures) == {"delegation"} and view.failures["delegation"]
    fig = runs.stored_fan_figure(view.data, "quality_mean")
    assert fig.get_label()


# ------------------------------------------------------------------------------------------- single run


def test_single_run_marks_the_practices_reviewed_each_quarter():
    scenario = load_scenario("delegation", ["run.scale=0.1", "run.quarters=8"])
    recorded = funnel_view.record_run(scenario, seed=2)
    metrics = run(scenario, seed=2).metrics
    assert len(recorded.frames) == 9
    challenged = [int(f.challenged.sum()) for f in recorded.frames]
    reviews = metrics["reviews"].astype(int).tolist()
    assert challenged[0] == 0
    for q in (1, 2, 3, 5, 6, 7):  # not a year end: no practice has closed since its review
        assert challenged[q] == reviews[q]
    for q in (4, 8):  # a year end: practices terminated after their review have gone
        assert 0.9 * reviews[q] <= challenged[q] <= reviews[q]
    # escalations accumulate through the year and are marked until the board decides at the year end
    escalated = [int(f.escalated.sum()) for f in recorded.frames]
    escalations = metrics["escalations"].astype(int).tolist()
    assert escalated[1] == escalations[1] and escalated[2] == escalations[1] + escalations[2]
    assert escalated[5] == escalations[5]


def test_funnel_figure_shows_one_consortium_and_clamps_the_quarter():
    recorded = funnel_view.record_run(load_scenario("delegation", ["run.scale=0.05", "run.quarters=4"]))
    consortium, count = funnel_view.consortium_sizes(recorded)[0]
    frame = recorded.frame(99)
    assert frame.quarter == 4 and count == int(np.sum(recorded.frames[0].consortium == consortium))
    fig = funnel_view.funnel_figure(recorded, consortium, 2)
    assert fig.get_label() == f"Consortium {consortium}: practices on the funnel plot"


# ------------------------------------------------------------------------------------------- the command


def test_explore_refuses_a_bad_port_or_one_in_use():
    assert "--port must be a whole number from 1 to 65535" in _cli_error("explore", "--port", "70000")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert f"Cannot serve on 127.0.0.1:{port}" in _cli_error("explore", "--port", str(port))
    assert "in-memory database" in _cli_error("explore", "--db", "sqlite://")


def test_the_command_line_imports_the_web_framework_only_to_explore():
    code = ("import sys; from sim.cli import build_parser; build_parser('explore', everything=False); "
            "print(any(m.split('.')[0] in ('solara', 'uvicorn') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_the_page_keeps_solaras_rules_of_hooks():
    """Solara checks each component when it is defined; a hook after an early return mixes up a component's
    state between redraws (a stale chart or table), so the page must define without one such warning."""
    code = ("import warnings\nwith warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n    import sim.explorer.page\n"
            "print([str(w.message).splitlines()[0] for w in caught if 'validate_hooks' in w.filename])")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_difference_in_another_unit_than_its_levels_says_which(runner: runs.Runner):
    """Money levels in £ billion differ by £ million: the table must say so, not show +184 under £ billion."""
    view = runner.run(runs.Request("status_quo", "quality_premium", {PREMIUM: 20.0}, reps=2, **SMALL))
    rows = {r.metric: r for r in runs.difference_rows(view.summary, view.baseline, view.scenario)}
    for row in rows.values():
        assert row.diff_unit == "" or row.diff_unit != row.unit
    from sim.explorer.page import difference_html

    html_text = difference_html(list(rows.values()), view.baseline, view.scenario)
    money = [r for r in rows.values() if r.diff_unit]
    assert all(r.diff_unit in html_text for r in money)
    shares = rows["quality_mean"]
    assert shares.diff_unit == "percentage points of patients" and shares.unit.startswith("%")


def test_money_of_a_sample_is_shown_for_england_as_in_the_pack(runner: runs.Runner):
    """A comparison at 0.03 of England: its money differences are scaled to England and say so, and the
    material threshold is England's at that scale (the explorer showed the sample's own totals)."""
    view = runner.run(runs.Request("status_quo", "quality_premium", {PREMIUM: 20.0}, reps=2, **SMALL))
    scale = view.scale
    assert scale == SMALL["scale"]
    england = {r.metric: r for r in runs.difference_rows(view.summary, view.baseline, view.scenario, scale=scale)}
    sample = {r.metric: r for r in runs.difference_rows(view.summary, view.baseline, view.scenario)}
    cost = england["total_cost_gbp"]
    assert "England" in (cost.diff_unit or cost.unit) and "England" not in (sample["total_cost_gbp"].diff_unit
                                                                           or sample["total_cost_gbp"].unit)
    assert england["quality_mean"].difference == sample["quality_mean"].difference  # shares are not scaled
