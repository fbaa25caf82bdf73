"""Loading scenario files: ``extends``, ``--set`` overrides, validation with clear errors, hashing.

A scenario file is YAML (read with the safe loader only) holding any part of :class:`sim.params.Scenario`.
``extends:`` names another file (relative to this one) or a shipped scenario, whose values this file
overrides key by key. Every error names the file and the key path and lists what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import ScenarioError
from sim.params import Scenario

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"

# Keys the loader itself understands, beside the schema's own.
_LOADER_KEYS = {"extends"}
_UNCERTAINTY_ALLOWED = (" Allowed: fixed, or {distribution: uniform, low, high}, {distribution: triangular, low, "
                        "high[, mode]}, {distribution: beta, alpha, beta[, low, high]} or {distribution: normal, "
                        "sd[, mean]}.")


# ------------------------------------------------------------------------------------------ schema


@dataclass(frozen=True)
class ParamSpec:
    """One leaf of the scenario schema, for sweeps, sensitivity analysis and the parameter table."""

    path: str
    kind: str  # "number", "integer", "flag" or "choice"
    default: Any
    low: float | None
    high: float | None
    unit: str
    description: str
    source: str
    choices: tuple[str, ...] = ()
    plausible: tuple[float, float] | None = None  # declared span of the default uncertainty distribution
    plausible_source: str = ""

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("number", "integer")


def _walk_specs(model: type[BaseModel], prefix: str) -> Iterable[ParamSpec]:
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _walk_specs(ann, path + ".")
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        low = high = None
        for meta in field.metadata:
            low = getattr(meta, "ge", low)
            high = getattr(meta, "le", high)
        if isinstance(ann, type) and issubclass(ann, Enum):
            kind, choices, default = "choice", tuple(m.value for m in ann), field.default.value
        elif ann is bool:
            kind, choices, default = "flag", (), field.default
        elif ann is int:
            kind, choices, default = "integer", (), field.default
        elif ann is float:
            kind, choices, default = "number", (), field.default
        else:
            continue  # free text: name, description
        yield ParamSpec(
            path=path, kind=kind, default=default, low=low, high=high,
            unit=str(extra.get("unit", "")), description=field.description or "",
            source=str(extra.get("source", "assumption")), choices=choices,
            plausible=tuple(extra["plausible"]) if "plausible" in extra else None,  # type: ignore[arg-type]
            plausible_source=str(extra.get("plausible_source", "")),
        )


def parameter_specs() -> list[ParamSpec]:
    """Every parameter of the schema, in declaration order."""
    return list(_walk_specs(Scenario, ""))


def parameter_spec(path: str) -> ParamSpec:
    """The spec of one parameter path, or a ScenarioError listing the nearest valid paths."""
    specs = {s.path: s for s in parameter_specs()}
    if path in specs:
        return specs[path]
    raise ScenarioError(f"'{path}' is not a scenario parameter. {_suggest(path, list(specs))}")


def json_schema() -> dict[str, Any]:
    """The scenario file format as JSON Schema, for editors (``extends`` included)."""
    schema = Scenario.model_json_schema()
    schema["properties"]["extends"] = {
        "type": "string",
        "description": "Another scenario file (relative path) or shipped scenario name to build on.",
    }
    schema["title"] = "Commissioning Reform Simulator scenario"
    return schema


# ------------------------------------------------------------------------------------------ loading


def shipped_scenarios() -> dict[str, Path]:
    """Shipped scenario names (relative to ``scenarios/``, without ``.yaml``) and their files."""
    return {
        p.relative_to(SCENARIO_DIR).with_suffix("").as_posix(): p
        for p in sorted(SCENARIO_DIR.rglob("*.yaml"))
    }


def resolve_path(ref: str | Path, relative_to: Path | None = None) -> Path:
    """Find a scenario file from a path or a shipped name."""
    ref_str = str(ref)
    candidates: list[Path] = []
    if relative_to is not None:
        candidates.append(relative_to / ref_str)
    candidates.append(Path(ref_str))
    shipped = shipped_scenarios()
    name = ref_str.removesuffix(".yaml").removesuffix(".yml")
    if name in shipped:
        candidates.append(shipped[name])
    for cand in candidates:
        if cand.is_file():
            return cand.resolve()
    where = f" (from {relative_to})" if relative_to else ""
    raise ScenarioError(
        f"Scenario '{ref_str}'{where} not found: not a file and not a shipped scenario. "
        f"Shipped scenarios: {', '.join(shipped) or 'none'}."
    )


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (PyYAML keeps the later one silently, so the
    user's value can be lost without a word)."""


