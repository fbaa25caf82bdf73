"""The model's processes, one a module, in the order the quarter runs them (docs/ODD.md, section 3).

Each module is a set of functions of the model (its arrays, levers and assumptions) and declares in
``FLOWS`` the flow metrics it records; :data:`FLOW_KEYS` is their union, reset every quarter. The
schedule itself is :meth:`sim.model.CommissioningModel.step`.
"""

from __future__ import annotations

from sim.processes import effort, initialise, market, money, policy, review

FLOW_KEYS: tuple[str, ...] = (*money.FLOWS, *review.FLOWS, *market.FLOWS)

__all__ = ["FLOW_KEYS", "effort", "initialise", "market", "money", "policy", "review"]
