"""No chart of the briefing pack has overlapping text or text cut off at its edge: every chart that the
packs of a comparison, an uncertainty comparison, a sweep, a sensitivity analysis and a design search
make, checked from the rendered bounding boxes of its text (tests/chart_layout.py), not from pixels."""

from __future__ import annotations

import functools

import pytest
from chart_layout import defects
from report_data import SMALL, shared_store

from sim.metrics import HEADLINE_METRICS
from sim.report import _load
from sim.report_charts import chart_plan


@functools.cache
def _own_db() -> str:
    """Ten years of the README's four scenarios (ten financial-year ticks, yearly events, a constant series)
    and an uncertainty comparison of three."""
    import tempfile
    from pathlib import Path

    from sim.experiment import compare

    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='crsim-layout-')) / 'u.db'}"
    common = {"workers": 1, "db": url, "progress": False}
    compare(["status_quo", "delegation", "white_paper", "white_paper_sceptic"], reps=2, name="ten-years",
            overrides=("run.scale=0.02",), snapshots="first", **common)
    compare(["status_quo", "delegation", "white_paper"], uncertainty=16, reps=1, name="u", overrides=SMALL,
            **common)
    from sim.experiment import optimise

    levers = ["levers.quality_premium.per_head_gbp=0:20", "levers.quality_premium.distribution=none,contribution"]
    search = {"trials": 8, "population": 4, "reps": 1, "overrides": SMALL, **common}
    optimise("quality_premium", levers, ["outcome_mean=min", "total_cost_gbp=min"], name="search2", **search)
    optimise("quality_premium", levers, ["outcome_mean=min", "quality_mean=max", "total_cost_gbp=min"],
             name="search3", **search)
    optimise("quality_premium", levers, ["outcome_mean=min", "total_cost_gbp=min"], uncertainty=4,
             robust="percentile:10", constraints=["total_cost_gbp<=+0"], name="search-robust", **search)
    return url


def _plans() -> list[tuple[str, str]]:
    stored = shared_store()
    return [(stored.db, stored.compare), (stored.db, stored.sweep), (stored.db, stored.sobol),
            (stored.db, stored.morris), ("own", "u"), ("own", "ten-years"), ("own", "search2"), ("own", "search3"),
            ("own", "search-robust")]


@pytest.mark.parametrize(("db", "name"), _plans(), ids=lambda v: v.rsplit("/", 1)[-1])
def test_no_text_overlaps_or_is_cut_off(db: str, name: str) -> None:
    url = _own_db() if db == "own" else db
    ctx = _load(name, url, list(HEADLINE_METRICS), None)
    problems: dict[str, list[str]] = {}
    for stem, _section, make in chart_plan(ctx):
        fig = make()
        if fig is None:
            continue
        found = defects(fig)
        if found:
            problems[stem] = found
        fig.clear()
    assert not problems, "\n".join(f"{stem}: {p}" for stem, found in problems.items() for p in found)
