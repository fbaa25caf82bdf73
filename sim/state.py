"""The array store: practice and consortium state as a struct of numpy arrays.

Rules are vectorised functions over these arrays (DESIGN.md §2); agents are thin views onto a row.
Practice arrays are allocated with spare rows for new entrants, so that every random stream can draw
the same number of values each quarter whatever happens (common random numbers).
"""

from __future__ import annotations

import numpy as np

CONTRACT_NAMES: tuple[str, ...] = ("GMS", "PMS", "APMS")
GMS, PMS, APMS = 0, 1, 2


def _allocate(obj: object, size: int, ints: frozenset[str], bools: frozenset[str]) -> None:
    """Zeroed arrays for every ``np.ndarray`` annotation of ``obj``'s class."""
    for name, ann in type(obj).__annotations__.items():
        if ann != "np.ndarray":
            continue
        dtype = bool if name in bools else np.int64 if name in ints else np.float64
        setattr(obj, name, np.zeros(size, dtype=dtype))


class PracticeState:
    """Per-practice state; row ``i`` is practice ``i``. Rows ``>= n`` are spare capacity."""

    # identity and structure
    open: np.ndarray
    consortium: np.ndarray
    contract: np.ndarray
    entrant: np.ndarray
    list_size: np.ndarray
    choice_weight: np.ndarray  # what draws moving patients to the practice besides quality (place, size)
    deprivation: np.ndarray
    # traits
    autonomy: np.ndarray
    motivation: np.ndarray
    motivation_own: np.ndarray  # the practice's own level, to which motivation recovers after resentment
    improvement_capacity: np.ndarray
    exception_propensity: np.ndarray  # clinical and habitual exception reporting, before any gaming
    money_orientation: np.ndarray  # how far this practice chases payments (mean 1 across practices)
    quality_baseline: np.ndarray
    frailty: np.ndarray
    # effort split (shares of time)
    effort_improve: np.ndarray
    effort_record: np.ndarray
    effort_prescribing: np.ndarray
    # stocks
    quality: np.ndarray
    recording: np.ndarray
    exception_rate: np.ndarray
    recorded_achievement: np.ndarray
    achievement: np.ndarray
    outcome_per_1000: np.ndarray
    admissions_year: np.ndarray
    unwarranted_gbp: np.ndarray
    habit_gbp: np.ndarray
    # scrutiny
    pressure_quality: np.ndarray
    pressure_prescribing: np.ndarray
    remedial: np.ndarray
    notices: np.ndarray
    unresolved: np.ndarray
    escalated: np.ndarray
    # money
    cost_per_head_gbp: np.ndarray
    fixed_cost_gbp: np.ndarray
    reserves_gbp: np.ndarray
    negative_quarters: np.ndarray
    qof_income_last_gbp: np.ndarray
    measure_last_year: np.ndarray

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.n = 0
        _allocate(
            self,
            capacity,
            ints=frozenset({"consortium", "contract", "notices", "unresolved", "negative_quarters"}),
            bools=frozenset({"open", "entrant", "escalated"}),
        )
        self.admissions_last4 = np.zeros((4, capacity))  # admissions in each of the last four quarters

    def add_rows(self, count: int) -> np.ndarray:
        """Reserve ``count`` new rows (zeroed) and return their indices."""
        if self.n + count > self.capacity:
            count = self.capacity - self.n
        rows = np.arange(self.n, self.n + count)
        self.n += count
        return rows

    @property
    def active(self) -> np.ndarray:
        """Indices of open practices."""
        return np.flatnonzero(self.open[: self.n])


class ConsortiumState:
    """Per-consortium state (consortium leads), one row a consortium."""

    population: np.ndarray
    skill: np.ndarray
    willingness: np.ndarray
    credibility: np.ndarray
    conversations: np.ndarray  # challenge conversations the lead has held (experience)
    delegated: np.ndarray
    allocation_per_head_gbp: np.ndarray
    spend_ytd_gbp: np.ndarray
    allocation_ytd_gbp: np.ndarray
    extra_reviews_per_quarter: np.ndarray
    premium_earned_gbp: np.ndarray
    measure_last_year: np.ndarray
    deficit_last_year: np.ndarray

    def __init__(self, count: int) -> None:
        self.count = count
        _allocate(self, count, ints=frozenset(), bools=frozenset({"delegated", "deficit_last_year"}))

    @property
    def balance_ytd_gbp(self) -> np.ndarray:
        return self.allocation_ytd_gbp - self.spend_ytd_gbp