class _FastStrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same with libyaml's parser when PyYAML has it (several times faster; the values are built by the
    same Python constructor). A file it refuses is read again by :class:`_StrictLoader`, whose messages say
    more."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str | int | float | bool | type(None)):  # '? [1]': a list or mapping as a key
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a word, not {type(key).__name__} {_excerpt(key)}", key_node.start_mark,
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {_excerpt(key)} is given twice (lines {seen[key]} and {line}); give it once",
                key_node.start_mark,
            )
        seen[key] = line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


# YAML 1.1, which PyYAML follows, reads 1e-3 (an exponent without a decimal point) as a string: a number
# written the way most users write it would be refused as "not a number".
_EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
for _loader in (_StrictLoader, _FastStrictLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))

# How much of a user's value an error message quotes: enough to recognise it, never the whole of a huge or
# deeply nested value (a YAML alias bomb would otherwise print hundreds of megabytes).
_EXCERPT = reprlib.Repr()  # keyword arguments need Python 3.12
_EXCERPT.maxlevel, _EXCERPT.maxlist, _EXCERPT.maxdict = 2, 4, 4
_EXCERPT.maxstring = _EXCERPT.maxother = 60


def _excerpt(value: Any) -> str:
    """A short, bounded rendering of a value for an error message."""
    return _EXCERPT.repr(value)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the file ({exc.strerror or exc}).") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: cannot read the file (it is not UTF-8 text).") from None
    try:
        try:
            data = yaml.load(text, Loader=_FastStrictLoader)
        except yaml.YAMLError:
            data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path}: malformed YAML{where}: {problem}.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario file must be a mapping of keys, not {type(data).__name__}.")
    return data


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``, recursively for mappings; neither input is changed."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load_raw(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ScenarioError(f"{path}: 'extends' forms a cycle: {cycle}.")
    data = _read_yaml(path)
    parent_ref = data.pop("extends", None)
    if parent_ref is None:
        return data
    if not isinstance(parent_ref, str):
        raise ScenarioError(f"{path}: key 'extends' must be a scenario name or file path (a string).")
    parent = resolve_path(parent_ref, relative_to=path.parent)
    base = _load_raw(parent, (*chain, path))
    base.pop("name", None)
    base.pop("description", None)
    return deep_merge(base, data)


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``path.to.key=value``; the value is read as YAML (so numbers, booleans and words work)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ScenarioError(
            f"--set '{text}': expected PATH=VALUE with a dotted parameter path, "
            "for example --set levers.qof.outcome_weight=0.5."
        )
    try:
        value = yaml.load(raw, Loader=_StrictLoader) if raw.strip() else None
    except yaml.YAMLError:
        raise ScenarioError(f"--set '{text}': the value '{raw}' is not a number, word or boolean.") from None
    if value is None or isinstance(value, dict | list):
        raise ScenarioError(f"--set '{text}': give a single value after '='.")
    return key, value


