"""How uncertain each assumption is: a declared distribution for every numeric assumption of the schema.

Every numeric assumption has a default distribution, centred on the scenario's value of it, so that a
scenario that changes an assumption (``white_paper_sceptic``'s unwilling leads) is uncertain around its own
value. The default is a triangle peaked at the value, spanning:

- the ``plausible`` range declared with the parameter (:func:`sim.params.param`), shifted with the value,
  where the schema gives one, with its own source;
- otherwise a spread set by the parameter's provenance: +/- 15% of the value for a calibrated or published
  figure (a fit or a statistic is not exact, but is not a guess either), +/- 50% for an assumption (no
  evidence pins it); a zero value spreads by 10% of the allowed range.

The support is clipped to the parameter's allowed range. A scenario's ``uncertainty:`` section replaces the
default for any assumption (:mod:`sim.params.uncertainty`); ``fixed`` holds it at the value. Every
distribution maps a quantile ``u`` in [0, 1) to a value (:meth:`Distribution.ppf`), so that scenarios drawn
at the same quantiles are paired over the assumptions as well as over chance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.params import Scenario
from sim.params.uncertainty import UncertaintyEntry
from sim.scenario import ParamSpec, parameter_specs

if TYPE_CHECKING:
    import numpy as np

CALIBRATED_SPREAD = 0.15
ASSUMED_SPREAD = 0.5
ZERO_SPREAD_OF_RANGE = 0.1


@dataclass(frozen=True)
class Distribution:
    """One assumption's uncertainty: a scipy distribution on the parameter's own scale.

    Attributes:
        path: the assumption's path.
        kind: ``fixed``, ``uniform``, ``triangular``, ``beta`` or ``normal`` (truncated to the allowed range).
        value: the scenario's value (the triangle's default peak, the normal's default mean).
        low, high: the support (for a normal, the truncation bounds: the allowed range).
        shape: the kind's own parameters (``mode``; ``alpha`` and ``beta``; ``mean`` and ``sd``).
        integer: whether values are rounded to whole numbers when applied.
        source: where the distribution comes from, for the parameter table.
    """

    path: str
    kind: str
    value: float
    low: float
    high: float
    shape: tuple[tuple[str, float], ...] = ()
    integer: bool = False
    source: str = ""

    @property
    def is_fixed(self) -> bool:
        return self.kind == "fixed"

    def _frozen(self) -> Any:
        from scipy import stats

        p = dict(self.shape)
        width = self.high - self.low
        if self.kind == "uniform":
            return stats.uniform(loc=self.low, scale=width)
        if self.kind == "triangular":
            return stats.triang(c=(p["mode"] - self.low) / width, loc=self.low, scale=width)
        if self.kind == "beta":
            return stats.beta(p["alpha"], p["beta"], loc=self.low, scale=width)
        a, b = (self.low - p["mean"]) / p["sd"], (self.high - p["mean"]) / p["sd"]
        return stats.truncnorm(a, b, loc=p["mean"], scale=p["sd"])

    def ppf(self, u: np.ndarray | float) -> np.ndarray:
        """Values at quantiles ``u`` (clipped into the allowed range; rounded for whole-number parameters)."""
        import numpy as np  # here, so that `params` (which only describes distributions) stays light

        u = np.asarray(u, dtype=float)
        out = np.full(u.shape, self.value) if self.is_fixed else np.clip(self._frozen().ppf(u), self.low, self.high)
        return np.round(out) if self.integer else out

    def describe(self) -> str:
        """Short text for tables: ``triangular(0.35, 0.5, 0.65)``."""
        p = dict(self.shape)
        g = "{:.4g}".format
        if self.kind == "fixed":
            return f"fixed at {g(self.value)}"
        if self.kind == "uniform":
            return f"uniform({g(self.low)}, {g(self.high)})"
        if self.kind == "triangular":
            return f"triangular({g(self.low)}, {g(p['mode'])}, {g(self.high)})"
        if self.kind == "beta":
            return f"beta({g(p['alpha'])}, {g(p['beta'])}) on [{g(self.low)}, {g(self.high)}]"
        return f"normal({g(p['mean'])}, {g(p['sd'])}) within [{g(self.low)}, {g(self.high)}]"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "value": self.value, "low": self.low, "high": self.high,
                **dict(self.shape), "integer": self.integer}


def uncertain_specs() -> list[ParamSpec]:
    """The numeric assumptions, in schema order: what an uncertainty comparison may vary."""
    return [s for s in parameter_specs() if s.path.startswith("assumptions.") and s.is_numeric]


def _triangle(spec: ParamSpec, value: float, below: float, above: float, source: str) -> Distribution:
    lo = max(float(spec.low), value - below)  # type: ignore[arg-type]
    hi = min(float(spec.high), value + above)  # type: ignore[arg-type]
    integer = spec.kind == "integer"
    if hi - lo <= 0 or (integer and hi - lo < 1):
        return Distribution(spec.path, "fixed", value, value, value, integer=integer,
                            source=source + " (no room to vary within the allowed range)")
    return Distribution(spec.path, "triangular", value, lo, hi, (("mode", value),), integer, source)


def default_distribution(spec: ParamSpec, value: float | None = None) -> Distribution:
    """The schema's default distribution of one assumption, centred on ``value`` (default: its default)."""
    value = float(spec.default if value is None else value)
    if spec.plausible is not None:
        lo, hi = spec.plausible
        default = float(spec.default)
        return _triangle(spec, value, default - lo, hi - default, spec.plausible_source or "assumption")
    calibrated = not spec.source.startswith("assumption")
    share = CALIBRATED_SPREAD if calibrated else ASSUMED_SPREAD
    if value == 0:
        half = ZERO_SPREAD_OF_RANGE * (float(spec.high) - float(spec.low))  # type: ignore[arg-type]
        source = f"assumption: +/- {ZERO_SPREAD_OF_RANGE:.0%} of the allowed range around 0"
    else:
        half = share * abs(value)
        source = (f"{'calibrated or published' if calibrated else 'assumption'} value +/- {share:.0%} "
                  "(default spread by provenance)")
    return _triangle(spec, value, half, half, source)


