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
