"""Hardening (issue 13): every bad input is refused before any work, with a short message and nothing written.

The commands run in this process (``sim.cli.main``) in an empty working folder, so the default results
folder and database would appear there if a refused command wrote anything.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest
from helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    (["compare", "status_quo", "--reps", "1", "--seed", "-1"], "--seed must be at least 0, not -1"),
    (["compare", "status_quo", "--reps", "3", "--seed", str(2**63 - 2)], "--seed"),
    (["run", "status_quo", "--seed", str(2**64)], "--seed"),
    (["validate", "--seed", "-5", "--reps", "1"], "--seed"),
    (["compare", "status_quo", "--reps", "0"], "--reps must be at least 1, not 0"),
    (["compare", "status_quo", "--reps", str(10**20)], "--reps"),
    (["compare", "status_quo", "--reps", "1", "--workers", "0"], "--workers must be at least 1, not 0"),
    (["compare", "status_quo", "--reps", "1", "--workers", "100000"], "--workers must be at most"),
    (["compare", "status_quo", "--reps", "1", "--years", "nan"], "--years must be a finite number of years"),
    (["compare", "status_quo", "--reps", "1", "--years", "inf"], "after the start, not inf"),
    (["run", "status_quo", "--scale", "nan"], "--scale must be a finite number, not nan"),
    (["sweep", "status_quo", "--vary", "assumptions.practice.gaming_propensity=0.2:1.2:100000",
      "assumptions.leadership.skill_mean=0.3:0.7:100000", "assumptions.challenge.base_log_odds=-1:0:10"],
     "100,000,000,000 points"),
    (["sweep", "status_quo", "--vary", "assumptions.practice.gaming_propensity=0.2:1.2:100000000000"],
     "more than the 100,000"),
    (["sensitivity", "status_quo", "--samples", str(2**40), *VARY],
     "--samples must be at most 100,000, not 1099511627776"),
    (["sensitivity", "status_quo", "--samples", str(2**15), *VARY, "assumptions.challenge.base_log_odds=-1:0"],
     "more than the 100,000"),
    (["sweep", "status_quo", "--design", "lhs", "--samples", "0", *VARY], "--samples must be at least 1, not 0"),
    (["compare", "status_quo", "--reps", "1", "--uncertainty", "0"], "--uncertainty must be at least 2"),
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
    (["discover", "x", "--scenario", "delegation", "--metric", "quality_mean", "--below", "nan"],
     "--below must be a finite number, not nan"),
    (["discover", "x", "--scenario", "delegation", "--metric", "quality_mean", "--below", "0",
      "--threshold", "inf"], "--threshold must be a finite number, not inf"),
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
    assert "at most 9,223,372,036,854,775,805" in refuse(
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


# ------------------------------------------------------------------------------ atomic outputs (item 4)

SMALL_RUN = ["--scale", "0.01", "--quarters", "2"]


def _run_args(db: str, out: Path, *extra: str) -> list[str]:
    return ["compare", "status_quo", "delegation", "--reps", "2", *SMALL_RUN, "--workers", "1", "--no-progress",
            "--db", db, "--name", "atomic", "--out", str(out), *extra]


def _partials(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".*partial*")] + [p.name for p in folder.rglob(".*.old-*")]


def _full_disk_on(monkeypatch, file_name: str) -> None:
    """Make writing ``file_name`` fail half-way, as on a full disk."""
    import errno

    import pandas as pd

    real = pd.DataFrame.to_csv

    def to_csv(self, path=None, *args, **kwargs):
        if path is not None and Path(path).name == file_name:
            with open(path, "w") as handle:  # part of the file is written, then the disk is full
                handle.write("run_id,scen")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(self, path, *args, **kwargs)

    real_parquet = pd.DataFrame.to_parquet

    def to_parquet(self, path=None, *args, **kwargs):
        if path is not None and Path(path).name == file_name:
            Path(path).write_bytes(b"PAR1")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_parquet(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)


def test_compare_on_a_full_disk_writes_no_half_tables_and_a_rerun_completes(workdir, capsys, monkeypatch):
    db, out = f"sqlite:///{workdir / 'r.db'}", workdir / "tables"
    _full_disk_on(monkeypatch, "metrics.csv")
    assert main(_run_args(db, out)) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "No space left on device" in message and str(out) in message and "runs are stored" in message
    assert "Traceback" not in message
    assert not out.exists() and _partials(workdir) == []
    monkeypatch.undo()
    monkeypatch.chdir(workdir)
    assert main(_run_args(db, out)) == 0
    assert "0 runs computed, 4 reused" in " ".join(capsys.readouterr().out.split())
    assert sorted(p.name for p in out.iterdir()) == [".crsim-experiment", "interval_widths.csv", "metrics.csv",
                                                     "summary.csv"]
    assert len(pd_read(out / "metrics.csv")) == 2 * 2 * 3  # 2 scenarios x 2 replications x quarters 0-2


def pd_read(path: Path):
    import pandas as pd

    return pd.read_csv(path)


def test_a_failed_write_leaves_an_earlier_output_folder_as_it_was(workdir, capsys, monkeypatch):
    db, out = f"sqlite:///{workdir / 'r.db'}", workdir / "tables"
    assert main(_run_args(db, out)) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _full_disk_on(monkeypatch, "metrics.csv")
    assert main(_run_args(db, out)) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _partials(workdir) == []


def test_a_read_only_out_is_refused_before_the_runs(workdir, capsys, monkeypatch):
    db = workdir / "r.db"

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    message = refuse(_run_args(f"sqlite:///{db}", workdir / "ro" / "tables"), workdir, capsys)
    assert "--out" in message and "Read-only file system" in message
    assert not db.exists()


def test_run_on_a_full_disk_leaves_no_folder(workdir, capsys, monkeypatch):
    out = workdir / "run"
    _full_disk_on(monkeypatch, "snapshots.parquet")  # after metrics.csv is written
    assert main(["run", "status_quo", *SMALL_RUN, "--out", str(out)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert not out.exists() and _partials(workdir) == []


def test_stale_partial_folders_of_a_killed_process_are_removed(tmp_path):
    from sim.outputs import clean_stale_partials

    out = tmp_path / "report"
    dead, alive = tmp_path / ".report.partial-999999999", tmp_path / f".report.partial-{os.getpid()}"
    other = tmp_path / ".elsewhere.partial-999999999"
    for folder in (dead, alive, other):
        folder.mkdir()
        (folder / "index.html").write_text("half")
    assert clean_stale_partials(out) == [dead]
    assert not dead.exists() and alive.exists() and other.exists()


# ------------------------------------------------------------------------------ the store (item 5)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A small stored comparison, and the URL of its store."""
    from sim.experiment import compare

    folder = tmp_path_factory.mktemp("stored")
    url = f"sqlite:///{folder / 'store.db'}"
    compare(["status_quo", "delegation"], reps=2, overrides=["run.scale=0.01", "run.quarters=2"], db=url,
            workers=1, name="small")
    return url


