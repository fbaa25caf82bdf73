"""Calibration: fit chosen free parameters to chosen validation targets.

The objective is the sum over targets of ``((model - fit value) / half-width of the tolerance band)^2``,
where the model value is the mean over replications of the check's observation (fixed seeds, so the
objective is deterministic; it is still rough, since challenges, closures and admissions are discrete).
Methods: ``nelder-mead`` (scipy, bounded, on parameters scaled to [0, 1]) and ``optuna`` (TPE, for noisier
problems; ``pip install optuna``). The result is written as a parameter file (YAML) that records the
targets, the fit, the settings and the date; ``validate --params FILE`` checks a fit before its values
become the defaults in ``sim/params/``.

A free parameter is a scenario path (``assumptions.practice.peer_pressure_sensitivity``), acting as a new
default for every scenario, or ``SCENARIO:path`` for one scenario only (``history/qof_2004:levers.qof.
upper_threshold``), with optional bounds ``=LOW:HIGH`` (default: the schema's range).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim.calibration.checks import Check, check
from sim.calibration.studies import Settings, preflight, split_key
from sim.calibration.targets import CalibrationError, Target, load_targets
from sim.calibration.validate import default_workers, evaluate, run_studies
from sim.version import MODEL_VERSION, code_version


@dataclass(frozen=True)
class FreeParameter:
    """A parameter to fit: its override key, bounds and starting value."""

    key: str
    low: float
    high: float
    start: float
    integer: bool = False

    def value(self, unit: float) -> float:
        v = self.low + float(np.clip(unit, 0.0, 1.0)) * (self.high - self.low)
        return float(round(v)) if self.integer else v

    def unit(self, value: float) -> float:
        span = self.high - self.low
        return float(np.clip((value - self.low) / span, 0.0, 1.0)) if span > 0 else 0.0


@dataclass(frozen=True)
class FitTarget:
    """A check used as a calibration target, with the value the fit aims at and its weight scale."""

    check: Check
    target: Target | None
    aim: float
    scale: float
    low: float
    high: float


@dataclass(frozen=True)
class Preset:
    """A calibration problem shipped with the model (how the defaults were fitted)."""

    description: str
    params: tuple[str, ...]
    targets: tuple[str, ...]


# The problems the shipped defaults were fitted with, in order (each starts from the previous fit).
PRESETS: dict[str, Preset] = {
    "money": Preset(
        "Prescribing cost and avoidable-admission rate per registered patient, to national spend.",
        ("assumptions.prescribing.cost_per_head_gbp=140:180", "assumptions.outcomes.acsc_per_1000=10:18"),
        ("prescribing_total", "acsc_cost"),
    ),
    "areas": Preset(
        "Area and practice effects on admissions, to the split of variation between and within CCGs, the "
        "range of area rates and the within-area deprivation gradient (shipped: national scale).",
        (
            "assumptions.outcomes.overdispersion=0.1:0.5",
            "assumptions.outcomes.area_deprivation_effect=0.0:0.4",
            "assumptions.outcomes.area_sd=0.0:0.3",
            "assumptions.outcomes.deprivation_gradient=0.05:0.4",
        ),
        ("acsc_between_share=0.418", "acsc_consortium_min=10.5", "acsc_consortium_max=20", "acsc_deprivation_practice"),
    ),
    "exceptions": Preset(
        "Practices' propensity to exception-report and what exceptions do to reported achievement, to the "
        "published level and spread of exception rates and Doran's slope (shipped: national scale).",
        (
            "assumptions.recording.exception_propensity_sd=0.1:1.2",
            "assumptions.recording.excepted_failing_share=0.0:1.0",
            "assumptions.recording.exception_base=0.01:0.06",
            "assumptions.recording.exception_gaming=0.005:0.06",
        ),
        ("exception_iqr", "exception_p95", "exception_gaming_slope", "exception_median", "exception_rate_year1"),
    ),
    "qof": Preset(
        "Recording, the pull of money and the state of care in 2004 and 2010/11, to recorded QOF achievement "
        "and its distribution across practices, and the gain over the pre-QOF trend (shipped: half scale).",
        (
            "assumptions.practice.money_scale_gbp=10:90",
            "assumptions.practice.responsiveness_sd=0.0:1.5",
            "assumptions.practice.capacity_sd=0.02:0.3",
            "assumptions.recording.recording_yield=0.1:0.35",
            "assumptions.recording.recording_decay=0.05:0.3",
            "assumptions.recording.indicator_spread=0.2:1.2",
            "assumptions.initial.quality_mean=0.6:0.8",
            "assumptions.initial.quality_sd=0.01:0.08",
            "history/qof_2004:assumptions.initial.quality_mean=0.5:0.75",
            "history/qof_2004:levers.qof.upper_threshold=0.75:0.95",
        ),
        (
            "achievement_year1",
            "achievement_2004",
            "achievement_2005",
            "achievement_2006",
            "reported_median_2004",
            "first_year_gain",
            "qof_points_sd",
            "qof_points_p1",
            "qof_share_below_90",
            "qof_share_at_max",
        ),
    ),
    "effects": Preset(
        "Response to a successful challenge and to a premium the consortium keeps (peer pressure from its "
        "lead), to audit-and-feedback, peer-comparison and quality-premium effect sizes.",
        (
            "assumptions.practice.peer_pressure_sensitivity=1:10",
            "assumptions.premium.peer_internalisation=0.1:20",
        ),
        ("challenge_quality_rr", "challenge_prescribing_fall", "premium_prescribing=0.12"),
    ),
}


def _schema_range(path: str) -> tuple[float, float, bool]:
    from sim.scenario import parameter_spec

    spec = parameter_spec(path)
    if not spec.is_numeric:
        raise CalibrationError(f"'{path}' is a {spec.kind} parameter; only numbers can be fitted.")
    return float(spec.low), float(spec.high), spec.kind == "integer"


def current_value(key: str, overrides: Mapping[str, Any] | None = None) -> float:
    """The value a parameter has now: in its scenario (scoped keys) or the status quo, after overrides."""
    from sim.calibration.studies import _scenario

    scope, path = split_key(key)
    scenario = _scenario(Settings(overrides=dict(overrides or {})), scope or "status_quo")
    node: Any = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return float(node)


def parse_parameter(text: str, overrides: Mapping[str, Any] | None = None) -> FreeParameter:
    """``[SCENARIO:]path[=LOW:HIGH]`` -> a FreeParameter starting at its current value."""
    key, sep, bounds = text.partition("=")
    key = key.strip()
    _, path = split_key(key)
    low, high, integer = _schema_range(path)
    if sep:
        try:
            lo_text, hi_text = bounds.split(":")
            low, high = float(lo_text), float(hi_text)
        except ValueError:
            raise CalibrationError(
                f"--param '{text}': bounds must be LOW:HIGH, e.g. {path}=0.1:0.5."
            ) from None
        s_low, s_high, _ = _schema_range(path)
        if not (s_low <= low < high <= s_high):
            raise CalibrationError(
                f"--param '{text}': bounds must satisfy {s_low:g} <= LOW < HIGH <= {s_high:g} (the schema's range)."
            )
    start = float(np.clip(current_value(key, overrides), low, high))
    return FreeParameter(key, low, high, start, integer)


def parse_target(text: str, targets: Mapping[str, Target], scale: float = 1.0) -> FitTarget:
    """``CHECK[=VALUE]`` -> a FitTarget aiming at VALUE, else at the published figure when it lies inside
    the tolerance band, else at the band's centre; errors are scaled by the band's half-width."""
    check_id, sep, aim_text = text.partition("=")
    chk = check(check_id.strip())
    band = chk.resolve(dict(targets), scale)
    if sep:
        try:
            aim = float(aim_text)
        except ValueError:
            raise CalibrationError(f"--target '{text}': '{aim_text}' is not a number.") from None
    elif band.low < band.reference < band.high:
        aim = band.reference
    else:
        aim = (band.low + band.high) / 2
    half = (band.high - band.low) / 2
    if not half > 0:
        raise CalibrationError(f"Check '{chk.id}' has an empty tolerance band and cannot be a fit target.")
    target = targets.get(chk.target) if chk.target else None
    return FitTarget(chk, target, aim, half, band.low, band.high)


@dataclass
class Evaluation:
    values: dict[str, float]
    objective: float
    model: dict[str, float]


@dataclass
class CalibrationResult:
    """A finished fit: what was fitted, to what, how well, and how."""

    name: str
    params: list[FreeParameter]
    targets: list[FitTarget]
    start: Evaluation
    best: Evaluation
    evaluations: int
    method: str
    settings: dict[str, Any]
    elapsed_seconds: float
    converged: bool
    message: str
    created: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))

    def record(self) -> dict[str, Any]:
        """The fit as plain data (what the parameter file holds under this fit's name)."""
        return {
            "description": self.name,
            "method": self.method,
            "evaluations": self.evaluations,
            "converged": self.converged,
            "message": self.message,
            "objective": {"start": _round(self.start.objective), "fit": _round(self.best.objective)},
            "parameters": {
                p.key: {
                    "fit": _round(self.best.values[p.key]),
                    "start": _round(p.start),
                    "low": p.low,
                    "high": p.high,
                }
                for p in self.params
            },
            "targets": [
                {
                    "check": t.check.id,
                    "target_id": t.check.target,
                    "published": _round(t.target.value) if t.target and t.target.has_value else None,
                    "aim": _round(t.aim),
                    "tolerance": [_round(t.low), _round(t.high)],
                    "model_start": _round(self.start.model[t.check.id]),
                    "model_fit": _round(self.best.model[t.check.id]),
                    "source": t.target.source if t.target else "",
                }
                for t in self.targets
            ],
            "elapsed_seconds": round(self.elapsed_seconds, 1),
        }


def _round(x: float) -> float:
    return float(f"{x:.6g}") if x is not None and not math.isnan(x) else x


class Objective:
    """Evaluate parameter values: run the studies the targets need and score the fit (cached)."""

    def __init__(
        self,
        params: Sequence[FreeParameter],
        targets: Sequence[FitTarget],
        base: Mapping[str, Any],
        scale: float,
        reps: int,
        base_seed: int,
        target_table: Mapping[str, Target],
        pool: cf.Executor | None,
        workers: int,
        progress: Callable[[Evaluation, int], None] | None = None,
    ) -> None:
        self.params, self.targets, self.base = list(params), list(targets), dict(base)
        self.scale, self.reps, self.base_seed = scale, reps, base_seed
        self.table, self.pool, self.workers, self.progress = dict(target_table), pool, workers, progress
        self.studies = {t.check.study for t in targets}
        self.history: list[Evaluation] = []
        self._cache: dict[tuple[float, ...], Evaluation] = {}

    def values(self, units: Sequence[float]) -> dict[str, float]:
        return {p.key: p.value(u) for p, u in zip(self.params, units, strict=True)}

    def evaluate_values(self, values: Mapping[str, float]) -> Evaluation:
        key = tuple(round(values[p.key], 12) for p in self.params)
        if key in self._cache:
            return self._cache[key]
        settings = Settings(scale=self.scale, overrides={**self.base, **values})
        obs = run_studies(self.studies, settings, self.reps, self.base_seed, self.workers, self.pool)
        results = evaluate([t.check for t in self.targets], obs, self.table, self.scale)
        model = {r.check.id: r.value for r in results}
        total = 0.0
        for t in self.targets:
            v = model[t.check.id]
            total += ((v - t.aim) / t.scale) ** 2 if not math.isnan(v) else 1e6
        ev = Evaluation(dict(values), float(total), model)
        self._cache[key] = ev
        self.history.append(ev)
        if self.progress is not None:
            self.progress(ev, len(self.history))
        return ev

    def __call__(self, units: Sequence[float]) -> float:
        return self.evaluate_values(self.values(units)).objective


def _nelder_mead(obj: Objective, max_evals: int) -> tuple[bool, str]:
    from scipy.optimize import minimize

    x0 = np.array([p.unit(p.start) for p in obj.params])
    k = len(x0)
    # Initial simplex: steps of 0.15 of each range, inward from the bounds.
    simplex = [x0]
    for i in range(k):
        step = np.zeros(k)
        step[i] = 0.15 if x0[i] <= 0.85 else -0.15
        simplex.append(np.clip(x0 + step, 0.0, 1.0))
    res = minimize(
        obj, x0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * k,
        options={"maxfev": max_evals, "initial_simplex": np.array(simplex), "xatol": 0.005, "fatol": 0.01},
    )
    return bool(res.success), str(res.message)


def _optuna(obj: Objective, max_evals: int, seed: int) -> tuple[bool, str]:
    try:
        import optuna
    except ImportError:
        raise CalibrationError(
            "--method optuna needs the optuna package: pip install optuna "
            "(or pip install 'commissioning-reform-simulator[calibrate]')."
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({p.key: p.start for p in obj.params})
    fitted = list(obj.params)

    def trial_objective(trial: Any) -> float:
        values = {}
        for p in fitted:
            if p.integer:
                values[p.key] = float(trial.suggest_int(p.key, int(p.low), int(p.high)))
            else:
                values[p.key] = trial.suggest_float(p.key, p.low, p.high)
        return obj.evaluate_values(values).objective

    study.optimize(trial_objective, n_trials=max_evals)
    return True, f"{len(study.trials)} trials (TPE)"


METHODS: dict[str, Callable[..., tuple[bool, str]]] = {"nelder-mead": _nelder_mead, "optuna": _optuna}


def calibrate(
    params: Sequence[str],
    targets: Sequence[str],
    method: str = "nelder-mead",
    max_evals: int = 200,
    reps: int = 1,
    scale: float = 1.0,
    base_seed: int = 1,
    workers: int | None = None,
    base: Mapping[str, Any] | None = None,
    targets_file: Path | str | None = None,
    name: str = "custom",
    pool: cf.Executor | None = None,
    progress: Callable[[Evaluation, int], None] | None = None,
) -> CalibrationResult:
    """Fit ``params`` (``[SCENARIO:]path[=LOW:HIGH]``) to ``targets`` (``CHECK[=VALUE]``).

    ``base`` holds overrides every evaluation starts from (earlier fits, ``--set``).

    Example:
        >>> result = calibrate(["assumptions.outcomes.acsc_per_1000=10:18"], ["acsc_cost"],
        ...                    max_evals=20, scale=0.1)  # doctest: +SKIP
    """
    if method not in METHODS:
        raise CalibrationError(f"Unknown method '{method}'; methods: {', '.join(METHODS)}.")
    if not params or not targets:
        raise CalibrationError("Calibration needs at least one --param and one --target (or a --preset).")
    if max_evals < 1:
        raise CalibrationError(f"--max-evals must be at least 1 (got {max_evals}).")
    base = dict(base or {})
    preflight(Settings(scale=scale, overrides=base))
    table = load_targets(targets_file)
    free = [parse_parameter(p, base) for p in params]
    keys = [p.key for p in free]
    if len(set(keys)) != len(keys):
        raise CalibrationError(f"A parameter is given twice: {', '.join(keys)}.")
    fit_targets = [parse_target(t, table, scale) for t in targets]
    workers = default_workers() if workers is None else max(1, workers)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if pool is None and workers > 1:
            pool = stack.enter_context(cf.ProcessPoolExecutor(max_workers=workers))
        obj = Objective(free, fit_targets, base, scale, reps, base_seed, table, pool, workers, progress)
        start = obj.evaluate_values({p.key: p.start for p in free})
        budget = max(max_evals - 1, 0)
        converged, message = (True, "start only") if budget == 0 else (
            METHODS[method](obj, budget) if method == "nelder-mead" else METHODS[method](obj, budget, base_seed)
        )
    best = min(obj.history, key=lambda e: e.objective)
    return CalibrationResult(
        name=name,
        params=free,
        targets=fit_targets,
        start=start,
        best=best,
        evaluations=len(obj.history),
        method=method,
        settings={"scale": scale, "reps": reps, "base_seed": base_seed, "base_overrides": dict(base)},
        elapsed_seconds=time.perf_counter() - started,
        converged=converged,
        message=message,
    )


def parameter_file(fits: Sequence[CalibrationResult], targets_file: str) -> dict[str, Any]:
    """The parameter file: the fitted values (flat, usable with ``validate --params``) and each fit's record."""
    values: dict[str, float] = {}
    for fit in fits:
        values.update({k: _round(v) for k, v in fit.best.values.items()})
    return {
        "created": datetime.now().isoformat(timespec="seconds"),
        "model_version": MODEL_VERSION,
        "code_version": code_version(),
        "targets_file": targets_file,
        "values": values,
        "fits": {fit.name: fit.record() for fit in fits},
    }


def write_parameter_file(data: Mapping[str, Any], path: Path) -> Path:
    """Write the parameter file atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    header = (
        "# Parameter file written by `python run_sim.py calibrate`.\n"
        "# `values` are the fitted parameters (SCENARIO:path applies to one scenario only); check them with\n"
        "# `python run_sim.py validate --params THIS_FILE`, then make them the defaults in sim/params/\n"
        "# (source: 'calibrated to <target id>') and regenerate docs/parameters.md.\n"
    )
    try:
        tmp.write_text(header + yaml.safe_dump(dict(data), sort_keys=False, width=110), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:  # a full disk: no half-written file left beside the real one
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_parameter_file(path: Path | str) -> dict[str, Any]:
    """The ``values`` of a parameter file (for ``validate --params`` and ``calibrate --params``)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CalibrationError(f"Cannot read the parameter file {path}: {exc.strerror or exc}.") from None
    except yaml.YAMLError as exc:
        raise CalibrationError(f"{path}: not a YAML parameter file ({exc}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
        raise CalibrationError(f"{path}: a parameter file has a 'values' mapping of parameter paths to numbers.")
    values = data["values"]
    for key, value in values.items():
        _, p = split_key(str(key))
        _schema_range(p)  # a valid numeric parameter path, or a clear error
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise CalibrationError(f"{path}: value of '{key}' must be a number (got {value!r}).")
    return {str(k): float(v) for k, v in values.items()}
