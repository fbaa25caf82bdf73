"""Paired comparison statistics, checked against hand computation and scipy on synthetic replications."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.experiment.errors import ExperimentError
from sim.experiment.paired import (
    SUMMARY_COLUMNS,
    horizon_values,
    interval_width_ratio,
    median_width_ratio,
    summarise,
)

LEVEL = "quality_mean"  # read at the horizon
FLOW = "qof_payments_gbp"  # summed over the four quarters ending at the horizon


def synthetic(values: dict[str, np.ndarray], quarters: int = 8) -> pd.DataFrame:
    """Metrics for scenarios whose LEVEL at every quarter q is value * (1 + q/100); FLOW is q + value."""
    rows = []
    for scenario, per_rep in values.items():
        for rep, value in enumerate(per_rep):
            for q in range(quarters + 1):
                rows.append({"scenario": scenario, "replication": rep, "seed": 1 + rep, "run_id": 0,
                             "quarter": q, LEVEL: value * (1 + q / 100), FLOW: q + value})
    return pd.DataFrame(rows)


def test_summary_has_the_contract_columns_and_rows():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, 10)
    metrics = synthetic({"a": 10 + noise, "b": 10.5 + noise + rng.normal(0, 0.05, 10), "c": 9 + noise})
    summary = summarise(metrics, "a")
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    assert len(summary) == 2 * 3  # two metrics, three scenarios
    assert summary["scenario"].tolist()[:3] == ["a", "b", "c"]  # baseline first
    assert (summary["quarter"] == 8).all() and (summary["n"] == 10).all()


def test_paired_and_unpaired_intervals_match_hand_and_scipy():
    rng = np.random.default_rng(1)
    common = rng.normal(0, 2, 12)
    a = 5 + common
    b = 6 + common + rng.normal(0, 0.3, 12)
    summary = summarise(synthetic({"a": a, "b": b}), "a", names=[LEVEL])
    row = summary[summary["scenario"] == "b"].iloc[0]
    xb, xa = b * 1.08, a * 1.08  # LEVEL at quarter 8
    d = xb - xa
    half = stats.t.ppf(0.975, 11) * d.std(ddof=1) / np.sqrt(12)
    assert row["diff_mean"] == pytest.approx(d.mean())
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    welch = stats.ttest_ind(xb, xa, equal_var=False).confidence_interval(0.95)
    assert (row["unpaired_ci_low"], row["unpaired_ci_high"]) == pytest.approx((welch.low, welch.high))
    mean_half = stats.t.ppf(0.975, 11) * xb.std(ddof=1) / np.sqrt(12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((xb.mean() - mean_half, xb.mean() + mean_half))
    # Common noise cancels in the pairs: the paired interval is far narrower, and significant.
    assert (row["diff_ci_high"] - row["diff_ci_low"]) < 0.3 * (row["unpaired_ci_high"] - row["unpaired_ci_low"])
    assert bool(row["significant"])


def test_levels_are_read_at_the_horizon_and_flows_summed_over_its_year():
    metrics = synthetic({"a": np.array([1.0, 2.0])}, quarters=8)
    values = horizon_values(metrics, 6).set_index("replication")
    assert values.loc[0, LEVEL] == pytest.approx(1.06)
    assert values.loc[1, FLOW] == pytest.approx(sum(q + 2.0 for q in (3, 4, 5, 6)))
    early = horizon_values(metrics, 2).set_index("replication")
    assert early.loc[0, FLOW] == pytest.approx((1 + 1.0) + (2 + 1.0))  # quarter 0 is the starting state


def test_baseline_row_and_no_difference():
    metrics = synthetic({"a": np.array([1.0, 2.0, 3.0]), "b": np.array([1.0, 2.0, 3.0])})
    summary = summarise(metrics, "a", names=[LEVEL])
    for _, row in summary.iterrows():
        assert row["diff_mean"] == 0 and row["diff_ci_low"] == 0 and row["diff_ci_high"] == 0
        assert not row["significant"]


def test_a_difference_lost_in_noise_is_not_significant():
    metrics = synthetic({"a": np.array([1.0, 3.0, 2.0, 4.0]), "b": np.array([3.0, 1.0, 4.0, 2.0])})
    row = summarise(metrics, "a", names=[LEVEL]).iloc[1]
    assert row["diff_ci_low"] < 0 < row["diff_ci_high"]
    assert not row["significant"]


def test_one_replication_gives_no_interval():
    row = summarise(synthetic({"a": np.array([1.0]), "b": np.array([2.0])}), "a", names=[LEVEL]).iloc[1]
    assert row["diff_mean"] == pytest.approx(1.08)
    assert np.isnan(row["diff_ci_low"]) and np.isnan(row["ci_low"]) and not row["significant"]


def test_bad_baseline_horizon_and_sweeps_are_refused():
    metrics = synthetic({"a": np.array([1.0, 2.0])})
    with pytest.raises(ExperimentError, match="Baseline 'zzz' is not one of"):
        summarise(metrics, "zzz")
    with pytest.raises(ExperimentError, match="outside the runs"):
        summarise(metrics, "a", horizon_quarter=99)
    swept = metrics.assign(point_id=metrics["replication"])
    with pytest.raises(ExperimentError, match="sweep"):
        summarise(swept, "a")


def test_width_ratio():
    rng = np.random.default_rng(3)
    common = rng.normal(0, 1, 20)
    metrics = synthetic({"a": common, "b": common + 1 + rng.normal(0, 0.1, 20)})
    summary = summarise(metrics, "a")
    widths = interval_width_ratio(summary)
    assert set(widths["scenario"]) == {"b"}
    assert (widths["ratio"] < 0.25).all()
    assert median_width_ratio(summary) == pytest.approx(widths["ratio"].median())


@settings(max_examples=40, deadline=None)
@given(
    base=st.lists(st.floats(-100, 100), min_size=2, max_size=12),
    shift=st.floats(-10, 10),
)
def test_a_constant_shift_is_found_exactly(base, shift):
    a = np.array(base)
    metrics = synthetic({"a": a, "b": a + shift})
    row = summarise(metrics, "a", names=[FLOW]).iloc[1]
    assert row["diff_mean"] == pytest.approx(4 * shift, abs=1e-6)
    assert row["diff_ci_high"] - row["diff_ci_low"] == pytest.approx(0, abs=1e-6)
    assert row["diff_ci_low"] <= row["diff_mean"] + 1e-9 <= row["diff_ci_high"] + 2e-9
