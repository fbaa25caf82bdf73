"""The design search (issue 16): fronts known by construction, robustness, resuming, bad input.

Searches here are small (3% of England, three years, a few replications), so each takes seconds; the
samplers are seeded, so every search is deterministic and a test that passes once passes always.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiment import Session
from sim.experiment.running import NoProgress
from sim.optimise.measures import pareto_mask
from sim.optimise.spec import parse_constraint, parse_lever, parse_robustness

SMALL = ["run.scale=0.03", "run.quarters=12"]
PREMIUM = "levers.quality_premium.per_head_gbp"
ALLOWANCE = "levers.finance.management_allowance_per_head_gbp"
COST_AND_ADMISSIONS = ["outcome_mean=min", "total_cost_gbp=min"]


@pytest.fixture
def session(tmp_path):
    with Session(db=f"sqlite:///{tmp_path / 'search.db'}", workers=1) as s:
        yield s


# ------------------------------------------------------------------------------------------ parsing


def test_levers_constraints_and_robustness_parse_as_written():
    premium = parse_lever(f"{PREMIUM}=0:20")
    assert (premium.kind, premium.low, premium.high) == ("number", 0.0, 20.0)
    rule = parse_lever("levers.quality_premium.distribution=none,per_head")
    assert rule.kind == "choice" and rule.choices == ("none", "per_head")
    assert parse_lever("levers.peer_challenge.enabled=true,false").choices == (True, False)
    assert parse_lever(f"{PREMIUM}=0,5,10").choices == (0.0, 5.0, 10.0)
    assert parse_constraint("total_cost_gbp<=+0").relative
    assert not parse_constraint("total_cost_gbp<=1.5e10").relative
    assert parse_constraint("quality_mean>=-0.01").violation(0.0) == pytest.approx(-0.01)
    assert parse_robustness("percentile:10").percent == 10


def test_the_front_keeps_exactly_the_non_dominated_designs():
    scores = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.4, 0.4], [1.0, 0.0]])
    assert pareto_mask(scores).tolist() == [True, True, True, False, True]


REFUSED = [
    (["--lever", f"{PREMIUM}=0:20", "--objective", "admissions=min"], "'admissions' is not a metric"),
    (["--lever", "levers.quality_premium.per_head=0:20", "--objective", "outcome_mean=min"],
     "is not a scenario parameter"),
    (["--lever", f"{PREMIUM}=0:80", "--objective", "outcome_mean=min"], "allows 0 to 50"),
    (["--lever", f"{PREMIUM}=0:20", "--objective", "outcome_mean=min", "--trials", "0"],
     "--trials must be at least 1, not 0"),
    (["--lever", "levers.quality_premium.distribution=none,bonus", "--objective", "outcome_mean=min"],
     "does not allow bonus; it allows none, per_head, contribution, review_capacity"),
    (["--lever", "assumptions.leadership.skill_mean=0.2:0.8", "--objective", "outcome_mean=min"],
     "is an assumption, not a policy lever"),
    (["--lever", f"{PREMIUM}=0:20", "--objective", "outcome_mean=best"], "expected METRIC=max or METRIC=min"),
    (["--lever", f"{PREMIUM}=0:20", "--objective", "outcome_mean=min", "--constraint", "total_cost_gbp<5"],
     "expected METRIC<=VALUE or METRIC>=VALUE"),
    (["--lever", f"{PREMIUM}=0:20", "--objective", "outcome_mean=min", "--robust", "percentile:10"],
     "needs draws of the assumptions"),
    (["--lever", f"{PREMIUM}=0:20", "--objective", "outcome_mean=min", "--robust", "worst"],
     "expected mean, regret or percentile:P"),
    (["--lever", f"{PREMIUM}=0:20", "--lever", f"{PREMIUM}=0:10", "--objective", "outcome_mean=min"],
     "given more than once"),
    (["--objective", "outcome_mean=min"], "Give at least one --lever"),
    (["--lever", f"{PREMIUM}=0:20", "--objective", "outcome_mean=min", "--years", "2", "--quarters", "8"],
     "--years or --quarters, not both"),
]


@pytest.mark.parametrize(("args", "fragment"), REFUSED, ids=[r[1][:40] for r in REFUSED])
def test_bad_input_is_refused_before_any_run(args, fragment, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRSIM_DB_URL", raising=False)
    code = main(["optimise", "status_quo", *args, "--scale", "0.01", "--no-progress", "--workers", "1"])
    captured = capsys.readouterr()
    message = " ".join((captured.err + captured.out).split())
    assert code == 2, message
    assert "Traceback" not in message
    assert fragment in message, message
    assert list(tmp_path.iterdir()) == [], "a refused search wrote something"


# ------------------------------------------------------------------------------------------ fronts


def test_a_lever_that_only_adds_cost_never_appears_above_zero_on_the_front(session):
    """Under the status quo (no delegation) the management allowance buys nothing but cost, while the
    premium buys fewer admissions at a price: every design on the front spends no allowance, and the front
    keeps the premium's trade-off."""
    result = session.optimise("status_quo", [f"{PREMIUM}=0,10,20", f"{ALLOWANCE}=0,20"], COST_AND_ADMISSIONS,
                              trials=16, population=8, reps=2, overrides=SMALL)
    assert len(result.trials) == 16 and result.trials["complete"].all()
    assert set(result.trials[ALLOWANCE]) == {0.0, 20.0}  # the search did try spending it
    assert (result.front[ALLOWANCE] == 0).all(), result.front
    assert result.front[PREMIUM].nunique() >= 2, "the premium's trade-off should stay on the front"
    assert result.front["outcome_mean_diff"].is_monotonic_increasing  # sorted by the first objective