def test_reading_a_store_that_does_not_exist_creates_nothing(workdir, capsys):
    assert main(["experiments"]) == 0
    assert "no database there yet" in capsys.readouterr().out
    missing = f"sqlite:///{workdir / 'elsewhere' / 'none.db'}"
    assert main(["experiments", "--db", missing]) == 0
    for args in (["export", "small"], ["report", "small"], ["export", "small", "--db", missing],
                 ["discover", "small", "--scenario", "delegation", "--metric", "quality_mean", "--below", "0"]):
        message = refuse(args, workdir, capsys)
        assert "There is no results database" in message, message
    assert list(workdir.iterdir()) == []


def test_export_writes_nothing_when_the_database_fails_half_way(stored, workdir, capsys, monkeypatch):
    import sqlite3

    import sqlalchemy as sa

    from sim.experiment.store.reading import StoreReader

    def corrupt(self, *args, **kwargs):
        yield from ()
        with self._connect() as conn:
            raise sa.exc.DatabaseError("SELECT ...", {}, sqlite3.DatabaseError("database disk image is malformed"))
            yield conn  # pragma: no cover

    monkeypatch.setattr(StoreReader, "iter_metrics", corrupt)
    out = workdir / "export"
    message = refuse(["export", "small", "--db", stored, "--out", str(out)], workdir, capsys)
    assert "Cannot use the results database" in message and "malformed" in message and "store.db" in message
    assert not out.exists()


