"""Designs: parsing --vary, grids, Latin hypercubes and SALib samples stay inside the schema's ranges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.experiment.design import (
    grid,
    latin_hypercube,
    make_design,
    morris,
    parse_varies,
    parse_vary,
    sobol,
)
from sim.experiment.errors import DesignError
from sim.experiment.plan import plan_design
from sim.scenario import load_scenario, parameter_spec

GAMING = "assumptions.practice.gaming_propensity"  # number, 0 to 2
ESCALATE = "levers.peer_challenge.escalate_after"  # integer, 1 to 12


def test_parse_vary_reads_path_range_and_steps():
    spec = parse_vary(f"{GAMING}=0.2:1.2:3")
    assert (spec.path, spec.low, spec.high, spec.steps, spec.integer) == (GAMING, 0.2, 1.2, 3, False)
    assert parse_vary(f"{GAMING}=0.2:1.2").steps is None
    assert parse_vary(f"{ESCALATE}=1:6").integer is True
    assert parse_vary(f" {GAMING} = 1e-1 : .5 ").low == pytest.approx(0.1)


@pytest.mark.parametrize("text", [
    "nonsense", f"{GAMING}", f"{GAMING}=", f"{GAMING}=0.2", f"{GAMING}=a:b", f"{GAMING}=0.2:1.2:3:4",
    f"{GAMING}=0.2:1.2:x", f"{GAMING}=0.2;1.2",
])
def test_malformed_vary_is_explained(text):
    with pytest.raises(DesignError, match="expected PATH=LOW:HIGH"):
        parse_vary(text)


def test_unknown_path_suggests_the_nearest():
    with pytest.raises(DesignError, match=r"not a scenario parameter.*gaming_propensity"):
        parse_vary("assumptions.practice.gaming_propensty=0:1")


def test_range_outside_schema_names_the_bounds():
    spec = parameter_spec(GAMING)
    with pytest.raises(DesignError, match=rf"allows: {spec.low} to {spec.high}"):
        parse_vary(f"{GAMING}=0.5:2.5")
    with pytest.raises(DesignError, match="allows"):
        parse_vary(f"{GAMING}=-0.1:1")


@pytest.mark.parametrize("text, message", [
    (f"{GAMING}=1:1", "must be less than HIGH"),
    (f"{GAMING}=1:0.5", "must be less than HIGH"),
    (f"{GAMING}=0.2:1.2:1", "at least 2"),
    ("levers.delegation.mode=0:1", "not a number"),
    ("levers.delegation.withdraw_on_deficit=0:1", "not a number"),
])
def test_other_bad_ranges(text, message):
    with pytest.raises(DesignError, match=message):
        parse_vary(text)


def test_each_path_once_and_at_least_one():
    with pytest.raises(DesignError, match="more than once"):
        parse_varies([f"{GAMING}=0:1", f"{GAMING}=1:2"])
    with pytest.raises(DesignError, match="at least one"):
        parse_varies([])


def test_grid_is_the_full_product_with_the_endpoints():
    design = grid([parse_vary(f"{GAMING}=0.2:1.2:3"), parse_vary(f"{ESCALATE}=1:4:4")])
    frame = design.frame()
    assert len(frame) == 12
    assert sorted(frame[GAMING].unique()) == pytest.approx([0.2, 0.7, 1.2])
    assert sorted(frame[ESCALATE].unique()) == [1, 2, 3, 4]
    assert not frame.duplicated().any()
    assert design.values(0) == {GAMING: pytest.approx(0.2), ESCALATE: 1}
    assert isinstance(design.values(0)[ESCALATE], int)


def test_integer_grid_never_repeats_a_point():
    design = grid([parse_vary(f"{ESCALATE}=1:3:7")])
    assert design.frame()[ESCALATE].tolist() == [1, 2, 3]


def test_latin_hypercube_has_one_point_in_each_stratum_and_repeats_with_its_seed():
    specs = [parse_vary(f"{GAMING}=0:2"), parse_vary("assumptions.practice.motivation_mean=0.2:0.8")]
    n = 17
    design = latin_hypercube(specs, n, seed=5)
    pts = design.sampled
    for j, spec in enumerate(specs):
        strata = np.floor((pts[:, j] - spec.low) / (spec.high - spec.low) * n).astype(int)
        assert sorted(strata) == list(range(n))
    assert np.array_equal(pts, latin_hypercube(specs, n, seed=5).sampled)
    assert not np.array_equal(pts, latin_hypercube(specs, n, seed=6).sampled)


def test_sobol_and_morris_sizes_follow_salib():
    specs = [parse_vary(f"{GAMING}=0:2"), parse_vary(f"{ESCALATE}=1:6"),
             parse_vary("assumptions.practice.motivation_mean=0.2:0.8")]
    s = sobol(specs, 16, seed=1)
    assert s.n_points == 16 * (3 + 2)
    m = morris(specs, 5, seed=1)
    assert m.n_points == 5 * (3 + 1)
    for design in (s, m):
        applied = design.frame()
        for spec in specs:
            assert applied[spec.path].between(spec.low, spec.high).all()
        assert (applied[ESCALATE] == applied[ESCALATE].round()).all()


def test_sobol_needs_a_power_of_two_and_grid_takes_no_samples():
    specs = [parse_vary(f"{GAMING}=0:2")]
    with pytest.raises(DesignError, match="power of two"):
        sobol(specs, 12, seed=1)
    with pytest.raises(DesignError, match="--samples applies"):
        make_design("grid", specs, 10, seed=1)
    with pytest.raises(DesignError, match="at least 2"):
        make_design("lhs", specs, 1, seed=1)


def test_run_length_cannot_be_swept():
    base = load_scenario("status_quo", ["run.scale=0.02", "run.quarters=4"])
    with pytest.raises(DesignError, match="--quarters"):
        plan_design(base, grid([parse_vary("run.quarters=4:8:2")]), kind="sweep")


@settings(max_examples=60, deadline=None)
@given(a=st.floats(0, 2), b=st.floats(0, 2), steps=st.integers(2, 6))
def test_grid_points_stay_within_the_range_given(a, b, steps):
    low, high = sorted((a, b))
    if high - low < 1e-6:
        return
    design = grid([parse_vary(f"{GAMING}={low!r}:{high!r}:{steps}")])
    values = design.frame()[GAMING]
    assert len(values) == steps
    assert values.min() == pytest.approx(low) and values.max() == pytest.approx(high)
    assert values.between(low, high).all()
