"""The national commissioning board: delegation, remote oversight and all contractual decisions.

It keeps overall responsibility: it decides which consortia hold the delegated review role (none, all,
or those passing a yearly authorisation assessment, withdrawable), reviews practices itself where it has
not delegated, issues remedial notices and terminates contracts of persistent poor performers, and
procures new providers where barriers to entry allow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.params import DelegationMode, Levers

if TYPE_CHECKING:
    from sim.model import CommissioningModel

class Board(mesa.Agent):
    """The one commissioning board. Its decisions are vectorised over consortia and practices."""

    model: CommissioningModel

    @property
    def levers(self) -> Levers:
        return self.model.scenario.levers

    # ------------------------------------------------------------------------------ delegation

    def decide_delegation(self, first: bool, noise: np.ndarray) -> np.ndarray:
        """Which consortia hold the delegated role for the coming year.

        ``conditional`` authorises consortia whose assessed readiness (mean of lead skill and
        willingness, measured with error) reaches the threshold; at later yearly reviews it also
        withdraws delegation from consortia that overspent, if the lever says so.
        """
        d = self.levers.delegation
        cs = self.model.consortia
        if d.mode is DelegationMode.NONE:
            return np.zeros(cs.count, dtype=bool)
        if d.mode is DelegationMode.ALL:
            return np.ones(cs.count, dtype=bool)
        readiness = 0.5 * (cs.skill + cs.willingness) + d.assessment_noise_sd * noise
        authorised = readiness >= d.authorisation_threshold
        if not first and d.withdraw_on_deficit:
            authorised &= ~cs.deficit_last_year
        return authorised

    # ------------------------------------------------------------------------------ oversight

    def review_capacity(self, uniform: np.ndarray) -> np.ndarray:
        """Reviews per consortium this quarter: what the lead's budget buys (a share of the running-cost
        allowance, plus premium money put into review) where delegated, the board's remote share of
        capacity elsewhere. Willingness does not set how many reviews a lead can afford; it decides which
        of them happen (:func:`sim.agents.consortium.engagement_probability`)."""
        cs = self.model.consortia
        d = self.levers.delegation
        allowance = self.levers.finance.management_allowance_per_head_gbp
        lead = (
            d.review_share_of_allowance * allowance * cs.population / 4.0 / d.cost_per_review_gbp
            + cs.extra_reviews_per_quarter
        )
        board = self.levers.board_oversight.reviews_per_million_per_quarter * cs.population / 1e6
        expected = np.where(cs.delegated, lead, board)
        base = np.floor(expected)
        return (base + (uniform < expected - base)).astype(np.int64)

    # ------------------------------------------------------------------------------ contracts

    def contract_actions(self, assessment_noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Year-end decisions on escalated practices. Returns (noticed rows, terminated rows).

        Notices of practices not escalated this year lapse (if ``notices_lapse``): a clean year clears the
        record. The board then assesses each escalated practice's care itself (its quality, measured with
        error ``assessment_noise_sd`` from ``assessment_noise``, standard normal draws one per practice row)
        and acts only where the assessment places it below the ``confirm_below_quantile`` quantile of all
        open practices: a remedial notice, or termination for a practice already holding
        ``terminate_after_notices`` notices. Escalations it does not confirm (an outlier on admissions
        from case mix, say) are closed without action, as is every escalation when the board issues no
        notices (``remedial_notices`` false), so that a practice can be escalated again the next year.
        """
        ps = self.model.practices
        n = ps.n
        ca = self.levers.contract_actions
        open_ = ps.open[:n]
        if ca.notices_lapse:
            clean = open_ & ~ps.escalated[:n]
            ps.notices[:n] = np.where(clean, 0, ps.notices[:n])
        escalated = np.flatnonzero(ps.escalated[:n] & open_)
        if not ca.remedial_notices:  # the board acts on no escalation: each is closed without action
            ps.escalated[escalated] = False
            ps.unresolved[escalated] = 0
            return escalated[:0], escalated[:0]
        if escalated.size == 0:
            return escalated, escalated
        bar = np.quantile(ps.quality[:n][open_], ca.confirm_below_quantile)
        assessed = ps.quality[escalated] + ca.assessment_noise_sd * assessment_noise[escalated]
        confirmed = escalated[assessed <= bar]
        terminate = confirmed[ps.notices[confirmed] >= ca.terminate_after_notices]
        notice = confirmed[ps.notices[confirmed] < ca.terminate_after_notices]
        ps.notices[notice] += 1
        ps.remedial[notice] = 1.0
        ps.escalated[escalated] = False
        ps.unresolved[escalated] = 0
        return notice, terminate

    def entrants_wanted(self, uniform: np.ndarray, practices_per_consortium: np.ndarray) -> np.ndarray:
        """New providers procured per consortium this year (at most one each), more where barriers are low."""
        m = self.levers.market_entry
        rate = m.entry_rate_per_year * (1.0 - m.barriers) * practices_per_consortium
        return (uniform < 1.0 - np.exp(-rate)).astype(np.int64)

    def replaces_terminated(self, uniform: np.ndarray) -> np.ndarray:
        """Whether a new provider takes over a terminated contract's list (else patients disperse)."""
        return uniform < 1.0 - self.levers.market_entry.barriers