def from_entry(spec: ParamSpec, value: float, entry: UncertaintyEntry | str, source: str) -> Distribution:
    """A distribution declared in a scenario's ``uncertainty:`` section (already validated)."""
    integer = spec.kind == "integer"
    if entry == "fixed":
        return Distribution(spec.path, "fixed", value, value, value, integer=integer, source=source)
    assert isinstance(entry, UncertaintyEntry)
    kind = entry.distribution.value
    allowed_lo, allowed_hi = float(spec.low), float(spec.high)  # type: ignore[arg-type]
    if kind == "normal":
        mean = value if entry.mean is None else entry.mean
        shape: tuple[tuple[str, float], ...] = (("mean", mean), ("sd", float(entry.sd)))  # type: ignore[arg-type]
        return Distribution(spec.path, kind, value, allowed_lo, allowed_hi, shape, integer, source)
    lo = allowed_lo if entry.low is None else entry.low
    hi = allowed_hi if entry.high is None else entry.high
    if kind == "triangular":
        mode = min(max(value if entry.mode is None else entry.mode, lo), hi)
        shape = (("mode", mode),)
    elif kind == "beta":
        shape = (("alpha", float(entry.alpha)), ("beta", float(entry.beta)))  # type: ignore[arg-type]
    else:
        shape = ()
    return Distribution(spec.path, kind, value, lo, hi, shape, integer, source)


def scenario_distributions(scenario: Scenario) -> dict[str, Distribution]:
    """Every numeric assumption's distribution for this scenario: its own section first, then the schema's."""
    out: dict[str, Distribution] = {}
    data = scenario.model_dump()
    for spec in uncertain_specs():
        value: Any = data
        for part in spec.path.split("."):
            value = value[part]
        entry = scenario.uncertainty.get(spec.path)
        if entry is None:
            out[spec.path] = default_distribution(spec, float(value))
        else:
            out[spec.path] = from_entry(spec, float(value), entry, f"scenario '{scenario.name}'")
    return out
