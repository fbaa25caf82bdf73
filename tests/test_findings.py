"""Key findings and the number style: verdicts decided by materiality, natural units, money for England,
no scientific notation, and a pack that leads with the box and can be regenerated exactly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import run_cli
from report_data import Stored, shared_store

from sim.metrics import METRICS, material_threshold, metric
from sim.numbers import DisplayUnit, decimals_for, display_unit, fmt_interval, fmt_number, fmt_quantity, format_number
from sim.report import build_report
from sim.report_text import BETTER, NO_CHANGE, UNSURE, WORSE, verdict


@pytest.fixture(scope="module")
def stored() -> Stored:
    return shared_store()


# ------------------------------------------------------------------------------------------ rules


def test_verdict_needs_a_material_and_sure_effect() -> None:
    assert verdict("higher", 0.0003, 0.005, True) == NO_CHANGE  # sure, but trivial
    assert verdict("higher", 0.01, 0.005, True) == BETTER
    assert verdict("higher", -0.01, 0.005, True) == WORSE
    assert verdict("lower", -0.01, 0.005, True) == BETTER
    assert verdict("lower", 0.01, 0.005, False) == UNSURE
    assert verdict(None, 0.01, 0.005, True) == ""


def test_every_directed_headline_metric_declares_a_material_threshold() -> None:
    for spec in METRICS:
        if spec.headline and spec.better:
            assert spec.material is not None and spec.material > 0, spec.name


def test_material_money_is_for_england_and_overridable() -> None:
    assert material_threshold("total_cost_gbp", 0.2) == pytest.approx(metric("total_cost_gbp").material * 0.2)
    assert material_threshold("quality_mean", 0.2) == metric("quality_mean").material  # a share needs no scaling
    assert material_threshold("quality_mean", 1.0, {"quality_mean": 0.02}) == 0.02


def test_numbers_never_use_scientific_notation() -> None:
    for value in (-3.31e-04, 2.5e-7, 1.234e9, 0.0001):
        for text in (fmt_number(value), format_number(value)):
            assert "e" not in text.lower().replace("bn", ""), text
    assert fmt_number(-0.000331) == "−0.000331"
    assert fmt_number(0.0001, decimals=2) == "0.00"  # no "−0.00" either
    assert fmt_number(-0.0001, decimals=2) == "0.00"


def test_an_interval_gets_the_decimals_that_tell_its_ends_apart() -> None:
    d = decimals_for([16.62], [16.64 - 16.60])
    assert fmt_interval(16.60, 16.64, decimals=d) == "[16.60 to 16.64]"


def test_money_is_scaled_to_england_and_labelled() -> None:
    unit = display_unit(metric("total_cost_gbp"), [3.3e9], per_year=True, scale=0.2)
    assert unit.text == "£ billion a year, England"
    assert unit.apply(3.3e9) == pytest.approx(16.5)
    diff = display_unit(metric("total_cost_gbp"), [2.93e6 * 0.2], per_year=True, difference=True, scale=0.2)
    assert diff.text == "£ million a year, England" and diff.apply(2.93e6 * 0.2) == pytest.approx(2.93)
    rate = display_unit(metric("prescribing_per_head_gbp"), [161.0], scale=0.2)
    assert rate.factor == 1.0 and "England" not in rate.text
    assert display_unit(metric("quality_sd"), difference=True).text == "percentage points of patients"


def test_quantities_read_as_prose() -> None:
    money = DisplayUnit(1e-6, "£ million a year, England")
    assert fmt_quantity(-10.5, money, decimals=1, signed=True) == "−£10.5m a year"
    assert fmt_quantity(1.44, DisplayUnit(100, "percentage points of patients"), decimals=2, signed=True) \
        == "+1.44 percentage points"
    rate = DisplayUnit(1, "per 1,000 patients a year")
    assert fmt_quantity(-0.21, rate, decimals=2) == "−0.21 per 1,000 patients a year"


# ------------------------------------------------------------------------------------------ the pack


@pytest.fixture(scope="module")
def pack(stored: Stored, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(stored.compare, stored.db, tmp_path_factory.mktemp("findings") / "pack")


def test_key_findings_come_first(pack: Path) -> None:
    page = (pack / "index.html").read_text(encoding="utf-8")
    assert page.index('id="key-findings"') < page.index('id="question"') < page.index('id="headline-results"')
    summary = (pack / "summary.md").read_text(encoding="utf-8")
    assert summary.index("## Key findings") < summary.index("## The question")
    box = page[page.index('id="key-findings"'):page.index("</section>", page.index('id="key-findings"'))]
    for scenario in ("delegation", "qof_outcomes", "white_paper"):
        assert f'data-scenario="{scenario}"' in box
    assert "What the intervals cover" in box and "simulation noise only" in box
    assert "Money is for England" in box  # the runs simulate 3% of it
    assert re.search(r"£[\d.,]+(m|bn|k)? a year", box)
    assert not re.search(r"\de[-+]?\d", box)


def test_a_large_threshold_makes_every_effect_immaterial(stored: Stored, tmp_path: Path) -> None:
    huge = {"quality_mean": 1.0, "quality_sd": 1.0, "outcome_mean": 1e6, "deprivation_gap": 1e6,
            "prescribing_spend_gbp": 1e15, "prescribing_per_head_gbp": 1e6, "total_cost_gbp": 1e15}
    out = build_report(stored.compare, stored.db, tmp_path / "pack", material=huge)
    page = (out / "index.html").read_text(encoding="utf-8")
    box = page[page.index('id="key-findings"'):page.index('id="question"')]
    assert ">better on<" not in box and ">worse on<" not in box
    assert "no material change in" in box
    import pandas as pd

    table = pd.read_csv(out / "tables" / "headline.csv")
    directed = table[table["metric"].isin(list(huge)) & table["difference_from_baseline"].notna()]
    assert set(directed["verdict"]) == {NO_CHANGE}


def test_regenerate_line_reproduces_the_pack(stored: Stored, tmp_path: Path) -> None:
    out = tmp_path / "first"
    proc = run_cli("report", stored.compare, "--db", stored.db, "--out", str(out), "--metrics",
                   "quality_mean,outcome_mean", "--material", "quality_mean=0.01", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    import json

    command = json.loads((out / "provenance.json").read_text())["regenerate"]
    assert "--db" in command and str(out) in command and "quality_mean=0.01" in command
    first = (out / "index.html").read_text(encoding="utf-8")
    (out / "index.html").unlink()  # the same command again writes the same page (but for its timestamp)
    import shlex

    again = run_cli(*shlex.split(command)[2:])
    assert again.returncode == 0, again.stderr

    def strip(text: str) -> str:
        return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", text)

    assert strip((out / "index.html").read_text(encoding="utf-8")) == strip(first)


def test_formats_take_one_syntax_everywhere(stored: Stored, tmp_path: Path) -> None:
    """`report --formats png svg` as `compare --formats png svg` takes it (and the comma form too)."""
    proc = run_cli("report", stored.compare, "--db", stored.db, "--out", str(tmp_path / "p"), "--formats", "png",
                   "svg", "--metrics", "quality_mean", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "p" / "charts" / "fan_quality_mean.svg").is_file()


def test_bad_material_is_refused_before_any_work(stored: Stored, tmp_path: Path) -> None:
    for bad, said in (("quality_mean", "expected METRIC=DELTA"), ("happiness=1", "unknown metric 'happiness'"),
                      ("achievement_mean=0.01", "has no better direction")):
        proc = run_cli("report", stored.compare, "--db", stored.db, "--out", str(tmp_path / "p"), "--material", bad)
        assert proc.returncode == 2 and said in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert not (tmp_path / "p").exists()
