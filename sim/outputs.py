"""Output folders that appear whole or not at all.

A command writes its files into a temporary sibling folder, ``.NAME.partial-PID``, and moves them into
place only once every one is written: a full disk, a read-only folder, a database error half-way through
an export or a Ctrl-C leaves the folder as it was (and no partial folder behind). Partial folders left by
a process that was killed outright are removed the next time a command writes beside them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sim.errors import SimError

T = TypeVar("T")

_PARTIAL = re.compile(r"^\.(?P<name>.+)\.(?:partial|old)-(?P<pid>\d+)$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


def clean_stale_partials(out: Path) -> list[Path]:
    """Remove ``.NAME.partial-PID`` and ``.NAME.old-PID`` folders beside ``out`` whose process is gone."""
    out = Path(out)
    removed = []
    with contextlib.suppress(OSError):
        for entry in out.parent.iterdir():
            match = _PARTIAL.match(entry.name)
            if match and match["name"] == out.name and entry.is_dir() and not _alive(int(match["pid"])):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def cannot_write(out: Path, exc: OSError, after: str = "") -> SimError:
    """The message for a failed write: where, why (disk full, read-only...), and what was kept."""
    where = exc.filename or out
    return SimError(f"Cannot write {out} ({exc.strerror or exc}: {where}); nothing was written there.{after}")


OWNER_FILE = ".crsim-experiment"  # names the experiment whose tables a folder holds


def check_owner(out: Path, name: str | None, option: str = "--out") -> None:
    """Refuse to write an experiment's tables into a folder that holds another experiment's (or other files).

    A folder is ours if it does not exist, is empty, or its owner file names ``name``. ``name`` None (an
    experiment still to be named) owns no existing folder that has files in it.
    """
    out = Path(out)
    if not out.is_dir():
        return
    entries = [e for e in out.iterdir() if not e.name.startswith(".")]
    owner_file = out / OWNER_FILE
    owner = owner_file.read_text(encoding="utf-8").strip() if owner_file.is_file() else None
    if not entries and owner is None:
        return
    if owner is not None and owner == name:
        return
    held = f"the tables of experiment '{owner}'" if owner else f"{len(entries)} other file(s)"
    raise SimError(f"{option} {out} already holds {held}; writing this experiment's tables there would mix the "
                   f"two. Choose an empty folder{', or --name ' + owner + ' to update that one' if owner else ''}.")


def write_outputs(out: Path, write: Callable[[Path], T], *, after: str = "", owner: str | None = None) -> T:
    """Call ``write(folder)`` on a temporary sibling of ``out``, then move what it wrote into ``out``.

    A new ``out`` is one rename; into an existing folder each written entry replaces its namesake (other
    entries are left alone). Returns what ``write`` returned.

    ``owner``, an experiment's name, is recorded in the folder (:func:`check_owner` reads it).

    Raises:
        SimError: the folder cannot be written (read-only, full disk...); ``after`` is added to the
            message (for instance, that the runs are stored). Nothing is left in ``out`` or beside it.
    """
    out = Path(out)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_partials(out)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            result = write(tmp)
            if owner is not None:
                (tmp / OWNER_FILE).write_text(owner + "\n", encoding="utf-8")
            _install(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        raise cannot_write(out, exc, after) from None
    return result


def _install(tmp: Path, out: Path) -> None:
    if not out.exists():
        tmp.rename(out)
        return
    for entry in sorted(tmp.iterdir()):
        target = out / entry.name
        if target.is_dir() and not target.is_symlink():
            old = out / f".{entry.name}.old-{os.getpid()}"
            target.rename(old)
            entry.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(entry, target)