def test_export_is_whole_and_never_mixed_with_another_experiment(stored, workdir, capsys):
    out = workdir / "export"
    assert main(["export", "small", "--db", stored, "--out", str(out)]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert {"experiment.json", "runs.csv", "metrics.csv", "summary.csv"} <= set(files)
    assert main(["export", "small", "--db", stored, "--out", str(out)]) == 0  # an earlier export is replaced
    assert sorted(p.name for p in out.iterdir()) == files and _partials(workdir) == []
    other = workdir / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    message = refuse(["export", "small", "--db", stored, "--out", str(other)], workdir, capsys)
    assert "not empty" in message and (other / "notes.txt").read_text() == "mine"


def test_a_corrupt_or_unreachable_store_gives_a_message_naming_it(workdir, capsys):
    bad = workdir / "bad.db"
    bad.write_bytes(b"\x13" * 5000)
    message = refuse(["experiments", "--db", f"sqlite:///{bad}"], workdir, capsys)
    assert f"Cannot use the results database sqlite:///{bad}" in message
    pytest.importorskip("psycopg")
    message = refuse(["experiments", "--db", "postgresql://crsim:secret@127.0.0.1:9/none"], workdir, capsys)
    assert "postgresql+psycopg://crsim:***@127.0.0.1:9/none" in message and "secret" not in message


# ------------------------------------------------------------------------------ fuzzing (item 8)
#
# Generated argument lists and scenario files go through sim.cli.main in this process. Model runs are
# replaced by an exception (a command that gets that far has accepted its input), so no example starts
# real work; every other outcome must be a return code or argparse's exit, with a bounded message, and a
# refused command must leave the working folder as it found it.

# CRSIM_FUZZ_EXAMPLES=1000 for a longer search than CI's.
FUZZ = settings(max_examples=int(os.environ.get("CRSIM_FUZZ_EXAMPLES", "50")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
MAX_MESSAGE = 5000


class _WouldRun(Exception):
    """Raised where a command would start running the model: its input was accepted."""


def _would_run(*args, **kwargs):
    raise _WouldRun


@pytest.fixture
def no_runs(monkeypatch):
    import sim.runner
    from sim.experiment.session import Session

    monkeypatch.setattr(Session, "run_experiment", _would_run)
    monkeypatch.setattr(sim.runner, "run", _would_run)
    monkeypatch.delenv("CRSIM_DB_URL", raising=False)
    monkeypatch.delenv("CRSIM_SCHEDULER_TIMEOUT", raising=False)


def _outcome(args: list[str], folder: Path) -> tuple[int | None, str]:
    """Run ``args`` in ``folder``; the exit code (None when a run would start) and what was printed."""
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
            except _WouldRun:
                code = None
    finally:
        os.chdir(cwd)
    return code, err.getvalue()


NUMBERS = st.one_of(
    st.integers(min_value=-2**70, max_value=2**70).map(str),
    st.sampled_from(["0", "-1", "1", "2", "nan", "inf", "-inf", "1e308", "0.5", "", " ", "1_000", "0x10", "3.7"]),
)
TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["", " ", "a\x00b", "a\nb", "../../etc", "x" * 200]))
URLS = st.one_of(TEXT, st.sampled_from([
    "sqlite://", "sqlite:///:memory:", "postgresql://u:pw@[::1:5999/db", "postgresql://u:pw@h:abc/db",
    "mysql://u@h/db", "sqlite:///file:x?mode=memory&uri=true", "postgresql://u:pw@h:0/db", "://"]))
PATHS = ["assumptions.practice.gaming_propensity", "assumptions.leadership.skill_mean", "run.quarters",
         "run.scale", "levers.qof.outcome_weight", "run.snapshots", "nothing.here"]
OPTION_VALUES = {
    "--seed": NUMBERS, "--reps": NUMBERS, "--workers": NUMBERS, "--samples": NUMBERS, "--years": NUMBERS,
    "--scale": NUMBERS, "--uncertainty": NUMBERS, "--draws": NUMBERS, "--threshold": NUMBERS,
    "--below": NUMBERS, "--horizon": NUMBERS, "--name": TEXT, "--db": URLS, "--formats": TEXT,
    "--out": TEXT, "--set": st.one_of(TEXT, st.builds("{}={}".format, st.sampled_from(PATHS), NUMBERS)),
    "--vary": st.one_of(TEXT, st.builds("{}={}:{}:{}".format, st.sampled_from(PATHS), NUMBERS, NUMBERS, NUMBERS),
                        st.builds("{}={}:{}".format, st.sampled_from(PATHS), NUMBERS, NUMBERS)),
    "--design": st.sampled_from(["grid", "lhs", "sobol", ""]),
    "--method": st.sampled_from(["sobol", "morris", "x"]), "--metric": TEXT, "--scenario": TEXT,
    "--baseline": TEXT, "--snapshots": st.sampled_from(["all", "first", "none", "some"]),
    "--lever": st.one_of(TEXT, st.builds("{}={}:{}".format, st.sampled_from(PATHS), NUMBERS, NUMBERS),
                         st.builds("{}={},{}".format, st.sampled_from(PATHS), TEXT, TEXT)),
    "--objective": st.one_of(TEXT, st.builds("{}={}".format, st.sampled_from(["outcome_mean", "x"]),
                                             st.sampled_from(["min", "max", "best"]))),
    "--constraint": st.one_of(TEXT, st.builds("total_cost_gbp{}{}".format, st.sampled_from(["<=", ">=", "<"]),
                                              NUMBERS)),
    "--trials": NUMBERS, "--population": NUMBERS, "--robust": st.one_of(TEXT, st.sampled_from(
        ["mean", "regret", "percentile:10", "percentile:70"])), "--sampler": st.sampled_from(["nsga2", "tpe", "x"]),
}
COMMANDS = {
    "run": ["status_quo"], "show": ["status_quo"], "compare": ["status_quo", "delegation"],
    "sweep": ["status_quo", "--vary", "assumptions.practice.gaming_propensity=0.2:1.2:2"],
    "sensitivity": ["status_quo", "--vary", "assumptions.practice.gaming_propensity=0.2:1.2",
                    "assumptions.leadership.skill_mean=0.3:0.7"],
    "critics": [], "experiments": [], "export": ["small"], "report": ["small"],
    "discover": ["small", "--scenario", "delegation", "--metric", "quality_mean", "--below", "0"],
    "optimise": ["quality_premium", "--lever", "levers.quality_premium.per_head_gbp=0:20", "--objective",
                 "outcome_mean=min"],
}


@st.composite
def command_lines(draw) -> list[str]:
    command = draw(st.sampled_from(sorted(COMMANDS)))
    args = [command, *COMMANDS[command]]
    if command in ("run", "compare", "sweep", "sensitivity", "critics", "optimise"):
        args += ["--scale", "0.01", "--quarters", "1"]
    for option in draw(st.lists(st.sampled_from(sorted(OPTION_VALUES)), max_size=4)):
        args += [option, draw(OPTION_VALUES[option])]
    if draw(st.booleans()):  # now and then a stray word or flag
        args.insert(draw(st.integers(1, len(args))), draw(st.sampled_from(["--report", "--no-progress", "x", "-"])))
    return args


@FUZZ
@given(args=command_lines())
def test_fuzzed_command_lines_never_raise_and_write_nothing_when_refused(args, no_runs, tmp_path):
    with tempfile.TemporaryDirectory(dir=tmp_path) as name:
        folder = Path(name)
        code, message = _outcome(args, folder)
        assert code in (None, 0, 1, 2), (args, code, message[-500:])
        assert len(message) < MAX_MESSAGE, (args, message[:300])
        assert "Traceback" not in message, (args, message[-1000:])
        if code != 0:  # refused, or stopped where a run would start: nothing written either way
            assert _files(folder) == set(), (args, _files(folder))


SCENARIO_KEYS = ["name", "description", "extends", "run", "levers", "assumptions", "uncertainty", "scale",
                 "quarters", "qof", "outcome_weight", "leadership", "skill_mean", "seed", "bonus"]
YAML_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["status_quo", "no_such", "../../etc/passwd", "*a", "!!python/none"]),
)
YAML_TREES = st.recursive(
    YAML_LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(SCENARIO_KEYS), inner, max_size=4)),
    max_leaves=12,
)
RAW_YAML = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from([
        "name: x", "name: x", "run:", "  scale: 0.01", "  scale: 0.02", "  quarters: 1", "levers:", "  qof:",
        "    outcome_weight: true", "    outcome_weight: '0.5'", "a: &a [1, 2]", "b: [*a, *a, *a]", "c: *nope",
        "extends: status_quo", "extends: extends.yaml", "description: !!binary aGk=", "- 1", "? [1]", "\t",
        "assumptions: {leadership: {skill_mean: .nan}}", "uncertainty: {x: fixed}", "name: \"a\\x01b\"",
    ]), max_size=10).map("\n".join),
)


