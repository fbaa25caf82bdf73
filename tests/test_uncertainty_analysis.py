"""Uncertainty analysis on synthetic per-draw differences with known answers: variance drivers (Sobol
indices through a surrogate), PRIM scenario discovery and their charts."""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy.stats import qmc

from sim.charts.data import ChartError
from sim.charts.uncertainty import boxes_chart, drivers_chart, tradeoff_chart
from sim.experiment.errors import ExperimentError
from sim.uncertainty.discovery import BOX_COLUMNS, TRAJECTORY_COLUMNS, Discovery, describe_boxes, discover
from sim.uncertainty.drivers import DRIVER_COLUMNS, FRAME_COLUMNS, drivers_frame, variance_drivers


def sobol_draws(n: int, d: int, seed: int = 7) -> pd.DataFrame:
    x = qmc.Sobol(d, scramble=True, seed=seed).random(n)
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(d)], index=pd.RangeIndex(n, name="draw"))


def uniform_draws(n: int, d: int, seed: int = 7) -> pd.DataFrame:
    x = np.random.default_rng(seed).random((n, d))
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(d)], index=pd.RangeIndex(n, name="draw"))


def indices(result) -> pd.DataFrame:
    return result.table.set_index("parameter")


# ------------------------------------------------------------------------------------------- drivers


def test_constant_difference_has_no_drivers_and_nothing_unexplained():
    draws = sobol_draws(64, 5)
    result = variance_drivers(draws, np.full(64, 0.25))
    assert list(result.table.columns) == list(DRIVER_COLUMNS)
    assert sorted(result.table["parameter"]) == sorted(draws.columns)
    assert (result.table[["first_order", "total"]] == 0).all().all()
    assert result.explained == 1.0
    assert result.n_draws == 64


def test_one_parameter_sets_the_sign():
    draws = sobol_draws(256, 20)
    result = variance_drivers(draws, draws["x0"] - 0.4)
    table = indices(result)
    assert result.table["parameter"].iloc[0] == "x0"
    assert table.loc["x0", "total"] > 0.9
    assert table.loc["x0", "first_order"] > 0.85
    assert (table.drop(index="x0")["total"] < 0.05).all()
    assert result.explained > 0.9


def test_additive_first_orders_match_the_variance_shares():
    draws = uniform_draws(256, 20)
    table = indices(variance_drivers(draws, 2 * draws["x0"] + draws["x1"]))
    assert table.loc["x0", "first_order"] == pytest.approx(0.8, abs=0.1)
    assert table.loc["x1", "first_order"] == pytest.approx(0.2, abs=0.1)
    assert table.loc["x0", "total"] == pytest.approx(0.8, abs=0.1)


def test_a_pure_interaction_shows_in_the_totals_not_the_first_orders():
    draws = uniform_draws(512, 6)
    table = indices(variance_drivers(draws, (draws["x0"] - 0.5) * (draws["x1"] - 0.5)))
    for name in ("x0", "x1"):
        assert table.loc[name, "total"] > table.loc[name, "first_order"] + 0.3
        assert table.loc[name, "first_order"] < 0.15
    assert set(table["total"].nlargest(2).index) == {"x0", "x1"}


def test_indices_are_bounded_ordered_and_repeat_with_the_seed():
    draws = uniform_draws(128, 8)
    y = draws["x0"] + np.sin(6 * draws["x1"]) + np.random.default_rng(1).normal(0, 0.3, 128)
    a, b = variance_drivers(draws, y, seed=3), variance_drivers(draws, y.to_numpy(), seed=3)
    pd.testing.assert_frame_equal(a.table, b.table)
    t = a.table
    assert ((t["first_order"] >= 0) & (t["total"] <= 1) & (t["total"] >= t["first_order"])).all()
    assert t["total"].is_monotonic_decreasing
    assert 0 <= a.explained < 1  # the noise is not explained


def test_fixed_assumptions_get_zero():
    draws = uniform_draws(64, 4).assign(fixed=0.3)
    table = indices(variance_drivers(draws, draws["x0"] * 3))
    assert table.loc["fixed", "first_order"] == 0 and table.loc["fixed", "total"] == 0
    assert table.loc["x0", "total"] > 0.9


@pytest.mark.parametrize("n", [0, 15])
def test_too_few_draws_are_refused(n):
    draws = uniform_draws(max(n, 1), 3).head(n)
    with pytest.raises(ExperimentError, match="at least 16 draws"):
        variance_drivers(draws, np.arange(n, dtype=float))


