"""Run every benchmark, one after the other, each in its own process: ``python benchmarks/run_all.py``.

Takes about eighteen minutes on a 2-core machine (``--quick``: about five). The figures and how they were
obtained are described in ``docs/performance.md``; each benchmark prints the command that reproduces it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("bench_national.py", "bench_floor.py", "bench_kernels.py", "bench_mesa_reference.py",
              "bench_start_cache.py", "bench_sweep.py", "bench_uncertainty.py", "bench_cli.py", "bench_optimise.py")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    quick = ["--quick"] if "--quick" in args else []
    failed = 0
    for name in BENCHMARKS:
        extra = quick if name != "bench_mesa_reference.py" else (["--rounds", "3"] if quick else [])
        print(f"\n$ python benchmarks/{name} {' '.join(extra)}".rstrip(), flush=True)
        failed += subprocess.run([sys.executable, str(HERE / name), *extra], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
