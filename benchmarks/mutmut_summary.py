"""Score of the last ``mutmut run`` (docs/testing.md): mutants, killed, survived, timeouts, per file.

mutmut keeps each mutant's result in ``mutants/<file>.meta`` (JSON, exit code by mutant name); this reads
them and prints the counts per mutated file, the score (killed, timeouts counted as killed, over the
mutants checked) and, with ``--survivors``, the surviving mutants' names (``mutmut show NAME`` prints one's
diff). A file with mutants not yet checked (a run stopped early, or a file left out of ``only_mutate``
after an earlier run) is marked partial and left out of the total. Run it from the repository root after
``mutmut run``.

Usage:
    python benchmarks/mutmut_summary.py                # counts and score per file
    python benchmarks/mutmut_summary.py --survivors    # and the names of the survivors
    python benchmarks/mutmut_summary.py --json out.json

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# mutmut's exit codes (mutmut/stats.py): 1 and 3 killed, 0 survived, timeouts by SIGXCPU, 33 and 5 no tests.
KILLED = {1, 3}
SURVIVED = {0}
TIMEOUT = {36, -24, 24, 152, 255}
NO_TESTS = {5, 33}


def status(code: int | None) -> str:
    if code is None:
        return "not checked"
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in TIMEOUT:
        return "timeout"
    if code in NO_TESTS:
        return "no tests"
    return "suspicious"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    parser.add_argument("--json", type=Path, help="also write the counts and survivors as JSON")
    args = parser.parse_args(argv)

    metas = sorted((ROOT / "mutants").glob("sim/**/*.py.meta"))
    if not metas:
        print("no mutmut results under mutants/: run `mutmut run` first", file=sys.stderr)
        return 1
    total: Counter[str] = Counter()
    per_file: dict[str, dict[str, int]] = {}
    survivors: list[str] = []
    for meta in metas:
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        if not codes:
            continue
        counts = Counter(status(code) for code in codes.values())
        name = str(meta.relative_to(ROOT / "mutants")).removesuffix(".meta")
        if counts.get("not checked"):
            name += " (partial)"
        else:
            total.update(counts)
            survivors += sorted(key for key, code in codes.items() if status(code) == "survived")
        per_file[name] = dict(counts, mutants=len(codes))

    def line(name: str, c: dict[str, int] | Counter[str]) -> str:
        checked = c.get("killed", 0) + c.get("survived", 0) + c.get("timeout", 0) + c.get("suspicious", 0)
        caught = c.get("killed", 0) + c.get("timeout", 0)
        score = f"{100 * caught / checked:5.1f}%" if checked else "    -"
        rest = {k: v for k, v in c.items() if k not in ("mutants", "killed", "survived", "timeout") and v}
        return (f"{name:32} {sum(v for k, v in c.items() if k != 'mutants'):5} {c.get('killed', 0):7} "
                f"{c.get('survived', 0):8} {c.get('timeout', 0):8}  {score}  {rest or ''}")

    print(f"{'file':32} {'mut.':>5} {'killed':>7} {'survived':>8} {'timeout':>8}  score")
    for name, counts in per_file.items():
        print(line(name, counts))
    print(line("total (complete files)", total))
    if args.survivors:
        print("\nsurvivors (`mutmut show NAME` for the diff):")
        for name in survivors:
            print(" ", name)
    if args.json:
        args.json.write_text(json.dumps({"per_file": per_file, "total": dict(total), "survivors": survivors},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
