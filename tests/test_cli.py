"""The command line as a user runs it: ``python run_sim.py ...`` in a subprocess."""

from __future__ import annotations

import json

import pandas as pd
from helpers import run_cli

from sim.metrics import METRIC_NAMES

RUN_ARGS = ("run", "white_paper", "--seed", "3", "--scale", "0.05", "--quarters", "8",
            "--set", "levers.qof.outcome_weight=0.25")


def test_run_writes_a_reproducible_run_folder(tmp_path):
    out = tmp_path / "run1"
    result = run_cli(*RUN_ARGS, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Mean clinical quality" in result.stdout and "start" in result.stdout
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics["quarter"]) == list(range(9))
    assert set(METRIC_NAMES) <= set(metrics.columns)
    snapshots = pd.read_parquet(out / "snapshots.parquet")
    assert set(snapshots["quarter"]) == {0, 4, 8}
    assert not (out / "snapshots.csv").exists()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["seed"] == 3
    assert meta["scenario_name"] == "white_paper"
    assert meta["scenario"]["levers"]["qof"]["outcome_weight"] == 0.25
    assert meta["scenario"]["run"]["quarters"] == 8
    assert len(meta["scenario_hash"]) == 16 and meta["model_version"] and meta["code_version"]
    assert "numpy" in meta["package_versions"]
    assert not list(tmp_path.glob(".*partial"))

    again = tmp_path / "run2"
    assert run_cli(*RUN_ARGS, "--out", str(again), "--snapshot-format", "csv").returncode == 0
    assert (again / "metrics.csv").read_text() == (out / "metrics.csv").read_text()
    as_csv = pd.read_csv(again / "snapshots.csv")
    assert not (again / "snapshots.parquet").exists()
    pd.testing.assert_frame_equal(as_csv, snapshots, check_exact=False, rtol=1e-15, check_dtype=False)


def test_run_refuses_to_overwrite(tmp_path):
    out = tmp_path / "exists"
    out.mkdir()
    result = run_cli("run", "status_quo", "--scale", "0.02", "--quarters", "2", "--out", str(out))
    assert result.returncode == 2
    assert "already exists" in result.stderr
    assert list(out.iterdir()) == []


def test_scenarios_show_schema_and_params():
    listing = run_cli("scenarios")
    assert listing.returncode == 0
    for name in ("status_quo", "white_paper_sceptic", "delegation_conditional"):
        assert name in listing.stdout
    shown = run_cli("show", "white_paper_sceptic", "--set", "levers.qof.point_value_gbp=150")
    assert shown.returncode == 0
    assert "skill_mean: 0.3" in shown.stdout and "point_value_gbp: 150.0" in shown.stdout
    schema = json.loads(run_cli("schema").stdout)
    assert "levers" in schema["properties"]
    params = run_cli("params")
    assert params.returncode == 0 and "levers.qof.outcome_weight" in params.stdout


def test_user_errors_exit_non_zero_without_traceback_and_write_nothing(tmp_path):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("levers:\n  qof:\n    outcome_weight: [\n")
    unknown_key = tmp_path / "unknown.yaml"
    unknown_key.write_text("levers:\n  qof:\n    bonus: 1\n")
    cases = [
        (["run", "no_such_scenario"], "not found"),
        (["run", str(bad_yaml)], "malformed YAML"),
        (["run", str(unknown_key)], "Valid keys here"),
        (["run", "status_quo", "--set", "levers.qof.outcome_weight"], "PATH=VALUE"),
        (["run", "status_quo", "--set", "levers.qof.outcome_weight=2"], "from 0.0 to 1.0"),
        (["run", "status_quo", "--scale", "50"], "run.scale"),
        (["show", "status_quo", "--set", "levers.nothing.here=1"], "Valid keys there"),
    ]
    for args, fragment in cases:
        out = tmp_path / "never"
        result = run_cli(*args, "--out", str(out)) if args[0] == "run" else run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert fragment in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert not out.exists()


def test_command_index_matches_registration():
    """``--help`` lists the commands of modules it does not import from sim.cli.COMMAND_INDEX: it must say
    what the modules register, in their order."""
    import argparse
    import importlib

    from sim.cli import COMMAND_INDEX, COMMAND_MODULES

    for module_name in COMMAND_MODULES:
        if module_name == "sim.cli":
            continue
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module_name).register(sub)
        registered = tuple((action.dest, action.help) for action in sub._choices_actions)
        assert COMMAND_INDEX[module_name] == registered, module_name
    assert set(COMMAND_INDEX) == set(COMMAND_MODULES) - {"sim.cli"}


def test_light_commands_import_no_heavy_stack():
    """``--help``, ``scenarios``, ``show``, ``schema`` and ``params`` start fast: none of them imports the
    model's stack (a command of another family still gets its options and runs)."""
    import subprocess
    import sys

    heavy = ("pandas", "scipy.stats", "mesa", "sqlalchemy", "sklearn", "matplotlib")
    probe = ("import sys, contextlib, io\n"
             "from sim.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    try:\n"
             "        main(sys.argv[1:])\n"
             "    except SystemExit:\n"
             "        pass\n"
             f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n")
    for argv in (["--help"], ["scenarios"], ["show", "status_quo"], ["schema"], ["params"]):
        out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "[]", (argv, out.stdout, out.stderr)
    listing = run_cli("--help")
    assert listing.returncode == 0 and "sweep" in listing.stdout and "calibrate" in listing.stdout
    sweep_help = run_cli("sweep", "--help")
    assert sweep_help.returncode == 0 and "--vary" in sweep_help.stdout
    assert run_cli("no-such-command").returncode == 2
