"""How a parameter is declared: a numeric range with unit and source, a choice, and the immutable section
that refuses unknown keys (every scenario section derives from it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


def param(
    default: float | int,
    low: float | int,
    high: float | int,
    unit: str,
    description: str,
    source: str = "assumption",
    label: str | None = None,
    plausible: tuple[float, float] | None = None,
    plausible_source: str | None = None,
) -> Any:
    """A numeric parameter with its allowed range, unit and provenance.

    ``label`` names it in docs, reports and charts (default: from its path, ``sim.docs.parameter_label``).
    ``plausible`` is the range an assumption's default uncertainty distribution spans (a triangle peaked at
    the default, :mod:`sim.uncertainty.distributions`), with ``plausible_source`` saying where it comes
    from; without it the default spread follows the parameter's provenance (see that module).
    """
    extra: dict[str, Any] = {"unit": unit, "source": source}
    if label:
        extra["label"] = label
    if plausible is not None:
        lo, hi = plausible
        if not low <= lo <= default <= hi <= high:
            raise ValueError(f"plausible range {plausible} must hold the default {default} within {low}..{high}")
        extra["plausible"] = [float(lo), float(hi)]
        extra["plausible_source"] = plausible_source or "assumption"
    return Field(default, ge=low, le=high, description=description, json_schema_extra=extra)


def choice(default: Any, description: str, source: str = "lever", label: str | None = None) -> Any:
    """A categorical parameter (an enum field); ``label`` as for :func:`param`."""
    return Field(default, description=description,
                 json_schema_extra={"unit": "choice", "source": source, **({"label": label} if label else {})})


class Section(BaseModel):
    """Base of every scenario section: immutable, rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """A number field takes a number: not a boolean (``true`` would become 1.0) and not text (``"0.5"``
        would be read as 0.5 from a quoted YAML value). Other fields are left to their own types."""
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and field.annotation in (int, float) and isinstance(value, bool | str):
            raise ValueError(f"expected a number, not {type(value).__name__}")
        return value
