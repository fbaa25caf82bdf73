"""Hardening (issue 13): every bad input is refused before any work, with a short message and nothing written.

The commands run in this process (``sim.cli.main``) in an empty working folder, so the default results
folder and database would appear there if a refused command wrote anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import run_cli

from sim.cli import main

TINY = ("--scale", "0.01", "--quarters", "1", "--no-progress", "--workers", "1")
VARY = ("--vary", "assumptions.practice.gaming_propensity=0.2:1.2", "assumptions.leadership.skill_mean=0.3:0.7")


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def refuse(args: list[str], folder: Path, capsys) -> str:
    """Run a command that must be refused; return its message after checking how it was refused."""
    before = _files(folder)
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    captured = capsys.readouterr()
    message = captured.err + captured.out
    assert code == 2, (args, message)
    assert "Traceback" not in message, message
    assert len(message) < 1500, message[:300]
    assert _files(folder) == before, f"{args} wrote {_files(folder) - before}"
    return " ".join(message.split())


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRSIM_DB_URL", raising=False)
    return tmp_path


# (arguments, a fragment the message must contain: the option, and what it allows)
REFUSED = [
    (["compare", "status_quo", "--reps", "1", "--seed", "-1"], "--seed -1"),
    (["compare", "status_quo", "--reps", "3", "--seed", str(2**63 - 2)], "--seed"),
    (["run", "status_quo", "--seed", str(2**64)], "--seed"),
    (["validate", "--seed", "-5", "--reps", "1"], "--seed"),
    (["compare", "status_quo", "--reps", "0"], "--reps 0"),
    (["compare", "status_quo", "--reps", str(10**20)], "--reps"),
    (["compare", "status_quo", "--reps", "1", "--workers", "0"], "--workers 0"),
    (["compare", "status_quo", "--reps", "1", "--workers", "100000"], "--workers 100000"),
    (["compare", "status_quo", "--reps", "1", "--years", "nan"], "--years nan"),
    (["compare", "status_quo", "--reps", "1", "--years", "inf"], "--years inf"),
    (["run", "status_quo", "--scale", "nan"], "--scale nan"),
    (["sweep", "status_quo", "--vary", "assumptions.practice.gaming_propensity=0.2:1.2:100000",
      "assumptions.leadership.skill_mean=0.3:0.7:100000", "assumptions.challenge.base_log_odds=-1:0:10"],
     "100,000,000,000 points"),
    (["sweep", "status_quo", "--vary", "assumptions.practice.gaming_propensity=0.2:1.2:100000000000"],
     "more than the 100,000"),
    (["sensitivity", "status_quo", "--samples", str(2**40), *VARY], "--samples 1099511627776"),
    (["sensitivity", "status_quo", "--samples", str(2**15), *VARY, "assumptions.challenge.base_log_odds=-1:0"],
     "more than the 100,000"),
    (["sweep", "status_quo", "--design", "lhs", "--samples", "0", *VARY], "--samples 0"),
    (["compare", "status_quo", "--reps", "1", "--uncertainty", "0"], "--uncertainty 0"),
    (["critics", "--draws", str(10**9)], "--draws"),
    (["compare", "status_quo", "--reps", "1", "--report", "--formats", "gif"], "--formats"),
    (["report", "anything", "--formats", "gif"], "--formats"),
    (["experiments", "--db", "postgresql://u:secret@[::1:5999/db"], "not a database URL"),
    (["experiments", "--db", "postgresql://u:secret@host:abc/db"], "the port, a number"),
    (["experiments", "--db", "postgresql://u:secret@host:99999/db"], "not a database URL"),
    (["compare", "status_quo", "--reps", "1", "--db", "sqlite://"], "in-memory"),
    (["compare", "status_quo", "--reps", "1", "--db", "sqlite:///:memory:"], "in-memory"),
    (["experiments", "--db", "sqlite://"], "in-memory"),
    (["compare", "status_quo", "--reps", "1", "--name", ""], "--name is empty"),
    (["compare", "status_quo", "--reps", "1", "--name", "a\x01b"], "control characters"),
    (["compare", "status_quo", "--reps", "1", "--name", "a" * 10_000], "not allowed"),
    (["compare", "", "--reps", "1"], "scenario is empty"),
    (["run", "status_quo\n"], "control characters"),
    (["discover", "x", "--scenario", "delegation", "--metric", "quality_mean", "--below", "nan"], "--below nan"),
    (["discover", "x", "--scenario", "delegation", "--metric", "quality_mean", "--below", "0",
      "--threshold", "inf"], "--threshold inf"),
    (["export", ""], "experiment name is empty"),
]


def tiny(args: list[str]) -> list[str]:
    """The arguments with a tiny scale and length added wherever a run could start, so that a refusal
    that regressed costs a second, not a national run."""
    extra: list[str] = []
    if args[0] in ("run", "compare", "sweep", "sensitivity", "critics", "validate") and "--scale" not in args:
        extra += ["--scale", "0.01"]
    if args[0] in ("run", "compare", "sweep", "sensitivity", "critics") and "--quarters" not in args:
        extra += ["--quarters", "1"]
    if args[0] in ("compare", "sweep", "sensitivity", "critics"):
        extra += ["--no-progress"] + ([] if {"--workers", "--scheduler"} & set(args) else ["--workers", "1"])
    return [*args, *extra]


@pytest.mark.parametrize(("args", "fragment"), REFUSED, ids=[" ".join(a)[:60] for a, _ in REFUSED])
def test_bad_input_is_refused_before_any_work(args, fragment, workdir, capsys):
    message = refuse(tiny(args), workdir, capsys)
    assert fragment in message, message
    assert "secret" not in message


def test_refusals_name_the_allowed_values(workdir, capsys):
    assert "from 0 to 9,223,372,036,854,775,805" in refuse(
        tiny(["compare", "status_quo", "--reps", "3", "--seed", str(2**63)]), workdir, capsys)
    assert f"to {4 * (os.cpu_count() or 1)} local worker processes" in refuse(
        tiny(["compare", "status_quo", "--workers", "100000"]), workdir, capsys)
    assert "png, svg, pdf" in refuse(tiny(["compare", "status_quo", "--report", "--formats", "gif"]), workdir,
                                     capsys)


def test_scenario_names_must_be_printable(workdir, capsys):
    for text, fragment in (('name: ""\n', "may not be empty"), ('name: "a\\x01b"\n', "control characters"),
                           ('name: "two\\nlines"\n', "control characters"), (f"name: {'n' * 300}\n", "200")):
        path = workdir / "bad.yaml"
        path.write_text(text)
        message = refuse(["run", str(path), *TINY[:4], "--out", str(workdir / "out")], workdir, capsys)
        assert "name" in message and fragment in message, message
        path.unlink()


def test_a_bad_scheduler_timeout_is_refused_before_connecting(workdir, capsys, monkeypatch):
    for value in ("nan", "inf", "-1", "soon"):
        monkeypatch.setenv("CRSIM_SCHEDULER_TIMEOUT", value)
        message = refuse(tiny(["compare", "status_quo", "--reps", "1", "--scheduler", "tcp://127.0.0.1:9"]),
                         workdir, capsys)
        assert "CRSIM_SCHEDULER_TIMEOUT" in message and "finite, positive" in message


def test_an_output_folder_that_cannot_be_written_is_refused_before_the_runs(workdir, capsys):
    blocker = workdir / "a_file"
    blocker.write_text("not a folder")
    message = refuse(["compare", "status_quo", "--reps", "1", *TINY, "--out", str(blocker)], workdir, capsys)
    assert "--out" in message and "not a folder" in message
    message = refuse(["compare", "status_quo", "--reps", "1", *TINY, "--out", str(blocker / "inside")],
                     workdir, capsys)
    assert "--out" in message and "cannot write there" in message
    assert blocker.read_text() == "not a folder"


def test_the_python_api_refuses_the_same_numbers_before_any_work(tmp_path):
    from sim.errors import SimError
    from sim.experiment import Session
    from sim.experiment.design import MAX_DESIGN_POINTS, make_design, parse_varies
    from sim.experiment.plan import plan_compare, year_quarters
    from sim.scenario import load_scenario

    base = load_scenario("status_quo", ["run.scale=0.01", "run.quarters=1"])
    for seed in (-1, 2**63 - 1):
        with pytest.raises(SimError, match="--seed"):
            plan_compare([base], reps=2, base_seed=seed)
    with pytest.raises(SimError, match="--reps"):
        plan_compare([base], reps=True)
    with pytest.raises(SimError, match="finite"):
        year_quarters([float("nan")], 8)
    specs = parse_varies(list(VARY[1:]))
    with pytest.raises(SimError, match=f"{MAX_DESIGN_POINTS:,}"):
        make_design("sobol", specs, 2**40, 1)  # refused before SALib allocates 2**42 rows
    with pytest.raises(SimError, match="at least 2"):
        make_design("lhs", specs, 0, 1)  # 0 is not taken to mean the default
    with pytest.raises(SimError, match="--workers"):
        Session(f"sqlite:///{tmp_path / 'x.db'}", workers=10**6)
    assert list(tmp_path.iterdir()) == []


def test_refusals_from_the_command_line_show_no_traceback(tmp_path):
    for args in (tiny(["compare", "status_quo", "--years", "nan"]), ["experiments", "--db", "postgresql://u:pw@h:x/d"]):
        result = run_cli(*args, cwd=tmp_path, timeout=120)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and "error:" in result.stderr
        assert list(tmp_path.iterdir()) == []
