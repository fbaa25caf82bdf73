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

from sim.experiment import store as store_module
from sim.experiment.interrupts import deferred_interrupts
from sim.experiment.store import ResultStore, RunLink
from sim.runner import run
from sim.scenario import load_scenario

# Where a Ctrl-C can land during a write (the model and numpy are not involved in storing).
_TRACED = ("sqlalchemy/engine/base.py", "sqlalchemy/pool/", "sqlalchemy/event/", "sim/experiment/store.py",
           "sim/experiment/interrupts.py", "/contextlib.py")
# Every third line of a write: the windows that hung were 4 to 23 lines long.
_STRIDE = 3


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
    """``save_run`` under the tracer; returns the KeyboardInterrupt it raised, if any (still alive)."""
    sys.settrace(tracer)
    try:
        store.save_run(result, RunLink(exp_id, "status_quo", 0, replication), keep_snapshots=False)
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


def _whole_runs(store: ResultStore, quarters: int, n_metrics: int) -> dict[int, tuple[int, int]]:
    with store.engine.connect() as conn:
        ids = conn.execute(sa.select(store_module.runs.c.id)).scalars().all()
        q = dict(conn.execute(sa.select(store_module.run_quarters.c.run_id, sa.func.count())
                              .group_by(store_module.run_quarters.c.run_id)).all())
        m = dict(conn.execute(sa.select(store_module.run_metrics.c.run_id, sa.func.count())
                              .group_by(store_module.run_metrics.c.run_id)).all())
    partial = {i: (q.get(i, 0), m.get(i, 0)) for i in ids if (q.get(i, 0), m.get(i, 0)) != (quarters, n_metrics)}
    assert not partial, f"runs stored in part: {partial}"
    return {i: (q[i], m[i]) for i in ids}


@pytest.mark.slow
def test_ctrl_c_anywhere_in_a_write_leaves_no_lock_and_no_partial_run(tmp_path, small_result):
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    db_file = str(tmp_path / "ctrl_c.db")
    quarters = len(small_result.metrics)
    with ResultStore(f"sqlite:///{db_file}") as store:
        exp_id, _ = store.begin_experiment(
            name="e", kind="compare", definition_hash="d", baseline="status_quo", scenarios=["status_quo"],
            reps=1, base_seed=1, n_runs=1, code_version="test", options={})
        store.save_run(small_result, RunLink(exp_id, "status_quo", 0, 0), keep_snapshots=False)  # warm caches
        counter = _SigintAt(None)
        warm = dataclasses.replace(small_result, metadata={**small_result.metadata, "seed": 999})
        assert _save_traced(store, warm, exp_id, 1, counter) is None
        n_metrics = len(small_result.metrics) * (len(small_result.metrics.columns) - 3)  # less the calendar
        assert counter.seen > 100, "the tracer saw too little of the write to be a test of it"

        locked, other = [], []
        for k in range(1, counter.seen + 1, _STRIDE):  # a write of the same shape: the same lines
            result = dataclasses.replace(small_result, metadata={**small_result.metadata, "seed": 1000 + k})
            tracer = _SigintAt(k)
            try:
                exc = _save_traced(store, result, exp_id, 1 + k, tracer)
            except Exception as error:
                other.append(f"{tracer.where}: {type(error).__name__}: {error}")
                continue
            assert tracer.where is not None
            if exc is None:
                other.append(f"{tracer.where}: the interrupt was lost")
            elif not _write_lock_is_free(db_file):  # checked while the exception and its frames are alive
                locked.append(tracer.where)
            del exc
            gc.collect()  # frames of an interrupted write may sit in cycles; they must not outlive it
        assert not locked, f"Ctrl-C left this process holding the write lock at {len(locked)} points: {locked}"
        assert not other, f"Ctrl-C did not come out as KeyboardInterrupt: {other}"
        stored = _whole_runs(store, quarters, n_metrics)
        # The store still works, and every interrupted write either completed or left nothing.
        store.finish_experiment(exp_id, "interrupted")
        assert store.experiment_info("e")["status"] == "interrupted"
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
