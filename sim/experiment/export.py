"""Writing a stored experiment out as CSV or Parquet files, streaming so memory stays bounded.

Quarterly metrics and practice snapshots are read and written a chunk of runs at a time: exporting a
sweep of thousands of runs needs no more memory than exporting ten.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiment.errors import ExperimentError
from sim.experiment.store import ResultStore

FORMATS = ("csv", "parquet")


class _TableWriter:
    """Appends DataFrame chunks to one CSV or Parquet file with the columns of the first chunk."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self.columns: list[str] | None = None
        self._writer: Any = None
        self._schema: Any = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if self.columns is None:
            self.columns = list(frame.columns)
        frame = frame.reindex(columns=self.columns)
        if self.fmt == "csv":
            frame.to_csv(self.path, mode="a" if self.rows else "w", header=not self.rows, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._writer is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                self._schema = table.schema
                self._writer = pq.ParquetWriter(self.path, self._schema)
            else:
                table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            self._writer.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _write_all(path: Path, fmt: str, chunks: Iterable[pd.DataFrame]) -> Path | None:
    writer = _TableWriter(path, fmt)
    try:
        for chunk in chunks:
            if len(chunk):
                writer.write(chunk)
    finally:
        writer.close()
    return path if writer.rows else None


def export_experiment(store: ResultStore, name: str, out_dir: Path, fmt: str = "csv",
                      snapshots: bool = True, progress: bool = False) -> list[Path]:
    """Write an experiment's tables (runs, metrics, snapshots, design, summary or indices) to ``out_dir``.

    Args:
        store: the results database.
        name: the experiment.
        out_dir: folder to write into (created if missing).
        fmt: ``csv`` or ``parquet`` (needs pyarrow: the ``parquet`` extra).
        snapshots: include practice snapshots (large at national scale).
        progress: a progress bar on standard error, a step per table (the command line's).

    Returns:
        The files written.
    """
    if fmt not in FORMATS:
        raise ExperimentError(f"--format must be csv or parquet, not '{fmt}'.")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ExperimentError(
                "Parquet export needs pyarrow: pip install '.[parquet]' (or use --format csv)."
            ) from None
    info = store.experiment_info(name)
    exp_id = int(info["id"])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    ext = "csv" if fmt == "csv" else "parquet"

    meta = {k: info[k] for k in ("name", "kind", "status", "created", "finished", "baseline", "scenarios",
                                 "reps", "base_seed", "n_runs", "model_version", "code_version", "options")}
    meta_path = out_dir / "experiment.json"
    meta_path.write_text(json.dumps(meta, indent=2, default=str))
    written.append(meta_path)

    runs = store.load_runs(exp_id)
    tables: list[tuple[str, Iterable[pd.DataFrame]]] = [
        ("runs", [runs]),
        ("metrics", store.iter_metrics(exp_id)),
    ]
    if snapshots:
        tables.append(("snapshots", store.iter_snapshots(exp_id)))
    if info["kind"] in ("sweep", "sensitivity"):
        tables.append(("design", [store.load_design(exp_id)]))
    if info["kind"] == "sensitivity":
        tables.append(("sensitivity", [store.load_sensitivity(exp_id)]))
    if info["kind"] == "compare" and info.get("baseline") and len(runs):
        from sim.experiment.paired import summarise

        tables.append(("summary", [summarise(store.load_metrics(exp_id), info["baseline"])]))
    from sim.experiment.progress import Steps

    with Steps(f"Export {name}: tables", len(tables), progress) as steps:
        for table_name, chunks in tables:
            path = _write_all(out_dir / f"{table_name}.{ext}", fmt, chunks)
            if path is not None:
                written.append(path)
            steps.advance(table_name)
    return written
