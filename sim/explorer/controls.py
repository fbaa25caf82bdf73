"""The controls the explorer offers: the levers and key assumptions, with range, unit and help from the schema.

Nothing here is typed twice: each control is a :class:`sim.scenario.ParamSpec` of the schema, so a range or
a unit changed in :mod:`sim.params` changes the page too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.docs import parameter_label
from sim.params import Scenario
from sim.scenario import ParamSpec, parameter_spec, scenario_dict

#: The levers a policy team reaches for first, by section of the page.
LEVER_PATHS: tuple[str, ...] = (
    "levers.delegation.mode",
    "levers.delegation.authorisation_threshold",
    "levers.delegation.review_share_of_allowance",
    "levers.peer_challenge.enabled",
    "levers.peer_challenge.outlier_z",
    "levers.peer_challenge.escalate_after",
    "levers.qof.outcome_weight",
    "levers.qof.point_value_gbp",
    "levers.quality_premium.per_head_gbp",
    "levers.quality_premium.distribution",
    "levers.quality_premium.required_improvement",
    "levers.contracts.model",
    "levers.market_entry.barriers",
    "levers.patient_choice.switching_rate_per_year",
)

#: The assumptions the critics' question turns on (docs/uncertainty.md): autonomy, leadership, challenge.
ASSUMPTION_PATHS: tuple[str, ...] = (
    "assumptions.practice.autonomy_mean",
    "assumptions.practice.capacity_mean",
    "assumptions.practice.incentive_responsiveness",
    "assumptions.practice.gaming_propensity",
    "assumptions.leadership.skill_mean",
    "assumptions.leadership.willingness_mean",
    "assumptions.leadership.credibility_initial",
    "assumptions.challenge.base_log_odds",
)


@dataclass(frozen=True)
class Control:
    """One control on the page: what it sets and what the schema says about it."""

    spec: ParamSpec
    label: str

    @property
    def path(self) -> str:
        return self.spec.path

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def css_class(self) -> str:
        """A stable class for the control's element (the end-to-end test finds controls by it)."""
        return "crsim-control-" + self.path.replace(".", "-")

    @property
    def range_text(self) -> str:
        """``0 to 50 GBP per head``: the allowed range and unit as the CLI's refusal states it."""
        if self.spec.is_numeric:
            unit = f" {self.spec.unit}" if self.spec.unit else ""
            return f"{self.spec.low:g} to {self.spec.high:g}{unit}"
        if self.kind == "choice":
            return ", ".join(self.spec.choices)
        return "on or off"

    @property
    def help(self) -> str:
        """The schema's description, its range and its provenance: the page's tooltip and hint."""
        return f"{self.spec.description} Allowed: {self.range_text}. Source: {self.spec.source}."


def controls(paths: tuple[str, ...]) -> list[Control]:
    """The controls for these parameter paths, labelled as the docs and charts label them."""
    return [Control(parameter_spec(p), parameter_label(p)) for p in paths]


def lever_controls() -> list[Control]:
    return controls(LEVER_PATHS)


def assumption_controls() -> list[Control]:
    return controls(ASSUMPTION_PATHS)


def value_of(scenario: Scenario, path: str) -> Any:
    """A parameter's resolved value in a scenario (choices as their words)."""
    node: Any = scenario_dict(scenario)
    for part in path.split("."):
        node = node[part]
    return node


def changed(scenario: Scenario, edits: Mapping[str, Any]) -> dict[str, Any]:
    """The edits that differ from the scenario's own values (an edit back to the value is no edit)."""
    return {p: v for p, v in edits.items() if v != value_of(scenario, p)}


def override_strings(edits: Mapping[str, Any]) -> list[str]:
    """Edits as ``--set`` strings, so the page's scenario is exactly what the command line would build."""
    out = []
    for path, value in edits.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        out.append(f"{path}={text}")
    return out
