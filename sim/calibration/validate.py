"""Validation: run the studies with replications and judge every check against its published figure.

``validate(reps=...)`` runs each study the checks need ``reps`` times (replication ``k`` uses seed
``base_seed + k``, as every experiment does), takes the mean of each observation over replications with a
95% t-interval, and compares the mean with the check's tolerance band. :meth:`ValidationReport.write`
writes the table (CSV and Markdown), the per-replication observations and a chart of model against
target, atomically: into a temporary folder renamed into place at the end.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.calibration.checks import CHECKS, Band, Check, passes
from sim.calibration.studies import STUDIES, Settings, preflight, run_study
from sim.calibration.targets import CalibrationError, Target, load_targets
from sim.numbers import format_number
from sim.version import MODEL_VERSION, code_version

# Longest first, so that a process pool finishes together.
_STUDY_ORDER = ("status_quo", "delegation", "challenge", "history", "premium")


@dataclass(frozen=True)
class CheckResult:
    """A check judged: the model's mean over replications, its 95% interval, the band and the verdict."""

    check: Check
    band: Band
    value: float
    ci_low: float
    ci_high: float
    reps: int

    @property
    def in_band(self) -> bool:
        """Whether the model's mean lies inside the band (for info rows too: they are judged, not failed)."""
        return passes(self.value, self.band)

    @property
    def status(self) -> str:
        if self.check.kind == "info":
            return "info"
        return "pass" if self.in_band else "fail"

    @property
    def verdict(self) -> str:
        """The status as printed: info rows outside their band say so."""
        if self.check.kind == "info" and not self.in_band:
            return "info, outside band"
        return self.status


def summary_counts(results: Sequence[CheckResult]) -> dict[str, int]:
    """Checks passed and failed, info rows, and info rows whose value lies outside their band."""
    info = [r for r in results if r.status == "info"]
    return {
        "passed": sum(r.status == "pass" for r in results),
        "failed": sum(r.status == "fail" for r in results),
        "info": len(info),
        "info_outside": sum(not r.in_band for r in info),
    }


