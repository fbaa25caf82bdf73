"""What every benchmark prints: the machine, the load on it, and how to reproduce the figures.

Benchmarks are plain scripts, not timed tests: timings on a shared machine vary from run to run, so each
figure is a median of several repetitions, and comparisons (scaling, the Mesa reference) are ratios
measured in the same process, one after the other.
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine_report() -> str:
    """One paragraph: CPU, cores, memory, Python and library versions, and the load right now."""
    import mesa
    import numpy as np
    import pandas as pd

    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError):
        mem_gb = float("nan")
    blas = os.environ.get("OPENBLAS_CORETYPE")
    return (
        f"machine: {cpu_model()}, {os.cpu_count()} cores, {mem_gb:.0f} GB; {platform.system()} {platform.release()}\n"
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, mesa {mesa.__version__}"
        + (f", OPENBLAS_CORETYPE={blas}" if blas else "")
        + f"\nload average (1, 5, 15 min) at start: {load_average()}"
    )


def reproduce_line() -> str:
    """The command that produced this output, relative to the project root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script_text = str(script.relative_to(ROOT))
    except ValueError:
        script_text = str(script)
    return "reproduce: cd " + shlex.quote(str(ROOT)) + " && python " + " ".join(
        [shlex.quote(script_text), *map(shlex.quote, sys.argv[1:])]
    )


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def median(values: list[float]) -> float:
    return statistics.median(values)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    From ``VmHWM`` where Linux has it: ``ru_maxrss`` survives exec, so a freshly started child process
    would report its parent's peak if that was higher.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20
