"""The spool as others see it: the ``otel_mon.spool.*`` metrics and the ``spool`` part of ``/health``.

Both read the directory listing through :class:`DiskListing`, so one collection lists each signal's
directory once however many metrics and scrapes ask.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from otel_mon.spool.segments import Segment, Signal, list_segments
from otel_mon.spool.write_ledger import WriteLedger
from otel_mon.timefmt import iso

_DISK_CACHE_SECONDS = 1.0  # one listing serves all the spool metrics of one collection
Attrs = dict[str, str]


class MetricSink(Protocol):
    """What :func:`register_spool_metrics` needs: ``otel_mon.instruments.Instruments`` fits."""

    def provide(self, name: str, provider: Callable[[], Any]) -> None: ...


class DiskListing:
    """The segments of every signal, listed at most once a second; ``forget()`` after housekeeping."""

    def __init__(self, root: Path, signals: Sequence[Signal]) -> None:
        self.root = root
        self.signals = signals
        self._cache: tuple[float, dict[str, list[Segment]]] | None = None

    def forget(self) -> None:
        self._cache = None

    def get(self) -> dict[str, list[Segment]]:
        cached = self._cache
        now = time.monotonic()
        if cached is not None and now - cached[0] < _DISK_CACHE_SECONDS:
            return cached[1]
        listing: dict[str, list[Segment]] = {s: list_segments(self.root / s, s) for s in self.signals}
        self._cache = (now, listing)
        return listing


class SpoolReport:
    """Reads the ledger and the listing; owns no state of its own."""

    def __init__(self, ledger: WriteLedger, disk: DiskListing, clock: Callable[[], float]) -> None:
        self._ledger = ledger
        self._disk = disk
        self._clock = clock

    def _oldest_age(self, segments: list[Segment]) -> float | None:
        return max(0.0, self._clock() - segments[0].opened) if segments else None

    def register_metrics(self, instruments: MetricSink) -> None:
        """Provide the ``otel_mon.spool.*`` metrics of ``agent_metrics.py``."""
        ledger, disk, signals = self._ledger, self._disk, self._disk.signals

        def per_signal(fn: Callable[[str], float | None]) -> Callable[[], list[tuple[float, Attrs]]]:
            def points() -> list[tuple[float, Attrs]]:
                out = []
                for signal in signals:
                    value = fn(signal)
                    if value is not None:
                        out.append((value, {"otel_mon.signal": str(signal)}))
                return out

            return points

        def dropped() -> list[tuple[float, Attrs]]:
            items = sorted(ledger.dropped())
            return [(float(n), {"otel_mon.signal": s, "otel_mon.reason": r}) for (s, r), n in items]

        instruments.provide("otel_mon.spool.written", per_signal(lambda s: float(ledger.written[s])))
        instruments.provide("otel_mon.spool.records", per_signal(lambda s: float(ledger.records[s])))
        instruments.provide("otel_mon.spool.dropped", dropped)
        instruments.provide("otel_mon.spool.files", per_signal(lambda s: float(len(disk.get()[s]))))
        instruments.provide("otel_mon.spool.size", per_signal(lambda s: float(sum(g.size for g in disk.get()[s]))))
        instruments.provide("otel_mon.spool.oldest_age", per_signal(lambda s: self._oldest_age(disk.get()[s])))

    def status(self) -> dict[str, Any]:
        """The ``spool`` part of ``/health``: JSON-able, no file contents."""
        ledger, disk = self._ledger, self._disk.get()
        drops = ledger.dropped()
        signals: dict[str, Any] = {}
        for s in self._disk.signals:
            oldest = self._oldest_age(disk[s])
            signals[s] = {
                "files": len(disk[s]),
                "bytes": sum(g.size for g in disk[s]),
                "written_bytes": ledger.written[s],
                "records": ledger.records[s],
                "dropped": {r: n for (sig, r), n in drops if sig == s},
                "oldest_record_age_seconds": None if oldest is None else round(oldest, 3),
                "writing": "failing" if ledger.failing(s) else "ok",
            }
        last_error = None
        if ledger.last_error is not None:
            when, message = ledger.last_error
            last_error = {"time": iso(when, "auto"), "message": message}
        ages = [v["oldest_record_age_seconds"] for v in signals.values() if v["oldest_record_age_seconds"] is not None]
        dropped: dict[str, int] = {}
        for v in signals.values():
            for r, n in v["dropped"].items():
                dropped[r] = dropped.get(r, 0) + n
        return {
            "dir": str(self._disk.root.resolve()),
            "status": "failing" if any(v["writing"] == "failing" for v in signals.values()) else "ok",
            "files": sum(v["files"] for v in signals.values()),
            "bytes": sum(v["bytes"] for v in signals.values()),
            "dropped": dropped,
            "recreated": ledger.recreated,
            "last_error": last_error,
            "oldest_record_age_seconds": max(ages) if ages else None,
            "signals": signals,
        }