@FUZZ
@given(tree=YAML_TREES, raw=RAW_YAML, use_raw=st.booleans())
def test_fuzzed_scenario_files_are_loaded_or_refused_with_a_short_message(tree, raw, use_raw, no_runs, tmp_path):
    import yaml

    text = raw if use_raw else yaml.safe_dump({"run": {"scale": 0.01, "quarters": 1}, "custom": tree}
                                              if not isinstance(tree, dict) else tree)
    with tempfile.TemporaryDirectory(dir=tmp_path) as name:
        folder = Path(name)
        path = folder / "extends.yaml"  # a file that extends itself is among the cases
        path.write_text(text, encoding="utf-8")
        for args in (["show", str(path)], ["run", str(path), "--out", str(folder / "out")]):
            code, message = _outcome(args, folder)
            assert code in (None, 0, 2), (text, code, message[-500:])
            assert len(message) < MAX_MESSAGE, (text, message[:300])
            assert "Traceback" not in message
            assert _files(folder) == {"extends.yaml"}, (text, _files(folder))


def test_a_list_or_mapping_as_a_yaml_key_is_refused(workdir, capsys):
    # Found by the fuzz test: '? [1]' made a list a key, and the duplicate-key check raised TypeError.
    for text in ("? [1]\n: 2\n", "run:\n  ? {a: 1}\n  : 2\n", "? []\n"):
        path = workdir / "keys.yaml"
        path.write_text(text)
        assert "a key must be a word" in refuse(["show", str(path)], workdir, capsys)
        path.unlink()


