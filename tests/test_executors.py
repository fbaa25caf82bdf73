"""Executors: in-process, local process pool and a real Dask cluster give bit-identical results."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.experiment import plan as exp_plan
from sim.experiment import running as exp_run
from sim.experiment.design import grid, parse_vary
from sim.experiment.errors import ExecutorError, ExperimentError
from sim.experiment.executors import DaskExecutor, ProcessPoolExecutor, SerialExecutor, make_executor
from sim.experiment.store import ResultStore
from sim.experiment.tasks import RunTask
from sim.scenario import load_scenario, scenario_hash

OVERRIDES = ["run.scale=0.02", "run.quarters=8"]
GAMING = "assumptions.practice.gaming_propensity"


def _tasks(seeds, keep_snapshots=False):
    scenario = load_scenario("status_quo", OVERRIDES)
    digest = scenario_hash(scenario)
    return [RunTask(scenario, s, digest, "status_quo", 0, i, keep_snapshots) for i, s in enumerate(seeds)]


def _by_seed(results):
    return {r.task.seed: r.result for r in results}


def _assert_same(a, b):
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    pd.testing.assert_frame_equal(a.snapshots.reset_index(drop=True), b.snapshots.reset_index(drop=True),
                                  check_exact=True)


def _sweep_plan(name: str, reps: int = 2):
    base = load_scenario("status_quo", OVERRIDES)
    design = grid([parse_vary(f"{GAMING}=0.2:1.4:3")])
    return exp_plan.plan_design(base, design, kind="sweep", reps=reps, base_seed=11, name=name)


def _stored_table(url: str, name: str) -> pd.DataFrame:
    """Every stored metric of an experiment, in a canonical order, for exact comparison."""
    with ResultStore(url) as store:
        metrics = store.load_metrics(store.experiment_info(name)["id"])
    return metrics.drop(columns=["run_id"]).sort_values(
        ["point_id", "replication", "quarter"], ignore_index=True)


def test_serial_and_pool_agree_bit_for_bit():
    seeds = [3, 4, 5, 6, 7]
    serial = _by_seed(SerialExecutor().map_runs(_tasks(seeds, keep_snapshots=True)))
    with ProcessPoolExecutor(2) as pool:
        pooled = list(pool.map_runs(_tasks(seeds, keep_snapshots=True)))
    assert all(r.ok for r in pooled)
    assert sorted(r.task.seed for r in pooled) == seeds
    for seed in seeds:
        _assert_same(serial[seed], _by_seed(pooled)[seed])
    # Different seeds really are different runs.
    assert not serial[3].metrics.equals(serial[4].metrics)


def test_a_pool_broken_between_submissions_gives_the_clear_error(monkeypatch):
    """A worker that dies while work is still being handed out breaks the next submission, not a result:
    that too is the message telling the user the finished runs are stored (not concurrent.futures's)."""
    import concurrent.futures as cf

    with ProcessPoolExecutor(2) as executor:
        pool = executor._get_pool()

        def broken(*args, **kwargs):
            raise cf.process.BrokenProcessPool("A child process terminated abruptly")

        monkeypatch.setattr(pool, "submit", broken)
        with pytest.raises(ExecutorError, match=r"worker process died unexpectedly.*run the same command again"):
            list(executor.map_runs(_tasks([1, 2, 3])))


def test_snapshots_are_collected_only_when_wanted(monkeypatch):
    import sim.runner

    real_run, asked = sim.runner.run, []

    def recording(scenario, seed, *, snapshots=True):
        asked.append(snapshots)
        return real_run(scenario, seed, snapshots=snapshots)

    monkeypatch.setattr(sim.runner, "run", recording)
    kept, dropped = SerialExecutor().map_runs(_tasks([1], True) + _tasks([1], False))
    assert asked == [True, False]  # a run that will not keep them never collects them
    assert len(kept.result.snapshots) > 0
    assert len(dropped.result.snapshots) == 0
    pd.testing.assert_frame_equal(kept.result.metrics, dropped.result.metrics, check_exact=True)


def test_workers_build_the_rows_the_store_writes():
    from sim.experiment.rows import metric_rows

    (done,) = SerialExecutor().map_runs(_tasks([2]))
    assert done.rows == metric_rows(done.result.metrics)
    assert done.rows.names == tuple(c for c in done.result.metrics.columns
                                    if c not in ("quarter", "time_years", "financial_year"))
    assert [row[0] for row in done.rows.rows] == done.result.metrics["quarter"].tolist()


def test_a_failing_run_is_reported_not_raised(monkeypatch, sqlite_url):
    import sim.runner

    def boom(scenario, seed, *, snapshots=True):
        raise ValueError(f"model bug for seed {seed}")

    monkeypatch.setattr(sim.runner, "run", boom)
    (result,) = SerialExecutor().map_runs(_tasks([1]))
    assert not result.ok and "model bug for seed 1" in result.error

    plan = _sweep_plan("failing", reps=1)
    with ResultStore(sqlite_url) as store:
        outcome = exp_run.run_plan(plan, store, SerialExecutor())
        assert outcome.status == "failed" and outcome.failed == 3
        with pytest.raises(ExperimentError, match=r"3 of 3 runs .* failed .*model bug"):
            exp_run.raise_if_failed(outcome)
        assert store.experiment_info("failing")["status"] == "failed"
        monkeypatch.undo()
        # Fixed: the same plan resumes, recomputes the failed runs and completes.
        again = exp_run.run_plan(plan, store, SerialExecutor())
        assert (again.status, again.computed, again.reused) == ("complete", 3, 0)
        assert store.experiment_info("failing")["status"] == "complete"
        assert store.run_errors(store.experiment_info("failing")["id"]) == []


_CUT_OFF_RESULT = """
import os, struct
from sim.experiment.executors import ProcessPoolExecutor

executor = ProcessPoolExecutor(2)
pool = executor._get_pool()
pool.submit(os.getpid).result()  # workers started, the pool's manager thread waiting for results
# What a worker stopped part-way through writing a result leaves in the result pipe: a message header
# announcing 1,000 bytes, and only 10 of them.
os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 1000) + bytes(10))
executor._abort({})
print("stopped")
"""


def test_stopping_the_pool_survives_a_result_cut_off_part_way():
    """Ctrl-C stops workers at once, perhaps while one is writing its result; stopping must not then wait
    for the rest of that result for ever (it did, under CPU load, in test_resume's Ctrl-C test)."""
    proc = subprocess.run([sys.executable, "-c", _CUT_OFF_RESULT], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "stopped"


def test_executor_options_are_checked():
    assert isinstance(make_executor(1), SerialExecutor)
    assert isinstance(make_executor(2), ProcessPoolExecutor)
    assert make_executor(None).workers == (os.cpu_count() or 1)
    with pytest.raises(ExecutorError, match="at least 1"):
        make_executor(0)
    with pytest.raises(ExecutorError, match="not both"):
        make_executor(2, "tcp://127.0.0.1:1")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_scheduler_fails_fast_and_clearly():
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    with pytest.raises(ExecutorError, match=f"Cannot reach the Dask scheduler at {address}"):
        DaskExecutor(address, timeout_seconds=2)
    assert time.monotonic() - started < 30


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(2) as executor:
        yield executor


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1))
def test_same_seed_same_stored_results_whatever_the_workers(tmp_path_factory, pool, seed):
    base = load_scenario("status_quo", OVERRIDES)
    design = grid([parse_vary(f"{GAMING}=0.2:1.4:2")])
    tables = []
    for executor in (SerialExecutor(), pool):
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'r.db'}"
        plan = exp_plan.plan_design(base, design, kind="sweep", reps=3, base_seed=seed, name="prop")
        with ResultStore(url) as store:
            assert exp_run.run_plan(plan, store, executor).status == "complete"
        tables.append(_stored_table(url, "prop"))
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    assert len(tables[0]) == 2 * 3 * 9


