"""The model's structure: each process declares the flows it records, the outputs read nothing private.

Why: the schedule in ``sim/model.py`` and the modules in ``sim/processes/`` are what docs/ODD.md
describes; these checks keep the declared flows, the metric registry and the code in step.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import small

import sim.model
import sim.observe
from sim.metrics import METRICS
from sim.model import CommissioningModel
from sim.processes import FLOW_KEYS, effort, initialise, market, money, policy, review

PROCESSES = (initialise, policy, effort, money, review, market)
DERIVED_FLOWS = {"total_cost_gbp"}  # computed from the others by sim.observe


def test_flow_keys_are_the_processes_declared_flows_and_the_registry_flows() -> None:
    declared = [key for module in PROCESSES for key in module.FLOWS]
    assert len(declared) == len(set(declared)), "a flow is declared by two processes"
    assert set(declared) == set(FLOW_KEYS)
    assert set(FLOW_KEYS) == {m.name for m in METRICS if m.kind == "flow"} - DERIVED_FLOWS


def test_each_process_records_only_the_flows_it_declares() -> None:
    for module in PROCESSES:
        written = set(re.findall(r"""flows\[["'](\w+)["']\]""", inspect.getsource(module)))
        written |= set(re.findall(r"""\bf\[["'](\w+)["']\]""", inspect.getsource(module)))
        assert written <= set(module.FLOWS), f"{module.__name__} records undeclared flows {written - set(module.FLOWS)}"


def test_a_busy_run_records_no_undeclared_flow() -> None:
    model = CommissioningModel(
        small("white_paper", "levers.market_entry.barriers=0.1", "levers.market_entry.entry_rate_per_year=0.1",
              quarters=8),
        seed=5,
    )
    for _ in range(8):
        model.step()
        assert tuple(model.flows) == FLOW_KEYS
    assert model.metrics_frame()["new_entrants"].sum() > 0


def test_outputs_read_nothing_private_and_the_model_does_not_import_the_runner() -> None:
    observe = inspect.getsource(sim.observe)
    assert not re.search(r"\bmodel\._", observe)
    imports = {
        node.module for node in ast.walk(ast.parse(Path(sim.model.__file__).read_text()))
        if isinstance(node, ast.ImportFrom)
    }
    assert "sim.runner" not in imports


def test_each_draw_site_has_its_own_stream_whatever_else_is_drawn() -> None:
    """Streams are keyed by (seed, site): drawing at another site, or in another order, shifts nothing."""
    from sim.rng import SITES, Streams, site_key

    assert len({site_key(name) for name in SITES}) == len(SITES)
    alone = Streams(11).uniform("review.escalation", 5)
    busy = Streams(11)
    busy.uniform("review.challenge_success", 1000)
    busy.normal("market.entrant_autonomy", 7)
    assert np.array_equal(busy.uniform("review.escalation", 5), alone)
    assert not np.array_equal(Streams(12).uniform("review.escalation", 5), alone)
    with pytest.raises(KeyError, match="unknown draw site"):
        Streams(11)["no.such.site"]