def test_non_finite_or_unpaired_differences_are_refused():
    draws = uniform_draws(32, 3)
    y = draws["x0"].to_numpy().copy()
    y[4] = np.nan
    with pytest.raises(ExperimentError, match="not finite"):
        variance_drivers(draws, y)
    with pytest.raises(ExperimentError, match="pair up"):
        variance_drivers(draws, y[:10])


def test_drivers_frame_gives_one_block_per_scenario_and_metric():
    draws = sobol_draws(64, 6)
    blocks = []
    for scenario, shift in (("delegation", 0.0), ("premium", 1.0)):
        for metric, column in (("quality_mean", "x0"), ("total_cost_gbp", "x1")):
            blocks.append(pd.DataFrame({"scenario": scenario, "metric": metric, "draw": draws.index,
                                        "difference": draws[column].to_numpy() + shift}))
    per_draw = pd.concat(blocks, ignore_index=True).sample(frac=1.0, random_state=0)  # order must not matter
    frame = drivers_frame(per_draw, draws)
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert len(frame) == 4 * draws.shape[1]
    sizes = frame.groupby(["scenario", "metric"]).size()
    assert len(sizes) == 4 and (sizes == draws.shape[1]).all()
    top = frame.loc[frame.groupby(["scenario", "metric"])["total"].idxmax()].set_index(["scenario", "metric"])
    assert top.loc[("premium", "quality_mean"), "parameter"] == "x0"
    assert top.loc[("delegation", "total_cost_gbp"), "parameter"] == "x1"
    with pytest.raises(ExperimentError, match="lacks columns"):
        drivers_frame(per_draw.drop(columns="difference"), draws)
    with pytest.raises(ExperimentError, match="not in the draws"):
        drivers_frame(per_draw.assign(draw=per_draw["draw"] + 1000), draws)


# ----------------------------------------------------------------------------------------- discovery


def test_prim_finds_the_threshold_of_one_parameter():
    draws = sobol_draws(256, 10, seed=3)
    found = discover(draws, draws["x0"] - 0.35, below=0)
    assert list(found.boxes.columns) == list(BOX_COLUMNS)
    assert list(found.trajectory.columns) == list(TRAJECTORY_COLUMNS)
    box1 = found.boxes[found.boxes["box"] == 1].set_index("parameter")
    assert list(box1.index) == ["x0"]
    assert box1.loc["x0", "high"] == pytest.approx(0.35, abs=0.05)
    assert box1.loc["x0", "density"] >= 0.8
    assert found.n_cases == int((draws["x0"] < 0.35).sum()) and found.n_draws == 256
    assert found.condition == "below 0"


def test_prim_finds_a_two_parameter_box():
    draws = sobol_draws(256, 10, seed=3)
    harm = (draws["x0"] < 0.35) & (draws["x1"] > 0.6)
    y = np.where(harm, -1.0, 1.0)
    found = discover(draws, y, below=0)
    box1 = found.boxes[found.boxes["box"] == 1].set_index("parameter")
    assert set(box1.index) == {"x0", "x1"}
    assert box1.loc["x0", "high"] == pytest.approx(0.35, abs=0.05)
    assert box1.loc["x1", "low"] == pytest.approx(0.6, abs=0.05)
    assert box1["density"].iloc[0] >= 0.8
    assert box1["coverage"].iloc[0] > 0.8
    # the reported point is the highest-coverage point of the trajectory that reaches the threshold
    traj = found.trajectory[found.trajectory["box"] == 1]
    chosen = traj[traj["chosen"]]
    assert len(chosen) == 1
    dense = traj[traj["density"] >= 0.8]
    assert chosen["coverage"].iloc[0] == dense["coverage"].max()
    sentences = describe_boxes(found, outcome="delegation does harm", label=lambda p: f"assumption {p}")
    assert len(sentences) == found.n_boxes
    assert sentences[0].startswith("delegation does harm (difference below 0) when ")
    assert re.search(r"assumption x0 is below 0\.3\d* and assumption x1 is above 0\.[56]\d*:", sentences[0])
    assert "of such draws do, and the box holds" in sentences[0]


def test_above_and_between():
    draws = sobol_draws(256, 6, seed=5)
    y = np.where((draws["x2"] > 0.3) & (draws["x2"] < 0.7), 2.0, 0.0)
    found = discover(draws, y, above=1)
    assert found.condition == "above 1"
    box1 = found.boxes[found.boxes["box"] == 1].set_index("parameter")
    assert box1.loc["x2", "low"] == pytest.approx(0.3, abs=0.05)
    assert box1.loc["x2", "high"] == pytest.approx(0.7, abs=0.05)
    assert "x2 is between 0.3" in describe_boxes(found, outcome="it helps")[0]