# ------------------------------------------------------------------------------------ real Dask cluster


def _dask_bin() -> str:
    found = Path(sys.executable).with_name("dask")
    if found.exists():
        return str(found)
    which = shutil.which("dask")
    if which is None:
        pytest.fail("the `dask` command is not installed (pip install '.[dask]')")
    return which


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A real scheduler and two workers, each its own process, on 127.0.0.1."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> None:
        with open(logs / f"{name}.log", "w") as log:  # the child keeps its own handle
            procs.append(subprocess.Popen([_dask_bin(), *args], stdout=log, stderr=subprocess.STDOUT, env=env))

    def tails() -> str:
        return " / ".join((logs / f"{n}.log").read_text()[-500:] for n in ("scheduler", "worker0", "worker1"))

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
        for i in range(2):
            start(f"worker{i}", "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                  "--host", "127.0.0.1", "--name", f"w{i}")
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(2, timeout=max(1, deadline - time.monotonic()))
                break
            except Exception as exc:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"Dask cluster did not start: {tails()}") from exc
                time.sleep(0.5)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.dask
def test_dask_cluster_gives_the_serial_results(dask_cluster, tmp_path):
    serial_url = f"sqlite:///{tmp_path / 'serial.db'}"
    dask_url = f"sqlite:///{tmp_path / 'dask.db'}"
    with ResultStore(serial_url) as store:
        assert exp_run.run_plan(_sweep_plan("s"), store, SerialExecutor()).status == "complete"
    executor = DaskExecutor(dask_cluster, timeout_seconds=30)
    try:
        assert executor.workers == 2
        before = executor.client.run(lambda dask_worker: dask_worker.state.executed_count)
        with ResultStore(dask_url) as store:
            outcome = exp_run.run_plan(_sweep_plan("s"), store, executor)
        assert (outcome.status, outcome.computed, outcome.failed) == ("complete", 6, 0)
        after = executor.client.run(lambda dask_worker: dask_worker.state.executed_count)
    finally:
        executor.close()
    # The runs really went to the cluster's worker processes.
    assert sum(after.values()) - sum(before.values()) == 6
    serial, dasked = _stored_table(serial_url, "s"), _stored_table(dask_url, "s")
    assert len(serial) == 6 * 9
    pd.testing.assert_frame_equal(serial, dasked, check_exact=True)


