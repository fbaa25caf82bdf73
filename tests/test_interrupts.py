"""Ctrl-C at any moment of a database write: the write is whole or absent, nothing stays locked, and the
interrupt comes out as ``KeyboardInterrupt``.

A real SIGINT (``signal.raise_signal``) is sent from a trace function at the k-th line the store,
SQLAlchemy's engine and pool, or ``contextlib`` execute while storing a run, for k spread over the whole
write. That is where Python would raise the ``KeyboardInterrupt`` of a Ctrl-C arriving at that moment.
While the exception is still alive (as it is in ``run_plan``'s ``finally``, which then marks the
experiment interrupted), the SQLite write lock must be free: before the store held Ctrl-C during
transactions, a few dozen of these moments left this process holding its own write lock, and the
experiment hung on it (``test_resume.py::test_ctrl_c_stops_cleanly_and_keeps_finished_runs``).
"""

from __future__ import annotations

import dataclasses
import gc
import signal
import sqlite3
import sys

import pytest
import sqlalchemy as sa
from helpers import small

from sim.experiment.executors import make_executor
from sim.experiment.interrupts import deferred_interrupts
from sim.experiment.plan import plan_compare
from sim.experiment.rows import metric_rows
from sim.experiment.running import run_plan
from sim.experiment.store import ResultStore, RunLink
from sim.experiment.store import schema as store_module
from sim.runner import run
from sim.scenario import load_scenario

# Where a Ctrl-C can land during a write (the model and numpy are not involved in storing).
_TRACED = ("sqlalchemy/engine/base.py", "sqlalchemy/pool/", "sqlalchemy/event/", "sim/experiment/store/",
           "sim/experiment/interrupts.py", "/contextlib.py")
# Every line of a write.
_STRIDE = 1


