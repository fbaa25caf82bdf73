"""experiments: the listing shows scale, replications and status; --delete and --prune remove experiments and
only the runs no other experiment uses; bad input exits 2 with a message and changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, run_cli

from sim.experiment import compare
from sim.experiment.store import ResultStore

TINY = ("run.scale=0.02", "run.quarters=2")


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'crsim.db'}"
    common = {"overrides": TINY, "workers": 1, "db": url, "progress": False, "snapshots": "none"}
    compare(["status_quo", "delegation"], reps=2, name="old", **common)
    compare(["status_quo", "delegation"], reps=2, name="rerun", **common)  # the same definition: reuses old's runs
    compare(["status_quo", "qof_outcomes"], reps=2, name="other", **common)  # shares status_quo's runs
    return url


def _runs(url: str) -> int:
    import sqlalchemy as sa

    with ResultStore(url, create=False) as store, store._connect() as conn:
        return int(conn.execute(sa.text("select count(*) from runs")).scalar())


def test_listing_shows_scale_reps_and_status(db: str) -> None:
    proc = run_cli("experiments", "--db", db)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for word in ("scale", "reps", "status", "2%", "complete", "old", "rerun", "other"):
        assert word in text, word


def test_prune_removes_superseded_reruns_but_not_shared_runs(db: str) -> None:
    before = _runs(db)
    proc = run_cli("experiments", "--db", db, "--prune")
    assert proc.returncode == 0, proc.stderr
    with ResultStore(db, create=False) as store:
        assert sorted(store.experiment_names()) == ["other", "rerun"]
        assert len(store.load_experiment("rerun").runs) == 4  # its runs, shared with old, are all still there
    assert _runs(db) == before


def test_delete_keeps_runs_that_other_experiments_use(db: str) -> None:
    before = _runs(db)
    proc = run_cli("experiments", "--db", db, "--delete", "other")
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stdout.split())
    assert "2 run(s) only they used were removed, 2 run(s) other experiments use were kept" in said
    assert _runs(db) == before - 2  # qof_outcomes' two runs; status_quo's are old's and rerun's too
    run_cli("experiments", "--db", db, "--delete", "old", "rerun")
    assert _runs(db) == 0


def test_deleting_an_unknown_experiment_is_refused(db: str) -> None:
    before = _runs(db)
    proc = run_cli("experiments", "--db", db, "--delete", "old", "nope")
    assert proc.returncode == 2
    assert "no experiment named nope" in proc.stderr and "Traceback" not in proc.stderr
    assert _runs(db) == before
    with ResultStore(db, create=False) as store:
        assert "old" in store.experiment_names()


# ------------------------------------------------------------------------------------------ other commands


def test_params_never_cuts_or_folds_a_path() -> None:
    from unittest import mock

    from rich.console import Console

    import sim.cli_options
    from sim.params_table import print_params
    from sim.scenario import parameter_specs

    for width in (80, 120, 240):
        con = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
        with mock.patch.object(sim.cli_options, "console", con):
            print_params()
        lines = con.export_text().splitlines()
        for spec in parameter_specs():
            assert any(spec.path in line for line in lines), (width, spec.path)


def test_a_closed_pipe_ends_quietly() -> None:
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_sim.py"), "schema"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()  # as `| head` does
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipe" not in err and b"error" not in err.lower(), err
    assert proc.returncode == 141


def test_export_shows_progress(db: str, tmp_path: Path) -> None:
    proc = run_cli("export", "old", "--db", db, "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "Export old: tables" in proc.stderr
    quiet = run_cli("export", "old", "--db", db, "--out", str(tmp_path / "quiet"), "--no-progress")
    assert "Export old" not in quiet.stderr
