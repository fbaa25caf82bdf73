"""Property tests over random valid scenarios: money and patients are conserved, shares stay in [0, 1]."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.metrics import METRIC_NAMES
from sim.model import CommissioningModel
from sim.params import ContractModel, DelegationMode, PremiumDistribution, PremiumTarget
from sim.scenario import load_scenario


@st.composite
def scenarios(draw: st.DrawFn):
    """A random valid scenario: every lever family and some behavioural assumptions varied."""
    values = {
        "run.scale": draw(st.sampled_from([0.02, 0.03, 0.05])),
        "run.quarters": draw(st.integers(4, 14)),
        "levers.delegation.mode": draw(st.sampled_from([m.value for m in DelegationMode])),
        "levers.delegation.review_share_of_allowance": draw(st.floats(0.0, 0.2)),
        "levers.peer_challenge.enabled": draw(st.booleans()),
        "levers.peer_challenge.escalate_after": draw(st.integers(1, 6)),
        "levers.contract_actions.terminate_after_notices": draw(st.integers(1, 4)),
        "levers.qof.outcome_weight": draw(st.floats(0.0, 1.0)),
        "levers.qof.phase_in_years": draw(st.floats(0.0, 5.0)),
        "levers.qof.point_value_gbp": draw(st.floats(0.0, 300.0)),
        "levers.quality_premium.per_head_gbp": draw(st.floats(0.0, 20.0)),
        "levers.quality_premium.target": draw(st.sampled_from([t.value for t in PremiumTarget])),
        "levers.quality_premium.required_improvement": draw(st.floats(0.0, 0.05)),
        "levers.quality_premium.distribution": draw(st.sampled_from([d.value for d in PremiumDistribution])),
        "levers.contracts.model": draw(st.sampled_from([c.value for c in ContractModel])),
        "levers.contracts.convergence_years": draw(st.floats(0.25, 5.0)),
        "levers.market_entry.barriers": draw(st.floats(0.0, 1.0)),
        "levers.market_entry.entry_rate_per_year": draw(st.floats(0.0, 0.1)),
        "levers.patient_choice.switching_rate_per_year": draw(st.floats(0.0, 0.2)),
        "levers.finance.budget_headroom": draw(st.floats(-0.05, 0.1)),
        "assumptions.practice.autonomy_mean": draw(st.floats(0.0, 1.0)),
        "assumptions.practice.closure_after_quarters": draw(st.integers(1, 8)),
        "assumptions.leadership.skill_mean": draw(st.floats(0.0, 1.0)),
        "assumptions.leadership.willingness_mean": draw(st.floats(0.0, 1.0)),
        "assumptions.initial.cost_ratio_mean": draw(st.floats(0.9, 1.05)),
        "assumptions.context.population_growth_per_year": draw(st.sampled_from([0.0, 0.008, -0.02, 0.05])),
        "assumptions.context.merger_rate_per_year": draw(st.floats(0.0, 0.1)),
    }
    return load_scenario("status_quo", values), draw(st.integers(0, 10_000))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_hold_in_any_valid_scenario(case):
    scenario, seed = case
    model = CommissioningModel(scenario, seed=seed)
    patients_at_start = model.practices.list_size[: model.practices.n].sum()
    shares = (
        "quality",
        "recording",
        "exception_rate",
        "recorded_achievement",
        "achievement",
        "autonomy",
        "motivation",
        "effort_improve",
        "effort_record",
        "effort_prescribing",
    )
    growth = 1.0 + scenario.assumptions.context.population_growth_per_year
    for quarter in range(1, scenario.run.quarters + 1):
        model.step()
        ps, n = model.practices, model.practices.n
        open_ = ps.open[:n]
        for name in shares:
            values = getattr(ps, name)[:n][open_]
            assert np.all((values >= 0) & (values <= 1)), name
        effort = ps.effort_improve[:n] + ps.effort_record[:n] + ps.effort_prescribing[:n]
        assert np.all(effort <= ps.improvement_capacity[:n] + 1e-12)
        assert np.all(ps.list_size[:n][open_] >= 0)
        assert np.all(ps.list_size[:n][~open_] == 0)
        # Patients are conserved: closures, mergers, terminations, entry and choice only move them; the
        # population grows by its yearly rate at each year end.
        expected = patients_at_start * growth ** (quarter // 4)
        assert np.isclose(ps.list_size[:n].sum(), expected, rtol=1e-9)
        assert np.isclose(model.consortia.population.sum(), ps.list_size[:n][open_].sum(), rtol=1e-9)
        assert model.consortia.credibility.min() >= 0 and model.consortia.credibility.max() <= 1

    metrics = model.metrics_frame()
    values = metrics[list(METRIC_NAMES)].to_numpy()
    assert np.isfinite(values).all()
    # Money is conserved: what the board pays is what practices and consortia receive, and it is what
    # the metrics report as paid out.
    ledger = model.ledger
    assert np.isclose(ledger["board_paid"], ledger["practices_received"] + ledger["consortia_received"], rtol=1e-12)
    reported = metrics[["core_funding_gbp", "qof_payments_gbp", "quality_premium_gbp", "management_cost_gbp"]]
    assert np.isclose(reported.to_numpy().sum(), ledger["board_paid"], rtol=1e-9)
    assert metrics["consortia_delegated"].between(0, model.n_consortia).all()
    assert (metrics["single_contract_share"].between(0, 1)).all()
