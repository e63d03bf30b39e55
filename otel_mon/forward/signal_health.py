"""How far one signal's forwarder is behind, and whether that makes it ``degraded``.

Apart from the sending loop (``signal_forwarder.py``): this only measures the spool behind the cursor
(``backlog.measure``) and judges the samples. One collection reads three backlog metrics: they share one
directory scan unless the cursor moved. The agent calls ``check`` once per interval, so the state does not
depend on who polls /health.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from otel_mon.forward.backlog import Backlog, LineCounter, measure
from otel_mon.forward.config import Signal
from otel_mon.spool.cursor_files import Cursor
from otel_mon.spool.segments import Segment

_SNAPSHOT_TTL = 1.0  # the three backlog metrics of one collection share one directory scan
_GROWTH_CHECKS = 3


class SignalHealth:
    """Backlog snapshots of ``<data_dir>/<signal>`` behind ``position()``, and the degraded judgement."""

    def __init__(self, signal_dir: Path, signal: Signal, lag_threshold: float,
                 position: Callable[[], Cursor | None], head_timestamp: Callable[[], float | None],
                 segments: Callable[[], list[Segment]] | None = None) -> None:
        self._dir = signal_dir
        self._signal = signal
        self._lag_threshold = lag_threshold
        self._position = position
        self._head_timestamp = head_timestamp
        self._segments = segments
        self._counter = LineCounter()
        self._snapshot: tuple[float, Cursor | None, Backlog] | None = None
        self._history: deque[int] = deque(maxlen=_GROWTH_CHECKS)
        self.scheduled = False  # check() runs on the agent's schedule; else /health samples the growth itself
        self.degraded = False

    def backlog(self, max_age: float = _SNAPSHOT_TTL) -> Backlog:
        """Undelivered lines, their bytes and the lag; scans at most once per ``max_age`` seconds unless the
        cursor moved."""
        now = time.monotonic()
        position = self._position()
        cached = self._snapshot
        if cached is not None and now - cached[0] < max_age and cached[1] == position:
            return cached[2]
        listed = self._segments() if self._segments is not None else None
        result = measure(self._dir, self._signal, position, self._head_timestamp(), self._counter, listed)
        self._snapshot = (now, position, result)
        return result

    def check(self, scheduled: bool = True) -> bool:
        """Sample the backlog and decide ``degraded``: growing for three samples, or lagging past the
        threshold."""
        self.scheduled = self.scheduled or scheduled
        backlog = self.backlog(max_age=0.0)
        self._history.append(backlog.records)
        history = list(self._history)
        growing = len(history) == _GROWTH_CHECKS and all(a < b for a, b in itertools.pairwise(history))
        self.degraded = growing or backlog.lag > self._lag_threshold
        return self.degraded