@pytest.fixture(autouse=True)
def _python_sigint_handler():
    """Python's own Ctrl-C handler for each test, whatever this process inherited: a shell's background
    job starts with SIGINT ignored, and Python then never installs the handler these tests rely on."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class _SigintAt:
    """Trace function: sends this process SIGINT when the ``k``-th traced line is about to run."""

    def __init__(self, k: int | None) -> None:
        self.k = k
        self.seen = 0
        self.where: str | None = None

    def __call__(self, frame, event, arg):
        if self.where is None and event in ("call", "line"):
            name = frame.f_code.co_filename.replace("\\", "/")
            if any(part in name for part in _TRACED):
                self.seen += 1
                if self.seen == self.k:
                    self.where = f"{name.rsplit('site-packages/', 1)[-1]}:{frame.f_lineno}"
                    signal.raise_signal(signal.SIGINT)
        return self


@pytest.fixture(scope="module")
def small_result():
    return run(load_scenario("status_quo", ["run.scale=0.02", "run.quarters=2"]), 3, snapshots=False)


def _save_traced(store: ResultStore, result, exp_id: int, replication: int, tracer: _SigintAt):
    """``save_run`` under the tracer; returns the KeyboardInterrupt it raised, if any (still alive).

    The rows come ready-made, as from a worker: pandas would only slow the tracing down.
    """
    rows = metric_rows(result.metrics)
    sys.settrace(tracer)
    try:
        store.save_run(result, RunLink(exp_id, "status_quo", 0, replication), keep_snapshots=False, rows=rows)
    except KeyboardInterrupt as exc:
        return exc
    finally:
        sys.settrace(None)
    return None


def _write_lock_is_free(db_file: str) -> bool:
    """Whether another connection can take the write lock right now (no waiting at all)."""
    conn = sqlite3.connect(db_file, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def _whole_runs(store: ResultStore, quarters: int) -> list[int]:
    """Ids of the stored runs, each checked to have all its quarters."""
    metrics = store_module.run_metrics
    with store.engine.connect() as conn:
        ids = conn.execute(sa.select(store_module.runs.c.id)).scalars().all()
        rows = dict(conn.execute(sa.select(metrics.c.run_id, sa.func.count()).group_by(metrics.c.run_id)).all())
    partial = {i: rows.get(i, 0) for i in ids if rows.get(i, 0) != quarters}
    assert not partial, f"runs stored in part (run id: quarters stored): {partial}"
    return list(ids)


def _pool_left_locked(store: ResultStore) -> bool:
    """Whether an interrupt left a lock of SQLAlchemy's connection pool held: the next checkout would
    then wait forever, so the test replaces the store rather than hang."""
    lock = getattr(store.engine.pool, "_overflow_lock", None)  # a plain Lock; the pool's queue has an RLock
    return lock is not None and lock.locked()


@pytest.mark.slow
def test_ctrl_c_anywhere_in_a_write_leaves_no_lock_and_no_partial_run(tmp_path, small_result):
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    db_file = str(tmp_path / "ctrl_c.db")
    url = f"sqlite:///{db_file}"
    quarters = len(small_result.metrics)
    store = ResultStore(url)
    try:
        exp_id, _ = store.begin_experiment(
            name="e", kind="compare", definition_hash="d", baseline="status_quo", scenarios=["status_quo"],
            reps=1, base_seed=1, n_runs=1, code_version="test", options={})
        store.save_run(small_result, RunLink(exp_id, "status_quo", 0, 0), keep_snapshots=False)  # warm caches
        counter = _SigintAt(None)
        warm = dataclasses.replace(small_result, metadata={**small_result.metadata, "seed": 999})
        assert _save_traced(store, warm, exp_id, 1, counter) is None
        assert counter.seen > 100, "the tracer saw too little of the write to be a test of it"

        locked, pool_locked, other = [], [], []
        for k in range(1, counter.seen + 1, _STRIDE):  # a write of the same shape: the same lines
            result = dataclasses.replace(small_result, metadata={**small_result.metadata, "seed": 1000 + k})
            tracer = _SigintAt(k)
            try:
                exc = _save_traced(store, result, exp_id, 1 + k, tracer)
            except Exception as error:
                exc = None
                other.append(f"{tracer.where}: {type(error).__name__}: {error}")
            else:
                assert tracer.where is not None
                if exc is None:
                    other.append(f"{tracer.where}: the interrupt was lost")
            if exc is not None and not _write_lock_is_free(db_file):  # while the exception and its frames live
                locked.append(tracer.where)
            del exc
            if locked or other:
                gc.collect()  # let go of what a broken write holds (frames in cycles), so the next can proceed
            if _pool_left_locked(store):
                pool_locked.append(tracer.where)
                store = ResultStore(url)
        assert not locked, f"Ctrl-C left this process holding the write lock at {len(locked)} points: {locked}"
        assert not pool_locked, f"Ctrl-C left the connection pool locked at {pool_locked}"
        assert not other, f"Ctrl-C did not come out as KeyboardInterrupt: {other}"
        stored = _whole_runs(store, quarters)
        # The store still works, and every interrupted write either completed or left nothing.
        store.finish_experiment(exp_id, "interrupted")
        assert store.experiment_info("e")["status"] == "interrupted"
    finally:
        store.close()
    assert 2 <= len(stored) <= 2 + len(range(1, counter.seen + 1, _STRIDE))


def test_deferred_interrupts_deliver_the_signal_at_the_end():
    events = []
    with pytest.raises(KeyboardInterrupt), deferred_interrupts():
        signal.raise_signal(signal.SIGINT)
        events.append("still running")
        with deferred_interrupts():
            signal.raise_signal(signal.SIGINT)
        events.append("inner block handed it on")
    assert events == ["still running", "inner block handed it on"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with deferred_interrupts():
        pass  # no signal: nothing raised
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_deferred_interrupts_respect_an_ignoring_handler():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with deferred_interrupts():
            signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_just_as_the_experiment_is_created_marks_it_interrupted(tmp_path, monkeypatch):
    """A Ctrl-C arriving the moment the experiment's row is committed must still end with the experiment
    marked interrupted, not left "running" with nothing to mark it."""
    begin = ResultStore.begin_experiment

    def begin_then_ctrl_c(self, **kwargs):
        created = begin(self, **kwargs)
        signal.raise_signal(signal.SIGINT)
        return created

    monkeypatch.setattr(ResultStore, "begin_experiment", begin_then_ctrl_c)
    plan = plan_compare([small("status_quo", quarters=2)], reps=2, name="cut")
    with ResultStore(f"sqlite:///{tmp_path / 'cut.db'}") as store:
        with pytest.raises(KeyboardInterrupt):
            run_plan(plan, store, make_executor(workers=1))
        assert store.experiment_info("cut")["status"] == "interrupted"
        assert store.list_experiments().loc[0, "runs_stored"] == 0
