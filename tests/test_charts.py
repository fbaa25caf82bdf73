"""Charts render from a small stored experiment (real model, real store): no warnings, not blank, the right
size at 300 dpi, valid SVG; and the numbers they draw follow the metric rules."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from report_data import Stored, ink, png_of, shared_store

from sim import charts
from sim.charts import style
from sim.charts.data import ChartError, horizon_values, yearly_flows
from sim.charts.funnel import fit_funnel, limits, overdispersion_tau2, standard_error
from sim.errors import SimError
from sim.metrics import metric


@pytest.fixture(scope="session")
def stored() -> Stored:
    return shared_store()


@pytest.fixture(scope="session")
def data(stored: Stored):
    from sim.experiment import Session

    with Session(stored.db) as session:
        return {name: session.load_experiment(name) for name in (stored.compare, stored.sweep, stored.sobol,
                                                                 stored.morris)}


def _compare(d):
    return d["four"]


CHARTS: dict[str, Callable[[dict], Figure]] = {
    "fan_level": lambda d: charts.fan_chart(_compare(d).metrics, "outcome_mean",
                                            **charts.experiment_style(_compare(d))),
    "fan_flow": lambda d: charts.fan_chart(_compare(d).metrics, "qof_payments_gbp"),
    "forest": lambda d: charts.forest_plot(_compare(d).summary, ["quality_mean", "outcome_mean", "total_cost_gbp"],
                                           **charts.experiment_style(_compare(d))),
    "funnel_outcome": lambda d: charts.funnel_plot(_compare(d).snapshots, "outcome"),
    "funnel_achievement": lambda d: charts.funnel_plot(_compare(d).snapshots, "achievement"),
    "funnel_prescribing": lambda d: charts.funnel_plot(_compare(d).snapshots, "prescribing",
                                                       scenarios=["status_quo"]),
    "distribution": lambda d: charts.quality_distribution(_compare(d).snapshots),
    "money": lambda d: charts.money_chart(_compare(d).metrics),
    "governance": lambda d: charts.governance_chart(_compare(d).metrics),
    "sobol": lambda d: charts.sensitivity_chart(d["sobol"].sensitivity, "quality_mean"),
    "morris": lambda d: charts.sensitivity_chart(d["morris"].sensitivity, "outcome_mean"),
    "sweep_1d": lambda d: charts.sweep_chart(d["sweep"].metrics, d["sweep"].runs, d["sweep"].design, "outcome_mean",
                                             ["assumptions.practice.gaming_propensity"]),
    "sweep_2d": lambda d: charts.sweep_chart(d["sweep"].metrics, d["sweep"].runs, d["sweep"].design,
                                             "qof_payments_gbp"),
    "sweep_lhs_like": lambda d: charts.sweep_chart(d["sobol"].metrics, d["sobol"].runs, d["sobol"].design,
                                                   "quality_mean"),
}


@pytest.mark.parametrize("name", list(CHARTS))
def test_chart_renders_at_300_dpi_without_warnings(name: str, data, recwarn: pytest.WarningsRecorder) -> None:
    fig = CHARTS[name](data)
    assert not recwarn.list, [str(w.message) for w in recwarn.list]
    image = png_of(fig, dpi=300)
    width_in, height_in = fig.get_size_inches()
    assert image.size == (int(width_in * 300), int(height_in * 300))  # matplotlib truncates
    assert image.info["dpi"] == pytest.approx((300, 300), abs=0.1)
    assert width_in == pytest.approx(16 / 2.54)  # half an A4 page wide
    variance, inked = ink(image)
    assert variance > 200, f"{name} looks blank (pixel variance {variance:.0f})"
    assert 0.02 < inked < 0.8, f"{name}: {inked:.1%} of pixels are not white"
    # Every chart has a title block and a footer: text at the very top and the very bottom.
    grey = np.asarray(image.convert("L"))
    assert (grey[: grey.shape[0] // 12] < 128).any(), "no title at the top"
    assert (grey[-grey.shape[0] // 20:] < 200).any(), "no footer at the bottom"


@pytest.mark.parametrize("name", ["fan_level", "forest", "funnel_outcome", "sobol"])
def test_chart_svg_parses(name: str, data) -> None:
    fig = CHARTS[name](data)
    buf = io.BytesIO()
    fig.savefig(buf, format="svg")
    root = ET.fromstring(buf.getvalue())
    assert root.tag.endswith("svg")
    assert len(list(root.iter())) > 100


def test_every_axis_has_a_unit(data) -> None:
    """House style: every labelled value axis says its unit in brackets."""
    for name in ("fan_level", "fan_flow", "sweep_1d", "sobol"):
        fig = CHARTS[name](data)
        for ax in fig.axes:
            for label in (ax.get_xlabel(), ax.get_ylabel()):
                if label:
                    assert "(" in label and ")" in label, f"{name}: axis label without unit: {label!r}"


def test_footer_names_scenarios_replications_seed_and_version(data) -> None:
    d = _compare(data)
    fig = charts.fan_chart(d.metrics, "quality_mean", **charts.experiment_style(d))
    texts = " ".join(t.get_text() for t in fig.texts)
    for word in ("status_quo", "white_paper", "3 replications", "seeds 1–3", "model 0.", "3% of England"):
        assert word in texts, word


def test_scenario_colours_are_stable_across_charts(data) -> None:
    """A scenario keeps its colour whether or not the chart draws the baseline."""
    d = _compare(data)
    kw = charts.experiment_style(d)
    assert list(kw["colours"]) == d.experiment["scenarios"]
    assert kw["colours"]["status_quo"] == style.OKABE_ITO[0]
    fan = charts.fan_chart(d.metrics, "outcome_mean", **kw)
    forest = charts.forest_plot(d.summary, ["outcome_mean"], **kw)

    def line_colours(fig: Figure) -> set[str]:
        from matplotlib.colors import to_hex

        return {to_hex(line.get_color()) for ax in fig.axes for line in ax.get_lines()}

    assert to_hex_upper(kw["colours"]["white_paper"]) in {c.upper() for c in line_colours(fan)}
    assert to_hex_upper(kw["colours"]["white_paper"]) in {c.upper() for c in line_colours(forest)}


def to_hex_upper(colour: str) -> str:
    return colour.upper()


def test_flows_are_summed_per_complete_financial_year(data) -> None:
    d = _compare(data)
    yearly = yearly_flows(d.metrics, "qof_payments_gbp")
    run = d.metrics[d.metrics["run_id"] == d.metrics["run_id"].iloc[0]]
    expected = run[(run["quarter"] >= 1) & (run["quarter"] <= 4)]["qof_payments_gbp"].sum()
    first = yearly[yearly["run_id"] == run["run_id"].iloc[0]].sort_values("year_end").iloc[0]
    assert first["value"] == pytest.approx(expected)
    assert first["year_end"] == pytest.approx(1.0)
    assert len(yearly) == d.metrics["run_id"].nunique() * 2  # 8 quarters = two complete years


def test_horizon_values_follow_the_metric_kind(data) -> None:
    d = _compare(data)
    run = d.metrics[d.metrics["run_id"] == d.metrics["run_id"].iloc[0]]
    level = horizon_values(run, "quality_mean")["value"].iloc[0]
    flow = horizon_values(run, "reviews")["value"].iloc[0]
    assert level == pytest.approx(run[run["quarter"] == 8]["quality_mean"].iloc[0])
    assert flow == pytest.approx(run[run["quarter"] > 4]["reviews"].sum())
    # the same numbers the experiment layer's summary uses
    summary = d.summary[(d.summary["metric"] == "reviews") & (d.summary["quarter"] == 8)]
    means = horizon_values(d.metrics, "reviews").groupby("scenario")["value"].mean()
    for row in summary.itertuples():
        assert means[row.scenario] == pytest.approx(row.mean)


def test_display_units() -> None:
    assert style.display_unit(metric("quality_mean")).text == "% of patients"
    assert style.display_unit(metric("quality_mean"), difference=True).text == "percentage points of patients"
    unit = style.display_unit(metric("qof_payments_gbp"), [2.5e7], per_year=True)
    assert (unit.text, unit.factor) == ("£ million a year", 1e-6)
    assert style.display_unit(metric("qof_payments_gbp"), [3e9], per_year=True).text == "£ billion a year"
    assert style.display_unit(metric("reviews")).text == "reviews a quarter"
    assert style.display_unit(metric("prescribing_per_head_gbp")).text == "£ per patient a year"


def test_funnel_limits_match_the_textbook_formulae() -> None:
    # Poisson: rate 15 per 1,000 a year in a list of 10,000 -> SE = sqrt(1000 * 15 / 10000)
    assert standard_error("poisson", 15.0, np.array([10_000.0]))[0] == pytest.approx(np.sqrt(1.5))
    assert standard_error("binomial", 0.9, np.array([400.0]))[0] == pytest.approx(0.015)
    assert standard_error("normal", 170.0, np.array([100.0]), cv=1.5)[0] == pytest.approx(25.5)
    # Data drawn from the null model: no overdispersion, and about 5% beyond 2 SE.
    rng = np.random.default_rng(3)
    n = rng.integers(2_000, 20_000, 4_000).astype(float)
    values = rng.poisson(0.015 * n) / n * 1000
    assert overdispersion_tau2(values, standard_error("poisson", 15.0, n), 15.0) < 0.05
    fit = fit_funnel(values, n, "poisson")
    assert fit.target == pytest.approx(15.0, rel=0.01)
    assert 0.03 < float(np.mean(np.abs(fit.z) > 2)) < 0.07
    lo, hi = limits(fit, "poisson", np.array([10_000.0]), 3.0)
    assert hi[0] - fit.target == pytest.approx(fit.target - lo[0])
    # Extra between-practice variation (SD 2) is estimated by moments without winsorising, and
    # conservatively (about two-thirds, as Spiegelhalter's 10% winsorising implies) with it.
    spread = values + rng.normal(0, 2.0, len(values))
    se = standard_error("poisson", 15.0, n)
    assert overdispersion_tau2(spread, se, 15.0, winsor=0.0) == pytest.approx(4.0, rel=0.15)
    assert 1.0 < fit_funnel(spread, n, "poisson").tau2 < 4.0


def test_unknown_metric_is_a_clear_error(data) -> None:
    with pytest.raises(SimError, match=r"Unknown metric 'no_such_metric'\. Valid metrics: quality_mean"):
        charts.fan_chart(_compare(data).metrics, "no_such_metric")


def test_missing_columns_and_empty_frames_are_clear_errors(data) -> None:
    metrics = _compare(data).metrics
    with pytest.raises(ChartError, match="needs columns scenario"):
        charts.fan_chart(metrics.drop(columns=["scenario"]), "quality_mean")
    with pytest.raises(ChartError, match="no data to draw"):
        charts.money_chart(metrics.iloc[0:0])
    with pytest.raises(ChartError, match="not in the data"):
        charts.fan_chart(metrics, "quality_mean", scenarios=["nonesuch"])
    with pytest.raises(ChartError, match="Unknown funnel measure"):
        charts.funnel_plot(_compare(data).snapshots, "happiness")
    with pytest.raises(ChartError, match="give one or two of the swept parameters"):
        charts.sweep_chart(data["sweep"].metrics, data["sweep"].runs, data["sweep"].design, "quality_mean", ["x"])


def test_charts_leave_no_global_pyplot_state(data) -> None:
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    charts.money_chart(_compare(data).metrics)
    assert len(plt.get_fignums()) == before


def test_yearly_flows_drop_part_years() -> None:
    frame = pd.DataFrame({
        "run_id": 1, "scenario": "a", "replication": 0, "quarter": range(7),
        "time_years": [q / 4 for q in range(7)],
        "financial_year": ["2011/12"] * 5 + ["2012/13"] * 2, "reviews": 1.0,
    })
    out = yearly_flows(frame, "reviews")
    assert out["financial_year"].tolist() == ["2011/12"]
    assert out["value"].tolist() == [4.0]


def test_snapshot_paths_are_real(tmp_path: Path, data) -> None:
    """Saving to each format the pack offers works from a Figure made without pyplot."""
    fig = CHARTS["money"](data)
    for fmt in ("png", "svg", "pdf"):
        fig.savefig(tmp_path / f"money.{fmt}", format=fmt)
        assert (tmp_path / f"money.{fmt}").stat().st_size > 5_000
    assert (tmp_path / "money.pdf").read_bytes().startswith(b"%PDF")
