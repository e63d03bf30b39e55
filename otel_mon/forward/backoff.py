"""Retry pacing: exponential backoff with jitter, and a token bucket for draining a backlog."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

# A server's Retry-After / RetryInfo is honoured, but a bogus "come back next week" is not.
MAX_SERVER_DELAY = 3600.0


class Backoff:
    """Delays that double from ``initial`` up to ``maximum``, each drawn from [d/2, d] so agents that failed
    together do not retry together; a server-supplied delay is a floor."""

    def __init__(self, initial: float, maximum: float, rng: Callable[[], float] = random.random) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0
        self._rng = rng

    def next(self, server_delay: float | None = None) -> float:
        ceiling = min(self.maximum, self.initial * (2.0 ** min(self.attempt, 62)))
        self.attempt += 1
        delay = ceiling / 2.0 + self._rng() * ceiling / 2.0
        if server_delay is not None and server_delay > 0:
            delay = max(delay, min(server_delay, MAX_SERVER_DELAY))
        return delay

    def reset(self) -> None:
        self.attempt = 0


class RateLimiter:
    """A token bucket of ``burst`` spool lines refilled at ``rate`` per second (``rate`` 0 = no limit)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self.burst)
        self._last = clock()

    def delay(self, count: int) -> float:
        """Seconds until ``count`` lines may be sent (0 = now); call ``take`` once actually sending."""
        if self.rate <= 0:
            return 0.0
        self._refill()
        need = min(count, self.burst)
        return 0.0 if self._tokens >= need else (need - self._tokens) / self.rate

    def take(self, count: int) -> None:
        if self.rate > 0:
            self._refill()
            self._tokens -= min(count, self.burst)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now
