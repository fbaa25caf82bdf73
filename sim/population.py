"""Synthetic practices and consortia drawn to match the published population of England (2010-2012).

Sources are in ``../shared/data/calibration_targets.csv``: 8,245 practices; list sizes with mean 6,651,
median 6,085, quartiles 3,624 and 9,348, range 762 to 40,327 (Cowling et al 2013; HSCIC 2011); GMS 54%,
PMS 41%, APMS 3.2%; 211 consortia with median population 221,000 and range 63,100 to 869,400 (ONS 2012).
The population depends only on the seed, the scale and ``assumptions.initial``, never on the levers, so
every scenario run with the same seed starts from the same practices.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from sim.incentives import REFERENCE_QOF_POT_GBP, contract_funding
from sim.params import Contracts, Scenario
from sim.rng import Streams
from sim.state import APMS, GMS, PMS, ConsortiumState, PracticeState

NATIONAL_PRACTICES = 8245
NATIONAL_CONSORTIA = 211
CONSORTIUM_POP_MEDIAN = 221_000
CONSORTIUM_POP_RANGE = (63_100, 869_400)
CONTRACT_SHARES = {GMS: 0.54, PMS: 0.41, APMS: 0.032}

# Piecewise-linear quantile function of list size through the published quartiles and range; the upper
# knots are chosen so that the mean is 6,651 (HSCIC 2011).
LIST_SIZE_KNOTS = (
    (0.0, 762),
    (0.25, 3624),
    (0.5, 6085),
    (0.75, 9348),
    (0.9, 11200),
    (0.97, 13600),
    (0.995, 18500),
    (1.0, 40327),
)

# Share of QOF points a practice expects to earn when setting its cost base (2010/11 mean, 94.7%).
BASELINE_QOF_SHARE = 0.947

# Spare practice rows for new entrants, as a share of the starting number.
ENTRANT_HEADROOM = 0.3


def stratified_uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniform draws, one in each of ``n`` equal strata, shuffled: matches quantiles closely."""
    u = (np.arange(n) + rng.random(n)) / n
    rng.shuffle(u)
    return u


