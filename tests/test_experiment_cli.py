"""The experiment commands end to end, as a user runs them: ``python run_sim.py compare|sweep|...``."""

from __future__ import annotations

import socket
import sys
import types

import pandas as pd
import pytest
from helpers import run_cli

from sim.experiment import load_experiment
from sim.experiment.paired import SUMMARY_COLUMNS
from sim.experiment.store import ResultStore
from sim.metrics import HEADLINE_METRICS, METRICS_BY_NAME

SMALL = ("--scale", "0.02", "--quarters", "8", "--no-progress")
GAMING = "assumptions.practice.gaming_propensity"
MOTIVATION = "assumptions.practice.motivation_mean"
CHALLENGE = "assumptions.challenge.base_log_odds"


def _ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def test_compare_prints_stores_and_writes_tables(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    out = tmp_path / "out"
    proc = _ok(run_cli("compare", "status_quo", "delegation", "white_paper", "--reps", "4", *SMALL, "--workers",
                       "2", "--db", db, "--name", "cmp", "--out", str(out), "--years", "1", cwd=tmp_path))
    assert METRICS_BY_NAME["quality_mean"].label in proc.stdout
    assert "difference from status_quo" in proc.stdout
    assert "paired intervals are" in proc.stdout
    assert "12 runs computed, 0 reused" in proc.stdout

    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert set(summary["quarter"]) == {4, 8}
    assert set(summary["scenario"]) == {"status_quo", "delegation", "white_paper"}
    metrics = pd.read_csv(out / "metrics.csv")
    assert len(metrics) == 3 * 4 * 9
    assert set(metrics["seed"]) == {1, 2, 3, 4}  # replication k of every scenario uses seed 1 + k
    assert (out / "interval_widths.csv").exists()

    # Repeating the command reuses every stored run.
    again = _ok(run_cli("compare", "status_quo", "delegation", "white_paper", "--reps", "4", *SMALL,
                        "--db", db, "--name", "cmp", "--out", str(out), cwd=tmp_path))
    assert "0 runs computed, 12 reused" in again.stdout

    data = load_experiment("cmp", db)
    assert data.experiment["status"] == "complete" and data.experiment["kind"] == "compare"
    assert data.experiment["scenarios"] == ["status_quo", "delegation", "white_paper"]
    assert len(data.runs) == 12 and (data.runs["status"] == "complete").all()
    assert {"run_id", "scenario", "replication", "seed", "quarter"} <= set(data.metrics.columns)
    # Snapshots are kept for replication 0 of each scenario only (the default --snapshots first).
    assert set(data.snapshots["replication"]) == {0}
    assert set(data.snapshots["scenario"]) == {"status_quo", "delegation", "white_paper"}
    assert list(data.summary.columns) == list(SUMMARY_COLUMNS)

    listing = _ok(run_cli("experiments", "--db", db, cwd=tmp_path))
    assert "cmp" in listing.stdout and "complete" in listing.stdout and "12/12" in listing.stdout


def test_export_csv_and_parquet(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    _ok(run_cli("compare", "status_quo", "delegation", "--reps", "2", *SMALL, "--workers", "1", "--db", db,
                "--name", "ex", cwd=tmp_path))
    for fmt in ("csv", "parquet"):
        target = tmp_path / f"export-{fmt}"
        _ok(run_cli("export", "ex", "--format", fmt, "--db", db, "--out", str(target), cwd=tmp_path))
        read = pd.read_csv if fmt == "csv" else pd.read_parquet
        metrics = read(target / f"metrics.{fmt}")
        assert len(metrics) == 2 * 2 * 9
        assert set(HEADLINE_METRICS) <= set(metrics.columns)
        assert len(read(target / f"snapshots.{fmt}")) > 0
        assert list(read(target / f"summary.{fmt}").columns) == list(SUMMARY_COLUMNS)
        assert len(read(target / f"runs.{fmt}")) == 4
        assert (target / "experiment.json").exists()


def test_sweep_writes_a_tidy_table(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    out = tmp_path / "sw"
    proc = _ok(run_cli("sweep", "status_quo", "--vary", f"{GAMING}=0.2:1.2:3", "--vary", f"{MOTIVATION}=0.4:0.8:2",
                       "--vary", "levers.peer_challenge.escalate_after=2:4:2", "--reps", "2", *SMALL,
                       "--db", db, "--name", "sw", "--out", str(out), cwd=tmp_path))
    assert "24 runs computed" in proc.stdout
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 3 * 2 * 2 * 2
    assert {GAMING, MOTIVATION, "levers.peer_challenge.escalate_after", "point_id", "replication"} <= set(table)
    assert set(HEADLINE_METRICS) <= set(table.columns)
    assert table.groupby("point_id")[GAMING].nunique().eq(1).all()
    data = load_experiment("sw", db, snapshots=False)
    assert data.experiment["kind"] == "sweep" and data.experiment["status"] == "complete"
    assert len(data.design) == 12 and GAMING in data.design.columns


def test_lhs_sweep(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    out = tmp_path / "lhs"
    _ok(run_cli("sweep", "status_quo", "--vary", f"{GAMING}=0.2:1.2", f"{MOTIVATION}=0.4:0.8",  # one --vary, two
                "--design", "lhs", "--samples", "6", *SMALL, "--workers", "1", "--db", db, "--name", "lhs",
                "--out", str(out), cwd=tmp_path))
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 6 and table[GAMING].nunique() == 6 and table[MOTIVATION].nunique() == 6


@pytest.mark.parametrize("method, runs", [("sobol", 4 * (3 + 2)), ("morris", 3 * (3 + 1))])
def test_sensitivity_over_three_assumptions(tmp_path, method, runs):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    out = tmp_path / method
    proc = _ok(run_cli("sensitivity", "status_quo", "--vary", f"{GAMING}=0.2:1.2", "--vary",
                       f"{MOTIVATION}=0.4:0.8", "--vary", f"{CHALLENGE}=-1.5:0.5", "--method", method,
                       "--samples", "4" if method == "sobol" else "3", *SMALL, "--db", db, "--name", method,
                       "--out", str(out), cwd=tmp_path))
    assert f"{runs} runs computed" in proc.stdout
    indices = pd.read_csv(out / "sensitivity.csv")
    assert len(indices) == len(HEADLINE_METRICS) * 3
    key = "ST" if method == "sobol" else "mu_star"
    assert indices[key].notna().any()
    stored = load_experiment(method, db, snapshots=False)
    assert stored.experiment["status"] == "complete"
    pd.testing.assert_frame_equal(stored.sensitivity.reset_index(drop=True), indices, check_dtype=False,
                                  check_exact=False, rtol=1e-12)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


BAD_INPUTS = {
    "malformed vary": ("sweep", "status_quo", "--vary", f"{GAMING}=0.2-1.2"),
    "not a parameter": ("sweep", "status_quo", "--vary", "assumptions.practice.no_such=0:1"),
    "outside the schema": ("sweep", "status_quo", "--vary", f"{GAMING}=0.5:7"),
    "sobol samples": ("sensitivity", "status_quo", "--vary", f"{GAMING}=0.2:1.2", "--samples", "6"),
    "unknown scenario": ("compare", "status_quo", "no_such_scenario"),
    "bad baseline": ("compare", "status_quo", "delegation", "--baseline", "white_paper"),
    "unreachable database": ("compare", "status_quo", "--db",
                             "postgresql+psycopg://crsim:Sup3rSecretPw@127.0.0.1:1/crsim"),
    "bad --set": ("compare", "status_quo", "--set", "levers.qof.outcome_weight=7"),
}


@pytest.mark.parametrize("args", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_is_a_clear_error_and_nothing_is_complete(tmp_path, args):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    extra = () if "--db" in args else ("--db", db)
    proc = run_cli(*args, *SMALL, "--reps", "2", *extra, "--name", "bad", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.lstrip().startswith("error:")
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "Sup3rSecretPw" not in proc.stderr + proc.stdout
    with ResultStore(db) as store:
        assert not (store.list_experiments()["status"] == "complete").any()


def test_unreachable_scheduler(tmp_path, monkeypatch):
    monkeypatch.setenv("CRSIM_SCHEDULER_TIMEOUT", "2")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    address = f"tcp://127.0.0.1:{_free_port()}"
    proc = run_cli("compare", "status_quo", *SMALL, "--db", db, "--scheduler", address, cwd=tmp_path)
    assert proc.returncode == 2 and f"Cannot reach the Dask scheduler at {address} within 2 s" in proc.stderr
    assert "Traceback" not in proc.stderr
    with ResultStore(db) as store:
        assert store.list_experiments().empty


def test_unknown_experiment(tmp_path):
    from sim.experiment.store import ResultStore

    db = f"sqlite:///{tmp_path / 'r.db'}"
    ResultStore(db).close()  # a store that exists, without that experiment (a missing store: test_hardening)
    for command in (("export", "nope"), ("export", "nope", "--format", "parquet")):
        proc = run_cli(*command, "--db", db, cwd=tmp_path)
        assert proc.returncode == 2 and "No experiment named 'nope'" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "results" / "nope").exists()


def test_reusing_a_name_for_another_experiment_is_refused(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    _ok(run_cli("compare", "status_quo", "--reps", "2", *SMALL, "--workers", "1", "--db", db, "--name", "n",
                cwd=tmp_path))
    proc = run_cli("compare", "status_quo", "--reps", "3", *SMALL, "--workers", "1", "--db", db, "--name", "n",
                   cwd=tmp_path)
    assert proc.returncode == 2 and "different definition" in proc.stderr
    assert "differs in reps" in proc.stderr


def test_database_password_never_shown(tmp_path, postgres_url):
    from sqlalchemy.engine import make_url

    password = make_url(postgres_url).password
    proc = _ok(run_cli("compare", "status_quo", "--reps", "2", *SMALL, "--workers", "1", "--db", postgres_url,
                       "--name", "pg", cwd=tmp_path))
    listing = _ok(run_cli("experiments", "--db", postgres_url, cwd=tmp_path))
    assert "pg" in listing.stdout
    for text in (proc.stdout, proc.stderr, listing.stdout, listing.stderr):
        assert f":{password}@" not in text
    assert "***" in proc.stdout


def test_report_hook_calls_build_report(tmp_path, monkeypatch):
    from sim.cli import main

    calls = []
    fake = types.ModuleType("sim.report")
    fake.build_report = lambda name, db, out, formats, **options: calls.append((name, db, out, formats)) or out
    fake.register = lambda subparsers: None  # the real module also adds its own commands
    fake.parse_formats = lambda formats: tuple(formats)  # the CLI checks --formats before any run
    monkeypatch.setitem(sys.modules, "sim.report", fake)
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    code = main(["compare", "status_quo", "delegation", "--reps", "2", *SMALL, "--workers", "1", "--db", db,
                 "--name", "rep", "--report", "--formats", "png", "svg"])
    assert code == 0
    assert len(calls) == 1
    name, url, out, formats = calls[0]
    assert (name, url, formats) == ("rep", db, ["png", "svg"])
    assert out.name == "report" and (out.parent / "summary.csv").exists()
