"""The briefing pack of an uncertainty comparison: it leads with how likely each reform is to work, what
that hinges on and where it fails; a plain comparison's pack says its intervals cover simulation noise only."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiment import compare
from sim.experiment.store import ResultStore
from sim.report import build_report
from sim.report_uncertainty import Analysis, analyse, boxes_frame, percent, section
from sim.uncertainty.discovery import BOX_COLUMNS, describe_boxes
from sim.uncertainty.drivers import FRAME_COLUMNS
from sim.uncertainty.stored import UncertaintyData, load_uncertainty
from sim.uncertainty.summary import UNCERTAINTY_COLUMNS, summarise_draws

SMALL = ["run.scale=0.02", "run.quarters=8"]
DRAWS = 16
CELL = re.compile(r'data-scenario="([^"]+)" data-metric="([^"]+)" data-probability="([^"]+)">'
                  r'<span class="diff \w+"><span class="prob">([^<]+)</span>')


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One store with a 16-draw uncertainty comparison ('u') and a plain comparison ('plain')."""
    url = f"sqlite:///{tmp_path_factory.mktemp('unc') / 'u.db'}"
    common = {"overrides": SMALL, "workers": 1, "db": url, "progress": False}
    compare(["status_quo", "delegation"], uncertainty=DRAWS, reps=1, name="u", **common)
    compare(["status_quo", "delegation"], reps=2, name="plain", **common)
    return url


