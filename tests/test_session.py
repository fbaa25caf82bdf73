"""The Python face of experiments: Session, the shortcut functions, and no multiprocessing traps."""

from __future__ import annotations

import importlib
import inspect
import multiprocessing
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from helpers import ROOT

import sim.experiment
from sim.experiment import Session
from sim.experiment.errors import ExperimentError
from sim.experiment.running import Outcome

OVERRIDES = ["run.scale=0.02", "run.quarters=4"]
SHORTCUTS = ("compare", "sweep", "sensitivity", "load_experiment", "list_experiments")


def test_shortcuts_are_typed_functions_listed_by_dir_even_after_every_submodule_is_imported():
    for module in ("paired", "indices", "plan", "running", "results", "session", "api", "commands", "export",
                   "store", "design", "executors", "progress"):
        importlib.import_module(f"sim.experiment.{module}")
    listed = dir(sim.experiment)
    for name in SHORTCUTS:
        func = getattr(sim.experiment, name)
        assert inspect.isfunction(func), name  # not a module of the same name
        assert name in listed and func.__doc__, name
        assert func.__annotations__.get("return"), name  # typed
    assert "Session" in listed and inspect.isclass(sim.experiment.Session)


def test_a_session_runs_several_experiments_on_one_executor_and_matches_the_shortcut(tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    with Session(db, workers=1) as s:
        first = s.compare(["status_quo", "delegation"], reps=2, overrides=OVERRIDES, name="c1")
        executor = s.executor
        swept = s.sweep("status_quo", ["assumptions.leadership.skill_mean=0.2:0.8:2"], overrides=OVERRIDES)
        assert s.executor is executor  # started once, reused
        assert swept.outcome.status == "complete" and len(swept.table) == 2
        assert set(s.list_experiments()["name"]) == {"c1", swept.name}
    assert s._store is None and s._executor is None  # closed on leaving the block

    again = sim.experiment.compare(["status_quo", "delegation"], reps=2, overrides=OVERRIDES, db=db, workers=1,
                                   name="c2")
    assert again.outcome.reused == 4 and again.outcome.computed == 0
    pd.testing.assert_frame_equal(first.summary, again.summary)
    loaded = sim.experiment.load_experiment("c1", db)
    assert loaded.experiment["status"] == "complete" and not loaded.summary.empty


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def start(self, name: str, total: int) -> None:
        self.calls.append(("start", total))

    def advance(self, outcome: Outcome) -> None:
        self.calls.append(("advance", (outcome.computed, outcome.reused)))

    def stop(self) -> None:
        self.calls.append(("stop", None))


def test_progress_goes_through_the_reporter_protocol(tmp_path):
    db = f"sqlite:///{tmp_path / 'p.db'}"
    first, second = _Recorder(), _Recorder()
    with Session(db, workers=1, progress=first) as s:
        s.compare(["status_quo"], reps=3, overrides=OVERRIDES, name="p")
    with Session(db, workers=1, progress=second) as s:
        s.compare(["status_quo"], reps=3, overrides=OVERRIDES, name="p")
    assert first.calls == [("start", 3), ("advance", (1, 0)), ("advance", (2, 0)), ("advance", (3, 0)),
                           ("stop", None)]
    assert second.calls == [("start", 3), ("advance", (0, 1)), ("advance", (0, 2)), ("advance", (0, 3)),
                            ("stop", None)]


def test_the_run_loop_does_not_import_rich():
    code = ("import sys; import sim.experiment.running, sim.experiment.session, sim.experiment.store; "
            "print(any(m == 'rich' or m.startswith('rich.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_an_experiment_started_while_a_worker_bootstraps_stops_before_storing_anything(tmp_path, monkeypatch):
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    db_file = tmp_path / "b.db"
    with pytest.raises(ExperimentError, match='if __name__ == "__main__"'), Session(f"sqlite:///{db_file}") as s:
        s.compare(["status_quo"], reps=1, overrides=OVERRIDES)
    assert not db_file.exists()


_SCRIPT = """
from sim.experiment import compare, list_experiments

res = compare(["status_quo", "delegation"], reps=2, workers=2, db={db!r}, overrides={overrides!r})
print("ratio", round(res.width_ratio, 6))
print(list_experiments({db!r})[["status", "runs_stored"]].to_dict("records"))
"""


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_a_pool_started_from_a_script_without_a_main_guard_just_works(tmp_path, how):
    """The trap of issue 10: spawn/forkserver workers re-ran the caller's script (or tried to run
    '<stdin>'), died, and left failed and running experiments behind."""
    db = f"sqlite:///{tmp_path / 'g.db'}"
    script = textwrap.dedent(_SCRIPT.format(db=db, overrides=OVERRIDES))
    if how == "file":
        path = Path(tmp_path / "no_guard.py")
        path.write_text(script)
        cmd, stdin = [sys.executable, str(path)], None
    else:
        cmd, stdin = [sys.executable, "-"], script
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=tmp_path, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "[{'status': 'complete', 'runs_stored': 4}]" in out.stdout, out.stdout


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"workers": 2, "scheduler": "tcp://127.0.0.1:1"}])
def test_bad_execution_settings_fail_before_any_database_is_created(tmp_path, kwargs):
    from sim.experiment.errors import ExecutorError

    db_file = tmp_path / "never.db"
    with pytest.raises(ExecutorError):
        sim.experiment.compare(["status_quo"], reps=1, overrides=OVERRIDES, db=f"sqlite:///{db_file}", **kwargs)
    assert not db_file.exists()
