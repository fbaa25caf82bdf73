"""Generated documentation and the names of parameters: both come from the schema itself.

:func:`parameter_label` is the one label of a parameter, used by the parameter table (docs/parameters.md),
the briefing pack and the charts alike: the ``label`` declared with the field in :mod:`sim.params`, or else
one made from its path.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

from sim.params import Scenario
from sim.scenario import parameter_specs

# Words written in capitals, or left out (units are shown on their own), when a label is made from a path.
_WORDS = {"qof": "QOF", "gms": "GMS", "pms": "PMS", "apms": "APMS", "acsc": "ACSC", "sd": "SD", "gbp": ""}


@functools.cache
def _declared(path: str) -> dict[str, Any]:
    """The ``json_schema_extra`` declared with the field at ``path`` ({} for a path that is not a field)."""
    model: type[BaseModel] = Scenario
    extra: Any = {}
    for part in path.split("."):
        field = model.model_fields.get(part)
        if field is None:
            return {}
        extra = field.json_schema_extra
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            model = field.annotation
    return extra if isinstance(extra, dict) else {}


def _from_path(path: str) -> str:
    """``levers.qof.outcome_weight`` -> ``QOF: outcome weight``."""
    parts = path.split(".")
    parts = parts[1:] if len(parts) > 1 and parts[0] in ("levers", "assumptions", "run") else parts
    words = [" ".join(w for w in (_WORDS.get(t, t) for t in part.split("_")) if w) for part in parts]
    text = ": ".join(w for w in words if w)
    return text[0].upper() + text[1:] if text else path


def parameter_label(path: str, with_unit: bool = False) -> str:
    """The readable name of a parameter (``QOF: outcome weight``), optionally with its unit in brackets.

    The label declared with the field (``param(..., label=...)``) wins; otherwise it is made from the path,
    so every parameter has one without each declaration having to spell it out.
    """
    extra = _declared(path)
    label = str(extra.get("label") or _from_path(path))
    unit = str(extra.get("unit") or "")
    return f"{label} ({unit})" if with_unit and unit and unit not in ("choice", "flag") else label

_HEADER = """# Scenario parameters

Generated from the schema in `sim/params/` by `python run_sim.py params --markdown > docs/parameters.md`;
a test fails if this file and the code disagree. *Levers* are the board's policy choices; *assumptions*
are uncertain behavioural parameters (the natural subjects of sweeps and sensitivity analysis); *run*
settings say what is simulated. Where no published source pins a value down, the source says
*assumption* and the range is what we judge plausible.

Every numeric assumption has an *uncertainty* distribution, which `compare ... --uncertainty N` draws from
(docs/uncertainty.md): a triangle peaked at the scenario's value, over the declared plausible range where one
is given (its source follows), otherwise +/- 15% of a calibrated or published value and +/- 50% of an
assumed one. A scenario file's `uncertainty:` section overrides any of them.

| parameter | label | meaning | unit | default | allowed range | uncertainty | source |
|---|---|---|---|---|---|---|---|
"""


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def parameters_markdown() -> str:
    """The full parameter table as Markdown."""
    from sim.uncertainty.distributions import default_distribution

    lines = [_HEADER.rstrip("\n")]
    for spec in parameter_specs():
        uncertain = ""
        if spec.is_numeric and spec.path.startswith("assumptions."):
            dist = default_distribution(spec)
            uncertain = dist.describe() + (f" ({dist.source})" if spec.plausible is not None else "")
        if spec.is_numeric:
            allowed = f"{spec.low:g} to {spec.high:g}"
            default = f"{spec.default:g}"
        elif spec.kind == "choice":
            allowed, default = ", ".join(spec.choices), spec.default
        else:
            allowed, default = "true, false", str(spec.default).lower()
        lines.append(
            f"| `{spec.path}` | {_cell(parameter_label(spec.path))} | {_cell(spec.description)} "
            f"| {_cell(spec.unit)} | {default} | {allowed} | {_cell(uncertain)} "
            f"| {_cell(spec.source)} |"
        )
    return "\n".join(lines) + "\n"