@pytest.mark.dask
def test_dask_from_the_command_line(dask_cluster, tmp_path):
    from helpers import run_cli

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    proc = run_cli("sweep", "status_quo", "--vary", f"{GAMING}=0.2:1.4:2", "--scale", "0.02", "--quarters", "8",
                   "--scheduler", dask_cluster, "--db", db, "--name", "d", "--no-progress", "--out",
                   str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Dask cluster" in proc.stdout
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert len(table) == 2 and GAMING in table.columns


@pytest.mark.dask
def test_an_uncertainty_comparison_on_dask_gives_the_serial_results(dask_cluster, tmp_path):
    from sim.experiment import Session

    common = dict(uncertainty=4, reps=1, seed=5, overrides=["run.scale=0.02", "run.quarters=6"], name="u")
    with Session(f"sqlite:///{tmp_path / 'serial.db'}", workers=1) as session:
        serial = session.compare(["status_quo", "delegation"], **common)
    with Session(f"sqlite:///{tmp_path / 'dask.db'}", scheduler=dask_cluster) as session:
        dasked = session.compare(["status_quo", "delegation"], **common)
    assert dasked.outcome.computed == 8 and "Dask" in dasked.outcome.executor
    pd.testing.assert_frame_equal(serial.per_draw, dasked.per_draw, check_exact=True)
    pd.testing.assert_frame_equal(serial.uncertainty, dasked.uncertainty, check_exact=True)


@pytest.mark.dask
def test_a_design_search_on_dask_finds_the_serial_front(dask_cluster, tmp_path):
    from sim.experiment import Session

    common = dict(trials=6, population=3, reps=2, seed=3, overrides=["run.scale=0.02", "run.quarters=6"], name="o")
    args = ("quality_premium", ["levers.quality_premium.per_head_gbp=0:20",
                                "levers.quality_premium.distribution=none,contribution"],
            ["outcome_mean=min", "total_cost_gbp=min"])
    with Session(f"sqlite:///{tmp_path / 'serial.db'}", workers=1) as session:
        serial = session.optimise(*args, **common)
    with Session(f"sqlite:///{tmp_path / 'dask.db'}", scheduler=dask_cluster) as session:
        dasked = session.optimise(*args, **common)
    assert "Dask" in dasked.outcome.executor and dasked.outcome.total == 14
    pd.testing.assert_frame_equal(serial.trials, dasked.trials, check_exact=True)
    pd.testing.assert_frame_equal(serial.front, dasked.front, check_exact=True)
