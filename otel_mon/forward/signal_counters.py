"""What one signal's forwarder has done so far: the counters its metrics and ``/health`` read.

Written by the forwarding thread (``answers.py`` sorts each answer into them), read by the agent's collection
and by ``/health`` from other threads: every access takes the lock.
"""

from __future__ import annotations

import threading
import time

from otel_mon.forward.rejections import RejectionRate
from otel_mon.timefmt import iso


class SignalCounters:
    """Lines sent, refused and retried, the refused share of the last minute, the last success and error."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.refusals = RejectionRate()
        self.sent = 0
        self.rejected = 0
        self.refused_items = 0  # data points / log records refused in partial successes
        self.retries = 0
        self.last_success: float | None = None
        self.last_error: tuple[float, str] | None = None

    def note_error(self, message: str) -> None:
        with self.lock:
            self.last_error = (time.time(), message)

    def count_retry(self) -> None:
        with self.lock:
            self.retries += 1

    def count_delivered(self, lines: int, points: int, refused_items: int) -> None:
        """A batch of ``lines`` taken by the endpoint, ``refused_items`` of its ``points`` refused in the answer."""
        with self.lock:
            self.sent += lines
            self.refused_items += refused_items
            self.last_success = time.time()
            self.refusals.add(points, refused_items)

    def count_rejected(self, points: int) -> None:
        """One line refused alone, for good: all its ``points`` are refused."""
        with self.lock:
            self.rejected += 1
            self.refusals.add(points, points)

    def rejection(self) -> tuple[float, bool]:
        """The refused share of the last minute, and whether it is above ``RejectionRate.high``."""
        with self.lock:
            return self.refusals.rate(), self.refusals.is_high()

    def rejecting(self) -> bool:
        with self.lock:
            return self.refusals.is_high()

    def snapshot(self) -> dict[str, object]:
        """The counters' part of a signal's ``/health`` entry (times in ISO 8601 like every time there)."""
        with self.lock:
            error = self.last_error
            return {
                "sent": self.sent,
                "rejected": self.rejected,
                "retries": self.retries,
                "refused_items": self.refused_items,
                "rejection_rate": round(self.refusals.rate(), 3),
                "last_success": None if self.last_success is None else iso(self.last_success, "auto"),
                "last_error": {"time": iso(error[0], "auto"), "message": error[1]} if error else None,
            }