@pytest.fixture(scope="module")
def pack(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report("u", store_url, tmp_path_factory.mktemp("packs") / "u")


@pytest.fixture(scope="module")
def plain_pack(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report("plain", store_url, tmp_path_factory.mktemp("packs") / "plain")


@pytest.fixture(scope="module")
def stored(store_url: str) -> UncertaintyData:
    with ResultStore(store_url) as store:
        return load_uncertainty(store, "u")


def _page(pack: Path) -> tuple[str, str]:
    return (pack / "index.html").read_text(encoding="utf-8"), (pack / "summary.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ the pack


def test_uncertainty_section_leads_the_page(pack: Path) -> None:
    page, md = _page(pack)
    assert page.index('id="question"') < page.index('id="how-likely"') < page.index('id="scenarios"')
    assert page.index('id="how-likely"') < page.index('id="headline-results"')
    assert '<a href="#how-likely">' in page
    assert md.index("## The question") < md.index("## How likely each reform is to work") \
        < md.index("## The scenarios compared")
    for text in (page, md):
        text = html.unescape(text)
        assert f"{DRAWS} draws × 1 replication" in text
        assert "declared distributions" in text and "not cover the model's structural limits" in text


def test_probabilities_are_those_of_summarise_draws(pack: Path, stored: UncertaintyData) -> None:
    table = summarise_draws(stored.per_draw).set_index(["scenario", "metric"])
    page, md = _page(pack)
    cells = CELL.findall(page)
    shown = ["quality_mean", "quality_sd", "outcome_mean", "deprivation_gap", "prescribing_spend_gbp",
             "prescribing_per_head_gbp", "total_cost_gbp"]  # headline metrics with a better direction
    assert [(s, m) for s, m, _, _ in cells] == [("delegation", m) for m in shown]
    for scenario, metric, value, text in cells:
        expected = float(table.loc[(scenario, metric), "probability_better"])
        assert float(value) == pytest.approx(expected, abs=1e-12)
        assert text == percent(expected)
    row = next(line for line in md.splitlines() if line.startswith("| delegation | **"))
    assert re.findall(r"\*\*([^*]+)\*\*", row) == [text for *_, text in cells]


def test_tables_have_the_documented_columns(pack: Path, stored: UncertaintyData) -> None:
    unc = pd.read_csv(pack / "tables" / "uncertainty.csv")
    assert list(unc.columns) == list(UNCERTAINTY_COLUMNS)
    expected = summarise_draws(stored.per_draw)
    assert np.allclose(unc["probability_better"].to_numpy(float), expected["probability_better"].to_numpy(float),
                       equal_nan=True)
    drivers = pd.read_csv(pack / "tables" / "drivers.csv")
    assert list(drivers.columns) == list(FRAME_COLUMNS)
    assert {"quality_mean", "outcome_mean"} <= set(drivers["metric"])
    assert set(drivers["parameter"]) == set(stored.draws.columns)
    boxes = pd.read_csv(pack / "tables" / "boxes.csv")
    assert list(boxes.columns) == ["scenario", "metric", *BOX_COLUMNS]
    assert set(boxes["parameter"]) <= set(stored.draws.columns)
    for name in ("headline.csv", "summary.csv", "money.csv", "scenarios.csv", "runs.csv"):
        assert (pack / "tables" / name).is_file(), name


def _harmful_draws(per_draw: pd.DataFrame) -> dict[tuple[str, str], int]:
    from sim.metrics import METRICS_BY_NAME

    out = {}
    for (scenario, metric), rows in per_draw.groupby(["scenario", "metric"]):
        better = METRICS_BY_NAME[metric].better
        if better:
            diff = rows["difference"].to_numpy(float)
            out[(scenario, metric)] = int((diff < 0).sum() if better == "higher" else (diff > 0).sum())
    return out


def test_charts_of_the_pack(pack: Path, stored: UncertaintyData) -> None:
    page, _ = _page(pack)
    stems = {p.stem for p in (pack / "charts").glob("*.png")}
    assert {"drivers_delegation_quality_mean", "drivers_delegation_outcome_mean"} <= stems
    # the plain comparison's charts still work on pooled draws
    assert {"effects_1", "fan_quality_mean", "fan_outcome_mean", "money", "governance"} <= stems
    assert "<h3>What it hinges on</h3>" in page
    boxes = pd.read_csv(pack / "tables" / "boxes.csv")
    boxes = boxes[boxes["density"] >= 0.8 - 1e-9]  # a box short of the density asked for is not charted
    harmful = _harmful_draws(stored.per_draw)  # nor one fitted to fewer than five harmful draws
    expected = {f"boxes_{s}_{m}" for s, m in zip(boxes["scenario"], boxes["metric"], strict=True)
                if harmful[(s, m)] >= 5}
    assert {s for s in stems if s.startswith("boxes_")} == expected
    assert ("<h3>Where it fails</h3>" in page) == bool(expected)
    assert page.index("What it hinges on") < page.index('id="fan_quality_mean"')


def test_headline_table_pools_the_draws(pack: Path) -> None:
    page, md = _page(pack)
    assert 'id="headline"' in page
    assert f"The runs span {DRAWS} draws of the assumptions, paired by draw and replication" in html.unescape(page)
    assert f"The runs span {DRAWS} draws" in md
    assert "simulation noise only" not in page


def test_plain_comparison_says_its_intervals_cover_noise_only(plain_pack: Path) -> None:
    page, md = _page(plain_pack)
    for text in (html.unescape(page), md):
        assert "These intervals cover simulation noise only: every behavioural assumption is held at its " \
               "central value" in text
        assert "--uncertainty N" in text and "README" in text
        assert "How likely each reform is to work" not in text
    assert 'id="how-likely"' not in page
    assert not (plain_pack / "tables" / "uncertainty.csv").exists()


def test_an_earlier_horizon_is_read_at_that_horizon(store_url: str, tmp_path: Path) -> None:
    out = build_report("u", store_url, tmp_path / "h6", metrics=["quality_mean", "outcome_mean"], horizon=6)
    unc = pd.read_csv(out / "tables" / "uncertainty.csv")
    per_draw = pd.read_csv(out / "tables" / "per_draw.csv")
    assert np.allclose(summarise_draws(per_draw)["mean_difference"], unc["mean_difference"])
    page, _ = _page(out)
    assert [m for _, m, _, _ in CELL.findall(page)] == ["quality_mean", "outcome_mean"]


# ------------------------------------------------------------------------------------------ words


def _synthetic(n: int = 64, seed: int = 3) -> UncertaintyData:
    """Delegation harms quality exactly when leaders' skill is low and practices' autonomy high; it never
    raises admissions, and widens the spread of quality in only two draws."""
    rng = np.random.default_rng(seed)
    skill, autonomy = "assumptions.leadership.skill_mean", "assumptions.practice.autonomy_mean"
    draws = pd.DataFrame({skill: rng.uniform(0.2, 0.8, n), autonomy: rng.uniform(0.25, 0.75, n)},
                         index=pd.Index(range(n), name="point_id"))
    harm = (draws[skill] < 0.35) & (draws[autonomy] > 0.6)
    quality = np.where(harm, -0.01, 0.01) + rng.normal(0, 0.001, n)
    outcome = -0.5 - rng.uniform(0, 0.2, n)
    spread = np.where(np.arange(n) < 2, 0.001, -0.001)
    per_draw = pd.concat([
        pd.DataFrame({"scenario": "delegation", "metric": "quality_mean", "draw": draws.index, "difference": quality,
                      "baseline_value": 0.7, "value": 0.7 + quality}),
        pd.DataFrame({"scenario": "delegation", "metric": "outcome_mean", "draw": draws.index, "difference": outcome,
                      "baseline_value": 14.0, "value": 14.0 + outcome}),
        pd.DataFrame({"scenario": "delegation", "metric": "quality_sd", "draw": draws.index, "difference": spread,
                      "baseline_value": 0.03, "value": 0.03 + spread}),
    ], ignore_index=True)
    return UncertaintyData("synthetic", "status_quo", ["status_quo", "delegation"], draws, pd.DataFrame(),
                           per_draw, 2, {"draw_seed": 1})


def test_box_sentences_name_the_failure_region() -> None:
    data = _synthetic()
    analysis = analyse(data, pd.DataFrame(), ["quality_mean", "quality_sd", "outcome_mean"], 12)
    assert isinstance(analysis, Analysis)
    found = analysis.discoveries[("delegation", "quality_mean")]
    assert found.n_cases > 0 and len(found.boxes)
    box = found.boxes.set_index("parameter")
    assert box.loc["assumptions.leadership.skill_mean", "high"] == pytest.approx(0.35, abs=0.05)
    assert box.loc["assumptions.practice.autonomy_mean", "low"] == pytest.approx(0.6, abs=0.05)
    from sim.docs import parameter_label

    sentences = [s[0].upper() + s[1:] for s in describe_boxes(found, outcome="it does so", label=parameter_label)]
    words = section(analysis, {"delegation": "#E69F00"})
    page, md = words.html(), "\n".join(words.markdown())
    lead = f"Mean clinical quality</strong>: in {found.n_cases} of the 64 draws delegation lowers it. "
    assert lead in page and lead.replace("</strong>", "**") in md
    for text in (html.unescape(page), md):
        for sentence in sentences:
            assert sentence in text
        assert "No harm**: in none of the 64 draws does delegation raise avoidable emergency admissions." \
            in text.replace("</strong>", "**")
        assert "Rarely**: delegation raises spread of quality (SD) in 2 of the 64 draws: too few draws to tell " \
            "which assumptions lead there." in text.replace("</strong>", "**")
        assert "64 draws × 2 replications" in text
    assert parameter_label("assumptions.leadership.skill_mean") in sentences[0]
    frame = boxes_frame(analysis)
    assert list(frame.columns) == ["scenario", "metric", *BOX_COLUMNS]
    assert set(frame.loc[frame["density"] >= 0.8, "metric"]) == {"quality_mean"}  # boxes.csv keeps short boxes too
    assert "outcome_mean" not in set(frame["metric"])


def test_drivers_sentence_names_the_top_assumptions() -> None:
    analysis = analyse(_synthetic(), pd.DataFrame(), ["quality_mean", "outcome_mean"], 12)
    from sim.docs import parameter_label

    hinges = section(analysis, {}).rows[0].hinges
    top = analysis.drivers[analysis.drivers["metric"] == "quality_mean"].head(2)
    assert hinges.startswith("The difference delegation makes to mean clinical quality hinges most on ")
    for path in top["parameter"]:
        assert parameter_label(path) in hinges


def test_key_findings_agree_with_the_probabilities(pack: Path) -> None:
    """The box's verdicts use the section's probabilities and limits: better only where P(better) >= 90%,
    worse only where it is <= 10%; and it says what the intervals cover."""
    from sim.report_findings import LIKELY, UNLIKELY

    page, summary = _page(pack)
    assert page.index('id="key-findings"') < page.index('id="how-likely"')
    assert summary.index("## Key findings") < summary.index("## How likely")
    headline = pd.read_csv(pack / "tables" / "headline.csv")
    table = pd.read_csv(pack / "tables" / "uncertainty.csv").set_index(["scenario", "metric"])
    judged = headline[headline["verdict"].isin(["better", "worse"])]
    assert len(judged)  # delegation raises quality in these draws
    for row in judged.itertuples():
        p = table.loc[(row.scenario, row.metric), "probability_better"]
        assert (p >= LIKELY) if row.verdict == "better" else (p <= UNLIKELY), (row.scenario, row.metric, p)
    box = page[page.index('id="key-findings"'):page.index('id="question"')]
    assert f"of {DRAWS} draws" in box and "declared distributions" in box


def test_the_pack_is_the_same_with_its_analysis_over_two_processes(store_url: str, pack: Path,
                                                                   tmp_path: Path) -> None:
    """Surrogates and PRIM searches spread over processes (one (scenario, metric) each), and the charts
    saved there, change nothing: the same summary, tables and chart files, bar the time the pack was
    generated and where it was written."""
    from sim.uncertainty.drivers import forget_results

    forget_results()  # fitted again in the workers, not taken from this process
    spread = build_report("u", store_url, tmp_path / "u2", workers=2)

    def text(folder: Path) -> str:
        return re.sub(r"(Report generated|Regenerate with): .*", "", (folder / "summary.md").read_text())

    assert text(spread) == text(pack)
    files = sorted(p.relative_to(pack) for p in [*(pack / "tables").glob("*.csv"), *(pack / "charts").iterdir()])
    assert len(files) > 8
    assert files == sorted(p.relative_to(spread) for p in [*(spread / "tables").glob("*.csv"),
                                                           *(spread / "charts").iterdir()])
    for file in files:
        assert (spread / file).read_bytes() == (pack / file).read_bytes(), file
