"""One label per parameter: declared with the field (or made from its path), the same in docs, pack and charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import charts, docs
from sim.params import Scenario, param
from sim.report_text import changes
from sim.scenario import parameter_specs

PATH = "assumptions.leadership.skill_mean"


def _field(path: str):
    model, field = Scenario, None
    for part in path.split("."):
        field = model.model_fields[part]
        model = field.annotation
    return field


@pytest.fixture
def declared_label(monkeypatch):
    """Declare a label on a real field, as ``param(..., label=...)`` would, for the length of a test."""
    extra = dict(_field(PATH).json_schema_extra)
    extra["label"] = "Lead skill in hard conversations"
    monkeypatch.setattr(_field(PATH), "json_schema_extra", extra)
    docs._declared.cache_clear()
    yield extra["label"]
    docs._declared.cache_clear()


def test_param_stores_a_label_only_when_given():
    assert param(1.0, 0.0, 2.0, "ratio", "x", label="A ratio").json_schema_extra["label"] == "A ratio"
    assert "label" not in param(1.0, 0.0, 2.0, "ratio", "x").json_schema_extra


def test_every_parameter_has_a_label_made_from_its_path_when_none_is_declared():
    assert docs.parameter_label("levers.qof.outcome_weight") == "QOF: outcome weight"
    assert docs.parameter_label("levers.quality_premium.per_head_gbp") == "Quality premium: per head"
    assert docs.parameter_label(PATH, with_unit=True) == "Leadership: skill mean (score)"
    labels = [docs.parameter_label(s.path) for s in parameter_specs()]
    assert all(labels) and not any("_" in label for label in labels)


def test_a_declared_label_is_used_by_the_docs_the_pack_and_the_charts(declared_label):
    assert docs.parameter_label(PATH) == declared_label
    row = next(line for line in docs.parameters_markdown().splitlines() if line.startswith(f"| `{PATH}`"))
    assert f"| {declared_label} |" in row

    scenario = {"assumptions": {"leadership": {"skill_mean": 0.9}}}
    (change,) = [c for c in changes(scenario, {}, "assumptions") if c.path == PATH]
    assert change.label == declared_label

    indices = pd.DataFrame({"metric": "quality_mean", "parameter": [PATH, "assumptions.practice.autonomy_mean"],
                            "method": "morris", "mu_star": [0.2, 0.1], "mu_star_conf": [0.05, 0.05],
                            "sigma": [0.1, 0.1]})
    for col in ("S1", "S1_conf", "ST", "ST_conf"):
        indices[col] = np.nan
    fig = charts.sensitivity_chart(indices, "quality_mean")
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert declared_label in ticks and "Practice: autonomy mean" in ticks
