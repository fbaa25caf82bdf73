"""CommissioningModel: the Mesa shell around the array state, and the quarter's schedule.

The model owns the state (:mod:`sim.state`), the random streams (:mod:`sim.rng`) and the agent views;
what happens in a quarter is the processes' (:mod:`sim.processes`), called in the fixed order of
:meth:`CommissioningModel.step` (docs/ODD.md, *Process overview and scheduling*). Outputs are
:mod:`sim.observe`'s.
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd

from sim.agents.board import Board
from sim.agents.consortium import ConsortiumLead
from sim.agents.practice import Practice
from sim.marginal import EffortValue
from sim.observe import Observer
from sim.params import Assumptions, Levers, Scenario
from sim.population import build_population
from sim.processes import FLOW_KEYS, effort, initialise, market, money, policy, review
from sim.rng import make_streams


class CommissioningModel(mesa.Model):
    """The quarterly agent-based model of GP commissioning.

    Args:
        scenario: a resolved scenario (see :func:`sim.scenario.load_scenario`).
        seed: the replication's seed; all randomness derives from it, one stream per draw site (:mod:`sim.rng`).
        snapshots: record the practice snapshots the scenario asks for (``run.snapshots``); False skips
            them whatever the scenario says (the metrics are the same), for callers that would drop them.

    Public state read by the outputs: ``practices``, ``consortia``, ``board``, ``quarter``, ``flows`` (this
    quarter's flow metrics, :data:`sim.processes.FLOW_KEYS`), ``outcome_outliers``, ``convergence``,
    ``ledger``; fixed at initialisation: ``reference_list``, ``reference_quality``, ``single_rate``,
    ``warranted_rx_gbp``.

    Example:
        >>> from sim.scenario import load_scenario
        >>> model = CommissioningModel(load_scenario("delegation", ["run.scale=0.05"]), seed=3)
        >>> model.run_quarters(4)
        >>> model.metrics_frame()["quarter"].tolist()
        [0, 1, 2, 3, 4]
    """

    reference_list: float  # mean list size at the start: QOF points are paid per point at this list
    reference_quality: float  # quality at which admissions are at their risk-adjusted expectation
    single_rate: float  # funding per head under a single contract
    warranted_rx_gbp: float  # warranted prescribing cost per head
    effort_value: EffortValue  # what each kind of effort is expected to earn each practice (last signals)

    def __init__(self, scenario: Scenario, seed: int, snapshots: bool = True) -> None:
        super().__init__(rng=int(seed))
        self.scenario = scenario
        self.seed = int(seed)
        self.streams = make_streams(seed)
        self.practices, self.consortia = build_population(scenario, self.streams)
        self.n_consortia = self.consortia.count
        self.initial_practices = self.practices.n
        self.quarter = 0
        self.board = Board(self)
        self._leads: list[ConsortiumLead] | None = None  # agent views, created on first access like practices'
        self._practice_views: dict[int, Practice] | None = None
        keep = bool(scenario.run.snapshots and snapshots)
        self.observer = Observer(
            scenario.run.start_year, keep, rows_hint=self.practices.capacity * (scenario.run.quarters // 4 + 1)
        )
        self.flows: dict[str, float] = dict.fromkeys(FLOW_KEYS, 0.0)
        self.outcome_outliers = 0  # practices above the 3-sigma funnel limit on admissions, last review
        self.convergence = 0.0  # progress towards a single contract
        # Money ledger for the conservation invariant: what the board pays out, and who receives it.
        self.ledger = {"board_paid": 0.0, "practices_received": 0.0, "consortia_received": 0.0}
        initialise.settle(self)
        self.observer.record(self)

    @property
    def levers(self) -> Levers:
        return self.scenario.levers

    @property
    def assumptions(self) -> Assumptions:
        return self.scenario.assumptions

    @property
    def keep_snapshots(self) -> bool:
        return self.observer.keep_snapshots

    # ------------------------------------------------------------------------------ the quarter

    def run_quarters(self, quarters: int) -> None:
        for _ in range(quarters):
            self.step()

    def step(self) -> None:
        """Advance one quarter: the ODD schedule (docs/ODD.md, section 3)."""
        self.quarter += 1
        years = (self.quarter - 1) / 4.0
        self.flows = dict.fromkeys(FLOW_KEYS, 0.0)
        if self.quarter % 4 == 1:
            money.open_financial_year(self)
        # 1. the board's policy for the quarter; 2. practices choose effort, their stocks move
        signals = policy.quarter_signals(self, years)
        effort.choose_and_update(self, signals)
        # 3. observed admissions, QOF achievement and the quarter's money
        counts = effort.observe_admissions(self)
        money.update_achievement(self, years)
        money.quarterly(self, years, counts)
        # 4. funnel benchmarking, review and challenge
        review.review_and_challenge(self)
        # 5. year end: QOF and premium payments, then the market and the delegation review
        if self.quarter % 4 == 0:
            money.year_end_payments(self, years)
            market.year_end(self)
        market.close_insolvent(self)
        # 6. outputs
        self.observer.record(self)

    # ------------------------------------------------------------------------------ agent views

    @property
    def leads(self) -> list[ConsortiumLead]:
        """The consortium leads as Mesa agents, one per consortium (created on first access)."""
        if self._leads is None:
            self._leads = [ConsortiumLead(self, row) for row in range(self.n_consortia)]
        return self._leads

    def _materialise_practices(self) -> None:
        self.leads  # noqa: B018 - leads first, so agent ids do not depend on which views were asked for first
        if self._practice_views is None:
            self._practice_views = {}
        ps = self.practices
        for row in np.flatnonzero(ps.open[: ps.n]):
            if row not in self._practice_views:
                self._practice_views[int(row)] = Practice(self, int(row))

    def add_views(self, rows: np.ndarray) -> None:
        """Views for newly opened practice rows, if views have been materialised."""
        if self._practice_views is not None:
            for row in rows:
                self._practice_views[int(row)] = Practice(self, int(row))

    def drop_views(self, rows: np.ndarray) -> None:
        """Remove the views of practices that have closed (they leave the agent sets)."""
        if self._practice_views is None:
            return
        for row in rows:
            view = self._practice_views.pop(int(row), None)
            if view is not None:
                view.remove()

    @property
    def agents(self) -> mesa.agent.AgentSet:
        """All agents; lead and practice views are created on first access (batch runs never pay for them)."""
        self._materialise_practices()
        return super().agents

    @property
    def agents_by_type(self) -> dict[type[mesa.Agent], mesa.agent.AgentSet]:
        self._materialise_practices()
        return super().agents_by_type

    def release(self) -> None:
        """Let the model be garbage-collected once its last user drops it.

        Mesa 3.3 counts agent ids per model in a class-level dict keyed by the model (``mesa.Agent._ids``),
        which keeps every model that ever created an agent, and all its arrays, alive for the life of the
        process (mesa issue #3179, fixed in later Mesa). :func:`sim.runner.run` calls this when a run is
        done; the model can still be read afterwards, but should not create more agents.
        """
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)

    # ------------------------------------------------------------------------------ outputs

    def metrics_frame(self) -> pd.DataFrame:
        """Quarterly metrics, quarter 0 being the starting state (see :data:`sim.metrics.METRICS`)."""
        return self.observer.metrics_frame()

    def snapshot_frame(self) -> pd.DataFrame:
        """Practice rows at quarter 0 and each year end (:data:`sim.observe.SNAPSHOT_COLUMNS`)."""
        return self.observer.snapshot_frame()