def _set_path(data: dict[str, Any], path: str, value: Any, source: str) -> None:
    parts = path.split(".")
    node: dict[str, Any] = data
    model: type[BaseModel] = Scenario
    for i, part in enumerate(parts):
        fields = model.model_fields
        if part not in fields:
            done = ".".join(parts[:i]) or "the top level"
            raise ScenarioError(
                f"{source}: '{path}' is not a scenario parameter: '{part}' is not a key of {done}. "
                f"Valid keys there: {', '.join(fields)}."
            )
        ann = fields[part].annotation
        is_section = isinstance(ann, type) and issubclass(ann, BaseModel)
        last = i == len(parts) - 1
        if last:
            if is_section:
                raise ScenarioError(
                    f"{source}: '{path}' is a section, not a parameter; set one of its keys: "
                    f"{', '.join(ann.model_fields)}."
                )
            node[part] = value
            return
        if not is_section:
            raise ScenarioError(f"{source}: '{'.'.join(parts[: i + 1])}' is a parameter and has no sub-keys.")
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node, model = child, ann


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A copy of raw scenario data with dotted-path overrides applied (paths checked against the schema)."""
    out = copy.deepcopy(data)
    for path, value in overrides.items():
        _set_path(out, path, value, source)
    return out


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    model: type[BaseModel] = Scenario
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        ann = field.annotation
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model = ann
    return model


def _allowed(loc: Sequence[Any]) -> str:
    """Describe what is allowed at a field location (range, choices or type)."""
    specs = {s.path: s for s in parameter_specs()}
    spec = specs.get(".".join(str(p) for p in loc))
    if spec is None:
        return ""
    if spec.kind == "choice":
        return f" Allowed values: {', '.join(spec.choices)}."
    if spec.kind == "flag":
        return " Allowed values: true, false."
    if spec.low is not None and spec.high is not None:
        kind = "a whole number" if spec.kind == "integer" else "a number"
        return f" Allowed: {kind} from {spec.low} to {spec.high} ({spec.unit})."
    return ""


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid scenario:"]
    errors = exc.errors()
    # A union (an uncertainty entry: ``fixed`` or a distribution) reports each branch; name the key only,
    # and drop the "should be 'fixed'" branch where the distribution branch says what is wrong.
    for err in errors:
        err["loc"] = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    others = [e["loc"] for e in errors if e["type"] != "literal_error"]
    errors = [e for e in errors if not (e["type"] == "literal_error" and e["loc"][:1] == ("uncertainty",)
                                        and any(o[:len(e["loc"])] == e["loc"] for o in others))]
    for err in errors:
        loc = [str(p) for p in err["loc"]]
        path = ".".join(loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            valid = ", ".join(sorted(_LOADER_KEYS | set(parent.model_fields))) if parent is Scenario else (
                ", ".join(parent.model_fields) if parent else ""
            )
            lines.append(f"  - {path}: unknown key '{loc[-1]}'. Valid keys here: {valid}.")
            continue
        given = err.get("input")
        given_text = f" (got {_excerpt(given)})" if not isinstance(given, dict) else ""
        message = str(err["msg"]).removeprefix("Value error, ").rstrip(".")
        stop = "" if message.endswith("?") and not given_text else "."
        entry = loc[:1] == ["uncertainty"] and len(loc) > 1
        allowed = _allowed(loc) or (_UNCERTAINTY_ALLOWED if entry else "")
        lines.append(f"  - {path}: {message}{given_text}{stop}{allowed}")
    return "\n".join(lines)


def _canonical(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def scenario_dict(scenario: Scenario) -> dict[str, Any]:
    """The resolved scenario as plain JSON-able data (enums as strings)."""
    return _canonical(scenario.model_dump())


def scenario_hash(scenario: Scenario) -> str:
    """Content hash of everything that affects results (name and description excluded)."""
    data = scenario_dict(scenario)
    data.pop("name", None)
    data.pop("description", None)
    if not data.get("uncertainty"):
        data.pop("uncertainty", None)  # so that scenarios without the section keep their hashes
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def validate(data: Mapping[str, Any], source: str) -> Scenario:
    """Validate raw data into a Scenario, turning pydantic's error into a ScenarioError."""
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, source)) from None


def load_scenario(ref: str | Path, overrides: Iterable[str] | Mapping[str, Any] = ()) -> Scenario:
    """Load a shipped scenario by name or a scenario file by path, with optional overrides.

    Args:
        ref: a shipped name (``"white_paper"``, ``"history/qof_2004"``) or a path to a YAML file.
        overrides: ``"path.to.key=value"`` strings (as given to ``--set``) or a mapping of path to value.

    Example:
        >>> s = load_scenario("status_quo", ["run.scale=0.1"])
        >>> s.run.scale
        0.1
    """
    path = resolve_path(ref)
    data = _load_raw(path, ())
    data.setdefault("name", path.stem)
    pairs = dict(overrides) if isinstance(overrides, Mapping) else dict(parse_override(o) for o in overrides)
    data = apply_overrides(data, pairs, f"{path} with --set")
    source = f"{path}" + (" with --set " + ", ".join(f"{k}={v}" for k, v in pairs.items()) if pairs else "")
    return validate(data, source)


def with_values(scenario: Scenario, values: Mapping[str, Any], source: str = "override") -> Scenario:
    """A copy of a scenario with some parameters changed (validated; for sweeps and sensitivity)."""
    data = apply_overrides(scenario.model_dump(mode="json"), values, source)
    return validate(data, source)


def _suggest(word: str, options: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, options, n=3, cutoff=0.5)
    leaf = word.rsplit(".", 1)[-1]
    close += [o for o in options if o.endswith("." + leaf) and o not in close][:3]
    if close:
        return f"Did you mean: {', '.join(close)}? (`run_sim.py params` lists them all.)"
    return "Run `run_sim.py params` to list every parameter path."

