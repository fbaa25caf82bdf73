"""Faults: a sweep killed part-way resumes without duplicates; Ctrl-C stops cleanly; concurrent writers."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import ROOT, run_cli

from sim.experiment.store import ResultStore
from sim.experiment.store import schema as store_module

GAMING = "assumptions.practice.gaming_propensity"
QUARTERS = 8
POINTS, REPS = 30, 4
SWEEP = ("sweep", "status_quo", "--vary", f"{GAMING}=0.2:1.4:{POINTS}", "--reps", str(REPS), "--scale", "0.03",
         "--quarters", str(QUARTERS), "--no-progress", "--workers", "2", "--name", "kill")


def _start(args: tuple[str, ...], cwd: Path) -> subprocess.Popen:
    """The CLI in its own session (so a Ctrl-C can go to its whole process group), with SIGINT at its
    default whatever this process inherited, as in a terminal."""
    return subprocess.Popen([sys.executable, str(ROOT / "run_sim.py"), *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_default_sigint)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stored_runs(db_file: Path) -> int:
    if not db_file.exists():
        return 0
    try:
        with sqlite3.connect(db_file, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM runs WHERE status = 'complete'").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _wait_for_runs(proc: subprocess.Popen, db_file: Path, at_least: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = _stored_runs(db_file)
        if n >= at_least:
            return n
        assert proc.poll() is None, f"finished before it could be stopped: {proc.communicate()}"
        time.sleep(0.02)
    raise AssertionError(f"fewer than {at_least} runs stored after {timeout} s")


def _session_processes(sid: int) -> list[int]:
    """Live processes of a session (the sweep, its fork server and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _check_whole_runs(url: str) -> int:
    """Every stored run has all its quarters and metrics; returns the number of runs."""
    with ResultStore(url) as store, store.engine.connect() as conn:
        n_runs = conn.execute(sa.select(sa.func.count()).select_from(store_module.runs)).scalar_one()
        metrics = store_module.run_metrics
        per_run = conn.execute(
            sa.select(metrics.c.run_id, sa.func.count()).where(metrics.c.quality_mean.is_not(None))
            .group_by(metrics.c.run_id)).all()
        links = conn.execute(sa.select(sa.func.count()).select_from(store_module.experiment_runs)).scalar_one()
        rows = conn.execute(sa.select(store_module.runs.c.id, store_module.runs.c.status,
                                      store_module.runs.c.quarters, store_module.runs.c.store_seconds)).all()
    with_metrics = {run_id for run_id, _ in per_run}
    lacking = [tuple(r) for r in rows if r[0] not in with_metrics]
    assert not lacking, f"runs stored without metrics: {lacking}"
    assert {count for _, count in per_run} == {QUARTERS + 1}, f"a partial run is stored: {per_run}"
    assert links == n_runs
    return n_runs


def _results(url: str, name: str) -> pd.DataFrame:
    with ResultStore(url) as store:
        frame = store.load_metrics(store.experiment_info(name)["id"])
    return frame.drop(columns=["run_id"]).sort_values(["point_id", "replication", "quarter"], ignore_index=True)


@pytest.mark.slow
def test_sigkill_part_way_then_resume_equals_an_uninterrupted_sweep(tmp_path):
    db_file = tmp_path / "killed.db"
    url = f"sqlite:///{db_file}"
    proc = _start((*SWEEP, "--db", url), tmp_path)
    try:
        _wait_for_runs(proc, db_file, at_least=10)
        os.kill(proc.pid, signal.SIGKILL)  # the orchestrator only: its workers must notice and go
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_processes(proc.pid) == [], "orphaned worker processes kept running"

    stored = _check_whole_runs(url)
    assert 10 <= stored < POINTS * REPS
    with ResultStore(url) as store:
        assert store.experiment_info("kill")["status"] == "running"  # never marked complete

    resumed = run_cli(*SWEEP, "--db", url, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{POINTS * REPS - stored} runs computed, {stored} reused" in resumed.stdout
    assert _check_whole_runs(url) == POINTS * REPS
    with ResultStore(url) as store:
        assert store.experiment_info("kill")["status"] == "complete"

    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    clean = run_cli(*SWEEP, "--db", clean_url, cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    pd.testing.assert_frame_equal(_results(url, "kill"), _results(clean_url, "kill"), check_exact=True)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_keeps_finished_runs(tmp_path):
    db_file = tmp_path / "int.db"
    url = f"sqlite:///{db_file}"
    proc = _start((*SWEEP, "--db", url), tmp_path)
    try:
        _wait_for_runs(proc, db_file, at_least=5)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole foreground group
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "interrupted: finished runs are kept" in err
    assert "Traceback" not in err
    stored = _check_whole_runs(url)
    assert 5 <= stored < POINTS * REPS
    with ResultStore(url) as store:
        assert store.experiment_info("kill")["status"] == "interrupted"
    assert _session_processes(proc.pid) == []


def _check_concurrent_compares(url: str, cwd: Path) -> None:
    common = ("compare", "status_quo", "--reps", "30", "--scale", "0.02", "--quarters", str(QUARTERS),
              "--workers", "1", "--no-progress", "--snapshots", "all", "--db", url)
    first = _start((*common, "--seed", "1", "--name", "a"), cwd)
    second = _start((*common, "--seed", "16", "--name", "b"), cwd)  # seeds 16..30 overlap with the first
    for proc in (first, second):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with ResultStore(url) as store:
        listed = store.list_experiments().set_index("name")
        assert listed.loc["a", "status"] == listed.loc["b", "status"] == "complete"
        assert listed.loc["a", "runs_stored"] == listed.loc["b", "runs_stored"] == 30
        with store.engine.connect() as conn:
            seeds = conn.execute(sa.select(store_module.runs.c.seed)).scalars().all()
            snap_runs = conn.execute(sa.select(sa.func.count(sa.distinct(store_module.practice_snapshots.c.run_id))))
            assert snap_runs.scalar_one() == 45
    assert sorted(seeds) == list(range(1, 46))  # every run once: none lost, none duplicated


def test_two_processes_write_one_sqlite_file_at_once(tmp_path):
    _check_concurrent_compares(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path)


@pytest.mark.postgres
def test_two_processes_write_one_postgres_database_at_once(tmp_path, postgres_url):
    _check_concurrent_compares(postgres_url, tmp_path)


SEARCH = ("optimise", "status_quo", "--lever", "levers.quality_premium.per_head_gbp=0:20", "--lever",
          "levers.qof.outcome_weight=0:1", "--objective", "outcome_mean=min", "--objective", "total_cost_gbp=min",
          "--trials", "24", "--population", "4", "--reps", "2", "--scale", "0.03", "--quarters", str(QUARTERS),
          "--no-progress", "--workers", "2", "--name", "search")


@pytest.mark.slow
def test_a_search_killed_part_way_resumes_to_the_front_of_an_uninterrupted_one(tmp_path):
    db_file = tmp_path / "killed.db"
    url = f"sqlite:///{db_file}"
    proc = _start((*SEARCH, "--db", url, "--out", str(tmp_path / "killed")), tmp_path)
    try:
        stored = _wait_for_runs(proc, db_file, at_least=14)  # BASE and a few trials: mid-search
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    resumed = run_cli(*SEARCH, "--db", url, "--out", str(tmp_path / "resumed"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    counts = re.search(r"(\d+) runs computed, (\d+) reused", " ".join(resumed.stdout.split()))
    assert counts is not None and int(counts[2]) >= stored, resumed.stdout[-500:]
    clean = run_cli(*SEARCH, "--db", f"sqlite:///{tmp_path / 'clean.db'}", "--out", str(tmp_path / "clean"),
                    cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "resumed" / "pareto.csv"),
                                  pd.read_csv(tmp_path / "clean" / "pareto.csv"), check_exact=True)
