"""Commissioning Reform Simulator: an agent-based model of England's GP commissioning reform.

The public entry points are :func:`sim.scenario.load_scenario` and :func:`sim.runner.run`;
experiments (comparisons, sweeps, sensitivity) live in :mod:`sim.experiment`.
"""

from sim.errors import ScenarioError, SimError
from sim.version import MODEL_VERSION

__all__ = ["MODEL_VERSION", "ScenarioError", "SimError"]
