"""What one probe run produced, and the deadline every phase of a run shares."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProbeResult:
    """``duration`` is the whole run in seconds (success or not); ``phases`` splits it where the kind can."""

    ok: bool
    duration: float
    reason: str = ""  # why it failed, one line; empty on success
    detail: str = ""  # what it saw on success or failure (status code, addresses)
    phases: dict[str, float] = field(default_factory=dict)
    at: float = 0.0  # wall-clock time the run started


class Deadline:
    """One timeout for a whole run: each blocking step gets only what is left of it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._end = time.monotonic() + timeout

    def remaining(self) -> float:
        """Seconds left; raises TimeoutError once there are none, so no step starts after the deadline."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left

    def expired(self) -> bool:
        return time.monotonic() >= self._end
