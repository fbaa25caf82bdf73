"""Uncertainty comparisons from the command line and from Python: outputs, resuming, executors, bad input."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import run_cli, small

from sim.experiment import compare
from sim.uncertainty.summary import UNCERTAINTY_COLUMNS

SMALL = ("--scale", "0.02", "--quarters", "6", "--no-progress")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A small uncertainty comparison run from the command line, and where it went."""
    tmp = tmp_path_factory.mktemp("unc")
    db = f"sqlite:///{tmp / 'u.db'}"
    proc = run_cli("compare", "status_quo", "delegation", "--uncertainty", "16", "--db", db, "--name", "u",
                   "--material", "quality_mean=0.001", "--workers", "2", "--out", str(tmp / "out"), *SMALL, cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp, db, proc.stdout


def test_the_command_prints_and_writes_the_probability_table(stored):
    tmp, _, stdout = stored
    assert "how likely each scenario is to improve" in stdout and "P(better)" in stdout
    table = pd.read_csv(tmp / "out" / "uncertainty.csv")
    assert list(table.columns) == list(UNCERTAINTY_COLUMNS)
    row = table[(table.scenario == "delegation") & (table.metric == "quality_mean")].iloc[0]
    assert row.n_draws == 16 and 0 <= row.probability_better <= 1 and row.material_delta == 0.001
    drivers = pd.read_csv(tmp / "out" / "drivers.csv")
    assert {"scenario", "metric", "parameter", "first_order", "total"} <= set(drivers.columns)
    draws = pd.read_csv(tmp / "out" / "draws.csv")
    assert len(draws) == 16 and "assumptions.leadership.skill_mean" in draws.columns
    assert list((tmp / "out" / "drivers").glob("delegation__quality_mean.png"))


def test_repeating_the_command_resumes_and_reuses_every_run(stored):
    tmp, db, _ = stored
    proc = run_cli("compare", "status_quo", "delegation", "--uncertainty", "16", "--db", db, "--name", "u",
                   "--material", "quality_mean=0.001", "--workers", "1", "--out", str(tmp / "again"), *SMALL, cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert "0 runs computed, 32 reused" in proc.stdout
    pd.testing.assert_frame_equal(pd.read_csv(tmp / "out" / "uncertainty.csv"),
                                  pd.read_csv(tmp / "again" / "uncertainty.csv"))


def test_discover_writes_boxes_for_a_stored_experiment(stored):
    tmp, db, _ = stored
    per_draw = pd.read_csv(tmp / "out" / "per_draw.csv")
    gains = per_draw[(per_draw.scenario == "delegation") & (per_draw.metric == "quality_mean")]["difference"]
    cut = float(gains.median())
    proc = run_cli("discover", "u", "--scenario", "delegation", "--metric", "quality_mean", "--below", str(cut),
                   "--db", db, "--out", str(tmp / "disc"), "--threshold", "0.5", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert "of 16 draws have delegation's difference in mean clinical quality below" in proc.stdout
    boxes = pd.read_csv(tmp / "disc" / "boxes.csv")
    assert list(boxes.columns) == ["box", "parameter", "low", "high", "coverage", "density"]


@pytest.mark.parametrize(("args", "expected"), [
    (("--uncertainty", "0"), "--uncertainty must be at least 2"),
    (("--uncertainty", "-4"), "--uncertainty must be at least 2"),
    (("--material", "quality_mean=0.01"), "--material applies to the briefing pack (--report) or an uncertainty"),
    (("--uncertainty", "4", "--material", "quality_mean"), "expected METRIC=DELTA"),
    (("--uncertainty", "4", "--years", "1"), "--years is not available with --uncertainty"),
])
def test_bad_compare_options_fail_before_anything_is_stored(tmp_path, args, expected):
    proc = run_cli("compare", "status_quo", "delegation", *args, "--db", f"sqlite:///{tmp_path / 'x.db'}",
                   *SMALL, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "results").exists()


def test_a_distribution_outside_the_allowed_range_fails_before_any_run(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("extends: delegation\nname: bad\nuncertainty:\n"
                    "  assumptions.leadership.skill_mean: {distribution: uniform, low: -0.5, high: 0.5}\n")
    proc = run_cli("compare", "status_quo", str(path), "--uncertainty", "4", "--db",
                   f"sqlite:///{tmp_path / 'x.db'}", *SMALL, cwd=tmp_path)
    assert proc.returncode == 2
    assert str(path) in proc.stderr and "assumptions.leadership.skill_mean" in proc.stderr
    assert "low -0.5 lies outside what the parameter allows: 0 to 1" in proc.stderr
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (("--scenario", "delegation", "--metric", "nonsense", "--below", "0"), "unknown metric 'nonsense'"),
    (("--scenario", "status_quo", "--metric", "quality_mean", "--below", "0"), "other than its baseline"),
    (("--scenario", "delegation", "--metric", "quality_mean", "--below", "0", "--threshold", "2"),
     "--threshold is a density between 0 and 1"),
    (("--scenario", "delegation", "--metric", "quality_mean", "--below", "0", "--params", "nothing.*"),
     "matches none of the varied assumptions"),
])
def test_bad_discover_options_are_refused(stored, args, expected):
    tmp, db, _ = stored
    proc = run_cli("discover", "u", *args, "--db", db, "--out", str(tmp / "never"), cwd=tmp)
    assert proc.returncode == 2, proc.stdout
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp / "never").exists()


def test_discover_needs_an_experiment_with_draws(tmp_path):
    db = f"sqlite:///{tmp_path / 'p.db'}"
    assert run_cli("compare", "status_quo", "delegation", "--reps", "2", "--db", db, "--name", "plain",
                   *SMALL, cwd=tmp_path).returncode == 0
    proc = run_cli("discover", "plain", "--scenario", "delegation", "--metric", "quality_mean", "--below", "0",
                   "--db", db, cwd=tmp_path)
    assert proc.returncode == 2
    assert "has no assumption draws" in proc.stderr and "--uncertainty N" in proc.stderr
    proc = run_cli("discover", "nobody", "--scenario", "delegation", "--metric", "quality_mean", "--below", "0",
                   "--db", db, cwd=tmp_path)
    assert proc.returncode == 2 and "No experiment named 'nobody'" in proc.stderr


def test_serial_and_pool_give_identical_uncertainty_results(tmp_path):
    common = dict(uncertainty=6, reps=2, seed=3, overrides=["run.scale=0.02", "run.quarters=6"])
    serial = compare(["status_quo", "delegation"], workers=1, db=f"sqlite:///{tmp_path / 's.db'}", name="s", **common)
    pooled = compare(["status_quo", "delegation"], workers=2, db=f"sqlite:///{tmp_path / 'p.db'}", name="s", **common)
    assert serial.outcome.computed == pooled.outcome.computed == 6 * 2 * 2
    pd.testing.assert_frame_equal(serial.per_draw, pooled.per_draw, check_exact=True)
    pd.testing.assert_frame_equal(serial.uncertainty, pooled.uncertainty, check_exact=True)
    pd.testing.assert_frame_equal(serial.draws, pooled.draws, check_exact=True)


def test_an_assumption_that_alone_sets_the_sign_is_found_by_the_indices_and_prim(tmp_path):
    """A mechanism test on the real model: the reform is 'leads of average skill' against leads whose skill is
    drawn from 0.2 to 0.8, under delegation. Only skill (and one assumption irrelevant without a premium) varies,
    so the sign of the quality difference is set by whether the drawn skill is below 0.5."""
    from sim.scenario import with_values
    from sim.uncertainty.discovery import discover
    from sim.uncertainty.distributions import uncertain_specs

    skill, irrelevant = "assumptions.leadership.skill_mean", "assumptions.premium.forecast_cv"
    fixed = {s.path: "fixed" for s in uncertain_specs()}
    drawn = {**fixed, skill: {"distribution": "uniform", "low": 0.2, "high": 0.8},
             irrelevant: {"distribution": "uniform", "low": 0.0, "high": 0.2}}
    base = small("delegation", scale=0.05, quarters=12)
    varied = with_values(base, {"name": "drawn_skill", "uncertainty": drawn})
    average = with_values(base, {"name": "average_skill", "uncertainty": {**drawn, skill: "fixed"}})
    res = compare([varied, average], uncertainty=32, reps=1, workers=2, db=f"sqlite:///{tmp_path / 'm.db'}", name="m")
    assert list(res.draws.columns) == [skill, irrelevant]
    gain = res.per_draw.query("scenario == 'average_skill' and metric == 'quality_mean'").set_index("draw")
    gain = gain["difference"].reindex(res.draws.index)
    # The sign follows the drawn skill: leads of average skill beat weaker leads and lose to stronger ones.
    assert ((gain > 0) == (res.draws[skill] < 0.5)).mean() >= 0.9
    drivers = res.drivers.query("scenario == 'average_skill' and metric == 'quality_mean'").set_index("parameter")
    assert drivers.loc[skill, "total"] > 0.9 and drivers.loc[irrelevant, "total"] < 0.1
    boxes = discover(res.draws, gain.to_numpy(), above=0.0).boxes
    limits = boxes[boxes["parameter"] == skill]
    assert len(limits) == 1 and abs(float(limits["high"].iloc[0]) - 0.5) < 0.06
    assert irrelevant not in set(boxes["parameter"])



def test_a_stored_uncertainty_comparison_loads_and_exports_paired_by_draw(stored, tmp_path):
    from sim.experiment import load_experiment

    _, db, _ = stored
    data = load_experiment("u", db=db, snapshots=False)
    assert data.metrics["point_id"].nunique() == 16  # the draw stays with each run
    row = data.summary.query("scenario == 'delegation' and metric == 'quality_mean'").iloc[0]
    assert row.n == 16  # paired over the 16 draws, not collapsed onto one replication
    proc = run_cli("export", "u", "--db", db, "--out", str(tmp_path / "exp"), "--no-snapshots", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
