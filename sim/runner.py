"""One run of one scenario with one seed: the unit every experiment is built from.

``run(scenario, seed)`` is a pure function of its arguments and the model version: the same inputs give
bit-identical results in any process, which is what lets experiments reuse stored runs and spread work
over processes or a cluster.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.observe import SNAPSHOT_COLUMNS
from sim.params import Scenario
from sim.scenario import scenario_dict, scenario_hash
from sim.version import MODEL_VERSION, code_version, package_versions

__all__ = ["SNAPSHOT_COLUMNS", "SNAPSHOT_FORMATS", "RunResult", "run", "run_metadata"]

# How a run folder can hold the practice snapshots; the first is the default. Parquet (pyarrow) keeps every
# value and type exactly and writes a national run's 84,000 rows in under a tenth of a second; CSV takes
# about a second, longer than the run.
SNAPSHOT_FORMATS = ("parquet", "csv")

@dataclass(frozen=True)
class RunResult:
    """What one run produces.

    Attributes:
        metrics: one row per quarter (quarter 0 is the starting state): ``quarter``, ``time_years``,
            ``financial_year`` and every metric in :data:`sim.metrics.METRIC_NAMES`.
        snapshots: practice-level rows (:data:`SNAPSHOT_COLUMNS`) at quarter 0 and each year end, for
            open practices; empty when ``run.snapshots`` is false.
        metadata: scenario name, hash and resolved parameters, seed, model and code versions, timing.
    """

    metrics: pd.DataFrame
    snapshots: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def scenario_hash(self) -> str:
        return str(self.metadata["scenario_hash"])

    def write(self, folder: Path, snapshot_format: str = SNAPSHOT_FORMATS[0]) -> Path:
        """Write the run folder (metrics.csv, snapshots.parquet or snapshots.csv, metadata.json) atomically.

        Files go to a temporary sibling folder first, renamed into place at the end, so an interrupted
        write never leaves a half-written run folder. ``snapshot_format`` is one of
        :data:`SNAPSHOT_FORMATS`; read the Parquet file back with ``pandas.read_parquet``.
        """
        from sim.outputs import write_outputs

        if snapshot_format not in SNAPSHOT_FORMATS:
            raise ValueError(f"snapshot_format must be one of {SNAPSHOT_FORMATS}, not {snapshot_format!r}")
        folder = Path(folder)
        if folder.exists():
            raise FileExistsError(folder)

        def write(tmp: Path) -> None:
            self.metrics.to_csv(tmp / "metrics.csv", index=False)
            if snapshot_format == "csv":
                self.snapshots.to_csv(tmp / "snapshots.csv", index=False)
            else:
                self.snapshots.to_parquet(tmp / "snapshots.parquet", index=False, engine="pyarrow")
            (tmp / "metadata.json").write_text(json.dumps(self.metadata, indent=2, default=str))

        write_outputs(folder, write)
        return folder


def run_metadata(scenario: Scenario, seed: int) -> dict[str, Any]:
    """Everything needed to reproduce a run: scenario (resolved), hash, seed, versions."""
    return {
        "scenario_name": scenario.name,
        "scenario_hash": scenario_hash(scenario),
        "seed": int(seed),
        "model_version": MODEL_VERSION,
        "code_version": code_version(),
        "package_versions": package_versions(),
        "scenario": scenario_dict(scenario),
    }


def run(scenario: Scenario, seed: int, *, snapshots: bool = True) -> RunResult:
    """Build the model for ``scenario`` with ``seed``, run it for ``scenario.run.quarters`` and collect results.

    ``snapshots=False`` skips the practice snapshots even if the scenario asks for them: the metrics are
    identical, and a caller that would throw the snapshots away (a sweep that keeps none) saves the time
    and memory of collecting them.

    Example:
        >>> from sim.scenario import load_scenario
        >>> result = run(load_scenario("status_quo", ["run.scale=0.05", "run.quarters=8"]), seed=1)
        >>> int(result.metrics["quarter"].iloc[-1])
        8
    """
    from sim.model import CommissioningModel

    started = time.perf_counter()
    model = CommissioningModel(scenario, seed=seed, snapshots=snapshots)
    model.run_quarters(scenario.run.quarters)
    elapsed = time.perf_counter() - started
    meta = run_metadata(scenario, seed)
    meta["elapsed_seconds"] = elapsed
    meta["practices_at_start"] = int(model.initial_practices)
    meta["consortia"] = int(model.n_consortia)
    result = RunResult(metrics=model.metrics_frame(), snapshots=model.snapshot_frame(), metadata=meta)
    model.release()  # else Mesa 3.3 keeps every model a process ever ran (a sweep worker runs thousands)
    return result
