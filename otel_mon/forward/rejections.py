"""How much of what one forwarder sends the endpoint refuses, over the last minute: its ``/health`` rate.

A refused line (400, 413 down to one line, INVALID_ARGUMENT) counts its data points or log records, a partial
success the items the answer names. Above ``HIGH_RATE`` the forwarder is ``degraded``: an endpoint refusing most
of what it gets is losing data even though every request "succeeds" at the transport level.
"""

from __future__ import annotations

import time
from collections import deque

WINDOW = 60.0
HIGH_RATE = 0.1  # a tenth of the items refused: more than a schema quirk, someone should look
_MAX_SAMPLES = 10_000  # a bound whatever the send rate (one sample per answer)


class RejectionRate:
    """Items sent and refused per answer over the last ``WINDOW`` seconds. Not thread-safe: the caller locks."""

    def __init__(self, window: float = WINDOW, high: float = HIGH_RATE) -> None:
        self.window = window
        self.high = high
        self._samples: deque[tuple[float, int, int]] = deque(maxlen=_MAX_SAMPLES)

    def add(self, items: int, refused: int, now: float | None = None) -> None:
        """One answer: ``items`` were in the request, ``refused`` of them were refused."""
        self._samples.append((time.monotonic() if now is None else now, max(items, refused), refused))

    def rate(self, now: float | None = None) -> float:
        """Refused items / items over the window; 0.0 when nothing was answered in it."""
        cutoff = (time.monotonic() if now is None else now) - self.window
        while self._samples and self._samples[0][0] < cutoff:
            self._samples.popleft()
        items = sum(s[1] for s in self._samples)
        return sum(s[2] for s in self._samples) / items if items else 0.0

    def is_high(self, now: float | None = None) -> bool:
        return self.rate(now) > self.high
