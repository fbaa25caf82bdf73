"""The model as a whole: population, determinism, common random numbers, agents and outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import small

from sim.agents.consortium import ConsortiumLead
from sim.agents.practice import Practice
from sim.metrics import METRIC_NAMES
from sim.model import CommissioningModel
from sim.rng import SITES
from sim.runner import SNAPSHOT_COLUMNS, run
from sim.scenario import load_scenario, shipped_scenarios


@pytest.fixture(scope="module")
def national_model() -> CommissioningModel:
    return CommissioningModel(load_scenario("status_quo", ["run.quarters=1"]), seed=7)


def test_national_population_matches_published_figures(national_model):
    ps, cs = national_model.practices, national_model.consortia
    n = ps.n
    lists = ps.list_size[:n]
    assert n == 8245
    assert cs.count == 211
    assert 6400 <= lists.mean() <= 7000  # HSCIC 2011: 6,651
    assert abs(np.median(lists) - 6085) < 250  # Cowling 2013
    q1, q3 = np.percentile(lists, [25, 75])
    assert abs(q1 - 3624) < 300 and abs(q3 - 9348) < 400
    assert lists.min() >= 762 and lists.max() <= 40327
    shares = np.bincount(ps.contract[:n], minlength=3) / n
    assert 0.52 <= shares[0] <= 0.58 and 0.38 <= shares[1] <= 0.44 and 0.02 <= shares[2] <= 0.05
    pops = cs.population
    assert abs(np.median(pops) - 221_000) < 30_000  # ONS 2012
    # Targets are clipped at 63,100; cutting shuffled practices into consecutive groups can leave a consortium
    # short by up to half a large list at each end (1 seed in 20 goes below 50,000).
    assert pops.min() >= 40_000 and pops.max() <= 900_000
    assert np.allclose(pops.sum(), lists.sum())


def test_status_quo_starts_in_the_published_ranges(national_model):
    first = national_model.metrics_frame().iloc[0]
    assert 0.049 <= first["exception_rate"] <= 0.056  # IC 2009/10-2010/11
    assert 160 <= first["prescribing_per_head_gbp"] <= 178  # NHS IC 2010: 169
    assert 9 <= first["outcome_mean"] <= 22  # King's Fund 2012


def test_same_seed_gives_identical_results():
    scenario = small("white_paper")
    a, b = run(scenario, 11), run(scenario, 11)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    pd.testing.assert_frame_equal(a.snapshots, b.snapshots)
    c = run(scenario, 12)
    assert not a.metrics.equals(c.metrics)


def test_scenarios_with_the_same_seed_share_their_population():
    a = run(small("status_quo"), 5).snapshots
    b = run(small("white_paper_sceptic"), 5).snapshots
    start_a, start_b = a[a["quarter"] == 0], b[b["quarter"] == 0]
    for column in ("practice_id", "consortium_id", "contract", "list_size", "deprivation", "quality"):
        assert start_a[column].tolist() == start_b[column].tolist(), column


def test_random_streams_stay_aligned_whatever_the_levers():
    # Each draw site draws the same number of values per quarter in any scenario, so a lever does not shift
    # the shocks of anything else. Poisson admission counts are the one exception (their number of
    # underlying draws depends on the rates); like every site they have a stream of their own.
    models = [CommissioningModel(small(name), seed=9) for name in ("status_quo", "white_paper_sceptic")]
    for _ in range(9):
        for model in models:
            model.step()
    a, b = (m.streams for m in models)
    for name in SITES:
        if name != "effort.admissions":
            assert a[name].bit_generator.state == b[name].bit_generator.state, name
    assert models[0].metrics_frame()["new_entrants"].sum() != models[1].metrics_frame()["new_entrants"].sum()


def test_outputs_have_the_documented_shape():
    result = run(small("delegation", quarters=9), 1)
    m = result.metrics
    assert list(m.columns) == ["quarter", "time_years", "financial_year", *METRIC_NAMES]
    assert m["quarter"].tolist() == list(range(10))
    assert m["financial_year"].iloc[1] == "2011/12" and m["financial_year"].iloc[5] == "2012/13"
    assert list(result.snapshots.columns) == list(SNAPSHOT_COLUMNS)
    assert sorted(result.snapshots["quarter"].unique()) == [0, 4, 8]
    meta = result.metadata
    for key in (
        "scenario_name",
        "scenario_hash",
        "seed",
        "model_version",
        "code_version",
        "package_versions",
        "scenario",
    ):
        assert key in meta
    assert meta["scenario"]["levers"]["delegation"]["mode"] == "all"


def test_snapshots_can_be_switched_off():
    result = run(small("status_quo", "run.snapshots=false"), 1)
    assert result.snapshots.empty and list(result.snapshots.columns) == list(SNAPSHOT_COLUMNS)


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_every_shipped_scenario_runs(name):
    result = run(load_scenario(name, ["run.scale=0.05", "run.quarters=8"]), 2)
    values = result.metrics[list(METRIC_NAMES)].to_numpy()
    assert np.isfinite(values).all()
    assert len(result.metrics) == 9


def test_practices_are_mesa_agents_viewing_the_arrays():
    model = CommissioningModel(small("delegation"), seed=4)
    practices = model.agents_by_type[Practice]
    assert len(practices) == model.practices.n
    poor = practices.select(lambda p: p.quality < 0.75)
    assert 0 < len(poor) < len(practices)
    one = next(iter(poor))
    assert one.quality == model.practices.quality[one.row]
    one.quality = 0.99  # writes through to the array the rules use
    assert model.practices.quality[one.row] == 0.99
    assert one.contract in ("GMS", "PMS", "APMS")
    leads = model.agents_by_type[ConsortiumLead]
    assert len(leads) == model.n_consortia
    lead = next(iter(leads))
    assert all(p.consortium_id == lead.row for p in lead.members())
    assert lead.delegated


def test_closed_practices_leave_the_agent_set():
    model = CommissioningModel(small("status_quo"), seed=4)
    practices = model.agents_by_type[Practice]
    rows = np.array([0, 1])
    from sim.agents.practice import redistribute_list

    redistribute_list(model.practices, model.practices.n, rows)
    model.drop_views(rows)
    assert len(model.agents_by_type[Practice]) == len(practices)  # same live set object
    assert all(p.row not in (0, 1) for p in model.agents_by_type[Practice])


def test_metrics_are_consistent_with_money_flows():
    m = run(small("white_paper", quarters=8), 3).metrics
    year_two = m[m["quarter"].between(5, 8)]
    assert year_two["qof_payments_gbp"].iloc[:3].sum() == 0  # QOF is paid at year end
    assert year_two["qof_payments_gbp"].iloc[3] > 0
    # Independent of how the metric is summed: each quarter, total cost less commissioning spend is what the
    # board's ledger says it paid out that quarter (core funding, QOF, premium, management allowance).
    model = CommissioningModel(small("white_paper", quarters=8), seed=3)
    paid = []
    for _ in range(8):
        before = model.ledger["board_paid"]
        model.step()
        paid.append(model.ledger["board_paid"] - before)
    frame = model.metrics_frame().iloc[1:]
    spend = frame["prescribing_spend_gbp"] + frame["acsc_cost_gbp"]
    assert np.allclose(frame["total_cost_gbp"] - spend, paid, rtol=1e-9)


def test_run_folder_snapshots_round_trip_exactly(tmp_path):
    """The default Parquet snapshots read back as the run's frame, every value and type; CSV on request."""
    result = run(small("white_paper", scale=0.05, quarters=8), 2)
    result.write(tmp_path / "p")
    back = pd.read_parquet(tmp_path / "p" / "snapshots.parquet")
    pd.testing.assert_frame_equal(back, result.snapshots, check_exact=True)
    result.write(tmp_path / "c", snapshot_format="csv")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["metadata.json", "metrics.csv", "snapshots.csv"]
    with pytest.raises(ValueError, match="snapshot_format"):
        result.write(tmp_path / "x", snapshot_format="feather")
