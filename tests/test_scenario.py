"""Scenario files: loading, extends, overrides, hashing, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ROOT

from sim.docs import parameters_markdown
from sim.errors import ScenarioError
from sim.params import DelegationMode, Scenario
from sim.scenario import (
    json_schema,
    load_scenario,
    parameter_spec,
    parameter_specs,
    parse_override,
    scenario_hash,
    shipped_scenarios,
    with_values,
)

REQUIRED = {
    "status_quo",
    "delegation",
    "delegation_conditional",
    "qof_outcomes",
    "quality_premium",
    "single_contract",
    "white_paper",
    "white_paper_sceptic",
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_required_scenario_is_shipped_and_valid():
    shipped = shipped_scenarios()
    assert set(shipped) >= REQUIRED
    for name in shipped:
        scenario = load_scenario(name)
        assert isinstance(scenario, Scenario)
        assert scenario.description.strip(), f"{name} has no description"


def test_shipped_files_are_commented_for_analysts():
    for path in shipped_scenarios().values():
        assert "#" in path.read_text(), f"{path} has no comments"


def test_extends_inherits_and_overrides():
    white = load_scenario("white_paper")
    sceptic = load_scenario("white_paper_sceptic")
    assert sceptic.levers == white.levers  # same policy...
    assert sceptic.assumptions.leadership.skill_mean < white.assumptions.leadership.skill_mean  # ...worse behaviour
    assert sceptic.name == "white_paper_sceptic"
    conditional = load_scenario("delegation_conditional")
    assert conditional.levers.delegation.mode is DelegationMode.CONDITIONAL
    assert (
        conditional.levers.peer_challenge.escalate_after
        == load_scenario("delegation").levers.peer_challenge.escalate_after
    )


def test_extends_relative_file_and_override_order(tmp_path):
    write(tmp_path, "base.yaml", "extends: status_quo\nlevers:\n  qof:\n    point_value_gbp: 100\n")
    child = write(
        tmp_path, "child.yaml", "extends: base.yaml\nname: child\nlevers:\n  qof:\n    outcome_weight: 0.25\n"
    )
    scenario = load_scenario(child, ["levers.qof.outcome_weight=0.75"])
    assert scenario.levers.qof.point_value_gbp == 100
    assert scenario.levers.qof.outcome_weight == 0.75
    assert scenario.name == "child"


def test_hash_ignores_name_and_follows_parameters():
    a = load_scenario("status_quo")
    b = with_values(a, {"run.scale": 1.0})
    assert scenario_hash(a) == scenario_hash(b)
    renamed = a.model_copy(update={"name": "other", "description": "x"})
    assert scenario_hash(renamed) == scenario_hash(a)
    changed = with_values(a, {"levers.qof.outcome_weight": 0.1})
    assert scenario_hash(changed) != scenario_hash(a)


def test_scenario_is_immutable():
    scenario = load_scenario("status_quo")
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen models
        scenario.levers.qof.outcome_weight = 0.5  # type: ignore[misc]


def test_parse_override_types():
    assert parse_override("a.b=0.5") == ("a.b", 0.5)
    assert parse_override("a.b=true") == ("a.b", True)
    assert parse_override("a.b=all") == ("a.b", "all")
    assert parse_override("a.b=3") == ("a.b", 3)
    # An exponent without a decimal point is a string in YAML 1.1; users mean a number.
    assert parse_override("a.b=1e-3") == ("a.b", 0.001)
    assert parse_override("a.b=-2E+5") == ("a.b", -200000.0)
    assert parse_override("a.b=e5") == ("a.b", "e5")


def test_a_scenario_file_reads_numbers_with_exponents(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text("extends: status_quo\nlevers:\n  qof:\n    outcome_weight: 5e-1\n")
    assert load_scenario(str(path)).levers.qof.outcome_weight == 0.5
    assert load_scenario("status_quo", ["levers.qof.outcome_weight=25e-2"]).levers.qof.outcome_weight == 0.25


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("levers:\n  qof:\n    outcom_weight: 0.2\n", ["levers.qof.outcom_weight", "unknown key", "outcome_weight"]),
        ("levers:\n  qof:\n    outcome_weight: lots\n", ["levers.qof.outcome_weight", "number from 0.0 to 1.0"]),
        ("levers:\n  qof:\n    outcome_weight: 1.5\n", ["levers.qof.outcome_weight", "less than or equal to 1"]),
        ("levers:\n  delegation:\n    mode: sometimes\n", ["levers.delegation.mode", "none, all, conditional"]),
        ("levrs: {}\n", ["unknown key 'levrs'", "levers", "assumptions", "extends"]),
        ("extends: no_such_scenario\n", ["no_such_scenario", "not found", "status_quo"]),
        ("levers: [1, 2\n", ["malformed YAML", "line"]),
        ("- just\n- a list\n", ["must be a mapping"]),
        ("run:\n  quarters: 2.5\n", ["run.quarters", "whole number"]),
    ],
)
def test_bad_files_name_file_key_and_allowed_values(tmp_path, text, expected):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message or "no_such_scenario" in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_cyclic_extends_is_reported(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")


def test_unreadable_file_is_reported(tmp_path):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00levers")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(binary)


def test_yaml_is_read_with_the_safe_loader(tmp_path):
    path = write(tmp_path, "evil.yaml", "name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ScenarioError, match="malformed YAML"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("levers.qof.outcome_weight", "PATH=VALUE"),
        ("=3", "PATH=VALUE"),
        ("levers..qof=1", "PATH=VALUE"),
        ("levers.qof.nope=1", "Valid keys there: points_max"),
        ("levers.qof=1", "is a section"),
        ("levers.qof.outcome_weight.x=1", "has no sub-keys"),
        ("levers.qof.outcome_weight=[1, 2]", "single value"),
        ("levers.qof.outcome_weight=-1", "greater than or equal to 0"),
    ],
)
def test_bad_overrides(override, fragment):
    with pytest.raises(ScenarioError) as err:
        load_scenario("status_quo", [override])
    assert fragment in str(err.value)


def test_parameter_specs_cover_every_leaf_with_range_and_unit():
    specs = parameter_specs()
    assert len(specs) > 60
    for spec in specs:
        assert spec.unit, spec.path
        assert spec.description, spec.path
        if spec.is_numeric:
            assert spec.low is not None and spec.high is not None, spec.path
            assert spec.low <= spec.default <= spec.high, spec.path
    assert parameter_spec("levers.qof.point_value_gbp").source.startswith("Gillam")
    with pytest.raises(ScenarioError, match="Did you mean"):
        parameter_spec("levers.qof.point_value")


def test_json_schema_describes_the_format():
    schema = json_schema()
    assert "extends" in schema["properties"]
    text = json.dumps(schema)
    assert "outcome_weight" in text and "additionalProperties" in text


def test_parameters_doc_is_generated_from_the_schema():
    doc = (ROOT / "docs" / "parameters.md").read_text()
    assert doc == parameters_markdown(), "docs/parameters.md is stale: run `python run_sim.py params --markdown`"


# ------------------------------------------------------------------------------------ strict input (issue 13)


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    path = write(tmp_path, "twice.yaml", "extends: status_quo\nlevers:\n  qof:\n    outcome_weight: 0.2\n"
                 "    outcome_weight: 0.5\n")
    with pytest.raises(ScenarioError, match=r"twice.yaml.*'outcome_weight' is given twice \(lines 4 and 5\)"):
        load_scenario(path)


@pytest.mark.parametrize("value", ["true", "'0.5'", "yes"])
def test_a_number_field_refuses_booleans_and_text(tmp_path, value):
    path = write(tmp_path, "bad.yaml", f"extends: status_quo\nlevers:\n  qof:\n    outcome_weight: {value}\n")
    with pytest.raises(ScenarioError, match=r"levers\.qof\.outcome_weight: .*expected a number.*Allowed: a number"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="expected a number"):
        load_scenario("status_quo", [f"levers.qof.outcome_weight={value}"])


def test_whole_numbers_and_flags_still_load(tmp_path):
    path = write(tmp_path, "ok.yaml", "extends: status_quo\nlevers:\n  qof:\n    outcome_weight: 1\n"
                 "  peer_challenge:\n    enabled: false\nrun:\n  snapshots: true\n")
    scenario = load_scenario(path)
    assert scenario.levers.qof.outcome_weight == 1.0
    assert scenario.levers.peer_challenge.enabled is False


def test_an_alias_bomb_is_refused_at_once_with_a_short_message(tmp_path):
    import time

    lines = ["extends: status_quo", "x1: &a [x, x, x, x, x, x, x, x, x]"]
    for i, (name, prev) in enumerate(zip("bcdefg", "abcdef", strict=True), start=2):
        lines.append(f"x{i}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    lines.append("description: [" + ", ".join(["*g"] * 9) + "]")  # 9^8 strings if expanded
    path = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert time.perf_counter() - started < 5.0
    assert len(str(caught.value)) < 2000
    assert "description" in str(caught.value)
