"""Validation and calibration: the targets file, the check logic, the studies, the CLI and the fit.

Every check must be able to fail: the tests deliberately mis-set parameters and show the verdict turn.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import ROOT, run_cli

from sim.calibration.calibrate import (
    PRESETS,
    calibrate,
    parameter_file,
    parse_parameter,
    parse_target,
    read_parameter_file,
    write_parameter_file,
)
from sim.calibration.checks import (
    CHECKS,
    CHECKS_BY_ID,
    Band,
    Check,
    fixed,
    passes,
    published_range,
    ratio_to,
    relative,
    widened,
)
from sim.calibration.studies import (
    STUDIES,
    Settings,
    _scenario,
    between_share,
    challenge,
    cross_practice_slope,
    distribution,
    explicit_paths,
    history,
    premium,
)
from sim.calibration.targets import DEFAULT_TARGETS_FILE, CalibrationError, Target, load_targets
from sim.calibration.validate import (
    CheckResult,
    ValidationReport,
    evaluate,
    mean_interval,
    summary_counts,
    summary_line,
    validate,
)
from sim.scenario import load_scenario

SHARED_TARGETS = ROOT.parent / "shared" / "data" / "calibration_targets.csv"


# ------------------------------------------------------------------------------------------ targets


def test_shipped_targets_load_with_values_ranges_and_sources():
    targets = load_targets()
    assert targets["practices_england"].value == 8245
    assert (targets["exception_rate"].low, targets["exception_rate"].high) == (0.049, 0.056)
    assert all(t.source for t in targets.values())
    # The row with an unquoted comma in its measure ("per 1,000") is read with its numbers in place.
    acsc = targets["acsc_rate_range"]
    assert (acsc.low, acsc.high) == (9, 22) and "1,000" in acsc.measure and math.isnan(acsc.value)


@pytest.mark.skipif(not SHARED_TARGETS.exists(), reason="the shared data folder is not beside the project")
def test_shipped_targets_extend_the_shared_figures():
    """Every shared row is in the project copy unchanged, in the same order; the project adds rows after."""
    shared, shipped = load_targets(SHARED_TARGETS), load_targets(DEFAULT_TARGETS_FILE)
    assert {k: shipped[k] for k in shared} == shared
    assert list(shipped)[: len(shared)] == list(shared)
    assert len(shipped) > len(shared)


def test_every_target_has_a_figure_and_a_source():
    for tid, t in load_targets().items():
        assert t.has_value or t.has_range, tid
        assert t.source, tid


@pytest.mark.skipif(not SHARED_TARGETS.exists(), reason="the shared data folder is not beside the project")
def test_project_targets_are_documented_in_the_evidence_page():
    doc = (ROOT / "docs" / "evidence.md").read_text()
    shared = load_targets(SHARED_TARGETS)
    for tid, t in load_targets().items():
        if tid not in shared:
            assert len(t.source) > 20, tid
            assert f"`{tid}`" in doc, f"docs/evidence.md does not describe target {tid}"


def test_every_check_resolves_against_the_shipped_targets():
    targets = load_targets()
    for chk in CHECKS:
        band = chk.resolve(targets)
        assert band.low <= band.high, chk.id
        assert chk.study in STUDIES, chk.id


def test_a_malformed_targets_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "t.csv"
    bad.write_text("id,kind,value\nx,pattern,1\n")
    with pytest.raises(CalibrationError, match="missing column"):
        load_targets(bad)
    bad.write_text("id,kind,measure,year,value,low,high,unit,source\nx,pattern,m,2010,abc,,,share,s\n")
    with pytest.raises(CalibrationError, match="'abc' is not a number"):
        load_targets(bad)
    with pytest.raises(CalibrationError, match="Cannot read"):
        load_targets(tmp_path / "missing.csv")


# ------------------------------------------------------------------------------------------ check logic


def test_passes_only_inside_the_band():
    band = Band(0.054, 0.049, 0.056, "published range")
    assert passes(0.054, band) and passes(0.049, band) and passes(0.056, band)
    assert not passes(0.0489, band) and not passes(0.0561, band)
    assert not passes(float("nan"), band)


def test_band_rules():
    t = load_targets()["exception_rate"]
    assert published_range()(t) == Band(0.054, 0.049, 0.056, "published range")
    rel = relative(0.1)(t)
    assert rel.low == pytest.approx(0.0486) and rel.high == pytest.approx(0.0594)
    assert fixed(1.0, 0.0, 2.0, "why")(None) == Band(1.0, 0.0, 2.0, "why")


def _target(value=math.nan, low=math.nan, high=math.nan) -> Target:
    return Target("t", "pattern", "m", "2014", value, low, high, "share", "a source")


def test_widened_and_ratio_band_rules():
    band = widened(0.01, "why")(_target(0.053, 0.052, 0.0534))
    assert (band.low, band.high) == pytest.approx((0.042, 0.0634)) and band.reference == 0.053
    with pytest.raises(CalibrationError, match="no low/high range"):
        widened(0.01, "why")(_target(0.05))
    ratio = ratio_to(8245, "why")(_target(7779, 7779, 7875))
    assert (ratio.low, ratio.high) == pytest.approx((7779 / 8245, 7875 / 8245))
    assert ratio_to(100, "why")(_target(110)).low == pytest.approx(1.1)


def test_counts_and_totals_scale_with_the_simulated_share():
    targets = load_targets()
    chk = CHECKS_BY_ID["qof_spend_year1"]
    national, tenth = chk.resolve(targets, 1.0), chk.resolve(targets, 0.1)
    assert tenth.low == pytest.approx(national.low * 0.1) and tenth.high == pytest.approx(national.high * 0.1)
    assert CHECKS_BY_ID["list_mean"].resolve(targets, 0.1) == CHECKS_BY_ID["list_mean"].resolve(targets, 1.0)


def test_evaluate_judges_the_mean_over_replications():
    targets = load_targets()
    chk = Check("x", "exceptions", "status_quo", "exc", "exception_rate", published_range(), "g")
    info = Check("y", "exceptions", "status_quo", "exc", "exception_rate", published_range(), "g", kind="info")
    inside = {"status_quo": pd.DataFrame({"seed": [1, 2], "exc": [0.050, 0.055]})}
    outside = {"status_quo": pd.DataFrame({"seed": [1, 2], "exc": [0.060, 0.062]})}
    assert [r.status for r in evaluate([chk, info], inside, targets, 1.0)] == ["pass", "info"]
    result, info_result = evaluate([chk, info], outside, targets, 1.0)
    assert result.status == "fail" and info_result.status == "info"  # info rows never fail
    assert result.value == pytest.approx(0.061) and result.ci_low < 0.061 < result.ci_high


def _result(kind: str, value: float) -> CheckResult:
    chk = Check(f"{kind}{value}", "t", "status_quo", "x", None, fixed(0.5, 0.0, 1.0, "why"), "g", kind=kind)  # type: ignore[arg-type]
    return CheckResult(chk, Band(0.5, 0.0, 1.0, "why"), value, math.nan, math.nan, 1)


def test_a_check_outside_its_band_fails_and_info_rows_outside_are_counted():
    results = [_result("check", 0.5), _result("check", 1.5), _result("check", float("nan")),
               _result("info", 0.5), _result("info", 2.0), _result("info", -1.0)]
    assert [r.status for r in results] == ["pass", "fail", "fail", "info", "info", "info"]
    assert [r.verdict for r in results[3:]] == ["info", "info, outside band", "info, outside band"]
    assert summary_counts(results) == {"passed": 1, "failed": 2, "info": 3, "info_outside": 2}
    assert summary_line(results) == "1 passed, 2 failed, 3 for information (2 outside their band)"
    assert summary_line(results[:1]) == "1 passed, 0 failed, 0 for information (0 outside their band)"


def test_report_summary_names_the_info_rows_outside_their_band(tmp_path):
    results = [_result("check", 0.5), _result("info", 2.0)]
    report = ValidationReport(results, {"status_quo": pd.DataFrame({"seed": [1]})}, Settings(), 1, 1, 0.0, "t")
    assert report.passed and [r.check.id for r in report.info_outside] == ["info2.0"]
    assert report.markdown().rstrip().endswith("1 passed, 0 failed, 1 for information (1 outside their band).")
    assert "| info, outside band |" in report.markdown()
    folder = report.write(tmp_path / "v")
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["info_outside_band"] == ["info2.0"] and meta["summary"].endswith("(1 outside their band)")
    assert pd.read_csv(folder / "validation.csv")["in_band"].tolist() == [True, False]


def test_info_rows_are_few_and_say_why_they_are_not_claimed():
    info = [c for c in CHECKS if c.kind == "info"]
    assert all(len(c.note) > 30 for c in info), [c.id for c in info if len(c.note) <= 30]
    # What the model claims to reproduce is checked, not shown for information.
    for claimed in ("quality_drift", "closures_status_quo", "exception_gaming_slope", "reported_q25_2004",
                    "reported_q75_2004"):
        assert CHECKS_BY_ID[claimed].kind == "check", claimed
    # Figures model 0.3 does not claim, each saying so and why (docs/validation.md).
    for unclaimed in ("acsc_area_ratio", "plateau", "third_year_gain", "exception_slope"):
        assert CHECKS_BY_ID[unclaimed].kind == "info", unclaimed
        assert CHECKS_BY_ID[unclaimed].note.startswith("Not claimed"), unclaimed


def test_every_distribution_and_trend_of_issue_9_has_a_check():
    wanted = {
        "qof_points_sd", "qof_points_iqr", "qof_points_p1", "qof_share_below_90", "qof_share_at_max",
        "exception_median", "exception_iqr", "exception_p95", "exception_gaming_slope",
        "acsc_between_share", "prescribing_between_share", "practices_trend", "list_mean_trend",
        "achievement_stability", "closures_early", "closures_final_year", "reserves_trend_year5",
        "reserves_trend_end", "pre_qof_trend", "quality_drift",
    }
    assert wanted <= set(CHECKS_BY_ID)
    assert all(CHECKS_BY_ID[c].kind == "check" for c in wanted)
    shown = {"exception_slope", "third_year_gain"}  # compared, not claimed (see the test above)
    assert shown <= set(CHECKS_BY_ID)


def test_mean_interval():
    mean, lo, hi = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert (lo, hi) == pytest.approx((2 - 4.302653 / math.sqrt(3), 2 + 4.302653 / math.sqrt(3)), rel=1e-5)
    assert math.isnan(mean_interval([1.0])[1])
    assert math.isnan(mean_interval([])[0])


# ------------------------------------------------------------------------------------------ studies


def test_between_share_and_slope_on_known_data():
    groups = np.repeat([0, 1, 2], 4)
    assert between_share(np.repeat([1.0, 2.0, 3.0], 4), groups) == pytest.approx(1.0)  # all between
    within = np.tile([1.0, 2.0, 3.0, 4.0], 3)
    assert between_share(within, groups) == pytest.approx(0.0)  # all within
    mixed = np.repeat([0.0, 0.0, 3.0], 4) + np.tile([-1.0, 1.0, -1.0, 1.0], 3)
    assert between_share(mixed, groups) == pytest.approx(24.0 / (24.0 + 12.0))  # SS between 24, within 12
    assert math.isnan(between_share(np.ones(6), np.repeat([0, 1], 3)))
    assert cross_practice_slope(np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.31, 1.62])) == pytest.approx(0.31)
    assert math.isnan(cross_practice_slope(np.ones(3), np.arange(3.0)))


def test_distribution_observations_from_a_snapshot():
    rng = np.random.default_rng(0)
    n = 400
    exc = rng.uniform(0.03, 0.08, n)
    snap = pd.DataFrame({
        "achievement": np.r_[np.ones(20), np.full(40, 0.85), np.full(n - 60, 0.95)],
        "exception_rate": exc,
        "recorded_achievement": 0.8 + 0.31 * exc,
        "outcome_per_1000": np.repeat([10.0, 20.0], n // 2),
        "expected_outcome_per_1000": np.repeat([10.0, 20.0], n // 2),
        "consortium_id": np.repeat([0, 1], n // 2),
        "prescribing_per_head_gbp": rng.normal(160, 10, n),
    })
    obs = distribution(snap, "y1")
    assert obs["qof_share_at_max_y1"] == pytest.approx(20 / n)
    assert obs["qof_share_below_90_y1"] == pytest.approx(40 / n)
    assert obs["exception_slope_y1"] == pytest.approx(0.31)
    assert obs["acsc_between_share_y1"] == pytest.approx(1.0)  # rates differ only between the two consortia
    assert obs["acsc_ratio_between_share_y1"] != obs["acsc_ratio_between_share_y1"]  # O/E constant: NaN
    assert obs["prescribing_between_share_y1"] < 0.05
    assert 0.03 < obs["exception_median_y1"] < 0.08 and obs["exception_iqr_y1"] > 0.01


def test_overrides_act_as_defaults_and_scoped_overrides_win():
    own = explicit_paths("history/qof_2004")
    assert "assumptions.initial.quality_mean" in own and "run.start_year" in own
    settings = Settings(scale=0.05, overrides={"assumptions.initial.quality_mean": 0.9,
                                               "assumptions.recording.recording_yield": 0.1})
    hist = _scenario(settings, "history/qof_2004")
    sq = _scenario(settings, "status_quo")
    own_2004 = load_scenario("history/qof_2004").assumptions.initial.quality_mean
    assert hist.assumptions.initial.quality_mean == own_2004 != 0.9  # the history file's own value is kept
    assert sq.assumptions.initial.quality_mean == 0.9
    assert hist.assumptions.recording.recording_yield == sq.assumptions.recording.recording_yield == 0.1
    scoped = Settings(scale=0.05, overrides={"history/qof_2004:assumptions.initial.quality_mean": 0.6})
    assert _scenario(scoped, "history/qof_2004").assumptions.initial.quality_mean == 0.6
    assert _scenario(scoped, "status_quo").assumptions.initial.quality_mean != 0.6


def test_a_deliberately_mis_set_parameter_fails_its_check():
    """Exception reporting is calibrated to 4.9-5.6%; doubling the gaming part pushes it out of range."""
    good = validate(reps=1, scale=0.05, only=["exception_rate_year1", "acsc_cost"], workers=1)
    assert [r.status for r in good.results] == ["pass", "pass"]
    bad = validate(
        reps=1, scale=0.05, only=["exception_rate_year1", "acsc_cost"], workers=1,
        overrides={"assumptions.recording.exception_gaming": 0.08, "assumptions.outcomes.acsc_per_1000": 20},
    )
    assert [r.status for r in bad.results] == ["fail", "fail"]
    assert bad.results[0].value > 0.056 and not bad.passed


def test_history_qof_raises_recorded_quality_but_not_outcomes():
    obs = history(Settings(scale=0.1), seed=1)
    assert 0.10 < obs["first_year_gain"] < 0.2
    assert obs["first_year_quality_gain"] < obs["first_year_gain"] / 3  # most of the gain is recording
    assert abs(obs["outcome_change_year1"]) < 0.02
    assert obs["achievement_2004"] < obs["achievement_2005"]  # the rise ...
    assert abs(obs["achievement_2006"] - obs["achievement_2005"]) < 0.015  # ... and the plateau
    no_recording = history(Settings(scale=0.1, overrides={"assumptions.recording.recording_yield": 0.0}), seed=1)
    assert no_recording["first_year_gain"] < 0.05  # the check can fail


def test_effect_size_experiment_successful_challenge_against_none():
    """Same seed, challenge on against off: a successful challenge lowers non-compliance and prescribing."""
    obs = challenge(Settings(scale=0.5), seed=1)
    assert obs["quality_cohort"] > 20 and obs["prescribing_cohort"] > 5
    assert 0.74 <= obs["noncompliance_rr"] <= 0.96  # the audit-and-feedback range
    assert obs["prescribing_fall"] > 0
    weak = challenge(Settings(scale=0.5, overrides={"assumptions.practice.peer_pressure_sensitivity": 0.2}), seed=1)
    assert weak["noncompliance_rr"] > obs["noncompliance_rr"]
    assert weak["noncompliance_rr"] > 0.96  # a weak response fails the check


def test_effect_size_experiment_premium_on_prescribing():
    obs = premium(Settings(scale=0.1), seed=1)
    assert 0.082 <= obs["unwarranted_fall_year1"] <= 0.355
    assert obs["unwarranted_fall_year2"] > obs["unwarranted_fall_year1"]
    # A retained premium works only through the lead's peer pressure: without it nothing moves.
    none = premium(Settings(scale=0.1, overrides={"assumptions.premium.peer_internalisation": 0.0}), seed=1)
    assert none["unwarranted_fall_year1"] == pytest.approx(0.0, abs=1e-9)


# ------------------------------------------------------------------------------------------ report


def test_report_writes_table_chart_and_metadata_atomically(tmp_path):
    report = validate(reps=2, scale=0.05, only=["list_mean", "exception_rate_year1", "quality_drift"], workers=1)
    assert isinstance(report, ValidationReport)
    folder = report.write(tmp_path / "v")
    assert sorted(p.name for p in folder.iterdir()) == [
        "metadata.json", "observations.csv", "validation.csv", "validation.md", "validation.png"
    ]
    assert not list(tmp_path.glob(".*partial"))
    table = pd.read_csv(folder / "validation.csv")
    assert list(table["check"]) == ["list_mean", "exception_rate_year1", "quality_drift"]
    assert set(table["status"]) <= {"pass", "fail", "info"}
    assert (folder / "validation.png").read_bytes()[:4] == b"\x89PNG"
    assert "| check | target |" in (folder / "validation.md").read_text()
    assert json.loads((folder / "metadata.json").read_text())["reps"] == 2
    with pytest.raises(CalibrationError, match="already exists"):
        report.write(folder)


# ------------------------------------------------------------------------------------------ CLI


def test_cli_validate_end_to_end(tmp_path):
    out = tmp_path / "validation"
    result = run_cli("validate", "--reps", "1", "--scale", "0.1", "--out", str(out))
    assert result.returncode in (0, 1), result.stderr  # at reduced scale some sampling checks may miss
    assert "Validation against published figures" in result.stdout
    table = pd.read_csv(out / "validation.csv")
    assert set(table["check"]) == {c.id for c in CHECKS}
    assert (result.returncode == 1) == (table["status"] == "fail").any()
    assert (out / "validation.png").exists() and not list(tmp_path.glob(".*partial"))


def test_cli_validate_exit_codes(tmp_path):
    ok = run_cli("validate", "--reps", "1", "--scale", "0.05", "--only", "list_mean", "--out", str(tmp_path / "a"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    failing = run_cli(
        "validate", "--reps", "1", "--scale", "0.05", "--only", "exception_rate_year1",
        "--set", "assumptions.recording.exception_gaming=0.08", "--out", str(tmp_path / "b"),
    )
    assert failing.returncode == 1 and "exception_rate_year1" in failing.stdout
    assert pd.read_csv(tmp_path / "b" / "validation.csv")["status"].tolist() == ["fail"]
    again = run_cli("validate", "--reps", "1", "--only", "list_mean", "--out", str(tmp_path / "a"))
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
    bad = run_cli("validate", "--reps", "0", "--only", "list_mean", "--out", str(tmp_path / "c"))
    assert bad.returncode == 2 and "--reps must be at least 1" in bad.stderr and "Traceback" not in bad.stderr
    unknown = run_cli("validate", "--only", "no_such_check", "--out", str(tmp_path / "d"))
    assert unknown.returncode == 2 and "Unknown check" in unknown.stderr
    fixed_runs = run_cli("validate", "--set", "run.quarters=8", "--out", str(tmp_path / "e"))
    assert fixed_runs.returncode == 2 and "fix the run settings" in fixed_runs.stderr
    typo = run_cli("validate", "--set", "assumptions.recording.recording_yeld=0.2", "--out", str(tmp_path / "f"))
    assert typo.returncode == 2 and "recording_yield" in typo.stderr and "Traceback" not in typo.stderr
    assert not any((tmp_path / name).exists() for name in "cdef")


# ------------------------------------------------------------------------------------------ calibration


def test_calibrate_recovers_a_parameter_on_a_tiny_problem():
    """One parameter, one target: start far off, end inside the tolerance band."""
    base = {"assumptions.outcomes.acsc_per_1000": 18.0}
    fit = calibrate(
        ["assumptions.outcomes.acsc_per_1000=10:20"], ["acsc_cost"], max_evals=15, scale=0.05, workers=1,
        base=base,
    )
    t = fit.targets[0]
    assert fit.start.values["assumptions.outcomes.acsc_per_1000"] == 18.0
    assert not t.low <= fit.start.model["acsc_cost"] <= t.high
    assert t.low <= fit.best.model["acsc_cost"] <= t.high
    assert fit.best.objective < fit.start.objective
    assert 12.5 < fit.best.values["assumptions.outcomes.acsc_per_1000"] < 15.5
    assert fit.evaluations <= 15


def test_parameter_file_round_trip(tmp_path):
    fit = calibrate(["assumptions.outcomes.acsc_per_1000=10:20"], ["acsc_cost"], max_evals=3, scale=0.05, workers=1)
    path = write_parameter_file(parameter_file([fit], "shipped"), tmp_path / "p.yaml")
    data = yaml.safe_load(path.read_text())
    assert {"created", "model_version", "values", "fits"} <= set(data)
    record = data["fits"]["custom"]
    assert record["targets"][0]["check"] == "acsc_cost" and record["targets"][0]["target_id"] == "acsc_cost_total"
    assert "King's Fund" in record["targets"][0]["source"]
    assert read_parameter_file(path) == pytest.approx(fit.best.values)
    bad = tmp_path / "bad.yaml"
    bad.write_text("values: {assumptions.nonsense.x: 1}\n")
    with pytest.raises(Exception, match="not a scenario parameter"):
        read_parameter_file(bad)


def test_parse_parameter_and_target():
    p = parse_parameter("history/qof_2004:levers.qof.upper_threshold=0.8:0.9")
    assert (p.key, p.low, p.high) == ("history/qof_2004:levers.qof.upper_threshold", 0.8, 0.9)
    assert p.start == load_scenario("history/qof_2004").levers.qof.upper_threshold
    full = parse_parameter("assumptions.practice.peer_pressure_sensitivity")
    assert (full.low, full.high) == (0.0, 10.0)
    with pytest.raises(CalibrationError, match="LOW:HIGH"):
        parse_parameter("assumptions.practice.peer_pressure_sensitivity=5")
    with pytest.raises(CalibrationError, match="schema's range"):
        parse_parameter("assumptions.practice.peer_pressure_sensitivity=0:50")
    with pytest.raises(CalibrationError, match="only numbers"):
        parse_parameter("levers.delegation.mode")
    targets = load_targets()
    assert parse_target("exception_rate_year1", targets).aim == 0.054  # the published value, inside its band
    assert parse_target("achievement_year1", targets).aim == pytest.approx(0.958)  # edge: the band's centre
    assert parse_target("premium_prescribing=0.12", targets).aim == 0.12
    for preset in PRESETS.values():
        for text in preset.targets:
            parse_target(text, targets)


def test_optuna_method_if_installed():
    pytest.importorskip("optuna")
    fit = calibrate(
        ["assumptions.outcomes.acsc_per_1000=10:20"], ["acsc_cost"], method="optuna", max_evals=8, scale=0.05,
        workers=1, base={"assumptions.outcomes.acsc_per_1000": 18.0},
    )
    assert fit.best.objective <= fit.start.objective and fit.evaluations <= 8


def test_cli_calibrate_writes_a_parameter_file_that_validate_reads(tmp_path):
    out = tmp_path / "fit.yaml"
    result = run_cli(
        "calibrate", "--param", "assumptions.outcomes.acsc_per_1000=10:20", "--target", "acsc_cost",
        "--max-evals", "6", "--scale", "0.05", "--workers", "1", "--set", "assumptions.outcomes.acsc_per_1000=17",
        "--out", str(out),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    values = read_parameter_file(out)
    assert set(values) == {"assumptions.outcomes.acsc_per_1000"}
    check_run = run_cli("validate", "--reps", "1", "--scale", "0.05", "--only", "acsc_cost", "--params", str(out),
                        "--out", str(tmp_path / "v"))
    assert check_run.returncode in (0, 1)
    meta = json.loads((tmp_path / "v" / "metadata.json").read_text())
    assert meta["overrides"] == values
    wrong = run_cli("calibrate", "--param", "assumptions.outcomes.acsc_per_1000", "--out", str(tmp_path / "x.yaml"))
    assert wrong.returncode == 2 and "needs both --param and --target" in wrong.stderr


# ------------------------------------------------------------------------------------------ docs


def test_validation_doc_lists_every_check():
    doc = (ROOT / "docs" / "validation.md").read_text()
    missing = [c.title for c in CHECKS if c.title not in doc]
    assert not missing, f"docs/validation.md lacks the checks {missing}: paste the table `validate` writes"


def test_odd_doc_covers_the_protocol_and_every_parameter_section():
    doc = (ROOT / "docs" / "ODD.md").read_text()
    for heading in ("Purpose and patterns", "Entities, state variables and scales", "Process overview and scheduling",
                    "Design concepts", "Initialisation", "Input data", "Submodels"):
        assert heading in doc, heading
    from sim.params import Assumptions, Levers

    for section in (*Levers.model_fields, *Assumptions.model_fields):
        assert f"`{section}`" in doc, section


def test_defaults_cite_their_calibration_targets():
    """Every parameter fitted by a shipped preset says so in its source, naming the targets."""
    from sim.calibration.studies import split_key
    from sim.scenario import parameter_spec

    for preset in PRESETS.values():
        for text in preset.params:
            scope, path = split_key(text.partition("=")[0])
            if scope is not None:
                continue  # a scenario's own value, documented in the scenario file
            assert "calibrated to" in parameter_spec(path).source, path


def test_history_scenario_states_where_its_fitted_values_come_from():
    text = (ROOT / "scenarios" / "history" / "qof_2004.yaml").read_text()
    assert text.count("calibrated to") >= 2
    assert np.isclose(_scenario(Settings(), "history/qof_2004").run.start_year, 2004)


# ------------------------------------------------------------------------------------------ contract actions


def _escalate(model, rows):
    ps = model.practices
    ps.escalated[: ps.n] = False
    ps.escalated[rows] = True


def test_board_acts_only_on_escalations_its_own_assessment_confirms():
    from sim.model import CommissioningModel

    model = CommissioningModel(load_scenario("delegation", ["run.scale=0.05"]), seed=2)
    ps, n = model.practices, model.practices.n
    order = np.argsort(ps.quality[:n])
    worst, typical = int(order[0]), int(order[n // 2])
    ps.notices[:n] = 0
    _escalate(model, [worst, typical])
    noticed, terminated = model.board.contract_actions(np.zeros(ps.capacity))
    assert noticed.tolist() == [worst] and terminated.size == 0  # an average practice is not confirmed
    assert ps.notices[worst] == 1 and ps.notices[typical] == 0 and ps.remedial[worst] == 1.0
    assert not ps.escalated[:n].any()
    # With enough notices a confirmed practice is terminated.
    ps.notices[worst] = model.levers.contract_actions.terminate_after_notices
    _escalate(model, [worst])
    noticed, terminated = model.board.contract_actions(np.zeros(ps.capacity))
    assert terminated.tolist() == [worst] and noticed.size == 0


def test_notices_lapse_after_a_clean_year_and_the_old_rule_acts_on_everything():
    from sim.model import CommissioningModel

    model = CommissioningModel(load_scenario("delegation", ["run.scale=0.05"]), seed=2)
    ps, n = model.practices, model.practices.n
    ps.notices[:n] = 2
    _escalate(model, [0])
    model.board.contract_actions(np.zeros(ps.capacity))
    assert (ps.notices[1:n] == 0).all()  # not escalated this year: their notices lapse
    old = CommissioningModel(
        load_scenario("delegation", ["run.scale=0.05", "levers.contract_actions.confirm_below_quantile=1",
                                     "levers.contract_actions.notices_lapse=false"]), seed=2,
    )
    ps = old.practices
    ps.notices[: ps.n] = 2
    typical = int(np.argsort(ps.quality[: ps.n])[ps.n // 2])
    _escalate(old, [typical])
    noticed, _ = old.board.contract_actions(np.zeros(ps.capacity))
    assert noticed.tolist() == [typical]
    assert (np.delete(ps.notices[: ps.n], typical) == 2).all()  # nothing lapses under the old rule


def test_terminations_are_rare_under_delegation_but_frequent_under_the_old_rule():
    settings = Settings(scale=0.25)
    from sim.calibration.studies import delegation

    now = delegation(settings, seed=1)
    old = delegation(
        Settings(scale=0.25, overrides={"levers.contract_actions.confirm_below_quantile": 1.0,
                                        "levers.contract_actions.notices_lapse": False}),
        seed=1,
    )
    assert now["terminations_per_year"] <= 40 * 0.25
    assert old["terminations_per_year"] > 3 * max(now["terminations_per_year"], 1.0)