def test_switching_off_the_premiums_peer_pressure_collapses_the_front_to_no_premium(session):
    """The mechanism: the premium lowers admissions only through the pressure its prospect lets a lead put
    on members (premium.peer_internalisation). With that at zero the premium is a pure cost, and the only
    design left on the front is the one that pays nothing."""
    result = session.optimise("status_quo", [f"{PREMIUM}=0,10,20", f"{ALLOWANCE}=0,20"], COST_AND_ADMISSIONS,
                              trials=16, population=8, reps=2,
                              overrides=[*SMALL, "assumptions.premium.peer_internalisation=0"])
    assert np.allclose(result.trials["outcome_mean_diff"], 0.0)
    assert result.front[[PREMIUM, ALLOWANCE]].to_numpy().tolist() == [[0.0, 0.0]]


def test_with_one_objective_the_search_beats_a_sweep_of_the_same_budget(session):
    """TPE with 24 trials against a Latin hypercube of 24 points, and a 5 x 5 grid, over the same two
    levers and on the same seeds: the search's best design is at least as good as every point of either."""
    result = session.optimise("status_quo", [f"{PREMIUM}=0:20", "levers.qof.outcome_weight=0:1"],
                              ["outcome_mean=min"], trials=24, reps=2, overrides=SMALL)
    lhs = session.sweep("status_quo", [f"{PREMIUM}=0:20", "levers.qof.outcome_weight=0:1"], design="lhs",
                        samples=24, reps=2, overrides=SMALL)
    grid = session.sweep("status_quo", [f"{PREMIUM}=0:20:5", "levers.qof.outcome_weight=0:1:5"], reps=2,
                         overrides=SMALL)
    found = result.base["outcome_mean_mean"] + result.front["outcome_mean_diff"].iloc[0]
    assert len(result.front) == 1
    for swept in (lhs, grid):
        assert found <= swept.table.groupby("point_id")["outcome_mean"].mean().min() + 1e-12


def test_a_budget_neutral_constraint_keeps_only_designs_that_cost_no_more(session):
    result = session.optimise("quality_premium", [f"{PREMIUM}=0:20"], COST_AND_ADMISSIONS,
                              constraints=["total_cost_gbp<=+0"], trials=12, population=6, reps=2, overrides=SMALL)
    column = "total_cost_gbp_diff (<=+0)"
    assert (~result.trials["feasible"]).any() and result.trials["feasible"].any()
    assert (result.trials.loc[result.trials["feasible"], column] <= 0).all()
    assert (result.front["total_cost_gbp_diff"] <= 0).all()
    unconstrained = session.optimise("quality_premium", [f"{PREMIUM}=0:20"], COST_AND_ADMISSIONS, trials=12,
                                     population=6, reps=2, overrides=SMALL)
    assert (unconstrained.front["total_cost_gbp_diff"] > 0).any()  # the constraint is what removed them


