"""A scenario's ``uncertainty:`` section: how uncertain each assumption is, overriding the schema's default.

Each key is an assumption's path (``assumptions.leadership.skill_mean``), each value either ``fixed`` (held at
the scenario's value in an uncertainty comparison) or a distribution::

    uncertainty:
      assumptions.leadership.skill_mean: {distribution: triangular, low: 0.2, mode: 0.5, high: 0.8}
      assumptions.practice.autonomy_mean: {distribution: uniform, low: 0.3, high: 0.8}
      assumptions.premium.peer_internalisation: {distribution: beta, alpha: 2, beta: 2, low: 4, high: 20}
      assumptions.outcomes.quality_effect: {distribution: normal, sd: 0.2}   # mean: the scenario's value
      assumptions.practice.gaming_propensity: fixed

Everything is checked when the scenario loads: an unknown path, a parameter that is not an uncertain
number, a distribution without the values it needs, or one reaching outside what the parameter allows is
refused with the key and the allowed values. How a distribution is sampled: :mod:`sim.uncertainty`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from sim.params.fields import Section

DISTRIBUTION_NEEDS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "triangular": ("low", "high"),  # mode: default the scenario's value
    "beta": ("alpha", "beta"),  # low, high: default the parameter's allowed range
    "normal": ("sd",),  # mean: default the scenario's value; truncated to the allowed range
}


class DistributionKind(StrEnum):
    uniform = "uniform"
    triangular = "triangular"
    beta = "beta"
    normal = "normal"


class UncertaintyEntry(Section):
    """One assumption's distribution (its parameters in the assumption's own unit)."""

    distribution: DistributionKind = Field(description="uniform, triangular, beta or normal.")
    low: float | None = Field(None, description="Lower end (uniform, triangular, beta).")
    high: float | None = Field(None, description="Upper end (uniform, triangular, beta).")
    mode: float | None = Field(None, description="Peak of a triangular distribution (default: the value).")
    alpha: float | None = Field(None, gt=0, description="Beta shape alpha.")
    beta: float | None = Field(None, gt=0, description="Beta shape beta.")
    mean: float | None = Field(None, description="Mean of a normal distribution (default: the value).")
    sd: float | None = Field(None, gt=0, description="Standard deviation of a normal distribution.")

    @model_validator(mode="after")
    def _complete(self) -> UncertaintyEntry:
        kind = self.distribution.value
        missing = [k for k in DISTRIBUTION_NEEDS[kind] if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {kind} distribution needs {', '.join(missing)}")
        allowed = {"uniform": {"low", "high"}, "triangular": {"low", "high", "mode"},
                   "beta": {"alpha", "beta", "low", "high"}, "normal": {"mean", "sd"}}[kind]
        extra = [k for k in ("low", "high", "mode", "alpha", "beta", "mean", "sd")
                 if getattr(self, k) is not None and k not in allowed]
        if extra:
            raise ValueError(f"a {kind} distribution takes {', '.join(sorted(allowed))}, not {', '.join(extra)}")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be less than high ({self.high:g})")
        if self.mode is not None and self.low is not None and self.high is not None \
                and not self.low <= self.mode <= self.high:
            raise ValueError(f"mode ({self.mode:g}) must lie between low and high")
        return self


UncertaintyValue = UncertaintyEntry | Literal["fixed"]


def numeric_assumption_bounds(assumptions: type[BaseModel]) -> dict[str, tuple[float, float, bool]]:
    """``path -> (low, high, integer)`` for every numeric assumption (what may carry a distribution)."""
    out: dict[str, tuple[float, float, bool]] = {}
    for section_name, section in assumptions.model_fields.items():
        model = section.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for name, field in model.model_fields.items():
            if field.annotation not in (int, float):
                continue
            low = high = None
            for meta in field.metadata:
                low = getattr(meta, "ge", low)
                high = getattr(meta, "le", high)
            out[f"assumptions.{section_name}.{name}"] = (float(low), float(high), field.annotation is int)
    return out


def check_entries(entries: dict[str, Any], bounds: dict[str, tuple[float, float, bool]]) -> None:
    """Refuse keys that are not numeric assumptions and distributions outside a parameter's allowed range."""
    import difflib

    for path, entry in entries.items():
        if path not in bounds:
            close = difflib.get_close_matches(path, list(bounds), n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ValueError(
                f"'{path}' is not an uncertain assumption; keys are numeric assumption paths such as "
                f"assumptions.leadership.skill_mean (`run_sim.py params` lists them).{hint}"
            )
        if entry == "fixed":
            continue
        lo, hi, _ = bounds[path]
        ends = [(k, getattr(entry, k)) for k in ("low", "high", "mode", "mean")]
        outside = [f"{k} {v:g}" for k, v in ends if v is not None and not lo <= v <= hi]
        if outside:
            raise ValueError(
                f"'{path}': {', '.join(outside)} lies outside what the parameter allows: {lo:g} to {hi:g}"
            )
