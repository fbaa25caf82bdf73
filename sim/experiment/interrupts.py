"""Hold Ctrl-C while a database transaction is in flight, and deliver it as soon as the transaction is over.

Python turns SIGINT into a ``KeyboardInterrupt`` raised at whatever bytecode the main thread happens to be
running. Inside a database driver or SQLAlchemy's connection bookkeeping that can leave things half done,
and on SQLite it can leave this very process holding the write lock:

* SQLAlchemy treats a ``KeyboardInterrupt`` raised around a cursor call as a lost connection and closes
  the DBAPI connection at once. The cursor that ran the ``SELECT`` is still referenced by the frames of
  the exception's traceback, so the sqlite3 connection cannot really close: it becomes a "zombie" that
  keeps its open ``BEGIN IMMEDIATE`` transaction, and with it the write lock, until the traceback is
  released;
* raised in ``contextlib``'s ``__exit__`` before it resumes the generator of a ``with`` block, it leaves
  the connection checked out with its transaction open, held by that suspended generator;
* raised between two steps of SQLAlchemy's transaction state machine, it surfaces as an unrelated
  ``AttributeError`` or ``AssertionError``.

The experiment then tries to mark itself interrupted while the exception is still propagating, waits
for a lock its own process holds, and hangs for the whole busy timeout. Holding the signal for the few
milliseconds a transaction takes removes every such window: the handler installed here only records the
signal (it never touches the database), and the signal is re-raised, to whatever handler was installed
before, once the connection is back in the pool.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType


class deferred_interrupts:
    """Context manager: a SIGINT received inside the block is delivered when the block exits.

    Only the main thread receives signals in Python; elsewhere (and where the handler cannot be changed)
    the block runs unprotected, as before. Blocks may nest: an inner block hands a held signal on to the
    outer one. The previous handler is restored on exit whatever happens in the block, and the held
    signal is then raised again with :func:`signal.raise_signal`, so it reaches that handler exactly as
    if it had just arrived (the default handler raises ``KeyboardInterrupt``).
    """

    __slots__ = ("_installed", "_previous", "_received")

    def __init__(self) -> None:
        self._previous: object = None
        self._installed = False
        self._received = False

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        self._received = True

    def __enter__(self) -> deferred_interrupts:
        # A handler installed other than from Python (getsignal gives None) could not be put back: leave it.
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not None:
            try:
                self._previous = signal.signal(signal.SIGINT, self._hold)
            except (ValueError, OSError):  # not the main interpreter, or no signal support
                return self
            # Set only once our handler is in place: from here on a SIGINT cannot raise, so nothing can
            # come between installing the handler and __exit__ restoring it.
            self._installed = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self._installed:
            return
        self._installed = False
        signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
        if self._received:
            self._received = False
            signal.raise_signal(signal.SIGINT)
