"""Where runs execute: in this process, in a local process pool, or on a Dask cluster.

All three share one interface, :class:`Executor`: ``map_runs(tasks)`` takes an iterable of
:class:`~sim.experiment.tasks.RunTask` (consumed lazily) and yields a
:class:`~sim.experiment.tasks.TaskResult` for each as it finishes, in completion order. Only a bounded
number of tasks is in flight at once, so memory does not grow with the size of a sweep, and the caller can
store each result as it arrives. A run is a pure function of (scenario, seed, model version), so the
backend and the number of workers never change the results, only how soon they arrive.

If the consumer stops early (Ctrl-C, an error while storing), closing the iterator cancels what is queued
and stops the workers; results already yielded are the caller's to keep.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

from sim.experiment.errors import ExecutorError
from sim.experiment.tasks import RunTask, TaskResult, execute, execute_group, failed_result, sharing_a_start

#: Pools send up to this many consecutive runs that settle the same start to one worker, as one job (a
#: comparison's scenarios at one replication); the worker settles the start once (:mod:`sim.start_cache`).
GROUP_LIMIT = 8


@runtime_checkable
class Executor(Protocol):
    """Runs tasks and yields their results as they finish."""

    #: Short description for progress messages, e.g. ``"2 local processes"``.
    description: str
    #: How many runs proceed at once.
    workers: int

    def map_runs(self, tasks: Iterable[RunTask]) -> Iterator[TaskResult]:
        """Yield one result per task, in completion order."""

    def close(self) -> None:
        """Release workers and connections."""


class _Base:
    description = "executor"
    workers = 1

    def close(self) -> None:  # pragma: no cover - trivial default
        return None

    def __enter__(self) -> _Base:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------------ serial


class SerialExecutor(_Base):
    """Runs each task in this process, one after another (``--workers 1``).

    The simplest path, and the reference the others must match bit for bit; also the one to use under a
    debugger or profiler.
    """

    def __init__(self) -> None:
        self.workers = 1
        self.description = "in-process"

    def map_runs(self, tasks: Iterable[RunTask]) -> Iterator[TaskResult]:
        for task in tasks:
            yield execute(task)


# ------------------------------------------------------------------------------------ process pool


def _watch_parent(parent_pid: int) -> None:
    """Exit when the orchestrating process dies, so a SIGKILL'd experiment leaves no orphan workers.

    Polls the pid itself: under forkserver a worker's OS parent is the fork server, not the orchestrator.
    """
    while True:
        time.sleep(1.0)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # pid reused by another user's process: ours is gone
            os._exit(1)


def _init_worker(parent_pid: int) -> None:
    # Ctrl-C goes to the whole process group; only the parent should act on it, or every worker prints
    # a traceback and the pool breaks before the parent can shut it down in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    # The model before the first task (already there under forkserver, which preloads it; about a second
    # under spawn), and the cached git call that every run's metadata makes.
    import sim.model  # noqa: F401
    from sim.version import code_version, package_versions

    code_version()
    package_versions()


@contextlib.contextmanager
def _caller_main_hidden() -> Iterator[None]:
    """While a worker process is launched, show multiprocessing a ``__main__`` with no file and no spec.

    Under spawn and forkserver, a new process re-runs the parent's ``__main__`` (the user's script) before
    it starts work, so that functions defined there can be unpickled. Our workers only run
    :func:`sim.experiment.tasks.execute` on :class:`~sim.experiment.tasks.RunTask` objects, or the
    analyses of :mod:`sim.uncertainty.pool`, all of the ``sim`` package, and need nothing from the caller.
    Re-running the caller is what breaks a script without an ``if __name__ == "__main__":`` guard (each
    worker would start the experiment again, and fail bootstrapping), and code read from standard input
    (``python -``: there is no file ``<stdin>`` to re-run). With no main module to re-run, all of these
    simply work, as notebooks already do.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


class _SpawnProcess(multiprocessing.context.SpawnProcess):
    """A spawned worker that starts without re-running the caller's main module (pickled by reference, so
    it lives at module level)."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        with _caller_main_hidden():
            return multiprocessing.context.SpawnProcess._Popen(process_obj)


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _SpawnProcess


if sys.platform != "win32":

    class _ForkServerProcess(multiprocessing.context.ForkServerProcess):
        """A forkserver worker that starts without re-running the caller's main module."""

        @staticmethod
        def _Popen(process_obj: Any) -> Any:
            with _caller_main_hidden():
                return multiprocessing.context.ForkServerProcess._Popen(process_obj)

    class _ForkServerContext(multiprocessing.context.ForkServerContext):
        Process = _ForkServerProcess


def worker_context() -> multiprocessing.context.BaseContext:
    """How the simulator starts local worker processes, for runs and for analyses alike."""
    # Never plain fork: the parent may hold threads (progress bar, database pool) whose locks a forked
    # child would inherit mid-flight. forkserver starts workers fast where the platform has it.
    if sys.platform != "win32" and "forkserver" in multiprocessing.get_all_start_methods():
        ctx = _ForkServerContext()
        ctx.set_forkserver_preload(["sim.experiment.tasks", "sim.runner", "sim.model"])
        return ctx
    return _SpawnContext()


