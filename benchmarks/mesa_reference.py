"""A plain Mesa model of the same size as ours: the yardstick for DESIGN.md §2 ("over 100x faster").

Every practice is a Python object stepping itself with ``AgentSet.shuffle_do`` and a Mesa ``DataCollector``
records a handful of model-level measures each quarter, as a Mesa user would first write it. The practice
rule is deliberately simple (far simpler than ours), so the comparison flatters the reference:

- effort moves part of the way towards its consortium's mean effort (peer influence);
- quality improves with effort, with diminishing returns near the ceiling, decays to a baseline, plus a shock;
- costs per head move towards income when the practice loses money; reserves take the difference.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import mesa
import numpy as np

from sim.population import NATIONAL_CONSORTIA, NATIONAL_PRACTICES

EFFORT_RATE = 0.3
IMPROVEMENT_EFFICIENCY = 0.05
QUALITY_DECAY = 0.02
SHOCK_SD = 0.01
COST_ADJUSTMENT = 0.05


class RefConsortium(mesa.Agent):
    """A consortium: holds its members and their mean effort, recomputed at the start of each quarter."""

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.members: list[RefPractice] = []
        self.mean_effort = 0.0

    def update_mean(self) -> None:
        self.mean_effort = sum(p.effort for p in self.members) / max(len(self.members), 1)


class RefPractice(mesa.Agent):
    """A practice as a Python object with its own ``step``."""

    def __init__(self, model: mesa.Model, consortium: RefConsortium, list_size: float) -> None:
        super().__init__(model)
        self.consortium = consortium
        self.list_size = list_size
        self.effort = self.random.uniform(0.1, 0.5)
        self.quality = self.random.uniform(0.6, 0.9)
        self.baseline = self.quality - 0.1
        self.income_per_head = 75.0
        self.cost_per_head = 75.0 * self.random.uniform(0.85, 1.05)
        self.reserves = 0.0

    def step(self) -> None:
        self.effort += EFFORT_RATE * (self.consortium.mean_effort - self.effort)
        q = self.quality
        q += IMPROVEMENT_EFFICIENCY * self.effort * (1.0 - q) - QUALITY_DECAY * (q - self.baseline)
        q += self.random.gauss(0.0, SHOCK_SD)
        self.quality = min(max(q, 0.0), 1.0)
        margin = (self.income_per_head - self.cost_per_head) * self.list_size / 4.0
        self.reserves += margin
        if self.reserves < 0:
            self.cost_per_head -= COST_ADJUSTMENT * (self.cost_per_head - self.income_per_head)


def _quantile(p: float) -> Callable[[mesa.Model], float]:
    return lambda m: float(np.quantile(m.practice_set.get("quality"), p))


class ReferenceModel(mesa.Model):
    """``practices`` practices in ``consortia`` consortia, stepped one by one each quarter."""

    def __init__(self, practices: int = NATIONAL_PRACTICES, consortia: int = NATIONAL_CONSORTIA, seed: int = 1) -> None:
        super().__init__(rng=seed)
        self.consortia = [RefConsortium(self) for _ in range(consortia)]
        for i in range(practices):
            cons = self.consortia[i % consortia]
            practice = RefPractice(self, cons, self.random.uniform(1000, 15000))
            cons.members.append(practice)
        self.practice_set = self.agents_by_type[RefPractice]
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "quality_mean": lambda m: statistics.fmean(m.practice_set.get("quality")),
                "quality_sd": lambda m: statistics.pstdev(m.practice_set.get("quality")),
                "quality_p10": _quantile(0.1),
                "quality_p90": _quantile(0.9),
                "effort_mean": lambda m: statistics.fmean(m.practice_set.get("effort")),
                "reserves_gbp": lambda m: sum(m.practice_set.get("reserves")),
            }
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        for cons in self.consortia:
            cons.update_mean()
        self.practice_set.shuffle_do("step")
        self.datacollector.collect(self)


def run_reference(practices: int = NATIONAL_PRACTICES, consortia: int = NATIONAL_CONSORTIA, quarters: int = 40,
                  seed: int = 1) -> int:
    """Build, run and collect a reference model; returns its agent-steps (practices x quarters)."""
    model = ReferenceModel(practices, consortia, seed)
    for _ in range(quarters):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == quarters + 1
    return practices * quarters