def test_a_read_only_store_can_be_listed_and_exported(stored, workdir, capsys, monkeypatch):
    path = Path(stored.removeprefix("sqlite:///"))
    before = path.read_bytes()
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"  # SQLite refuses every write through this URL
    assert main(["experiments", "--db", read_only]) == 0
    assert "small" in capsys.readouterr().out
    assert main(["export", "small", "--db", read_only, "--out", str(workdir / "e")]) == 0
    assert (workdir / "e" / "metrics.csv").exists()
    # Read-only media (simulated: root may write anywhere): the file is opened immutable, nothing is written.
    import sim.experiment.store.engine as engine

    monkeypatch.setattr(engine.os, "access", lambda *args, **kwargs: False)
    assert main(["experiments", "--db", stored]) == 0
    assert "small" in capsys.readouterr().out
    assert path.read_bytes() == before


# ------------------------------------------------------------------------------ stale status (item 7)


def test_an_experiment_killed_outright_shows_as_stale_and_resumes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    import sqlalchemy as sa
    from helpers import ROOT

    db = f"sqlite:///{tmp_path / 's.db'}"
    args = ["compare", "status_quo", "--reps", "400", "--scale", "0.01", "--quarters", "1", "--workers", "1",
            "--no-progress", "--db", db, "--name", "killed", "--out", str(tmp_path / "out")]
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_sim.py"), *args], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = sa.create_engine(db)
    try:
        deadline = time.monotonic() + 120
        stored = 0
        while stored < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            try:
                with engine.connect() as conn:
                    stored = conn.exec_driver_sql("SELECT COUNT(*) FROM runs").scalar() or 0
            except sa.exc.OperationalError:
                stored = 0
        assert proc.poll() is None, "the comparison finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        engine.dispose()
        if proc.poll() is None:
            proc.kill()
    listing = run_cli("experiments", "--db", db, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "stale" in _row(listing.stdout, "killed") and "running" not in _row(listing.stdout, "killed")
    assert "resumes it" in " ".join(listing.stdout.split())
    resumed = run_cli(*args, "--reps", "400", cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "reused from the store" in resumed.stdout
    listing = run_cli("experiments", "--db", db, cwd=tmp_path)
    assert "complete" in _row(listing.stdout, "killed")


def _row(table: str, name: str) -> str:
    """The row of experiment ``name`` in the listing's table."""
    return next(line for line in table.splitlines() if line.split("│")[1:2] and line.split("│")[1].strip() == name)


# ------------------------------------------------------------------------------ cluster faults (item 6)


@pytest.mark.dask
def test_a_dask_cluster_that_loses_its_workers_stops_within_the_timeout(tmp_path, monkeypatch):
    import shutil
    import signal
    import socket
    import subprocess
    import sys
    import threading
    import time

    from sim.errors import SimError
    from sim.experiment import compare, list_experiments

    dask = str(Path(sys.executable).with_name("dask")) if Path(sys.executable).with_name("dask").exists() \
        else shutil.which("dask")
    if dask is None:
        pytest.fail("the `dask` command is not installed (pip install '.[dask]')")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path / "dask.log", "w")  # noqa: SIM115 - the children keep it open
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 stdout=log, stderr=subprocess.STDOUT)
    worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                               "--host", "127.0.0.1"], stdout=log, stderr=subprocess.STDOUT)
    monkeypatch.setenv("CRSIM_SCHEDULER_TIMEOUT", "3")
    db = f"sqlite:///{tmp_path / 'd.db'}"
    try:
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:  # wait for the cluster
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(1, timeout=5)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        killer = threading.Timer(4.0, lambda: worker.send_signal(signal.SIGKILL))
        killer.start()
        started = time.monotonic()
        with pytest.raises(SimError, match="has had no worker for 3 s") as caught:
            compare(["status_quo"], reps=2000, overrides=["run.scale=0.01", "run.quarters=1"], db=db,
                    scheduler=address, name="lost")
        waited = time.monotonic() - started
        killer.cancel()
    finally:
        for proc in (worker, scheduler):
            proc.kill()
            proc.wait(timeout=20)
        log.close()
    assert waited < 4.0 + 3 + 10, waited  # the kill, the timeout, and some slack: never for ever
    assert "run the same command again" in str(caught.value)
    listed = list_experiments(db).set_index("name")
    assert listed.loc["lost", "status"] == "interrupted"
    assert 0 < listed.loc["lost", "runs_stored"] < 2000