def _worker_died(exc: BaseException) -> ExecutorError:
    return ExecutorError("A worker process died unexpectedly (out of memory, or killed). Finished runs are "
                         f"stored; run the same command again to resume. ({exc})")


class ProcessPoolExecutor(_Base):
    """Runs tasks in a pool of local worker processes (the default: one per core).

    Args:
        workers: number of processes; default ``os.cpu_count()``.
        max_pending: tasks submitted ahead of results; default twice the workers, enough to keep every
            worker busy while bounding memory.
    """

    def __init__(self, workers: int | None = None, max_pending: int | None = None) -> None:
        self.workers = int(workers or os.cpu_count() or 1)
        if self.workers < 1:
            raise ExecutorError(f"--workers must be at least 1, not {workers}.")
        self.max_pending = max_pending or 2 * self.workers
        self.description = f"{self.workers} local processes"
        self._pool: cf.ProcessPoolExecutor | None = None

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=worker_context(),
                initializer=_init_worker, initargs=(os.getpid(),),
            )
        return self._pool

    def map_runs(self, tasks: Iterable[RunTask]) -> Iterator[TaskResult]:
        pool = self._get_pool()
        groups = sharing_a_start(tasks, GROUP_LIMIT, self.workers)
        pending: dict[cf.Future[list[TaskResult]], list[RunTask]] = {}
        finished = False

        def fill() -> None:
            while sum(map(len, pending.values())) < self.max_pending:
                group = next(groups, None)
                if group is None:
                    return
                try:
                    pending[pool.submit(execute_group, group)] = group
                except cf.process.BrokenProcessPool as exc:  # a worker died since the last results came
                    raise _worker_died(exc) from None

        try:
            fill()
            while pending:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    group = pending.pop(future)
                    try:
                        results = future.result()
                    except cf.process.BrokenProcessPool as exc:
                        raise _worker_died(exc) from None
                    except Exception as exc:  # e.g. the result failed to pickle
                        results = [failed_result(task, f"{type(exc).__name__}: {exc}") for task in group]
                    yield from results
                fill()
            finished = True
        finally:
            if not finished:
                self._abort(pending)

    def _abort(self, pending: dict[cf.Future[list[TaskResult]], list[RunTask]]) -> None:
        """Cancel queued work and stop the workers now, rather than waiting for runs in progress."""
        for future in pending:
            future.cancel()
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes: list[Any] = list((getattr(pool, "_processes", None) or {}).values())
        for proc in processes:
            proc.terminate()
        for proc in processes:
            proc.join()
        # A worker stopped while writing its result to the pool's result pipe (a result larger than the pipe
        # holds, while this process is busy storing) leaves the start of a message there, and the pool's
        # manager thread then waits for the rest of it for ever: shutting down would hang on that thread.
        # Every worker is gone, and this process never writes to that pipe: closing its copy of the write
        # end turns the wait into end-of-file, which the thread takes for a broken pool, and it exits.
        writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
        if writer is not None:
            with contextlib.suppress(OSError):
                writer.close()
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# ------------------------------------------------------------------------------------------- dask


