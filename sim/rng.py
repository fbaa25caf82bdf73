"""Common random numbers: one SeedSequence per replication, one named stream per purpose.

Two scenarios run with the same seed draw their population and every shock from the same streams, and
each stream draws the same number of values each quarter whatever the levers do, so changing a lever
does not shift the draws of anything else. Differences between scenarios are then paired.
"""

from __future__ import annotations

import numpy as np

# The order is part of the model version: appending a stream is safe, reordering changes results.
STREAMS: tuple[str, ...] = (
    "population",  # the synthetic practices and consortia
    "practice",  # quarterly shocks to practice quality
    "measurement",  # the board's measurement noise
    "review",  # rounding of review capacity
    "challenge",  # outcomes of challenge conversations
    "board",  # authorisation assessments
    "entry",  # procurement of new providers and their draws
    "admissions",  # observed admission counts (Poisson: how many draws it takes depends on the rates)
    "inspection",  # the board's own assessment of escalated practices
)


def make_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators, one per purpose, all derived from ``seed``."""
    children = np.random.SeedSequence(int(seed)).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(child)) for name, child in zip(STREAMS, children, strict=True)}
