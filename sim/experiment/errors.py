"""Errors the experiment layer raises for problems a user can fix (all :class:`sim.errors.SimError`)."""

from __future__ import annotations

from sim.errors import SimError


class ExperimentError(SimError):
    """An experiment's definition is wrong, or it clashes with one already stored under the same name."""


class DesignError(ExperimentError):
    """A ``--vary`` specification or a sampling design is malformed or outside the schema's ranges."""


class StoreError(SimError):
    """The results database cannot be reached, has an incompatible schema, or lacks what was asked for."""


class ExecutorError(SimError):
    """The execution backend (process pool or Dask cluster) is unavailable or broke down."""