def test_robust_search_prefers_the_design_that_holds_up_when_leaders_are_weak(session, tmp_path):
    """By construction: a failed challenge costs a practice half its goodwill, for good, and the leads'
    skill and willingness are anywhere from poor to excellent. Delegating to every consortium is best on
    average, but where leaders are weak it does harm; conditional authorisation screens weak leaders out,
    so it never does. The mean prefers blanket delegation; the worst tenth of draws prefers conditional."""
    fragile = tmp_path / "fragile.yaml"
    fragile.write_text(textwrap.dedent("""\
        extends: status_quo
        name: fragile
        description: Failed challenges cost goodwill for good; leadership very uncertain.
        assumptions:
          practice:
            failed_challenge_goodwill_loss: 0.5
            motivation_recovery: 0.0
        uncertainty:
          assumptions.leadership.skill_mean: {distribution: uniform, low: 0.05, high: 0.95}
          assumptions.leadership.willingness_mean: {distribution: uniform, low: 0.05, high: 0.95}
        """))
    lever = ["levers.delegation.mode=all,conditional"]
    scores = {}
    for robust in ("mean", "percentile:10"):
        result = session.optimise(str(fragile), lever, ["quality_mean=max"], trials=4, population=4, reps=1,
                                  uncertainty=16, robust=robust, overrides=SMALL)
        table = result.trials.drop_duplicates("levers.delegation.mode").set_index("levers.delegation.mode")
        assert {"all", "conditional"} <= set(table.index)
        column = "quality_mean_diff" if robust == "mean" else "quality_mean_diff_p10"
        scores[robust] = table[column]
        assert result.front["levers.delegation.mode"].iloc[0] == ("all" if robust == "mean" else "conditional")
    assert scores["mean"]["all"] > scores["mean"]["conditional"] > 0
    assert scores["percentile:10"]["all"] < 0 <= scores["percentile:10"]["conditional"]
    regret = session.optimise(str(fragile), lever, ["quality_mean=max"], trials=4, population=4, reps=1,
                              uncertainty=16, robust="regret", overrides=SMALL)
    assert regret.outcome.computed == 0  # the same designs at the same draws: every run is stored already
    assert (regret.trials["quality_mean_regret"] >= 0).all() and len(regret.front) == 1


# ------------------------------------------------------------------------------------------ resuming


class _StopAfter(NoProgress):
    """Interrupts a search as Ctrl-C would, once ``n`` runs are stored."""

    def __init__(self, n: int) -> None:
        self.n = n

    def advance(self, outcome) -> None:
        if outcome.done >= self.n:
            raise KeyboardInterrupt


def test_an_interrupted_search_resumes_to_the_same_front_reusing_its_runs(tmp_path):
    args = ("status_quo", [f"{PREMIUM}=0:20", "levers.qof.outcome_weight=0:1"], COST_AND_ADMISSIONS)
    kwargs = {"trials": 12, "population": 4, "reps": 2, "overrides": SMALL, "name": "resumable"}
    with Session(db=f"sqlite:///{tmp_path / 'whole.db'}", workers=1) as s:
        whole = s.optimise(*args, **kwargs)
    url = f"sqlite:///{tmp_path / 'cut.db'}"
    with Session(db=url, workers=1, progress=_StopAfter(11)) as s, pytest.raises(KeyboardInterrupt):
        s.optimise(*args, **kwargs)
    with Session(db=url, workers=1) as s:
        assert s.list_experiments().set_index("name").loc["resumable", "status"] == "interrupted"
        resumed = s.optimise(*args, **kwargs)
    assert resumed.outcome.resumed and resumed.outcome.reused >= 11
    assert resumed.outcome.computed + resumed.outcome.reused == whole.outcome.total == 26
    pd.testing.assert_frame_equal(resumed.front, whole.front)


@pytest.mark.slow
def test_a_local_pool_finds_the_same_front_as_one_process(tmp_path):
    args = ("quality_premium", [f"{PREMIUM}=0:20", "levers.quality_premium.distribution=none,per_head"],
            COST_AND_ADMISSIONS)
    kwargs = {"trials": 8, "population": 4, "reps": 2, "overrides": SMALL}
    fronts = []
    for workers in (1, 2):
        with Session(db=f"sqlite:///{tmp_path / f'w{workers}.db'}", workers=workers) as s:
            fronts.append(s.optimise(*args, **kwargs).front)
    pd.testing.assert_frame_equal(*fronts)


# ------------------------------------------------------------------------------------------ the command


