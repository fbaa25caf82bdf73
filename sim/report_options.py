"""What the briefing pack accepts: its image formats and metrics, checked before any work.

Apart from :mod:`sim.report` so that the command line's argument checks (:mod:`sim.cli_options`) can use
them without importing the pack, which imports the command line's shared options back.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.errors import SimError

FORMATS: tuple[str, ...] = ("png", "svg", "pdf")


class ReportError(SimError):
    """The briefing pack cannot be made: the message says why and what to do."""


def parse_formats(formats: str | Sequence[str] | None) -> tuple[str, ...]:
    """Image formats to write; PNG always (the page shows it), SVG and PDF on request.

    Accepts ``"png,svg"`` or ``["png", "svg"]`` (or both mixed, as argparse gives them); ``html`` is
    accepted and ignored, since the page is always written.
    """
    raw = [formats] if isinstance(formats, str) else list(formats or [])
    items = [f.strip().lower() for text in raw for f in str(text).split(",") if f.strip()]
    unknown = [f for f in items if f not in (*FORMATS, "html")]
    if unknown:
        raise ReportError(f"Unknown image format(s) {', '.join(unknown)}. Valid formats: {', '.join(FORMATS)} "
                          "(PNG is always written; the page is always HTML).")
    return tuple(f for f in FORMATS if f == "png" or f in items)


def parse_metrics(metrics: str | Sequence[str] | None) -> list[str]:
    """The metrics to chart and tabulate (default the headline metrics), each checked against the registry."""
    from sim.metrics import HEADLINE_METRICS, metric

    if metrics is None:
        return list(HEADLINE_METRICS)
    items = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else [str(m) for m in metrics]
    items = [m for m in items if m]
    if not items:
        raise ReportError("--metrics is empty: give one or more metric names, comma-separated.")
    for name in items:
        metric(name)  # raises a SimError listing the valid metrics
    return list(dict.fromkeys(items))


def parse_material(texts: Sequence[str]) -> dict[str, float]:
    """``METRIC=DELTA`` thresholds, checked as ``compare --material`` checks them (one syntax)."""
    if not texts:
        return {}
    from sim.uncertainty.summary import parse_material as parse

    return parse(list(texts))
