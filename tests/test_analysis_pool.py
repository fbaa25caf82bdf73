"""A comparison's analyses spread over processes give what one process gives, and what was fitted is reused
only for the same inputs (issue 14: the briefing pack's analysis after the runs)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from sim.experiment.errors import ExperimentError
from sim.uncertainty import drivers as drivers_module
from sim.uncertainty import pool
from sim.uncertainty.discovery import discover, discover_each
from sim.uncertainty.drivers import drivers_frame, forget_results


def draws_table(n: int = 32, d: int = 5) -> pd.DataFrame:
    x = np.random.default_rng(11).random((n, d))
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(d)], index=pd.RangeIndex(n, name="draw"))


def per_draw_table(draws: pd.DataFrame) -> pd.DataFrame:
    """Four (scenario, metric) pairs, each driven by another assumption."""
    blocks = []
    for k, (scenario, metric) in enumerate([("a", "quality_mean"), ("a", "outcome_mean"),
                                            ("b", "quality_mean"), ("b", "outcome_mean")]):
        y = draws[f"x{k}"].to_numpy() + 0.5 * draws["x4"].to_numpy() ** 2
        blocks.append(pd.DataFrame({"scenario": scenario, "metric": metric, "draw": draws.index, "difference": y}))
    return pd.concat(blocks, ignore_index=True)


def test_processes_are_used_only_where_there_are_enough_tasks():
    assert pool.processes_for(8, pool.MIN_TASKS - 1) == 1
    assert pool.processes_for(1, 50) == 1
    assert pool.processes_for(3, pool.MIN_TASKS) == 3
    assert pool.processes_for(8, pool.MIN_TASKS) == pool.MIN_TASKS  # at most one per task
    assert pool.processes_for(None, 1000) == (os.cpu_count() or 1)


def test_drivers_in_two_processes_are_those_of_one():
    draws = draws_table()
    per_draw = per_draw_table(draws)
    alone = drivers_frame(per_draw, draws, seed=3, workers=1)
    forget_results()
    spread = drivers_frame(per_draw, draws, seed=3, workers=2)
    pd.testing.assert_frame_equal(alone, spread, check_exact=True)
    top = alone.loc[alone.groupby(["scenario", "metric"], sort=False)["total"].idxmax(), "parameter"].tolist()
    assert top == ["x0", "x1", "x2", "x3"]


def test_a_failing_pair_is_named_in_either_mode():
    draws = draws_table(n=12)  # fewer draws than variance_drivers accepts
    per_draw = per_draw_table(draws)
    for workers in (1, 2):
        forget_results()
        with pytest.raises(ExperimentError, match=r"^Scenario a, metric quality_mean: .*draws"):
            drivers_frame(per_draw, draws, workers=workers)


def test_drivers_are_refitted_only_for_inputs_not_seen_before(monkeypatch):
    fitted: list[int] = []
    real = drivers_module._drivers_task

    def counting(args):
        fitted.append(1)
        return real(args)

    monkeypatch.setattr(drivers_module, "_drivers_task", counting)
    draws = draws_table()
    per_draw = per_draw_table(draws)
    first = drivers_frame(per_draw, draws, seed=3)
    assert len(fitted) == 4
    pd.testing.assert_frame_equal(drivers_frame(per_draw, draws, seed=3), first, check_exact=True)
    assert len(fitted) == 4  # the same inputs: nothing refitted
    drivers_frame(per_draw, draws, seed=4)
    assert len(fitted) == 8  # another seed is another fit
    changed = per_draw.copy()
    changed.loc[0, "difference"] += 1e-9  # one value of the first pair
    drivers_frame(changed, draws, seed=3)
    assert len(fitted) == 9
    renamed = draws.rename(columns={"x4": "x9"})
    drivers_frame(per_draw, renamed, seed=3)
    assert len(fitted) == 13  # the assumptions' names are part of the result


def test_surrogates_fit_and_predict_in_one_thread(monkeypatch):
    """A forest's threads add their trees' predictions in the order they finish: one thread keeps the
    indices the same to the last bit however loaded the machine is."""
    from sklearn import ensemble

    seen: list[int | None] = []
    for name in ("ExtraTreesRegressor", "RandomForestRegressor"):
        real = getattr(ensemble, name)

        def recording(*args, real=real, **kwargs):
            seen.append(kwargs.get("n_jobs"))
            return real(*args, **kwargs)

        monkeypatch.setattr(ensemble, name, recording)
    draws = draws_table()
    drivers_module.variance_drivers(draws, draws["x0"].to_numpy() + draws["x1"].to_numpy() ** 2, seed=1)
    assert seen and set(seen) == {1}


def test_prim_searches_in_two_processes_find_the_boxes_of_one():
    draws = draws_table(n=128, d=6)
    searches = [
        (draws, draws["x0"].to_numpy() - 0.3, {"below": 0.0}),
        (draws, draws["x1"].to_numpy() - 0.7, {"above": 0.0}),
        (draws, np.where((draws["x2"] < 0.4) & (draws["x3"] > 0.5), -1.0, 1.0), {"below": 0.0, "threshold": 0.7}),
        (draws, draws["x4"].to_numpy() + 1.0, {"below": 0.0}),  # no case: no box, and says why
    ]
    alone = [discover(x, y, **options) for x, y, options in searches]
    spread = discover_each(searches, workers=2)
    assert [found.message for found in spread] == [found.message for found in alone]
    for a, b in zip(alone, spread, strict=True):
        pd.testing.assert_frame_equal(a.boxes, b.boxes, check_exact=True)
        pd.testing.assert_frame_equal(a.trajectory, b.trajectory, check_exact=True)
    assert set(spread[0].boxes["parameter"]) == {"x0"} and spread[3].n_boxes == 0


def test_charts_saved_in_workers_are_the_files_saved_here_and_an_unpicklable_one_is_saved_here(tmp_path):
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    from sim.charts.saving import FigureSaver, save_figure

    def figure(k: int, picklable: bool = True) -> Figure:
        fig = Figure(figsize=(3, 2))
        ax = fig.add_subplot()
        ax.plot([0, 1, 2], [k, k * k, 1])
        if not picklable:
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}!"))  # a lambda does not pickle
        return fig

    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    kinds = [True, True, False, True, True]
    for k, picklable in enumerate(kinds):
        save_figure(figure(k, picklable), [(here / f"{k}.png", {"format": "png", "metadata": {"Title": str(k)}})])
    with FigureSaver(2, len(kinds)) as saver:
        assert saver.processes == 2
        for k, picklable in enumerate(kinds):
            saver.save(figure(k, picklable), [(there / f"{k}.png", {"format": "png", "metadata": {"Title": str(k)}})])
    for k in range(len(kinds)):
        assert (there / f"{k}.png").read_bytes() == (here / f"{k}.png").read_bytes()