def summary_line(results: Sequence[CheckResult]) -> str:
    """``"N passed, N failed, N for information (K outside their band)"``: no miss is hidden as info."""
    c = summary_counts(results)
    return (
        f"{c['passed']} passed, {c['failed']} failed, {c['info']} for information "
        f"({c['info_outside']} outside their band)"
    )


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t-interval of the mean; the interval is NaN with fewer than two values."""
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def seeds(reps: int, base_seed: int) -> list[int]:
    if reps < 1:
        raise CalibrationError(f"--reps must be at least 1 (got {reps}).")
    return [base_seed + k for k in range(reps)]


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def run_studies(
    names: Iterable[str],
    settings: Settings,
    reps: int,
    base_seed: int = 1,
    workers: int | None = None,
    pool: cf.Executor | None = None,
) -> dict[str, pd.DataFrame]:
    """Every replication of each named study: ``{study: DataFrame}``, one row per seed (column ``seed``).

    Runs go to ``pool`` if given, else to a process pool of ``workers`` (default: up to 2) started here, or
    run in this process when one worker is asked for.
    """
    wanted = set(names)
    unknown = wanted - set(STUDIES)
    if unknown:
        raise CalibrationError(f"Unknown study {', '.join(sorted(unknown))}; studies: {', '.join(STUDIES)}.")
    order = [s for s in _STUDY_ORDER if s in wanted] + sorted(wanted - set(_STUDY_ORDER))
    tasks = [(name, seed) for name in order for seed in seeds(reps, base_seed)]
    workers = default_workers() if workers is None else max(1, workers)
    rows: dict[tuple[str, int], dict[str, float]] = {}
    if pool is None and (workers == 1 or len(tasks) == 1):
        for name, seed in tasks:
            rows[(name, seed)] = run_study(name, settings, seed)
    else:
        with contextlib.ExitStack() as stack:
            if pool is None:
                pool = stack.enter_context(cf.ProcessPoolExecutor(max_workers=min(workers, len(tasks))))
            futures = {pool.submit(run_study, name, settings, seed): (name, seed) for name, seed in tasks}
            for future in cf.as_completed(futures):
                rows[futures[future]] = future.result()
    return {
        name: pd.DataFrame([{"seed": seed, **rows[(name, seed)]} for seed in seeds(reps, base_seed)])
        for name in order
    }


def evaluate(
    checks: Iterable[Check], observations: Mapping[str, pd.DataFrame], targets: Mapping[str, Target], scale: float
) -> list[CheckResult]:
    """Judge each check on the replications of its study."""
    results = []
    for chk in checks:
        frame = observations[chk.study]
        if chk.observation not in frame:
            raise CalibrationError(
                f"Check '{chk.id}' reads '{chk.observation}', which study '{chk.study}' does not produce."
            )
        mean, lo, hi = mean_interval(frame[chk.observation].tolist())
        band = chk.resolve(dict(targets), scale)
        results.append(CheckResult(chk, band, mean, lo, hi, int(frame[chk.observation].notna().sum())))
    return results


@dataclass
class ValidationReport:
    """The outcome of a validation: one :class:`CheckResult` per check, and how it was produced."""

    results: list[CheckResult]
    observations: dict[str, pd.DataFrame]
    settings: Settings
    reps: int
    base_seed: int
    elapsed_seconds: float
    targets_file: str
    created: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def info_outside(self) -> list[CheckResult]:
        """Info rows whose model value lies outside their band (reported, never failed)."""
        return [r for r in self.results if r.status == "info" and not r.in_band]

    def summary(self) -> str:
        return summary_line(self.results)

    def table(self) -> pd.DataFrame:
        """The results table: one row per check."""
        rows = []
        for r in self.results:
            rows.append(
                {
                    "group": r.check.group,
                    "check": r.check.id,
                    "title": r.check.title,
                    "target_id": r.check.target or "",
                    "target": r.band.reference,
                    "model": r.value,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "tolerance_low": r.band.low,
                    "tolerance_high": r.band.high,
                    "tolerance_rule": r.band.rule,
                    "status": r.status,
                    "in_band": r.in_band,
                    "reps": r.reps,
                    "note": r.check.note,
                }
            )
        return pd.DataFrame(rows)

    def markdown(self) -> str:
        """The table as Markdown (the form docs/validation.md quotes)."""
        lines = [
            f"Validation of model {MODEL_VERSION} (code {code_version()}), {self.reps} replication(s) "
            f"(seeds {self.base_seed}-{self.base_seed + self.reps - 1}) at scale {self.settings.scale:g}, "
            f"{self.created}. Model value: mean over replications [95% interval].",
            "",
            "| check | target | model [95% interval] | tolerance | result |",
            "|---|---|---|---|---|",
        ]
        for r in self.results:
            ci = f" [{format_number(r.ci_low)}, {format_number(r.ci_high)}]" if not math.isnan(r.ci_low) else ""
            target = f"{format_number(r.band.reference)}" + (f" (`{r.check.target}`)" if r.check.target else "")
            band = f"{format_number(r.band.low)} to {format_number(r.band.high)}"
            lines.append(
                f"| {r.check.title} | {target} | {format_number(r.value)}{ci} | {band}: "
                f"{r.band.rule} | {r.verdict} |"
            )
        lines += ["", f"{self.summary()}."]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> Path:
        """Write validation.csv, validation.md, observations.csv, validation.png and metadata.json into
        ``folder`` atomically (a temporary sibling renamed into place)."""
        folder = Path(folder)
        if folder.exists():
            raise CalibrationError(f"Output folder {folder} already exists; choose another with --out.")
        tmp = folder.with_name(f".{folder.name}.partial")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        try:
            self.table().to_csv(tmp / "validation.csv", index=False)
            (tmp / "validation.md").write_text(self.markdown(), encoding="utf-8")
            frames = [f.assign(study=name) for name, f in self.observations.items()]
            obs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            obs.to_csv(tmp / "observations.csv", index=False)
            chart(self.results, tmp / "validation.png", title=self._chart_title())
            meta = {
                "created": self.created,
                "model_version": MODEL_VERSION,
                "code_version": code_version(),
                "reps": self.reps,
                "base_seed": self.base_seed,
                "scale": self.settings.scale,
                "overrides": dict(self.settings.overrides),
                "targets_file": self.targets_file,
                "elapsed_seconds": self.elapsed_seconds,
                "passed": self.passed,
                "failed_checks": [r.check.id for r in self.failed],
                "info_outside_band": [r.check.id for r in self.info_outside],
                "summary": self.summary(),
            }
            (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
            tmp.rename(folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    def _chart_title(self) -> str:
        return f"Model against published figures ({self.reps} replication(s), scale {self.settings.scale:g})"


def chart(results: Sequence[CheckResult], path: Path, title: str = "") -> Path:
    """One row per check: its tolerance band drawn from -1 to 1, the published figure and the model's mean
    and interval on the same scale (values outside [-3, 3] are drawn at the edge)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    def pos(value: float, band: Band) -> float:
        half = (band.high - band.low) / 2 or 1e-12
        return (value - (band.low + band.high) / 2) / half

    colours = {"pass": "#1b7837", "fail": "#c51b7d", "info": "#7f7f7f"}
    n = len(results)
    fig, ax = plt.subplots(figsize=(9, 0.28 * n + 1.4))
    ax.axvspan(-1, 1, color="#dddddd", zorder=0, label="tolerance band")
    for i, r in enumerate(results):
        y = n - 1 - i
        x = float(np.clip(pos(r.value, r.band), -3, 3)) if not math.isnan(r.value) else math.nan
        ref = float(np.clip(pos(r.band.reference, r.band), -3, 3))
        ax.plot([ref], [y], marker="|", color="black", markersize=10, zorder=2)
        if not math.isnan(r.ci_low):
            lo, hi = (float(np.clip(pos(v, r.band), -3, 3)) for v in (r.ci_low, r.ci_high))
            ax.plot([lo, hi], [y, y], color=colours[r.status], linewidth=2, zorder=3)
        ax.plot([x], [y], marker="o", color=colours[r.status], zorder=4)
    ax.set_yticks(range(n))
    ax.set_yticklabels([f"{r.check.title} ({r.status})" for r in reversed(results)], fontsize=7)
    ax.set_xlim(-3.2, 3.2)
    ax.set_xticks([-3, -1, 0, 1, 3])
    ax.set_xticklabels(["far below", "band low", "centre", "band high", "far above"], fontsize=8)
    ax.plot([], [], marker="|", color="black", linestyle="", label="published figure")
    ax.plot([], [], marker="o", color=colours["pass"], linestyle="", label="model: pass")
    ax.plot([], [], marker="o", color=colours["fail"], linestyle="", label="model: fail")
    ax.plot([], [], marker="o", color=colours["info"], linestyle="", label="model: for information")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    ax.grid(axis="x", color="#eeeeee")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def validate(
    reps: int = 10,
    scale: float = 1.0,
    overrides: Mapping[str, Any] | None = None,
    base_seed: int = 1,
    workers: int | None = None,
    targets_file: Path | str | None = None,
    only: Sequence[str] | None = None,
) -> ValidationReport:
    """Run every check (or those in ``only``) with ``reps`` replications.

    Example:
        >>> report = validate(reps=1, scale=0.05, only=["list_mean"])  # doctest: +SKIP
        >>> report.results[0].status
        'pass'
    """
    from sim.calibration.checks import check as get_check

    targets = load_targets(targets_file)
    chosen = [get_check(c) for c in only] if only else list(CHECKS)
    for chk in chosen:  # fail early on a missing target, before any run
        chk.resolve(targets, scale)
    settings = Settings(scale=scale, overrides=dict(overrides or {}))
    preflight(settings)
    started = time.perf_counter()
    observations = run_studies({c.study for c in chosen}, settings, reps, base_seed, workers)
    results = evaluate(chosen, observations, targets, scale)
    return ValidationReport(
        results=results,
        observations=observations,
        settings=settings,
        reps=reps,
        base_seed=base_seed,
        elapsed_seconds=time.perf_counter() - started,
        targets_file=str(targets_file or "shipped calibration_targets.csv"),
    )
