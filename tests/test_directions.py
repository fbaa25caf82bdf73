"""Direction tests: the levers move the model the way the reasoning behind them says, across seeds.

A model whose levers changed nothing (or moved things the wrong way) fails these. Comparisons are paired:
the same seeds for every scenario (common random numbers).
"""

from __future__ import annotations

import functools

import numpy as np

from sim.runner import run
from sim.scenario import load_scenario

SEEDS = (1, 2, 3, 4, 5)
SCALE = 0.25
HORIZON = 40


@functools.cache
def horizon(name: str, seed: int, *overrides: str) -> dict[str, float]:
    """Headline values at ten years (flows: the last year's total)."""
    scenario = load_scenario(name, [f"run.scale={SCALE}", f"run.quarters={HORIZON}", "run.snapshots=false", *overrides])
    metrics = run(scenario, seed).metrics
    last = metrics.iloc[-1].to_dict()
    for flow in ("reviews", "successful_challenges", "qof_payments_gbp"):
        last[flow] = float(metrics[flow].iloc[-4:].sum())
    return last


def paired(metric: str, a: str, b: str, *overrides: str) -> np.ndarray:
    """Per-seed difference of ``metric`` between scenarios ``a`` and ``b``."""
    return np.array([horizon(a, s, *overrides)[metric] - horizon(b, s, *overrides)[metric] for s in SEEDS])


def test_skilled_willing_delegation_narrows_variation_in_quality():
    skilled = ("assumptions.leadership.skill_mean=0.75", "assumptions.leadership.willingness_mean=0.85")
    diff = paired("quality_sd", "delegation", "status_quo", *skilled)
    assert np.all(diff < 0), diff
    assert diff.mean() < -0.003  # a visible narrowing, not noise
    assert np.all(paired("quality_p10", "delegation", "status_quo", *skilled) > 0)  # by lifting the tail


def test_delegation_means_more_reviews_and_successful_challenges():
    assert np.all(paired("reviews", "delegation", "status_quo") > 0)
    assert np.all(paired("successful_challenges", "delegation", "status_quo") > 0)


def test_outcome_weighted_qof_reduces_recording_effort_and_exception_reporting():
    effort = paired("recording_effort_mean", "qof_outcomes", "status_quo")
    exceptions = paired("exception_rate", "qof_outcomes", "status_quo")
    level = np.array([horizon("status_quo", s)["recording_effort_mean"] for s in SEEDS])
    assert np.all(effort < -0.15 * level), (effort, level)  # half the points off records: visibly less recording
    assert np.all(exceptions < 0), exceptions
    assert np.all(paired("recorded_gap_mean", "qof_outcomes", "status_quo") < 0)


def test_white_paper_improves_quality_and_outcomes():
    assert np.all(paired("quality_mean", "white_paper", "status_quo") > 0.005)
    assert np.all(paired("outcome_mean", "white_paper", "status_quo") < 0)


def test_sceptic_assumptions_lose_most_of_the_white_papers_gain():
    gain = paired("quality_mean", "white_paper", "status_quo")
    sceptic_gain = paired("quality_mean", "white_paper_sceptic", "status_quo")
    assert gain.mean() > 0
    assert sceptic_gain.mean() < 0.5 * gain.mean(), (gain, sceptic_gain)


def test_a_premium_on_prescribing_lowers_prescribing_cost():
    diff = paired(
        "prescribing_per_head_gbp", "quality_premium", "status_quo", "levers.quality_premium.target=prescribing"
    )
    assert np.all(diff < 0), diff
