"""Common random numbers: one SeedSequence per replication, one random stream per draw site.

A *draw site* is one place in the model that draws random numbers: the quality shocks, the board's
measurement noise, whether a challenge succeeds, whether a lead escalates, each trait of the starting
population... Each has its own generator, derived from the replication's seed and the site's name
alone (``SeedSequence(entropy=seed, spawn_key=(crc32(name),))``). So:

- two scenarios run with the same seed draw the population and every shock from the same streams;
- each site draws the same number of values each quarter whatever the levers do (a full block per
  practice row or consortium, used or not), so changing a lever does not shift any other draw;
- adding, removing or reordering a draw site shifts no other site's draws (with one stream shared by
  several draws, a new draw would have taken the numbers the next one used to get).

The one site whose consumption depends on the scenario is the Poisson admission counts (how many random
numbers a Poisson draw takes depends on its rate); having its own stream, it shifts nothing else.
Differences between scenarios run with the same seed are then paired, with far less noise.
"""

from __future__ import annotations

import zlib

import numpy as np

# Every draw site, with what it draws. A site's stream depends only on the seed and its name: renaming
# a site changes its draws, adding one changes nothing else.
SITES: dict[str, str] = {
    # the starting population (sim/population.py), drawn once
    "population.list_sizes": "stratified list sizes",
    "population.consortium_sizes": "consortium target populations",
    "population.assignment": "the order practices are cut into consortia",
    "population.area_deprivation": "each consortium's area deprivation",
    "population.practice_deprivation": "practice deprivation about its area",
    "population.contract": "each practice's contract",
    "population.autonomy": "practice autonomy",
    "population.motivation": "practice motivation",
    "population.capacity": "practice improvement capacity",
    "population.quality": "starting quality",
    "population.frailty": "case-mix frailty",
    "population.area_frailty": "each consortium's area effect on admissions",
    "population.prescribing_habit": "unwarranted prescribing habit",
    "population.area_prescribing": "each consortium's area effect on prescribing habit",
    "population.exception_propensity": "practice propensity to exception-report",
    "population.money_orientation": "how far each practice chases payments",
    "population.cost_ratio": "practice costs relative to income",
    "population.lead_skill": "consortium leads' skill",
    "population.lead_willingness": "consortium leads' willingness",
    # initialisation (sim/processes/initialise.py)
    "initial.admission_history": "four quarters of admission counts before the start (Poisson)",
    "initial.delegation": "the board's first authorisation assessments",
    "initial.spin_up_inspection": "the board's assessments of escalated practices before the start",
    # each quarter
    "effort.quality_shock": "shocks to practice quality",
    "effort.admissions": "observed admission counts (Poisson)",
    "review.measurement_noise": "the board's measurement noise on remote reviews",
    "review.capacity_rounding": "stochastic rounding of review capacity",
    "review.challenge_success": "outcomes of challenge conversations",
    "review.escalation": "whether a lead escalates a persistent outlier",
    "review.engagement": "whether a lead holds the conversation with an outlier it could review",
    # each year end (sim/processes/market.py)
    "market.inspection": "the board's own assessment of escalated practices",
    "market.replace_terminated": "whether a new provider takes over a terminated contract",
    "market.procurement": "whether a consortium procures a new provider",
    "market.entrant_autonomy": "new providers' autonomy",
    "market.entrant_motivation": "new providers' motivation",
    "market.entrant_capacity": "new providers' improvement capacity",
    "market.delegation_review": "the board's yearly authorisation assessments",
    "market.merger": "which practices merge this year",
    "market.merger_partner": "which practice of its consortium a merging practice joins",
    "market.retirement": "which practices close for reasons other than money or merger",
}


def site_key(name: str) -> int:
    """The stable 32-bit key of a draw site (the same in every process and Python version)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """The random streams of one replication, one per draw site in :data:`SITES`, created on first use."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._generators: dict[str, np.random.Generator] = {}

    def __getitem__(self, site: str) -> np.random.Generator:
        generator = self._generators.get(site)
        if generator is None:
            if site not in SITES:
                raise KeyError(f"unknown draw site {site!r}: declare it in sim.rng.SITES")
            sequence = np.random.SeedSequence(entropy=self.seed, spawn_key=(site_key(site),))
            generator = self._generators[site] = np.random.Generator(np.random.PCG64(sequence))
        return generator

    @property
    def generators(self) -> dict[str, np.random.Generator]:
        """The streams created so far, by site (a copy of the mapping)."""
        return dict(self._generators)

    def uniform(self, site: str, size: int | tuple[int, ...]) -> np.ndarray:
        """``size`` uniform draws on [0, 1) from ``site``'s stream."""
        return self[site].random(size)

    def normal(self, site: str, size: int | tuple[int, ...]) -> np.ndarray:
        """``size`` standard normal draws from ``site``'s stream."""
        return self[site].standard_normal(size)


def make_streams(seed: int) -> Streams:
    """The streams of the replication with ``seed``."""
    return Streams(seed)
