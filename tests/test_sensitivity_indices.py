"""Sensitivity indices from SALib on functions whose answer is known, and the checks around them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.experiment.design import morris, parse_vary, sobol
from sim.experiment.errors import ExperimentError
from sim.experiment.indices import analyse
from sim.experiment.store import SENSITIVITY_COLUMNS

A = "assumptions.practice.gaming_propensity"  # 0 to 2
B = "assumptions.practice.motivation_mean"  # 0 to 1
C = "assumptions.challenge.base_log_odds"  # -5 to 5


def _outcomes(design, fn, reps=1):
    pts = design.sampled
    rows = []
    for pid in range(design.n_points):
        for rep in range(reps):
            rows.append({"point_id": pid, "replication": rep, "y": fn(*pts[pid]), "flat": 3.0})
    return pd.DataFrame(rows)


def _specs():
    return [parse_vary(f"{A}=0:2"), parse_vary(f"{B}=0:1"), parse_vary(f"{C}=-1:1")]


def test_sobol_ranks_an_additive_function_correctly():
    design = sobol(_specs(), 256, seed=3)
    # Variances of the terms: (4*U(0,2)) -> 16/3, (1*U(0,1)) -> 1/12, C has no effect.
    indices = analyse(design, _outcomes(design, lambda a, b, c: 4 * a + b), ["y"], seed=1).set_index("parameter")
    assert list(indices.columns) == list(SENSITIVITY_COLUMNS[:1]) + list(SENSITIVITY_COLUMNS[2:])
    share_a = (16 / 3) / (16 / 3 + 1 / 12)
    assert indices.loc[A, "S1"] == pytest.approx(share_a, abs=0.05)
    assert indices.loc[A, "ST"] == pytest.approx(share_a, abs=0.05)
    assert indices.loc[B, "ST"] < 0.05 and abs(indices.loc[C, "ST"]) < 0.01
    assert (indices["S1_conf"] >= 0).all()
    assert indices["mu_star"].isna().all()  # a Sobol analysis gives no Morris measures


def test_sobol_sees_an_interaction_only_in_the_total_index():
    design = sobol(_specs(), 256, seed=4)
    indices = analyse(design, _outcomes(design, lambda a, b, c: (a - 1) * c), ["y"], seed=1).set_index("parameter")
    for p in (A, C):
        assert indices.loc[p, "S1"] == pytest.approx(0, abs=0.1)
        assert indices.loc[p, "ST"] > 0.8


def test_morris_screens_out_the_inert_parameter():
    design = morris(_specs(), 20, seed=2)
    indices = analyse(design, _outcomes(design, lambda a, b, c: 3 * a + b**2), ["y"], seed=1).set_index("parameter")
    assert indices.loc[A, "mu_star"] > indices.loc[B, "mu_star"] > indices.loc[C, "mu_star"]
    assert indices.loc[C, "mu_star"] == pytest.approx(0, abs=1e-9)
    assert indices.loc[A, "sigma"] == pytest.approx(0, abs=1e-9)  # linear: the same effect everywhere
    assert indices["S1"].isna().all()


def test_replications_are_averaged_per_point():
    design = sobol(_specs(), 64, seed=5)
    one = analyse(design, _outcomes(design, lambda a, b, c: a + 2 * b), ["y"], seed=1)
    three = analyse(design, _outcomes(design, lambda a, b, c: a + 2 * b, reps=3), ["y"], seed=1)
    pd.testing.assert_frame_equal(one, three)


def test_a_metric_that_never_moves_has_no_indices():
    design = sobol(_specs(), 16, seed=1)
    indices = analyse(design, _outcomes(design, lambda a, b, c: a), ["flat"])
    assert indices[["S1", "ST"]].isna().all().all()


def test_every_point_is_needed():
    design = sobol(_specs(), 16, seed=1)
    partial = _outcomes(design, lambda a, b, c: a)
    partial = partial[partial["point_id"] != 7]
    with pytest.raises(ExperimentError, match="1 of 80 design points have no finished run"):
        analyse(design, partial, ["y"])


def test_grid_designs_are_not_for_indices():
    from sim.experiment.design import grid

    design = grid([parse_vary(f"{A}=0:2:3")])
    with pytest.raises(ExperimentError, match="sobol or morris"):
        analyse(design, pd.DataFrame({"point_id": [0, 1, 2], "y": [1.0, 2.0, 3.0]}), ["y"])
    assert np.isfinite(design.sampled).all()
