"""Model and code version, recorded with every run so that stored results can be traced and reused."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

# Bump when a change alters results for the same scenario and seed: stored runs are reused only
# when (scenario hash, seed, MODEL_VERSION) match.
MODEL_VERSION = "0.3.1"


@functools.cache
def code_version() -> str:
    """The git commit of the working tree (with ``-dirty`` if modified), or ``unknown`` outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


@functools.cache
def package_versions() -> dict[str, str]:
    """Versions of the packages whose behaviour can change results."""
    from importlib import metadata  # not at the top: about 40 ms, which light commands do not need

    names = ["mesa", "numpy", "pandas", "scipy", "pydantic", "sqlalchemy", "matplotlib"]
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    import platform

    out["python"] = platform.python_version()
    return out
