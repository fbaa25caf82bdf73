"""The scenario schema: every lever and assumption, with unit, default, range and source.

Defaults describe England in 2010/11 under the contracts of the day (the status quo). Each field is
declared once, with :func:`param`; ``docs/parameters.md`` is generated from these declarations
(``python run_sim.py params --markdown``) so the table cannot drift from the code.

The schema is split by job: :mod:`sim.params.fields` (how a parameter is declared),
:mod:`sim.params.levers` (the board's policy), :mod:`sim.params.assumptions` (uncertain behaviour and
context); the run settings and the scenario that holds them all are here. Import from ``sim.params``.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from sim.params.assumptions import (
    Assumptions,
    Challenge,
    Context,
    Initial,
    Leadership,
    Outcomes,
    PracticeBehaviour,
    Premium,
    Prescribing,
    Recording,
)
from sim.params.fields import Section, choice, param
from sim.params.levers import (
    QOF,
    BoardOversight,
    ContractActions,
    ContractModel,
    Contracts,
    Delegation,
    DelegationMode,
    Finance,
    Levers,
    MarketEntry,
    PatientChoice,
    PeerChallenge,
    PremiumDistribution,
    PremiumTarget,
    QualityPremium,
)
from sim.params.uncertainty import UncertaintyValue, check_entries, numeric_assumption_bounds

__all__ = [
    "QOF",
    "Assumptions",
    "BoardOversight",
    "Challenge",
    "Context",
    "ContractActions",
    "ContractModel",
    "Contracts",
    "Delegation",
    "DelegationMode",
    "Finance",
    "Initial",
    "Leadership",
    "Levers",
    "MarketEntry",
    "Outcomes",
    "PatientChoice",
    "PeerChallenge",
    "PracticeBehaviour",
    "Premium",
    "PremiumDistribution",
    "PremiumTarget",
    "Prescribing",
    "QualityPremium",
    "Recording",
    "RunSettings",
    "Scenario",
    "Section",
    "choice",
    "param",
]


class RunSettings(Section):
    quarters: int = param(40, 1, 200, "quarters", "Length of the run (financial-year quarters from April).")
    scale: float = param(
        1.0, 0.01, 10.0, "share of England",
        "Share of the national population simulated: practices and consortia are sampled to match.",
    )
    start_year: int = param(2011, 2000, 2100, "financial year", "Financial year (April start) of quarter 1.")
    snapshots: bool = Field(
        True, description="Record a practice-level snapshot at the start and each year end.",
        json_schema_extra={"unit": "flag", "source": "setting"},
    )


class Scenario(Section):
    """A fully resolved scenario: levers, assumptions and run settings."""

    name: str = Field("unnamed", description="Short name, used in tables and charts.")
    description: str = Field("", description="What the scenario represents, in plain words.")
    run: RunSettings = RunSettings()
    levers: Levers = Levers()
    assumptions: Assumptions = Assumptions()
    uncertainty: dict[str, UncertaintyValue] = Field(
        default_factory=dict,
        description="Distributions of assumptions for uncertainty comparisons, overriding the schema's "
                    "defaults: PATH: fixed, or PATH: {distribution: uniform|triangular|beta|normal, ...}.",
    )

    @field_validator("name")
    @classmethod
    def _printable_name(cls, name: str) -> str:
        # The name labels tables, charts and folders and is stored (up to 200 characters).
        if not name.strip():
            raise ValueError("a scenario name may not be empty")
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValueError("a scenario name may not contain control characters (such as a line break)")
        if len(name) > 200:
            raise ValueError("a scenario name may have at most 200 characters")
        return name

    @field_validator("uncertainty")
    @classmethod
    def _uncertain_assumptions(cls, entries: dict[str, UncertaintyValue]) -> dict[str, UncertaintyValue]:
        check_entries(entries, _ASSUMPTION_BOUNDS)
        return entries


_ASSUMPTION_BOUNDS = numeric_assumption_bounds(Assumptions)