def test_the_command_prints_the_front_and_writes_pareto_csv_and_its_chart(tmp_path, capsys):
    out, db = tmp_path / "out", f"sqlite:///{tmp_path / 'cli.db'}"
    args = ["optimise", "quality_premium", "--lever", f"{PREMIUM}=0:20", "--lever",
            "levers.quality_premium.distribution=none,per_head,contribution", "--objective", "outcome_mean=min",
            "--objective", "total_cost_gbp=min", "--trials", "8", "--population", "4", "--reps", "2",
            "--scale", "0.03", "--years", "3", "--workers", "1", "--no-progress", "--db", db, "--out", str(out),
            "--name", "cli-search"]
    assert main(args) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "designs on the front, as differences from quality_premium" in printed
    assert "England" in printed  # money at 3% of England is shown for all of it
    front = pd.read_csv(out / "pareto.csv")
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 8 and 1 <= len(front) <= 8
    assert {"trial", PREMIUM, "outcome_mean_diff", "outcome_mean_diff_ci_low", "total_cost_gbp_mean"} <= set(front)
    assert (out / "pareto.png").stat().st_size > 10_000
    assert main(args) == 0  # again: every run reused
    assert "0 runs computed, 18 reused" in " ".join(capsys.readouterr().out.split())

    from sim.report import build_report

    pack = build_report("cli-search", db, tmp_path / "pack")
    assert (pack / "charts" / "pareto.png").exists()
    assert pd.read_csv(pack / "tables" / "pareto.csv")["trial"].tolist() == front["trial"].tolist()
    summary = (pack / "summary.md").read_text()
    assert "give the best trade-offs between lower avoidable emergency admissions and lower total cost" in summary
    listed = [f"trial-{t:05d}" for t in front["trial"]]
    assert all(label in summary for label in listed)
    findings = summary.split("## Key findings", 1)[1].split("## The question", 1)[0]
    assert "- **best on avoidable emergency admissions: per head" in findings
    assert "- **best on total cost to the NHS: per head" in findings
    headline = summary.split("## Headline results", 1)[1].split("## Charts", 1)[0]
    assert "The designs on the Pareto front" in headline
    assert headline.count("\n| ") == len(front) + 1  # the header and one row per design on the front
    assert "£ million a year" in headline or "£ billion a year" in headline  # money for England, a year
    tried_only = set(trials["trial"]) - set(front["trial"])
    assert not any(f"### trial-{t:05d}" in summary for t in tried_only), "the pack lists designs off the front"


def test_the_python_shortcut_returns_dataframes(tmp_path):
    from sim.experiment import optimise

    res = optimise("quality_premium", [f"{PREMIUM}=0:20"], ["outcome_mean=min"], trials=4, reps=1, workers=1,
                   overrides=SMALL, db=f"sqlite:///{tmp_path / 'py.db'}")
    assert isinstance(res.front, pd.DataFrame) and isinstance(res.trials, pd.DataFrame)
    assert len(res.front) == 1  # one objective: one best design
    best = res.trials.loc[res.trials["outcome_mean_diff"].idxmin(), "trial"]
    assert res.front["trial"].iloc[0] == best


# ------------------------------------------------------------------------------------------ measures and charts


def test_robust_measures_read_the_bad_tail_and_regret_against_the_best_at_each_draw():
    from sim.optimise.measures import objective_measure, regrets
    from sim.optimise.spec import Objective, Robustness

    base = {"m": np.zeros((10, 1))}
    steady = {"m": np.full((10, 1), 1.0)}  # +1 at every draw
    fragile = {"m": np.array([[3.0]] * 8 + [[-2.0]] * 2)}  # better on average, bad in 2 draws of 10
    up = Objective("m", "max")
    assert objective_measure(fragile, base, up, Robustness("mean")) > objective_measure(steady, base, up,
                                                                                        Robustness("mean"))
    p10 = Robustness("percentile", 10.0)
    assert objective_measure(fragile, base, up, p10) < 0 < objective_measure(steady, base, up, p10)
    # minimising, the bad tail is the high one
    assert objective_measure(fragile, base, Objective("m", "min"), p10) == pytest.approx(3.0)
    regret = regrets({"base": base, "steady": steady, "fragile": fragile}, [up])
    assert regret["fragile"] == [pytest.approx(3.0)]  # at the two bad draws steady does 3 better
    assert regret["steady"] == [pytest.approx(2.0)]  # elsewhere fragile does 2 better
    assert regret["base"] == [pytest.approx(3.0)]


def test_three_objectives_draw_parallel_coordinates_with_money_for_england():
    from sim.charts.pareto import Axis, pareto_chart

    rng = np.random.default_rng(1)
    trials = pd.DataFrame({"a": rng.normal(size=12), "b": rng.normal(size=12), "c": rng.normal(size=12) * 1e6,
                           "complete": True, "feasible": True})
    trials["on_front"] = pareto_mask(trials[["a", "b", "c"]].to_numpy() * np.array([-1, 1, -1]))
    axes = [Axis("a", "outcome_mean", "min"), Axis("b", "quality_mean", "max"), Axis("c", "total_cost_gbp", "min")]
    fig = pareto_chart(trials, axes, base="BASE", scale=0.25)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert len(ticks) == 3 and "England" in ticks[2]
    assert len(fig.axes[0].lines) >= 12 + 3  # a line per design, and each objective's axis
    fig2 = pareto_chart(trials, axes[:2], base="BASE")
    assert "on the front" in [t.get_text() for t in fig2.legends[0].get_texts()]


def test_no_design_on_a_long_front_takes_the_colour_of_base():
    from sim.report_optimise import colours

    labels = ["BASE", *[f"trial-{k:05d}" for k in range(20)]]
    given = colours(labels)
    assert given["BASE"] == "#000000"
    assert "#000000" not in [given[label] for label in labels[1:]]
