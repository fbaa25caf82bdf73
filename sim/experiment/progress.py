"""A progress bar on standard error (rich): runs done (computed, reused, failed) and the time left.

It implements :class:`sim.experiment.running.ProgressReporter`; the run loop never imports rich.
"""

from __future__ import annotations

from typing import Any

from sim.experiment.running import Outcome


class ProgressBar:
    """The command line's progress bar, also used by ``Session(progress=True)``."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None

    def start(self, name: str, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
            console=Console(stderr=True), transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(name, total=total, detail="")

    def advance(self, outcome: Outcome) -> None:
        if self._bar is None:
            return
        detail = f"{outcome.computed} run, {outcome.reused} reused"
        if outcome.failed:
            detail += f", [red]{outcome.failed} failed[/red]"
        self._bar.update(self._task, completed=outcome.done, detail=detail)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class Steps:
    """A progress bar on standard error for work counted in steps (the pack's charts, an export's tables).

    Silent when ``enabled`` is false, so library callers and tests see nothing. Use as a context manager;
    ``advance(detail)`` after each step.
    """

    def __init__(self, description: str, total: int, enabled: bool = True) -> None:
        self.description, self.total, self.enabled = description, total, enabled
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Steps:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[detail]}"),
                                 console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total, detail="")
        return self

    def advance(self, detail: str = "") -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, detail=detail)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