@pytest.mark.parametrize("kwargs", [{}, {"below": 0.0, "above": 1.0}])
def test_exactly_one_of_below_and_above(kwargs):
    draws = sobol_draws(32, 3)
    with pytest.raises(ExperimentError, match="exactly one"):
        discover(draws, draws["x0"], **kwargs)


def test_no_case_every_case_or_mostly_cases_gives_no_box_and_says_why():
    draws = sobol_draws(64, 3)
    for kwargs, word in (({"below": -1.0}, "No draw"), ({"above": -1.0}, "Every draw")):
        found = discover(draws, draws["x0"], **kwargs)
        assert found.boxes.empty and found.trajectory.empty and found.n_boxes == 0
        assert found.message.startswith(word)
        assert describe_boxes(found, outcome="x") == []
    mostly = discover(draws, draws["x0"], below=0.9)  # 90% of draws are cases: the whole space is dense enough
    assert mostly.boxes.empty and "already" in mostly.message


def test_constant_columns_are_dropped_and_the_densest_box_is_flagged_when_none_reaches_the_threshold():
    draws = uniform_draws(200, 4).assign(fixed=1.0)
    noise = np.random.default_rng(2).random(200)
    y = np.where(noise < 0.3 + 0.3 * (draws["x0"] < 0.5), -1.0, 1.0)  # at most 60% density anywhere
    found = discover(draws, y, below=0)
    assert "fixed" not in set(found.boxes["parameter"]) and "fixed" not in found.ranges
    assert found.n_boxes == 1 and found.short_of_threshold == (1,)
    assert found.boxes["density"].iloc[0] < 0.8
    assert "short of" in found.message and "short of" in describe_boxes(found, outcome="x")[0]


# -------------------------------------------------------------------------------------------- charts


def render(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()


@pytest.fixture(scope="module")
def found() -> Discovery:
    draws = sobol_draws(256, 8, seed=3)
    y = np.where(draws["x0"] < 0.3, -1.0, 1.0) * np.where(draws["x1"] > 0.5, 1.0, -0.2)
    return discover(draws, y, below=0)


def test_charts_render(found):
    draws = sobol_draws(64, 6)
    per_draw = pd.DataFrame({"scenario": "delegation", "metric": "quality_mean", "draw": draws.index,
                             "difference": 2 * draws["x0"].to_numpy() + draws["x1"].to_numpy()})
    table = drivers_frame(per_draw, draws)
    for fig in (drivers_chart(table, "delegation", "quality_mean"), boxes_chart(found),
                boxes_chart(found, ranges={"x0": (0.0, 1.0)}), tradeoff_chart(found)):
        assert isinstance(fig, Figure) and fig.axes
        assert render(fig)[:4] == b"\x89PNG"
    flat = per_draw.assign(difference=1.0)
    assert render(drivers_chart(drivers_frame(flat, draws), "delegation", "quality_mean"))


def test_charts_refuse_bad_input(found):
    draws = sobol_draws(32, 3)
    per_draw = pd.DataFrame({"scenario": "a", "metric": "quality_mean", "draw": draws.index,
                             "difference": draws["x0"].to_numpy()})
    table = drivers_frame(per_draw, draws)
    with pytest.raises(ChartError, match="empty"):
        drivers_chart(table.iloc[0:0], "a", "quality_mean")
    with pytest.raises(ChartError, match="no scenario 'b'"):
        drivers_chart(table, "b", "quality_mean")
    with pytest.raises(ChartError, match="no metric 'outcome_mean'"):
        drivers_chart(table, "a", "outcome_mean")
    none = discover(draws, draws["x0"], below=-1)
    for chart in (boxes_chart, tradeoff_chart):
        with pytest.raises(ChartError, match="no box"):
            chart(none)


def test_ten_linear_effects_among_77_assumptions_are_apportioned_from_128_draws():
    """The model's differences are mostly additive: the lasso candidate must recover known linear shares."""
    from scipy.stats import qmc

    u = qmc.Sobol(77, scramble=True, rng=np.random.default_rng(3)).random(128)
    draws = pd.DataFrame(u, columns=[f"x{j}" for j in range(77)])
    weights = np.zeros(77)
    weights[:10] = np.arange(1, 11)
    result = variance_drivers(draws, u @ weights, seed=0)
    table = result.table.set_index("parameter").reindex(draws.columns)
    truth = weights**2 / np.sum(weights**2)
    assert result.explained > 0.95 and "lasso" in result.method
    assert np.abs(table["first_order"].to_numpy() - truth).max() < 0.05
    assert np.abs(table["total"].to_numpy() - truth).max() < 0.05
