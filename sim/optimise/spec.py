"""What a design search is asked: its levers, objectives, constraints and robustness measure, checked.

Every piece is parsed from the command line's text (or given as objects from Python) and checked against
the scenario schema and the metric registry before anything runs: an unknown metric or lever, a bound
outside the lever's allowed range or a value a categorical lever does not allow is refused with a message
naming the option, the value and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sim.errors import ScenarioError
from sim.experiment.errors import DesignError
from sim.metrics import METRICS_BY_NAME
from sim.scenario import parameter_spec

Direction = Literal["max", "min"]

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE_RE = re.compile(rf"^(?P<low>{_NUMBER})\s*:\s*(?P<high>{_NUMBER})$")
_CONSTRAINT_RE = re.compile(rf"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op><=|>=)\s*(?P<value>{_NUMBER})\s*$")
#: Levers a search may not move: every trial must be read at the same horizon, on the same population.
_FIXED = {"run.quarters": "every trial must reach the same horizon; use --years or --quarters",
          "run.scale": "every trial must simulate the same share of England; use --scale",
          "run.snapshots": "it changes what is stored, not the reform"}


def _known_metric(option: str, text: str, metric: str) -> None:
    if metric not in METRICS_BY_NAME:
        import difflib

        close = difflib.get_close_matches(metric, list(METRICS_BY_NAME), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise DesignError(f"{option} '{text}': '{metric}' is not a metric.{hint} Known metrics: "
                          f"{', '.join(sorted(METRICS_BY_NAME))}.")


@dataclass(frozen=True)
class Lever:
    """One lever the search moves: a numeric range, or a list of allowed values (a categorical lever)."""

    path: str
    kind: Literal["number", "integer", "choice"]
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "low": self.low, "high": self.high,
                "choices": list(self.choices)}

    def encode(self, value: Any) -> float:
        """The value as the design table stores it (a categorical lever: the index of its choice)."""
        return float(self.choices.index(value)) if self.kind == "choice" else float(value)

    def decode(self, stored: float) -> Any:
        if self.kind == "choice":
            return self.choices[round(stored)]
        return round(stored) if self.kind == "integer" else float(stored)


def parse_lever(text: str) -> Lever:
    """``PATH=LOW:HIGH`` (a number or whole number in that range) or ``PATH=A,B,C`` (one of those values).

    Raises:
        DesignError: malformed text, an unknown path, a range outside the parameter's allowed range, or a
            value the parameter does not allow (the message lists what it allows).
    """
    path, sep, rest = text.partition("=")
    path, rest = path.strip(), rest.strip()
    if not sep or not path or not rest:
        raise DesignError(f"--lever '{text}': expected PATH=LOW:HIGH or PATH=A,B,C, for example --lever "
                          "levers.quality_premium.per_head_gbp=0:20 or --lever "
                          "levers.quality_premium.distribution=none,per_head,contribution.")
    if path in _FIXED:
        raise DesignError(f"--lever '{text}': '{path}' cannot be searched: {_FIXED[path]}.")
    try:
        spec = parameter_spec(path)
    except ScenarioError as exc:
        raise DesignError(f"--lever '{text}': {exc}") from None
    if not path.startswith("levers."):
        raise DesignError(f"--lever '{text}': '{path}' is an assumption, not a policy lever; a design search "
                          "moves the levers (levers.*) and treats assumptions as uncertain (--uncertainty).")
    match = _RANGE_RE.match(rest)
    if match is not None and spec.is_numeric:
        low, high = float(match["low"]), float(match["high"])
        if not low < high:
            raise DesignError(f"--lever '{text}': LOW must be below HIGH.")
        if (spec.low is not None and low < spec.low) or (spec.high is not None and high > spec.high):
            raise DesignError(f"--lever '{text}': {path} allows {spec.low:g} to {spec.high:g} ({spec.unit}); "
                              f"the range {low:g}:{high:g} goes outside it.")
        kind: Literal["number", "integer"] = "integer" if spec.kind == "integer" else "number"
        if kind == "integer" and (low != int(low) or high != int(high)):
            raise DesignError(f"--lever '{text}': {path} is a whole number; give whole-number bounds.")
        return Lever(path, kind, low, high)
    return Lever(path, "choice", choices=_parse_choices(text, path, spec, rest))


def _parse_choices(text: str, path: str, spec: Any, rest: str) -> tuple[Any, ...]:
    words = [w.strip() for w in rest.split(",")]
    if any(not w for w in words) or len(set(words)) != len(words):
        raise DesignError(f"--lever '{text}': give distinct values separated by commas.")
    if spec.kind == "choice":
        wrong = [w for w in words if w not in spec.choices]
        if wrong:
            raise DesignError(f"--lever '{text}': {path} does not allow {', '.join(wrong)}; it allows "
                              f"{', '.join(spec.choices)}.")
        values: list[Any] = words
    elif spec.kind == "flag":
        truth = {"true": True, "false": False}
        wrong = [w for w in words if w.lower() not in truth]
        if wrong:
            raise DesignError(f"--lever '{text}': {path} is true or false, not {', '.join(wrong)}.")
        values = [truth[w.lower()] for w in words]
    else:
        try:
            values = [int(w) if spec.kind == "integer" else float(w) for w in words]
        except ValueError:
            raise DesignError(f"--lever '{text}': {path} is a number ({spec.low:g} to {spec.high:g}); give "
                              "LOW:HIGH or numbers separated by commas.") from None
        outside = [w for w, v in zip(words, values, strict=True)
                   if (spec.low is not None and v < spec.low) or (spec.high is not None and v > spec.high)]
        if outside:
            raise DesignError(f"--lever '{text}': {path} allows {spec.low:g} to {spec.high:g}; "
                              f"{', '.join(outside)} is outside it.")
    if len(values) < 2:
        raise DesignError(f"--lever '{text}': give at least two values to choose between.")
    return tuple(values)


@dataclass(frozen=True)
class Objective:
    """A metric to maximise or minimise, read at the horizon (a level at it, a flow over its last year)."""

    metric: str
    direction: Direction

    @property
    def sign(self) -> float:
        """+1 where higher is better: ``sign * value`` is always to be maximised."""
        return 1.0 if self.direction == "max" else -1.0

    def describe(self) -> str:
        return f"{self.metric}={self.direction}"


def parse_objective(text: str) -> Objective:
    """``METRIC=max`` or ``METRIC=min``.

    Raises:
        DesignError: malformed text or an unknown metric.
    """
    metric, sep, direction = (part.strip() for part in text.partition("="))
    if not sep or direction not in ("max", "min"):
        raise DesignError(f"--objective '{text}': expected METRIC=max or METRIC=min, for example --objective "
                          "outcome_mean=min.")
    _known_metric("--objective", text, metric)
    return Objective(metric, direction)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Constraint:
    """``metric <= value`` or ``>=``; ``relative`` compares the difference from BASE, not the level."""

    metric: str
    op: Literal["<=", ">="]
    value: float
    relative: bool

    def describe(self) -> str:
        shown = f"{self.value:+g}" if self.relative else f"{self.value:g}"
        return f"{self.metric}{self.op}{shown}"

    def violation(self, measured: float) -> float:
        """How far ``measured`` is on the wrong side (zero or less: met), as Optuna expects."""
        return measured - self.value if self.op == "<=" else self.value - measured


def parse_constraint(text: str) -> Constraint:
    """``METRIC<=VALUE`` or ``METRIC>=VALUE``; a signed value (``+0``, ``-5e6``) is relative to BASE.

    ``total_cost_gbp<=+0`` asks for designs that cost no more than BASE; ``total_cost_gbp<=1.5e10`` for
    designs under GBP 15bn a year, whatever BASE costs.

    Raises:
        DesignError: malformed text or an unknown metric.
    """
    match = _CONSTRAINT_RE.match(text)
    if match is None:
        raise DesignError(f"--constraint '{text}': expected METRIC<=VALUE or METRIC>=VALUE; a signed value is "
                          "relative to BASE, for example --constraint total_cost_gbp<=+0 for no extra cost.")
    _known_metric("--constraint", text, match["metric"])
    raw = match["value"]
    return Constraint(match["metric"], match["op"], float(raw), relative=raw[0] in "+-")  # type: ignore[arg-type]


@dataclass(frozen=True)
class Robustness:
    """How a trial's results over the assumption draws become one number per objective.

    ``mean``: the mean difference from BASE. ``percentile``: the difference from BASE in the worst ``p``
    per cent of draws (the p-th percentile of a metric to maximise, the (100 - p)-th of one to minimise).
    ``regret``: the largest shortfall, over the draws, against the best design found at that draw (BASE
    included), to be minimised.
    """

    kind: Literal["mean", "percentile", "regret"]
    percent: float | None = None

    def describe(self) -> str:
        return f"percentile:{self.percent:g}" if self.kind == "percentile" else self.kind


def parse_robustness(text: str) -> Robustness:
    """``mean``, ``percentile:P`` (0 < P < 50) or ``regret``."""
    if text in ("mean", "regret"):
        return Robustness(text)  # type: ignore[arg-type]
    kind, sep, raw = text.partition(":")
    try:
        percent = float(raw)
    except ValueError:
        percent = float("nan")
    if kind != "percentile" or not sep or not 0 < percent < 50:
        raise DesignError(f"--robust '{text}': expected mean, regret or percentile:P with P between 0 and 50 "
                          "(the share of worst draws a design must hold up in), for example percentile:10.")
    return Robustness("percentile", percent)
