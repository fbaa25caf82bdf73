"""Uncertainty comparisons: distributions, draws, pairing, the summary, and bad input (issue 11)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import small
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.experiment.errors import DesignError, ExperimentError
from sim.experiment.plan import plan_uncertainty
from sim.scenario import load_scenario, parameter_spec, with_values
from sim.uncertainty.distributions import default_distribution, scenario_distributions, uncertain_specs
from sim.uncertainty.draws import make_draws, varied_paths
from sim.uncertainty.summary import parse_material, per_draw_differences, summarise_draws

SKILL = "assumptions.leadership.skill_mean"
AUTONOMY = "assumptions.practice.autonomy_mean"
LAG = "assumptions.outcomes.lag_quarters"


def _scenario_file(tmp_path, body: str):
    path = tmp_path / "s.yaml"
    path.write_text("extends: status_quo\nuncertainty:\n" + body)
    return path


# ------------------------------------------------------------------------------ distributions


def test_every_numeric_assumption_has_a_distribution_peaked_at_its_value():
    dists = scenario_distributions(load_scenario("status_quo"))
    assert set(dists) == {s.path for s in uncertain_specs()} and len(dists) > 70
    for spec in uncertain_specs():
        dist = dists[spec.path]
        assert dist.low <= spec.default <= dist.high, spec.path
        assert dist.source, spec.path


def test_a_declared_plausible_range_is_used_and_moves_with_the_scenario_value():
    assert default_distribution(parameter_spec(SKILL)).describe() == "triangular(0.2, 0.5, 0.8)"
    sceptic = scenario_distributions(load_scenario("white_paper_sceptic"))[SKILL]
    assert sceptic.value == pytest.approx(0.3)
    assert (sceptic.low, sceptic.high) == pytest.approx((0.0, 0.6))  # shifted by -0.2 with the value


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, 76), fraction=st.floats(0, 1), u=st.floats(0, 1, exclude_max=True))
def test_drawn_values_stay_within_what_the_parameter_allows(index, fraction, u):
    spec = uncertain_specs()[index]
    value = spec.low + fraction * (spec.high - spec.low)
    if spec.kind == "integer":
        value = round(value)
    drawn = float(default_distribution(spec, value).ppf(u))
    assert spec.low <= drawn <= spec.high
    if spec.kind == "integer":
        assert drawn == int(drawn)


def test_a_scenario_section_overrides_the_default(tmp_path):
    path = _scenario_file(tmp_path, f"  {SKILL}: {{distribution: uniform, low: 0.1, high: 0.9}}\n"
                                    f"  {AUTONOMY}: fixed\n")
    dists = scenario_distributions(load_scenario(path))
    assert dists[SKILL].describe() == "uniform(0.1, 0.9)"
    assert float(dists[SKILL].ppf(0.5)) == pytest.approx(0.5)
    assert dists[AUTONOMY].is_fixed and float(dists[AUTONOMY].ppf(0.99)) == 0.5


@pytest.mark.parametrize(("body", "expected"), [
    (f"  {SKILL}x: fixed\n", "is not an uncertain assumption"),
    (f"  {SKILL}: {{distribution: uniform, low: 0.2, high: 1.5}}\n", "high 1.5 lies outside what the parameter allows"),
    (f"  {SKILL}: {{distribution: lognormal, low: 0.2}}\n", "'uniform', 'triangular', 'beta' or 'normal'"),
    (f"  {SKILL}: {{distribution: triangular, low: 0.2}}\n", "needs high"),
    (f"  {SKILL}: {{distribution: uniform, low: 0.6, high: 0.4}}\n", "must be less than high"),
    (f"  {SKILL}: {{distribution: normal, sd: -1}}\n", "greater than 0"),
    ("  levers.delegation.enabled: fixed\n", "is not an uncertain assumption"),
])
def test_bad_uncertainty_sections_are_refused_naming_file_and_key(tmp_path, body, expected):
    path = _scenario_file(tmp_path, body)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert str(path) in text and "uncertainty" in text and expected in text


def test_scenarios_without_the_section_keep_their_hashes(tmp_path):
    import hashlib
    import json

    from sim.scenario import scenario_dict, scenario_hash

    base = load_scenario("status_quo")
    data = scenario_dict(base)
    for key in ("name", "description", "uncertainty"):
        data.pop(key)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    assert scenario_hash(base) == hashlib.sha256(blob.encode()).hexdigest()[:16]  # as before the section existed
    with_section = load_scenario(_scenario_file(tmp_path, f"  {SKILL}: fixed\n"))
    assert scenario_hash(with_section) != scenario_hash(base)


# ------------------------------------------------------------------------------ draws and plans


def test_draws_repeat_with_their_seed_and_cover_the_quantiles_evenly():
    paths = [s.path for s in uncertain_specs()]
    a, b, c = make_draws(64, paths, 1), make_draws(64, paths, 1), make_draws(64, paths, 2)
    np.testing.assert_array_equal(a.quantiles, b.quantiles)
    assert not np.array_equal(a.quantiles, c.quantiles)
    # A scrambled Sobol set of 64 points puts exactly 16 in each quarter of every coordinate.
    counts = np.stack([np.histogram(a.quantiles[:, j], bins=4, range=(0, 1))[0] for j in range(len(paths))])
    assert (counts == 16).all()


@pytest.mark.parametrize("n", [0, -3, 1])
def test_too_few_draws_are_refused(n):
    with pytest.raises(DesignError, match="--uncertainty must be at least 2"):
        plan_uncertainty([small("status_quo"), small("delegation")], n)


def test_a_plan_pairs_every_scenario_at_every_draw():
    scenarios = [small("status_quo", quarters=4), small("white_paper_sceptic", quarters=4)]
    plan = plan_uncertainty(scenarios, 4, reps=2, base_seed=7)
    tasks = list(plan.tasks())
    assert plan.n_runs == len(tasks) == 4 * 2 * 2
    by = {(t.label, t.point_id, t.replication): t for t in tasks}
    for draw in range(4):
        base, other = by[("status_quo", draw, 0)], by[("white_paper_sceptic", draw, 0)]
        assert base.seed == other.seed == 7 and by[("status_quo", draw, 1)].seed == 8
        # An assumption both scenarios share takes the same drawn value...
        assert base.scenario.assumptions.leadership.skill_sd == other.scenario.assumptions.leadership.skill_sd
        # ...one the sceptic sets itself is drawn at the same quantile around its own value (0.3, not 0.5).
        gap = base.scenario.assumptions.leadership.skill_mean - other.scenario.assumptions.leadership.skill_mean
        assert gap == pytest.approx(0.2, abs=1e-9)
    values = {t.scenario.assumptions.leadership.skill_mean for t in tasks if t.label == "status_quo"}
    assert len(values) == 4  # the draws differ from each other


def test_a_fixed_assumption_is_not_varied(tmp_path):
    path = _scenario_file(tmp_path, f"  {SKILL}: fixed\n")
    scenario = load_scenario(path, ["run.scale=0.02", "run.quarters=4"])
    assert SKILL not in varied_paths([scenario_distributions(scenario)])
    plan = plan_uncertainty([scenario, with_values(scenario, {"name": "other"})], 4)
    assert {t.scenario.assumptions.leadership.skill_mean for t in plan.tasks()} == {0.5}


def test_the_definition_changes_with_the_draws_and_the_distributions(tmp_path):
    scenarios = [small("status_quo"), small("delegation")]
    one = plan_uncertainty(scenarios, 8, name="x").definition_hash
    assert one == plan_uncertainty(scenarios, 8, name="x").definition_hash
    assert one != plan_uncertainty(scenarios, 16, name="x").definition_hash
    path = _scenario_file(tmp_path, f"  {SKILL}: fixed\n")
    changed = [load_scenario(path, ["run.scale=0.05", "run.quarters=12"]), small("delegation")]
    assert one != plan_uncertainty(changed, 8, name="x").definition_hash


# ------------------------------------------------------------------------------ summary


def _per_draw(diffs: dict[str, list[float]]) -> pd.DataFrame:
    rows = [("reform", metric, i, d, 0.0, d) for metric, values in diffs.items() for i, d in enumerate(values)]
    return pd.DataFrame(rows, columns=["scenario", "metric", "draw", "difference", "baseline_value", "value"])


def test_probability_of_improvement_follows_the_metric_direction():
    table = summarise_draws(_per_draw({
        "quality_mean": [0.01, 0.02, -0.01, 0.03],  # higher is better: 3 of 4 improve
        "outcome_mean": [-1.0, 0.5, -0.2, -0.1],    # lower is better: 3 of 4 improve
        "achievement_mean": [1.0, 2.0, 3.0, 4.0],   # no better direction
    }), {"quality_mean": 0.015})
    row = table.set_index("metric")
    assert row.loc["quality_mean", "probability_better"] == 0.75
    assert row.loc["quality_mean", "probability_material"] == 0.5  # 0.02 and 0.03 exceed 0.015
    assert row.loc["outcome_mean", "probability_better"] == 0.75
    assert np.isnan(row.loc["achievement_mean", "probability_better"])
    assert row.loc["quality_mean", "mean_difference"] == pytest.approx(0.0125)
    assert row.loc["quality_mean", "n_draws"] == 4


def test_an_effect_independent_of_the_assumptions_is_certain():
    table = summarise_draws(_per_draw({"quality_mean": [0.02] * 32}))
    row = table.iloc[0]
    assert row.probability_better == 1.0 and row.low == row.high == pytest.approx(0.02)
    assert row.probability_se == 0.0


def test_the_interval_holds_the_central_95_percent_of_draws():
    values = np.linspace(-1, 1, 201)
    row = summarise_draws(_per_draw({"quality_mean": list(values)})).iloc[0]
    assert row.low == pytest.approx(-0.95) and row.high == pytest.approx(0.95)


def test_per_draw_differences_average_replications_within_a_draw():
    values = pd.DataFrame({
        "scenario": ["base"] * 4 + ["reform"] * 4, "point_id": [0, 0, 1, 1] * 2, "replication": [0, 1] * 4,
        "quality_mean": [0.5, 0.7, 0.6, 0.6, 0.6, 0.8, 0.6, 0.7],
    })
    out = per_draw_differences(values, "base", ["quality_mean"])
    assert out["difference"].tolist() == pytest.approx([0.1, 0.05])
    with pytest.raises(ExperimentError, match="Baseline 'nobody'"):
        per_draw_differences(values, "nobody", ["quality_mean"])


@pytest.mark.parametrize(("text", "expected"), [
    ("quality_mean", "expected METRIC=DELTA"),
    ("nonsense=1", "unknown metric 'nonsense'"),
    ("achievement_mean=0.1", "no better direction"),
    ("quality_mean=-0.1", "must be 0 or more"),
])
def test_bad_material_options_are_refused(text, expected):
    with pytest.raises(ExperimentError, match=expected):
        parse_material([text])
    assert parse_material(["quality_mean=0.01", "outcome_mean=0.5"]) == {"quality_mean": 0.01, "outcome_mean": 0.5}
