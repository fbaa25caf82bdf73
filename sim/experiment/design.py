"""Experimental designs over scenario parameters: ``--vary`` parsing, grids, Latin hypercubes, SALib.

A design is a table of points (one row per point, one column per varied parameter path). Every value is
checked against the parameter's range in the scenario schema before anything runs, so a bad range fails
at once with a message naming the bounds, not hours into a sweep. Integer parameters are sampled as
numbers and rounded when applied; the design keeps both (``sampled`` is what SALib analyses, ``values``
what the model saw).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.experiment.errors import DesignError
from sim.scenario import ParamSpec, parameter_spec

DesignKind = Literal["grid", "lhs", "sobol", "morris"]

DEFAULT_GRID_STEPS = 5
MORRIS_LEVELS = 4
#: The most points a design may have (every point is checked and hashed before anything runs, and each
#: runs at least once): a larger one is refused before anything is allocated.
MAX_DESIGN_POINTS = 100_000

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VARY_RE = re.compile(rf"^\s*(?P<path>[^=\s]+)\s*=\s*(?P<low>{_NUMBER})\s*:\s*(?P<high>{_NUMBER})"
                      rf"(?:\s*:\s*(?P<steps>\d+))?\s*$")


@dataclass(frozen=True)
class VarySpec:
    """One varied parameter: its path, the range to cover, and (for grids) the number of steps."""

    path: str
    low: float
    high: float
    steps: int | None
    integer: bool

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "low": self.low, "high": self.high, "steps": self.steps,
                "integer": self.integer}


def parse_vary(text: str) -> VarySpec:
    """Parse ``PATH=LOW:HIGH[:STEPS]`` and check it against the schema.

    Raises:
        DesignError: malformed text, a path that is not a numeric parameter, LOW >= HIGH, fewer than two
            steps, or a range outside the parameter's bounds (the message gives the bounds).

    Example:
        >>> parse_vary("assumptions.practice.gaming_propensity=0.2:1.2:3").high
        1.2
    """
    match = _VARY_RE.match(text)
    if match is None:
        raise DesignError(
            f"--vary '{text}': expected PATH=LOW:HIGH or PATH=LOW:HIGH:STEPS with numbers, for example "
            "--vary assumptions.practice.gaming_propensity=0.2:1.2:5."
        )
    path = match["path"]
    try:
        spec = parameter_spec(path)
    except ScenarioError as exc:
        raise DesignError(f"--vary '{text}': {exc}") from None
    if not spec.is_numeric:
        allowed = ", ".join(spec.choices) if spec.choices else "true, false"
        raise DesignError(
            f"--vary '{text}': '{path}' is a {spec.kind} parameter ({allowed}), not a number; only numeric "
            "parameters can be swept. Compare scenarios with different settings instead."
        )
    low, high = float(match["low"]), float(match["high"])
    if not low < high:
        raise DesignError(f"--vary '{text}': LOW ({low:g}) must be less than HIGH ({high:g}).")
    _check_bounds(text, spec, low, high)
    steps = int(match["steps"]) if match["steps"] is not None else None
    if steps is not None and steps < 2:
        raise DesignError(f"--vary '{text}': STEPS must be at least 2, not {steps}.")
    return VarySpec(path=path, low=low, high=high, steps=steps, integer=spec.kind == "integer")


def _check_bounds(text: str, spec: ParamSpec, low: float, high: float) -> None:
    lo = -np.inf if spec.low is None else float(spec.low)
    hi = np.inf if spec.high is None else float(spec.high)
    if low < lo or high > hi:
        raise DesignError(
            f"--vary '{text}': the range {low:g} to {high:g} goes outside what '{spec.path}' allows: "
            f"{spec.low} to {spec.high} ({spec.unit})."
        )


def parse_varies(texts: Sequence[str | VarySpec]) -> list[VarySpec]:
    """Parse several ``--vary`` options (strings, or specs already parsed); at least one, no path twice."""
    if not texts:
        raise DesignError("Give at least one --vary PATH=LOW:HIGH[:STEPS].")
    specs = [t if isinstance(t, VarySpec) else parse_vary(t) for t in texts]
    seen: set[str] = set()
    for spec in specs:
        if spec.path in seen:
            raise DesignError(f"--vary: '{spec.path}' is given more than once.")
        seen.add(spec.path)
    return specs


@dataclass(frozen=True)
class Design:
    """Design points over the varied parameters.

    Attributes:
        kind: ``grid``, ``lhs``, ``sobol`` or ``morris``.
        specs: the varied parameters, in column order.
        sampled: points as drawn, shape (n_points, n_parameters).
        options: what is needed to repeat or analyse the design (samples, levels, seed).
    """

    kind: DesignKind
    specs: tuple[VarySpec, ...]
    sampled: np.ndarray
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        return int(self.sampled.shape[0])

    @property
    def paths(self) -> list[str]:
        return [s.path for s in self.specs]

    @property
    def applied(self) -> np.ndarray:
        """Points as applied to scenarios: integer parameters rounded, all clipped into range."""
        out = np.array(self.sampled, dtype=float, copy=True)
        for j, spec in enumerate(self.specs):
            col = np.clip(out[:, j], spec.low, spec.high)
            out[:, j] = np.round(col) if spec.integer else col
        return out

    def values(self, point_id: int) -> dict[str, float | int]:
        """The parameter values of one point, ready for :func:`sim.scenario.with_values`."""
        row = self.applied[point_id]
        return {s.path: (int(v) if s.integer else float(v)) for s, v in zip(self.specs, row, strict=True)}

    def frame(self, applied: bool = True) -> pd.DataFrame:
        """The points as a table indexed by ``point_id``."""
        data = self.applied if applied else self.sampled
        frame = pd.DataFrame(data, columns=self.paths)
        frame.index.name = "point_id"
        return frame

    def problem(self) -> dict[str, Any]:
        """The SALib problem definition."""
        return {"num_vars": len(self.specs), "names": self.paths,
                "bounds": [[s.low, s.high] for s in self.specs]}

    def describe(self) -> dict[str, Any]:
        """JSON-able description, stored with the experiment."""
        return {"design": self.kind, "vary": [s.as_dict() for s in self.specs], **self.options}


def grid(specs: list[VarySpec], default_steps: int = DEFAULT_GRID_STEPS) -> Design:
    """A full factorial grid: every combination of evenly spaced values (``STEPS`` each, default 5).

    Integer parameters take distinct whole numbers only, so a grid never runs the same point twice.
    """
    axes = []
    for spec in specs:
        steps = spec.steps or default_steps
        values = np.linspace(spec.low, spec.high, steps)
        if spec.integer:
            values = np.unique(np.round(values))
        axes.append(values)
    points = np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(specs))
    return Design("grid", tuple(specs), points, {"steps": [len(a) for a in axes]})


def latin_hypercube(specs: list[VarySpec], samples: int, seed: int) -> Design:
    """A Latin hypercube of ``samples`` points (scipy.stats.qmc), seeded so that it can be repeated."""
    from scipy.stats import qmc

    if samples < 2:
        raise DesignError(f"--samples must be at least 2 for a Latin hypercube, not {samples}.")
    rng = np.random.default_rng(seed)
    try:
        sampler = qmc.LatinHypercube(d=len(specs), rng=rng)
    except TypeError:  # scipy < 1.15 names it seed
        sampler = qmc.LatinHypercube(d=len(specs), seed=rng)
    unit = sampler.random(samples)
    lows = np.array([s.low for s in specs])
    highs = np.array([s.high for s in specs])
    return Design("lhs", tuple(specs), qmc.scale(unit, lows, highs), {"samples": samples, "design_seed": seed})


def sobol(specs: list[VarySpec], samples: int, seed: int) -> Design:
    """Saltelli's scheme on a Sobol sequence (SALib): ``samples * (D + 2)`` points, first and total order.

    ``samples`` must be a power of two, as the Sobol sequence's balance properties require.
    """
    from SALib.sample import sobol as sobol_sample

    if samples < 2 or samples & (samples - 1):
        raise DesignError(
            f"--samples for Sobol analysis must be a power of two (e.g. 64, 128, 256), not {samples}."
        )
    design = Design("sobol", tuple(specs), np.empty((0, len(specs))),
                    {"samples": samples, "design_seed": seed, "calc_second_order": False})
    points = sobol_sample.sample(design.problem(), samples, calc_second_order=False, seed=seed)
    return Design("sobol", tuple(specs), np.asarray(points, dtype=float), design.options)


def morris(specs: list[VarySpec], samples: int, seed: int, levels: int = MORRIS_LEVELS) -> Design:
    """Morris elementary-effects trajectories (SALib): ``samples * (D + 1)`` points."""
    from SALib.sample import morris as morris_sample

    if samples < 2:
        raise DesignError(f"--samples (trajectories) for Morris must be at least 2, not {samples}.")
    design = Design("morris", tuple(specs), np.empty((0, len(specs))),
                    {"samples": samples, "design_seed": seed, "num_levels": levels})
    points = morris_sample.sample(design.problem(), samples, num_levels=levels, seed=seed)
    return Design("morris", tuple(specs), np.asarray(points, dtype=float), design.options)


DEFAULT_SAMPLES = {"lhs": 20, "sobol": 64, "morris": 10}


def design_size(kind: str, specs: Sequence[VarySpec], samples: int | None) -> int:
    """The number of points a design will have, computed without drawing it."""
    if kind == "grid":
        sizes = [spec.steps or DEFAULT_GRID_STEPS for spec in specs]
        sizes = [min(n, int(s.high) - int(np.ceil(s.low)) + 1) if s.integer else n for n, s in zip(sizes, specs,
                                                                                                   strict=True)]
        return int(np.prod([max(n, 1) for n in sizes], dtype=object))
    n = DEFAULT_SAMPLES.get(kind, 0) if samples is None else samples
    return n * (len(specs) + {"sobol": 2, "morris": 1}.get(kind, 0)) if kind != "lhs" else n


def check_design_size(kind: str, specs: Sequence[VarySpec], samples: int | None) -> int:
    """Refuse a design of more than :data:`MAX_DESIGN_POINTS` points, before anything is allocated."""
    size = design_size(kind, specs, samples)
    if size > MAX_DESIGN_POINTS:
        how = {"grid": "the product of the STEPS of every --vary", "lhs": "--samples",
               "sobol": "--samples × (parameters + 2)", "morris": "--samples × (parameters + 1)"}.get(kind, kind)
        raise DesignError(f"The {kind} design would have {size:,} points ({how}), more than the "
                          f"{MAX_DESIGN_POINTS:,} one experiment may hold: use fewer steps or samples.")
    return size


def make_design(kind: str, specs: list[VarySpec], samples: int | None, seed: int) -> Design:
    """The design a command asks for, with the documented default sample sizes.

    Raises:
        DesignError: an unknown kind, --samples with a grid, or more than :data:`MAX_DESIGN_POINTS` points.
    """
    if kind not in ("grid", *DEFAULT_SAMPLES):
        raise DesignError(f"Unknown design '{kind}': use grid, lhs, sobol or morris.")
    if kind == "grid" and samples is not None:
        raise DesignError("--samples applies to --design lhs, not to a grid (give STEPS in --vary).")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int | np.integer)):
        raise DesignError(f"--samples takes a whole number, not {samples!r}.")
    check_design_size(kind, specs, samples)
    n = DEFAULT_SAMPLES.get(kind, 0) if samples is None else int(samples)
    if kind == "grid":
        return grid(specs)
    if kind == "lhs":
        return latin_hypercube(specs, n, seed)
    if kind == "sobol":
        return sobol(specs, n, seed)
    return morris(specs, n, seed)
