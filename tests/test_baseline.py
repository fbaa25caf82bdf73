"""Numeric baseline: headline results for a few seeds must not change unless ``MODEL_VERSION`` does.

``tests/baseline/headline.json`` holds, for seeds 1-3 of ``status_quo``, ``delegation`` and ``white_paper``
at ``run.scale=0.1`` over 40 quarters, the headline metrics (plus practices, closures and practice
reserves) at quarters 4, 20 and 40, with the model version that made them. A change that alters results
must bump ``sim/version.py``, be recorded in ``docs/model_versions.md``, and regenerate the file with::

    python -m tests.regenerate_baseline

Why: stored runs are reused by (scenario hash, seed, model version), so a silent change of results would
mix two models' runs in one experiment.
"""

from __future__ import annotations

import json

import numpy as np
from regenerate_baseline import BASELINE_FILE, compute_baseline

from sim.version import MODEL_VERSION

REGENERATE = "python -m tests.regenerate_baseline"


def test_headline_results_match_the_baseline_for_this_model_version() -> None:
    stored = json.loads(BASELINE_FILE.read_text())
    assert stored["model_version"] == MODEL_VERSION, (
        f"the baseline was made with model {stored['model_version']}, the model is now {MODEL_VERSION}: "
        f"regenerate the baseline for the new version with `{REGENERATE}`"
    )
    now = compute_baseline()
    changed = [
        f"{run} {metric} q{q}: stored {old!r}, now {now[run][metric][q]!r}"
        for run, metrics in stored["results"].items()
        for metric, by_quarter in metrics.items()
        for q, old in by_quarter.items()
        if not np.isclose(now[run][metric][q], old, rtol=1e-9, atol=0.0)
    ]
    assert not changed, (
        f"results changed without a MODEL_VERSION bump: bump sim/version.py, record it in "
        f"docs/model_versions.md, regenerate with `{REGENERATE}`. {len(changed)} values differ, e.g.\n"
        + "\n".join(changed[:10])
    )
