"""A cache of settled starts: runs that share a start compute it once.

Settling the starting population into its baseline regime (:func:`sim.processes.initialise.settle`:
40 damped rounds of effort and recording, then 24 quarters of the baseline's scrutiny) is about a third
of a national run. It runs under the baseline's levers whatever the scenario's, so it depends only on
the seed, the run settings (of which the population reads the scale) and the assumptions: every
scenario of a comparison, every point of a sweep and every trial of a design search settles the same
start for the same seed. This cache keeps the state that settling produces and hands a copy to the
next run with the same key. Results are bit for bit those of settling again (tests/test_start_cache.py
runs every scenario both ways), so no result changes and nothing needs a model version.

The cache lives in each process (a sweep worker keeps its own) and is bounded by
:data:`MAX_ENTRIES` and :data:`MAX_BYTES`, least recently used first out. Executors send tasks that
share a start to the same worker one after another (:func:`start_key`), so pooled comparisons hit too.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from sim.model import CommissioningModel
    from sim.params import Scenario

#: At most this many starts are kept in a process: enough for a sweep's replications, each of which
#: every design point reuses.
MAX_ENTRIES = 16
#: And at most this many bytes of their arrays (a national start is about 3.5 MB, a 10 x start 35 MB).
MAX_BYTES = 256 * 2**20
#: Model attributes that settling writes besides the practice and consortium state and the streams
#: (tests/test_start_cache.py checks that settling changes no other attribute).
MODEL_ATTRIBUTES = ("effort_value", "outcome_outliers", "ledger", "flows", "convergence")


def start_key(scenario: Scenario, seed: int) -> str:
    """What a settled start depends on: the model version, the seed, the run settings and the
    assumptions, never the levers. The run settings other than the scale are in the key although the
    start does not read them, so that a future reader of them cannot make a cached start stale."""
    from sim.version import MODEL_VERSION

    text = "\n".join((MODEL_VERSION, str(int(seed)), scenario.run.model_dump_json(),
                      scenario.assumptions.model_dump_json()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SettledStart:
    """The state settling leaves behind, copied out of a model (never shared with one)."""

    practices: dict[str, np.ndarray]
    practice_rows: int
    consortia: dict[str, np.ndarray]
    streams: dict[str, dict[str, Any]]
    attributes: dict[str, Any]
    result: np.ndarray  # what the settling block returned (each practice's mean improvement effort)

    @property
    def nbytes(self) -> int:
        arrays = [*self.practices.values(), *self.consortia.values(), self.result]
        return sum(a.nbytes for a in arrays)


def _arrays(state: object) -> dict[str, np.ndarray]:
    import numpy as np

    return {name: value for name, value in vars(state).items() if isinstance(value, np.ndarray)}


def capture(model: CommissioningModel, result: np.ndarray) -> SettledStart:
    """Copy the settled state out of ``model``."""
    return SettledStart(
        practices={name: a.copy() for name, a in _arrays(model.practices).items()},
        practice_rows=model.practices.n,
        consortia={name: a.copy() for name, a in _arrays(model.consortia).items()},
        streams={site: g.bit_generator.state for site, g in model.streams.generators.items()},
        attributes={name: copy.deepcopy(getattr(model, name)) for name in MODEL_ATTRIBUTES},
        result=result.copy(),
    )


def restore(model: CommissioningModel, start: SettledStart) -> np.ndarray:
    """Put a copy of ``start`` into ``model`` (built from the same key), as if it had settled itself;
    returns what the settling block returned."""
    import numpy as np

    for state, arrays in ((model.practices, start.practices), (model.consortia, start.consortia)):
        for name, saved in arrays.items():
            np.copyto(getattr(state, name), saved)
    model.practices.n = start.practice_rows
    for site, saved_state in start.streams.items():
        model.streams[site].bit_generator.state = saved_state
    for name, value in start.attributes.items():
        setattr(model, name, copy.deepcopy(value))
    return start.result.copy()


class StartCache:
    """Settled starts by :func:`start_key`, least recently used evicted first."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.enabled = True
        self.hits = self.misses = 0
        self._entries: OrderedDict[str, SettledStart] = OrderedDict()

    def get(self, key: str) -> SettledStart | None:
        if not self.enabled:
            return None
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: str, entry: SettledStart) -> None:
        if not self.enabled or entry.nbytes > self.max_bytes:
            return
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries or self.nbytes > self.max_bytes:
            self._entries.popitem(last=False)

    @property
    def nbytes(self) -> int:
        return sum(entry.nbytes for entry in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every start and the hit counts."""
        self._entries.clear()
        self.hits = self.misses = 0

    @contextmanager
    def disabled(self) -> Iterator[None]:
        """Every run in the block settles its own start (for benchmarks and equivalence tests)."""
        before, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = before


#: The process's cache, used by :func:`sim.processes.initialise.settle`.
CACHE = StartCache()
