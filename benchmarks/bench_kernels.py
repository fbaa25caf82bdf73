"""Do compiled kernels win? Two of the run's costliest blocks fused into numba kernels, against the model's numpy.

Issue 14 asks for compiled kernels "only where they are measured to win". The two blocks are the
review's funnel plots (three benchmarks with overdispersion, grouped by consortium: sums, divisions and
square roots; the kernel gives the model's numbers bit for bit) and the QOF paying band (a log and four
normal CDFs a practice; ``math.erfc`` rounds differently from scipy's ``ndtr`` in the last bit). Each is
timed on a national population after eight quarters, numpy and kernel alternately; the cost of importing
numba and of compiling (or loading the compiled kernels from numba's cache) is printed too.

The kernels are a measurement, not part of the model. Without numba they run as plain Python, which is
how the tests check that they compute the model's numbers. Run: ``pip install -e '.[bench]'`` then
``python benchmarks/bench_kernels.py`` (``--reps`` for timed calls per round).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_report, median, reproduce_line

from sim import derived, incentives
from sim.agents import consortium as cons_rules
from sim.model import CommissioningModel
from sim.scenario import load_scenario

_started = time.perf_counter()
try:
    import numba

    IMPORT_S = time.perf_counter() - _started
    jit: Callable = numba.njit(cache=True)
except ImportError:  # the kernels then run as plain Python: slow, but they compute the same numbers
    numba = None
    IMPORT_S = float("nan")

    def jit(fn: Callable) -> Callable:
        return fn


@jit
def funnel_kernel(open_, cons, list_size, last4, expected_per_1000, achievement, rx, count, register_share, cv):
    """:func:`sim.agents.consortium.funnel_scores` in three passes over the practices: the same operations
    in the same order (sums in row order, as ``np.bincount`` adds), hence the same numbers."""
    n = cons.size
    lists, observed, patients = np.empty(n), np.empty(n), np.zeros(count)
    s_ratio, s_ach, s_rx, members = np.zeros(count), np.zeros(count), np.zeros(count), np.zeros(count)
    for i in range(n):
        lists[i] = list_size[i] if open_[i] else 0.0
        patients[cons[i]] += lists[i]
        observed[i] = last4[0, i] + last4[1, i] + last4[2, i] + last4[3, i]
    for i in range(n):
        g = cons[i]
        s_ratio[g] += lists[i] * (observed[i] / max(expected_per_1000[i] * lists[i] / 1000.0, 1e-9))
        s_ach[g] += lists[i] * achievement[i]
        s_rx[g] += lists[i] * rx[i]
        members[g] += 1.0 if open_[i] else 0.0
    z = np.empty((3, n))
    for i in range(n):
        g = cons[i]
        total, safe = max(patients[g], 1e-12), max(lists[i], 1.0)
        expected = (s_ratio[g] / total) * expected_per_1000[i] * safe / 1000.0
        z[0, i] = (observed[i] - expected) / math.sqrt(max(expected, 1e-9))
        p_bar = s_ach[g] / total
        z[1, i] = (p_bar - achievement[i]) / math.sqrt(max(p_bar * (1 - p_bar), 1e-4) / (register_share * safe))
        c_bar = s_rx[g] / total
        z[2, i] = (rx[i] - c_bar) / max(cv * c_bar / math.sqrt(safe / 1000.0), 1e-9)
    for k in range(3):
        phi = np.zeros(count)
        for i in range(n):
            w = min(max(z[k, i], -3.0), 3.0) if open_[i] else 0.0
            phi[cons[i]] += w * w
        for g in range(count):
            phi[g] = math.sqrt(max(phi[g] / max(members[g], 1.0), 1.0))
        for i in range(n):
            z[k, i] = z[k, i] / phi[cons[i]] if open_[i] else -np.inf
    return z


@jit
def band_kernel(recorded, upper, lower, sigma):
    """:func:`sim.incentives._paying_band` in one pass: shortfall, P(F < full), E[F; F < full], P(F < none),
    E[F; F < none], with ``math.erfc`` for scipy's ``ndtr``."""
    out = np.empty((5, recorded.size))
    half, root_half = 0.5 * sigma * sigma, 0.7071067811865476
    for i in range(recorded.size):
        shortfall = max(1.0 - recorded[i], 1e-12)
        log_full, log_none = math.log((1.0 - upper) / shortfall), math.log((1.0 - lower) / shortfall)
        out[0, i] = shortfall
        out[1, i] = 0.5 * math.erfc(-((log_full + half) / sigma) * root_half)
        out[2, i] = 0.5 * math.erfc(-((log_full - half) / sigma) * root_half)
        out[3, i] = 0.5 * math.erfc(-((log_none + half) / sigma) * root_half)
        out[4, i] = 0.5 * math.erfc(-((log_none - half) / sigma) * root_half)
    return out


