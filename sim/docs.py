"""Generated documentation: the parameter table (docs/parameters.md) comes from the schema itself."""

from __future__ import annotations

from sim.scenario import parameter_specs

_HEADER = """# Scenario parameters

Generated from the schema in `sim/params.py` by `python run_sim.py params --markdown > docs/parameters.md`;
a test fails if this file and the code disagree. *Levers* are the board's policy choices; *assumptions*
are uncertain behavioural parameters (the natural subjects of sweeps and sensitivity analysis); *run*
settings say what is simulated. Where no published source pins a value down, the source says
*assumption* and the range is what we judge plausible.

| parameter | meaning | unit | default | allowed range | source |
|---|---|---|---|---|---|
"""


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def parameters_markdown() -> str:
    """The full parameter table as Markdown."""
    lines = [_HEADER.rstrip("\n")]
    for spec in parameter_specs():
        if spec.is_numeric:
            allowed = f"{spec.low:g} to {spec.high:g}"
            default = f"{spec.default:g}"
        elif spec.kind == "choice":
            allowed, default = ", ".join(spec.choices), spec.default
        else:
            allowed, default = "true, false", str(spec.default).lower()
        lines.append(
            f"| `{spec.path}` | {_cell(spec.description)} | {_cell(spec.unit)} | {default} | {allowed} "
            f"| {_cell(spec.source)} |"
        )
    return "\n".join(lines) + "\n"
