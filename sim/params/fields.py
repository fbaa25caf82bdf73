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
) -> Any:
    """A numeric parameter with its allowed range, unit and provenance; ``label`` names it in docs, reports
    and charts (default: from its path, ``sim.docs.parameter_label``)."""
    return Field(
        default,
        ge=low,
        le=high,
        description=description,
        json_schema_extra={"unit": unit, "source": source, **({"label": label} if label else {})},
    )


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