def test_a_killed_pool_worker_stops_the_command_and_marks_it_interrupted(tmp_path):
    import signal
    import threading
    import time

    from sim.errors import SimError
    from sim.experiment import Session

    db = f"sqlite:///{tmp_path / 'p.db'}"
    session = Session(db, workers=2)
    killed: list[int] = []

    def kill_a_worker() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pool = getattr(session._executor, "_pool", None)
            processes = list((getattr(pool, "_processes", None) or {}).values())
            try:
                store = session._store  # opened by the comparison, never here
                started = bool(processes) and store is not None and bool(store.list_experiments()["runs_stored"].sum())
            except Exception:  # the store is busy or not open yet: look again
                started = False
            if started:
                os.kill(processes[0].pid, signal.SIGKILL)
                killed.append(processes[0].pid)
                return
            time.sleep(0.05)

    threading.Thread(target=kill_a_worker, daemon=True).start()
    with session, pytest.raises(SimError, match="worker process died unexpectedly"):
        session.compare(["status_quo"], reps=3000, overrides=["run.scale=0.01", "run.quarters=1"], name="pool")
    assert killed
    with Session(db) as again:
        listed = again.list_experiments().set_index("name")
    assert listed.loc["pool", "status"] == "interrupted"
    assert 0 < listed.loc["pool", "runs_stored"] < 3000


