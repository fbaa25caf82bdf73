"""Regenerate the numeric baseline (``tests/baseline/headline.json``) that ``tests/test_baseline.py`` checks.

Run from the repository root, after bumping ``MODEL_VERSION`` and recording the change in
``docs/model_versions.md``::

    python -m tests.regenerate_baseline

Why a stored baseline: a change that alters results for the same scenario and seed must bump the model
version, or stored runs of the old model would be reused as if they were the new one's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.metrics import HEADLINE_METRICS
from sim.runner import run
from sim.scenario import load_scenario
from sim.version import MODEL_VERSION

BASELINE_FILE = Path(__file__).resolve().parent / "baseline" / "headline.json"
SCENARIOS: tuple[str, ...] = ("status_quo", "delegation", "white_paper")
SEEDS: tuple[int, ...] = (1, 2, 3)
QUARTERS: tuple[int, ...] = (4, 20, 40)
OVERRIDES: tuple[str, ...] = ("run.scale=0.1", "run.quarters=40")
METRICS: tuple[str, ...] = (*HEADLINE_METRICS, "practices", "closures", "practice_reserves_gbp")


def compute_baseline() -> dict[str, dict[str, dict[str, float]]]:
    """``{"scenario/seed": {"metric": {"quarter": value}}}`` for every scenario, seed, metric and quarter."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in SCENARIOS:
        scenario = load_scenario(name, list(OVERRIDES))
        for seed in SEEDS:
            metrics = run(scenario, seed, snapshots=False).metrics.set_index("quarter")
            out[f"{name}/{seed}"] = {
                metric: {str(q): float(metrics.at[q, metric]) for q in QUARTERS} for metric in METRICS
            }
    return out


def baseline_document() -> dict[str, Any]:
    """The file's content: how the figures were made, and the figures."""
    return {
        "model_version": MODEL_VERSION,
        "overrides": list(OVERRIDES),
        "seeds": list(SEEDS),
        "quarters": list(QUARTERS),
        "results": compute_baseline(),
    }


def main() -> None:
    BASELINE_FILE.parent.mkdir(parents=True, exist_ok=True)
    BASELINE_FILE.write_text(json.dumps(baseline_document(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {BASELINE_FILE} for model {MODEL_VERSION}")


if __name__ == "__main__":
    main()
