"""What one probe run produced (and, re-exported, the deadline every phase of a run shares)."""

from __future__ import annotations

from dataclasses import dataclass, field

from otel_mon.deadline import Deadline

__all__ = ["Deadline", "ProbeResult"]


@dataclass(frozen=True)
class ProbeResult:
    """``duration`` is the whole run in seconds (success or not); ``phases`` splits it where the kind can."""

    ok: bool
    duration: float
    reason: str = ""  # why it failed, one line; empty on success
    detail: str = ""  # what it saw on success or failure (status code, addresses)
    phases: dict[str, float] = field(default_factory=dict)
    at: float = 0.0  # wall-clock time the run started
