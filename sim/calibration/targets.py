"""Published figures to calibrate and validate against: ``calibration_targets.csv``.

The file shipped here extends ``../shared/data/calibration_targets.csv``: it holds every row of the shared
file unchanged, then the project's own rows (the distribution, trend and effect-size figures of
``docs/evidence.md``). One figure a row: ``id``, ``kind``, ``measure``, ``year``, ``value``, ``low``,
``high``, ``unit``, ``source``. A researcher with better figures passes another file of the same format
with ``--targets``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from sim.errors import SimError

DEFAULT_TARGETS_FILE = Path(__file__).resolve().with_name("calibration_targets.csv")
COLUMNS = ("id", "kind", "measure", "year", "value", "low", "high", "unit", "source")


class CalibrationError(SimError):
    """A problem with validation or calibration input: the targets file, a check, a parameter or a file."""


@dataclass(frozen=True)
class Target:
    """One published figure: a value and/or a range (``low``, ``high``), NaN where not given."""

    id: str
    kind: str
    measure: str
    year: str
    value: float
    low: float
    high: float
    unit: str
    source: str

    @property
    def has_value(self) -> bool:
        return not math.isnan(self.value)

    @property
    def has_range(self) -> bool:
        return not (math.isnan(self.low) or math.isnan(self.high))


def _number(text: str, where: str) -> float:
    text = (text or "").strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise CalibrationError(f"{where}: '{text}' is not a number.") from None


def load_targets(path: Path | str | None = None) -> dict[str, Target]:
    """Read a targets file (default: the shipped copy) into ``{id: Target}``."""
    path = Path(path) if path is not None else DEFAULT_TARGETS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalibrationError(f"Cannot read the targets file {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise CalibrationError(f"The targets file {path} is not UTF-8 text.") from None
    rows = list(csv.reader(text.splitlines()))
    header = [h.strip() for h in rows[0]] if rows else []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CalibrationError(
            f"{path}: missing column(s) {', '.join(missing)}; a targets file has the columns {', '.join(COLUMNS)}."
        )
    out: dict[str, Target] = {}
    at = header.index("measure")
    for line, fields in enumerate(rows[1:], start=2):
        where = f"{path}, line {line}"
        if not any(f.strip() for f in fields):
            continue
        if len(fields) > len(header):
            # An unquoted comma in the free-text measure ("per 1,000 population"): join it back.
            extra = len(fields) - len(header)
            fields = [*fields[:at], ",".join(fields[at : at + extra + 1]), *fields[at + extra + 1 :]]
        if len(fields) != len(header):
            raise CalibrationError(f"{where}: {len(fields)} fields where the header has {len(header)}.")
        row = dict(zip(header, fields, strict=True))
        tid = (row["id"] or "").strip()
        if not tid:
            raise CalibrationError(f"{where}: empty id.")
        if tid in out:
            raise CalibrationError(f"{where}: id '{tid}' appears twice.")
        out[tid] = Target(
            id=tid,
            kind=row["kind"].strip(),
            measure=row["measure"].strip(),
            year=row["year"].strip(),
            value=_number(row["value"], f"{where}, column value"),
            low=_number(row["low"], f"{where}, column low"),
            high=_number(row["high"], f"{where}, column high"),
            unit=row["unit"].strip(),
            source=row["source"].strip(),
        )
    return out