class DaskExecutor(_Base):
    """Runs tasks on a Dask distributed cluster (``--scheduler tcp://HOST:PORT``).

    Workers must be able to import this package at the same model version (``pip install .[dask]`` on
    each); results come back to this process, which alone writes to the database.

    Args:
        address: the scheduler's address, e.g. ``tcp://10.0.0.5:8786``.
        timeout_seconds: how long to wait for the scheduler, and for at least one worker.
        max_pending: tasks submitted ahead of results; default twice the cluster's threads.
    """

    def __init__(self, address: str, timeout_seconds: float = 10.0, max_pending: int | None = None) -> None:
        try:
            import distributed
        except ImportError:
            raise ExecutorError(
                "--scheduler needs Dask distributed, which is not installed: pip install '.[dask]' "
                "(or pip install 'dask[distributed]')."
            ) from None
        self._distributed = distributed
        self.address = address
        self.timeout_seconds = timeout_seconds
        try:
            self.client = distributed.Client(address, timeout=timeout_seconds, set_as_default=False)
        except Exception as exc:  # OSError, TimeoutError, ValueError for a malformed address
            raise ExecutorError(
                f"Cannot reach the Dask scheduler at {address} within {timeout_seconds:g} s "
                f"({type(exc).__name__}: {exc}). Check the address (tcp://HOST:PORT) and that "
                "`dask scheduler` is running there."
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=timeout_seconds)
        except Exception:
            self.client.close()
            raise ExecutorError(
                f"The Dask scheduler at {address} has no workers (waited {timeout_seconds:g} s). "
                f"Start some with `dask worker {address}`."
            ) from None
        info = self.client.scheduler_info()
        workers = info.get("workers", {})
        self.workers = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self.max_pending = max_pending or 2 * self.workers
        self.description = f"Dask cluster at {address} ({len(workers)} workers, {self.workers} threads)"

    def map_runs(self, tasks: Iterable[RunTask]) -> Iterator[TaskResult]:
        distributed = self._distributed
        groups = sharing_a_start(tasks, GROUP_LIMIT, self.workers)
        pending: dict[str, list[RunTask]] = {}
        futures: dict[str, Any] = {}
        queue = distributed.as_completed(loop=self.client.loop)
        finished = False

        def fill() -> None:
            while sum(map(len, pending.values())) < self.max_pending:
                group = next(groups, None)
                if group is None:
                    return
                future = self.client.submit(execute_group, group, pure=False)
                pending[future.key] = group
                futures[future.key] = future
                queue.add(future)

        try:
            fill()
            while pending:
                future = self._next_done(queue)
                group = pending.pop(future.key)
                futures.pop(future.key, None)
                try:
                    results = self._result(future)
                except ExecutorError:
                    raise
                except Exception as exc:  # a worker died or the result could not be deserialised
                    results = [failed_result(task, f"{type(exc).__name__}: {exc}") for task in group]
                future.release()
                yield from results
                fill()
            finished = True
        finally:
            if not finished and futures:
                # The scheduler may be gone already; then there is nothing left to cancel.
                with contextlib.suppress(Exception):
                    self.client.cancel(list(futures.values()))

    def _next_done(self, queue: Any) -> Any:
        """The next finished future; an ExecutorError once the cluster has had no worker (or no scheduler)
        for ``timeout_seconds``: Dask would otherwise wait for one for ever."""
        lost_since: float | None = None
        checked = time.monotonic()
        while not queue.has_ready():
            time.sleep(0.05)
            if time.monotonic() - checked >= 1.0:
                checked = time.monotonic()
                lost_since = self._check_lost(lost_since)
        return next(queue)

    def _result(self, future: Any) -> Any:
        """A finished future's result. Its data can be lost with the worker that held it (Dask then waits
        to recompute it), so wait a second at a time, and stop once no worker has been seen for long."""
        lost_since: float | None = None
        while True:
            try:
                return future.result(timeout=1.0)
            except TimeoutError:
                lost_since = self._check_lost(lost_since)

    def _check_lost(self, lost_since: float | None) -> float | None:
        """None while the cluster has workers; else when they were first missed, raising ExecutorError
        once that is ``timeout_seconds`` ago."""
        if self._has_workers():
            return None
        now = time.monotonic()
        if lost_since is not None and now - lost_since > self.timeout_seconds:
            what = "worker" if self.client.status == "running" else "scheduler"
            raise ExecutorError(
                f"The Dask cluster at {self.address} has had no {what} for {self.timeout_seconds:g} s "
                f"(${SCHEDULER_TIMEOUT_ENV} sets the wait). Finished runs are stored and the experiment is "
                "marked interrupted: run the same command again to resume it.")
        return lost_since or now

    def _has_workers(self) -> bool:
        try:
            return self.client.status == "running" and bool(self.client.scheduler_info().get("workers"))
        except Exception:  # the scheduler is gone, or not answering
            return False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


# ----------------------------------------------------------------------------------------- factory


#: Environment variable: seconds to wait for a Dask scheduler and its first worker (default 10).
SCHEDULER_TIMEOUT_ENV = "CRSIM_SCHEDULER_TIMEOUT"


def scheduler_timeout() -> float:
    """``$CRSIM_SCHEDULER_TIMEOUT`` in seconds (default 10): a finite positive number, else refused."""
    raw = os.environ.get(SCHEDULER_TIMEOUT_ENV, "10")
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ExecutorError(f"{SCHEDULER_TIMEOUT_ENV}={raw[:40]!r} is not allowed: give a finite, positive "
                            "number of seconds to wait for the Dask scheduler and its first worker (default 10).")
    return value


_scheduler_timeout = scheduler_timeout


#: Local worker processes allowed per core: more would only queue for the same cores.
WORKERS_PER_CORE = 4


def check_workers(workers: int | None) -> None:
    """Refuse fewer than one local worker process, or more than four per core (they would only queue)."""
    limit = WORKERS_PER_CORE * (os.cpu_count() or 1)
    if workers is not None and not 1 <= workers <= limit:
        bound = f"at least 1, not {workers}" if workers < 1 else f"at most {limit}, not {workers}"
        raise ExecutorError(f"--workers must be {bound}: give 1 (in this process) to {limit} local worker "
                            f"processes ({WORKERS_PER_CORE} per core on this machine), or a --scheduler.")


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor the command-line options ask for.

    Args:
        workers: 1 for in-process; N for a local pool of N processes; None for one per core.
        scheduler: a Dask scheduler address; excludes ``workers``. The wait for it is
            ``$CRSIM_SCHEDULER_TIMEOUT`` seconds (default 10).
    """
    if scheduler:
        if workers is not None:
            raise ExecutorError("Give either --workers (local) or --scheduler (Dask cluster), not both.")
        return DaskExecutor(scheduler, timeout_seconds=_scheduler_timeout())
    check_workers(workers)
    if workers == 1:
        return SerialExecutor()
    return ProcessPoolExecutor(workers)
