"""What the spool writer has done since start: bytes and lines written, lines dropped by reason, failures.

One lock guards every counter, and nothing here logs: the writer logs after the lock is released, because
the agent's own log records come back into the spool through the logs exporter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class WriteLedger:
    """Counters per signal, the failure episode per signal and the last error (time, message)."""

    def __init__(self, signals: Sequence[str], reasons: Sequence[str], clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.written: dict[str, int] = dict.fromkeys(signals, 0)
        self.records: dict[str, int] = dict.fromkeys(signals, 0)
        self._dropped: dict[tuple[str, str], int] = {(s, r): 0 for s in signals for r in reasons}
        self._failing: dict[str, int] = {}  # signal -> batches dropped in the current failure episode
        self.last_error: tuple[float, str] | None = None
        self.recreated = 0

    def wrote(self, signal: str, size: int, lines: int) -> int | None:
        """Count a batch on disk; the lines dropped in the failure episode it ends, or None if none was open."""
        with self._lock:
            self.written[signal] += size
            self.records[signal] += lines
            return self._failing.pop(signal, None)

    def drop(self, signal: str, reason: str, lines: int) -> None:
        with self._lock:
            self._dropped[(signal, reason)] = self._dropped.get((signal, reason), 0) + lines

    def failed(self, signal: str, lines: int, message: str) -> bool:
        """Count a failed write; True when it opens a failure episode (the caller logs it once)."""
        with self._lock:
            first = signal not in self._failing
            self._failing[signal] = self._failing.get(signal, 0) + lines
            self.last_error = (self._clock(), message)
        return first

    def error(self, message: str, *, recreated: bool = False) -> None:
        with self._lock:
            self.last_error = (self._clock(), message)
            if recreated:
                self.recreated += 1

    def failing(self, signal: str) -> bool:
        return signal in self._failing

    def dropped(self) -> list[tuple[tuple[str, str], int]]:
        """Every (signal, reason) with its count, in the order first counted."""
        with self._lock:
            return list(self._dropped.items())

    def stats(self) -> dict[str, Any]:
        """Counters since start: written bytes, records and dropped lines by (signal, reason)."""
        with self._lock:
            return {
                "written": dict(self.written),
                "records": dict(self.records),
                "dropped": {f"{s}/{r}": n for (s, r), n in self._dropped.items()},
            }