def blocks(model: CommissioningModel) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """For each block, (the model's numpy, the kernel) as calls on ``model``'s current state."""
    ps, n, k, c = model.practices, model.practices.n, model.n_consortia, model.assumptions.challenge
    qof, spread = model.levers.qof, model.assumptions.recording.indicator_spread
    expected, rx = derived.expected_outcome(model), derived.prescribing_per_head(model)
    recorded = ps.recorded_achievement[:n]

    def numpy_band() -> object:
        incentives._last_band = None  # the model's one-entry cache would otherwise answer the repeats
        return incentives._paying_band(recorded, qof, spread)

    return {
        "funnel plots": (
            lambda: cons_rules.funnel_scores(ps, n, k, expected, rx, c),
            lambda: funnel_kernel(ps.open[:n], ps.consortium[:n], ps.list_size[:n], ps.admissions_last4[:, :n],
                                  expected, ps.achievement[:n], rx, k, c.register_share,
                                  c.prescribing_noise_cv_per_1000),
        ),
        "QOF paying band": (
            numpy_band,
            lambda: band_kernel(recorded, qof.upper_threshold, qof.lower_threshold, spread),
        ),
    }


def largest_difference(block: str, numpy_out: object, kernel_out: np.ndarray) -> float:
    """Largest absolute difference between the numpy block's outputs and the kernel's (0.0: bit for bit)."""
    funnel = block == "funnel plots"
    ours = (numpy_out.outcome, numpy_out.achievement, numpy_out.prescribing) if funnel else numpy_out
    worst = 0.0
    for a, b in zip(ours, kernel_out, strict=True):
        finite = np.isfinite(a)
        if not np.array_equal(finite, np.isfinite(b)) or not np.array_equal(a[~finite], b[~finite]):
            return math.inf
        worst = max(worst, float(np.max(np.abs(a[finite] - b[finite]), initial=0.0)))
    return worst


def per_call_ms(fn: Callable[[], object], reps: int) -> float:
    started = time.process_time()
    for _ in range(reps):
        fn()
    return (time.process_time() - started) / reps * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="100 calls a round, 3 rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.rounds = 100, 3
    print("== bench_kernels: two blocks of a national run as numba kernels, against the model's numpy ==")
    print(machine_report())
    if numba is None:
        print("not measured: numba is not installed (pip install -e '.[bench]')")
        return 0
    model = CommissioningModel(load_scenario("status_quo"), 1, snapshots=False)
    model.run_quarters(8)
    print(f"\nimport numba: {IMPORT_S:.2f} s; national population after 8 quarters ({model.practices.n:,} practices)")
    print(f"{'block':<16} {'first call s':>12} {'difference':>10} {'numpy ms':>9} {'kernel ms':>9} {'speed-up':>8}")
    for name, (ours, kernel) in blocks(model).items():
        started = time.perf_counter()
        out = kernel()  # compiles, or loads the kernel from numba's cache
        first = time.perf_counter() - started
        difference = largest_difference(name, ours(), out)
        pairs = [(per_call_ms(ours, args.reps), per_call_ms(kernel, args.reps)) for _ in range(args.rounds)]
        numpy_ms, kernel_ms = median([p[0] for p in pairs]), median([p[1] for p in pairs])
        print(f"{name:<16} {first:>12.2f} {difference:>10.1e} {numpy_ms:>9.3f} {kernel_ms:>9.3f} "
              f"{median([p[0] / p[1] for p in pairs]):>7.2f}x")
    print(reproduce_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
