"""Uncertainty comparisons from the command line and from Python: outputs, resuming, executors, bad input."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import run_cli

from sim.experiment import compare
from sim.uncertainty.summary import UNCERTAINTY_COLUMNS

SMALL = ("--scale", "0.02", "--quarters", "6", "--no-progress")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A small uncertainty comparison run from the command line, and where it went."""
    tmp = tmp_path_factory.mktemp("unc")
    db = f"sqlite:///{tmp / 'u.db'}"
    proc = run_cli("compare", "status_quo", "delegation", "--uncertainty", "8", "--db", db, "--name", "u",
                   "--material", "quality_mean=0.001", "--workers", "2", "--out", str(tmp / "out"), *SMALL, cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp, db, proc.stdout


def test_the_command_prints_and_writes_the_probability_table(stored):
    tmp, _, stdout = stored
    assert "how likely each scenario is to improve" in stdout and "P(better)" in stdout
    table = pd.read_csv(tmp / "out" / "uncertainty.csv")
    assert list(table.columns) == list(UNCERTAINTY_COLUMNS)
    row = table[(table.scenario == "delegation") & (table.metric == "quality_mean")].iloc[0]
    assert row.n_draws == 8 and 0 <= row.probability_better <= 1 and row.material_delta == 0.001
    drivers = pd.read_csv(tmp / "out" / "drivers.csv")
    assert {"scenario", "metric", "parameter", "first_order", "total"} <= set(drivers.columns)
    draws = pd.read_csv(tmp / "out" / "draws.csv")
    assert len(draws) == 8 and "assumptions.leadership.skill_mean" in draws.columns
    assert list((tmp / "out" / "drivers").glob("delegation__quality_mean.png"))


def test_repeating_the_command_resumes_and_reuses_every_run(stored):
    tmp, db, _ = stored
    proc = run_cli("compare", "status_quo", "delegation", "--uncertainty", "8", "--db", db, "--name", "u",
                   "--material", "quality_mean=0.001", "--workers", "1", "--out", str(tmp / "again"), *SMALL, cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert "0 runs computed, 16 reused" in proc.stdout
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
    assert "of 8 draws have delegation's difference in mean clinical quality below" in proc.stdout
    boxes = pd.read_csv(tmp / "disc" / "boxes.csv")
    assert list(boxes.columns) == ["box", "parameter", "low", "high", "coverage", "density"]


@pytest.mark.parametrize(("args", "expected"), [
    (("--uncertainty", "0"), "--uncertainty must be at least 2"),
    (("--uncertainty", "-4"), "--uncertainty must be at least 2"),
    (("--material", "quality_mean=0.01"), "--material applies to an uncertainty comparison"),
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