def test_compare_out_refuses_a_folder_holding_another_experiments_tables(tmp_path):
    db, out = f"sqlite:///{tmp_path / 'o.db'}", tmp_path / "tables"
    first = run_cli("compare", "status_quo", "delegation", "--reps", "2", "--db", db, "--name", "one",
                    "--out", str(out), *TINY, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (out / ".crsim-experiment").read_text().strip() == "one"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    other = run_cli("compare", "status_quo", "delegation", "--reps", "3", "--db", db, "--name", "two",
                    "--out", str(out), *TINY, cwd=tmp_path)
    assert other.returncode == 2 and "already holds the tables of experiment 'one'" in other.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing mixed in, nothing run
    again = run_cli("compare", "status_quo", "delegation", "--reps", "2", "--db", db, "--name", "one",
                    "--out", str(out), *TINY, cwd=tmp_path)
    assert again.returncode == 0 and "0 runs computed, 4 reused" in again.stdout
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    refused = run_cli("compare", "status_quo", "delegation", "--reps", "2", "--db", db, "--out", str(stray),
                      *TINY, cwd=tmp_path)
    assert refused.returncode == 2 and "already holds 1 other file(s)" in refused.stderr


def test_optimise_out_is_checked_before_any_trial_runs(tmp_path):
    """A design search refuses a folder holding another experiment's tables before it runs anything
    (it used to run every trial and fail when writing its tables)."""
    import sqlalchemy as sa

    db, taken = f"sqlite:///{tmp_path / 'o.db'}", tmp_path / "taken"
    taken.mkdir()
    (taken / ".crsim-experiment").write_text("someone-else\n")
    refused = run_cli("optimise", "quality_premium", "--lever", "levers.quality_premium.per_head_gbp=0:20",
                      "--objective", "outcome_mean=min", "--trials", "4", "--db", db, "--out", str(taken), *TINY,
                      cwd=tmp_path)
    assert refused.returncode == 2 and "already holds the tables of experiment 'someone-else'" in refused.stderr
    if (tmp_path / "o.db").exists():
        with sa.create_engine(db).connect() as connection:
            assert "runs" not in sa.inspect(connection).get_table_names() or not connection.execute(
                sa.text("select count(*) from runs")).scalar()


def test_scenario_text_is_shown_not_rendered_in_summary_md(tmp_path):
    scenario = tmp_path / "html.yaml"
    scenario.write_text("extends: delegation\nname: html_reform\n"
                        "description: 'Review <script>alert(1)</script> & <b>bold</b> claims'\n")
    proc = run_cli("compare", "status_quo", str(scenario), "--reps", "1", "--db", f"sqlite:///{tmp_path / 'h.db'}",
                   "--out", str(tmp_path / "out"), "--report", *TINY, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "out" / "report" / "summary.md").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in text
    assert "<script>" not in text and "<b>" not in text
