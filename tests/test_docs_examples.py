"""Every Python example in README.md and docs/*.md runs as written, and the tutorial notebook runs.

Each document's ``python`` blocks run in order in one fresh interpreter (so a block may use what an earlier
one defined), in an empty working folder, as a reader pasting them would. A block that cannot run here is
marked with ``<!-- not run by tests: REASON -->`` on the line before it; there should be very few.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT

SKIP_MARK = re.compile(r"<!--\s*not run by tests:\s*(.+?)\s*-->")
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TUTORIAL = ROOT / "docs" / "tutorial.ipynb"


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, code, reason to skip or None) of each fenced ``python`` block."""
    lines = text.splitlines()
    blocks: list[tuple[int, str, str | None]] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
            mark = SKIP_MARK.search(before)
            blocks.append((start + 1, "\n".join(lines[start:j]), mark.group(1) if mark else None))
            i = j
        i += 1
    return blocks


def test_blocks_are_found_and_skips_are_explicit():
    text = "x\n<!-- not run by tests: needs a cluster -->\n```python\na = 1\n```\n\n```python\nb = 2\n```\n"
    assert python_blocks(text) == [(4, "a = 1", "needs a cluster"), (8, "b = 2", None)]
    assert sum(len(python_blocks(p.read_text())) for p in DOCUMENTS) >= 4


_RUNNER = """
import json, sys, traceback
blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
for line, code in blocks:
    try:
        exec(compile(code, f"%s:{line}", "exec"), namespace)
    except Exception:
        traceback.print_exc()
        sys.exit(f"the block at line {line} failed")
"""


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if python_blocks(d.read_text())],
                         ids=lambda d: d.relative_to(ROOT).as_posix())
def test_python_examples_run_as_written(document: Path, tmp_path: Path):
    blocks = [(line, code) for line, code, skip in python_blocks(document.read_text()) if skip is None]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("CRSIM_DB_URL", None)
    out = subprocess.run([sys.executable, "-c", _RUNNER % document.name], input=json.dumps(blocks), text=True,
                         capture_output=True, cwd=tmp_path, env=env, timeout=600)
    assert out.returncode == 0, f"{document.name}: {out.stderr[-3000:]}"


def test_the_tutorial_runs_in_under_two_minutes(tmp_path: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(TUTORIAL, as_version=4)
    started = time.perf_counter()
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    elapsed = time.perf_counter() - started
    assert elapsed < 120, f"the tutorial took {elapsed:.0f} s"
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4, "the tutorial draws a fan chart, a forest plot, a sweep and sensitivity indices"
    assert (tmp_path / "results" / "tutorial.db").exists()
