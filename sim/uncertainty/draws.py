"""Draws of the assumptions: a scrambled Sobol design on quantiles, applied to each scenario's distributions.

A draw is a point ``u`` of the unit hypercube, one coordinate per varied assumption. Scenario ``s`` at draw
``i`` takes each assumption's value at quantile ``u[i, j]`` of *its own* distribution of that assumption
(:func:`sim.uncertainty.distributions.scenario_distributions`). Where two scenarios share an assumption's
value, they share its drawn value; where a scenario sets its own (a sceptical reading of leadership), it is
drawn at the same quantile around its own value. Every scenario then runs at every draw with the same
seeds, so the difference it makes is paired over the assumptions as well as over chance.

The Sobol sequence (scipy.stats.qmc, scrambled and seeded) covers the hypercube more evenly than random
draws, so the probability of improvement and the indices settle with fewer runs.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.experiment.errors import DesignError
from sim.uncertainty.distributions import Distribution

MAX_DRAWS = 65_536


@dataclass(frozen=True)
class AssumptionDraws:
    """``n_draws`` quantile points over the varied assumptions.

    Attributes:
        paths: the varied assumptions, in schema order.
        quantiles: shape (n_draws, len(paths)), each in [0, 1).
        seed: the scrambling seed (the same seed gives the same draws).
    """

    paths: tuple[str, ...]
    quantiles: np.ndarray
    seed: int

    @property
    def n_draws(self) -> int:
        return int(self.quantiles.shape[0])

    def values(self, distributions: Mapping[str, Distribution]) -> np.ndarray:
        """Every draw's values for a scenario with these distributions, shape (n_draws, len(paths)).

        One vectorised pass per assumption (freezing a scipy distribution costs far more than a run's share).
        """
        out = np.empty_like(self.quantiles)
        for j, path in enumerate(self.paths):
            out[:, j] = distributions[path].ppf(self.quantiles[:, j])
        return out

    def point(self, values: np.ndarray, draw: int, integer: Sequence[bool]) -> dict[str, float | int]:
        """One draw's row of :meth:`values` as ``path -> value``, ready for :func:`sim.scenario.with_values`."""
        return {path: (int(v) if whole else float(v))
                for path, v, whole in zip(self.paths, values[draw], integer, strict=True)}

    def frame(self, distributions: Mapping[str, Distribution]) -> pd.DataFrame:
        """Every draw's values for a scenario with these distributions: one row per draw, indexed ``point_id``."""
        frame = pd.DataFrame(self.values(distributions), columns=list(self.paths))
        frame.index.name = "point_id"
        return frame

    def quantile_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.quantiles, columns=list(self.paths))
        frame.index.name = "point_id"
        return frame

    def describe(self) -> dict[str, object]:
        return {"draws": self.n_draws, "draw_seed": self.seed, "varied": list(self.paths)}


def check_draws(n: int) -> None:
    """Refuse a number of draws that cannot be run (``--uncertainty 0`` or negative, or absurdly many)."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise DesignError(f"--uncertainty takes a whole number of draws, not {n!r}.")
    if n < 2:
        raise DesignError(f"--uncertainty must be at least 2 draws (128 or more for a briefing), not {n}.")
    if n > MAX_DRAWS:
        raise DesignError(f"--uncertainty {n} is more than the {MAX_DRAWS} draws one experiment may hold.")


def make_draws(n: int, paths: Sequence[str], seed: int) -> AssumptionDraws:
    """``n`` scrambled Sobol points over ``paths`` (a power of two keeps the sequence balanced)."""
    from scipy.stats import qmc

    check_draws(n)
    if not paths:
        return AssumptionDraws((), np.empty((n, 0)), seed)
    sampler = qmc.Sobol(d=len(paths), scramble=True, rng=np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "balance properties" for n not a power of two
        points = sampler.random(n)
    return AssumptionDraws(tuple(paths), points, seed)


def varied_paths(per_scenario: Sequence[Mapping[str, Distribution]]) -> list[str]:
    """Assumptions uncertain in at least one scenario, in schema order."""
    first = per_scenario[0]
    return [p for p in first if any(not d[p].is_fixed for d in per_scenario)]


def distributions_digest(per_scenario: Mapping[str, Mapping[str, Distribution]]) -> str:
    """A hash of every scenario's distributions: part of what makes two uncertainty experiments the same."""
    blob = json.dumps({label: [d.as_dict() for d in dists.values()] for label, dists in per_scenario.items()},
                      sort_keys=True, default=float)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