def list_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    p, v = zip(*LIST_SIZE_KNOTS, strict=True)
    return np.round(np.interp(stratified_uniform(rng, n), p, v))


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x``, ties given the mean of their ranks: ``scipy.stats.rankdata`` (whose values are
    whole or half numbers, so exactly the same), without importing scipy.stats (most of a second)."""
    x = np.asarray(x).ravel()
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.r_[np.flatnonzero(first), x.size]
    group = np.cumsum(first) - 1
    ranks = np.empty(x.size, dtype=float)
    ranks[order] = 0.5 * (starts[group] + starts[group + 1] + 1)
    return ranks


def consortium_targets(rng: np.random.Generator, count: int, total: float) -> np.ndarray:
    """Consortium populations: log-normal about the published median, clipped to the published range,
    rescaled to the total registered population."""
    sigma = 0.55
    z = ndtri(stratified_uniform(rng, count))  # scipy.stats.norm.ppf without loading scipy.stats
    sizes = CONSORTIUM_POP_MEDIAN * np.exp(sigma * z)
    sizes = np.clip(sizes, *CONSORTIUM_POP_RANGE)
    return sizes * total / sizes.sum()


def bounded_score(mean: float, sd: float, z: np.ndarray) -> np.ndarray:
    """A score in [0, 1] with about the given mean and SD, from standard normal draws ``z``.

    Traits are transformed from draws made in a fixed order and number, so that changing an assumption
    (say, mean autonomy) changes that trait only and leaves every other draw where it was.
    """
    return np.clip(mean + sd * z, 0.0, 1.0)


def lognormal_unit(sigma: float, z: np.ndarray) -> np.ndarray:
    """A log-normal factor with mean 1 and log SD ``sigma`` from standard normal draws ``z``: spreads a
    quantity without moving its mean (so spreads can be varied without recalibrating levels)."""
    return np.exp(sigma * z - 0.5 * sigma**2)


def build_population(scenario: Scenario, streams: Streams) -> tuple[PracticeState, ConsortiumState]:
    """Draw the starting practices and consortia (structure and traits; behaviour is set by the model).

    Each kind of draw has its own stream (``population.*`` in :data:`sim.rng.SITES`), so a new trait
    shifts no other.
    """
    scale = scenario.run.scale
    a = scenario.assumptions
    n = max(4, round(NATIONAL_PRACTICES * scale))
    c = max(2, min(n // 4, round(NATIONAL_CONSORTIA * scale)))

    ps = PracticeState(capacity=int(n * (1 + ENTRANT_HEADROOM)) + 8)
    rows = ps.add_rows(n)
    lists = list_sizes(streams["population.list_sizes"], n)

    # Consortia: cut the shuffled practices into groups whose populations match the targets.
    targets = consortium_targets(streams["population.consortium_sizes"], c, lists.sum())
    order = streams["population.assignment"].permutation(n)
    cum = np.cumsum(lists[order])
    bounds = np.cumsum(targets)[:-1]
    group_of_sorted = np.searchsorted(bounds, cum - lists[order] / 2)
    consortium = np.empty(n, dtype=np.int64)
    consortium[order] = group_of_sorted
    # A consortium must have at least two practices to benchmark them: merge tiny groups.
    counts = np.bincount(consortium, minlength=c)
    for empty in np.flatnonzero(counts < 2):
        donor = int(np.argmax(counts))
        moved = np.flatnonzero(consortium == donor)[: 2 - counts[empty]]
        consortium[moved] = empty
        counts = np.bincount(consortium, minlength=c)

    # Deprivation clusters by area: a consortium mean plus practice variation, as a rank in [0, 1].
    area = streams.normal("population.area_deprivation", c)
    raw = 0.75 * area[consortium] + 0.66 * streams.normal("population.practice_deprivation", n)
    deprivation = (average_ranks(raw) - 0.5) / n

    shares = np.array([CONTRACT_SHARES[k] for k in (GMS, PMS, APMS)])
    contract = streams["population.contract"].choice(3, size=n, p=shares / shares.sum())

    init = a.initial
    ps.open[rows] = True
    ps.consortium[rows] = consortium
    ps.contract[rows] = contract
    ps.list_size[rows] = lists
    ps.deprivation[rows] = deprivation

    def z(trait: str, size: int = n) -> np.ndarray:  # standard normals of one trait, from its own stream
        return streams.normal(f"population.{trait}", size)

    ps.autonomy[rows] = bounded_score(a.practice.autonomy_mean, a.practice.autonomy_sd, z("autonomy"))
    ps.motivation[rows] = bounded_score(a.practice.motivation_mean, a.practice.motivation_sd, z("motivation"))
    ps.motivation_own[rows] = ps.motivation[rows]
    ps.improvement_capacity[rows] = bounded_score(a.practice.capacity_mean, a.practice.capacity_sd, z("capacity"))
    ps.money_orientation[rows] = lognormal_unit(a.practice.responsiveness_sd, z("money_orientation"))
    rec = a.recording
    propensity = lognormal_unit(rec.exception_propensity_sd, z("exception_propensity"))
    ps.exception_propensity[rows] = rec.exception_base * propensity
    quality_mean = init.quality_mean + init.deprivation_quality_gap * (0.5 - deprivation)
    ps.quality[rows] = np.clip(quality_mean + init.quality_sd * z("quality"), 0.05, 0.995)
    # Admissions beyond quality and the practice's deprivation: an area effect (partly following the area's
    # deprivation) and a practice effect, each log-normal with mean 1.
    o = a.outcomes
    area_effect = lognormal_unit(o.area_deprivation_effect, area) * lognormal_unit(o.area_sd, z("area_frailty", c))
    ps.frailty[rows] = area_effect[consortium] * lognormal_unit(o.overdispersion, z("frailty"))
    # Unwarranted prescribing: log-normal with the given mean and coefficient of variation, part of its
    # variance between areas.
    p = a.prescribing
    sigma = np.sqrt(np.log1p(p.unwarranted_cv**2))
    habit_z = np.sqrt(p.area_share) * z("area_prescribing", c)[consortium] + np.sqrt(1.0 - p.area_share) * z(
        "prescribing_habit"
    )
    ps.habit_gbp[rows] = p.unwarranted_mean_gbp * lognormal_unit(sigma, habit_z)
    # Money at the start follows the contracts of the day (schema defaults), not the scenario's levers;
    # before QOF (a 2004 start) there was no QOF income to build costs on.
    qof_share = BASELINE_QOF_SHARE if init.qof_in_place else 0.0
    income_per_head = contract_funding(Contracts())[contract] + qof_share * REFERENCE_QOF_POT_GBP / lists.mean()
    cost_ratio = np.clip(init.cost_ratio_mean + init.cost_ratio_sd * z("cost_ratio"), 0.7, 1.1)
    fixed = init.fixed_cost_share
    ps.cost_per_head_gbp[rows] = (1 - fixed) * cost_ratio * income_per_head
    ps.fixed_cost_gbp[rows] = fixed * cost_ratio * income_per_head * lists

    cs = ConsortiumState(count=c)
    cs.population = np.bincount(consortium, weights=lists, minlength=c)
    cs.skill = bounded_score(a.leadership.skill_mean, a.leadership.skill_sd, z("lead_skill", c))
    cs.willingness = bounded_score(a.leadership.willingness_mean, a.leadership.willingness_sd, z("lead_willingness", c))
    cs.credibility = np.full(c, a.leadership.credibility_initial)
    return ps, cs
