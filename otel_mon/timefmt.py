"""The one way the agent writes a wall-clock time for people and documents: ISO 8601, UTC, ``Z`` suffix."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

Precision = Literal["auto", "seconds", "milliseconds"]


def iso(ts: float, timespec: Precision = "milliseconds") -> str:
    """``2026-12-01T14:48:46.123Z`` for the Unix time ``ts`` (``auto``: microseconds when there are any)."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec=timespec).replace("+00:00", "Z")


def iso_ns(t_ns: int) -> str:
    """:func:`iso` of an OTLP ``timeUnixNano``, millisecond precision."""
    return iso(t_ns / 1e9)


def short_duration(seconds: float) -> str:
    """``45s``, ``3m07s``, ``2h05m``: a span for tables and pages, to the second below an hour."""
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"
