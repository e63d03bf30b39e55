"""The spool writer: append-only, rotating segment files per signal, the agent's write-ahead log.

A batch is durable once its line is on disk (fsync per batch unless ``fsync: never``). Writing never raises
into the SDK: a failed write (full disk, file too large, I/O error) drops the batch, counts it, logs once per
episode and leaves no torn line behind; the next batch simply tries again. Logging always happens outside the
locks, because the agent's own log records come back into this spool through the logs exporter.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from otel_mon.spool.config import SpoolConfig
from otel_mon.spool.housekeeper import REASON_EVICTED, REASON_RETENTION, Housekeeper, elapsed_clock
from otel_mon.spool.segment_log import (
    Appended,
    Clock,
    DirLock,
    SignalLog,
    SpoolLockedError,
    identity,
    private_dirs,
)
from otel_mon.spool.segments import SIGNALS, Segment, Signal, list_segments
from otel_mon.timefmt import iso

log = logging.getLogger(__name__)

REASON_WRITE_ERROR = "write_error"
REASON_OVERSIZE = "oversize"
REASON_DELETED = "deleted"  # the directory was deleted under the running agent
REASONS = (REASON_WRITE_ERROR, REASON_RETENTION, REASON_OVERSIZE, REASON_DELETED, REASON_EVICTED)
__all__ = ["REASONS", "SpoolLockedError", "SpoolWriter"]
MAINTAIN_EVERY = 60.0  # seconds between housekeeping runs triggered by appends
_DISK_CACHE_SECONDS = 1.0  # one listing serves all the spool metrics of one collection
Attrs = dict[str, str]


class MetricSink(Protocol):
    """What :meth:`SpoolWriter.register_metrics` needs: ``otel_mon.instruments.Instruments`` fits."""

    def provide(self, name: str, provider: Callable[[], Any]) -> None: ...


class SpoolWriter:
    """The spool of one agent: holds the directory lock, one segment log per signal, stats and retention."""

    def __init__(self, config: SpoolConfig, *, clock: Clock = time.time, elapsed: Clock = elapsed_clock) -> None:
        self.config = config
        self.root = Path(config.dir)
        private_dirs(self.root)
        self._clock = clock
        self._root_id = identity(self.root)
        self._recreated = 0
        self._relocking = threading.Lock()
        self._relock_failed = False
        self._lock = DirLock(self.root)
        self._stats_lock = threading.Lock()
        self._maint_lock = threading.Lock()
        self._written: dict[str, int] = dict.fromkeys(SIGNALS, 0)
        self._records: dict[str, int] = dict.fromkeys(SIGNALS, 0)
        self._dropped: dict[tuple[str, str], int] = {(s, r): 0 for s in SIGNALS for r in REASONS}
        self._failing: dict[str, int] = {}  # signal -> batches dropped in the current failure episode
        self._last_error: tuple[float, str] | None = None
        self._maint_failing = False
        self._last_maintain = 0.0
        self._disk_cache: tuple[float, dict[str, list[Segment]]] | None = None
        self._closed = False
        self._listeners: list[Callable[[Signal], None]] = []
        self._listener_failed = False
        try:
            self._logs = {s: SignalLog(self.root, s, config, clock) for s in SIGNALS}
        except BaseException:
            self._lock.release()
            raise
        self._housekeeper = Housekeeper(self.root, config, self._logs, self._count_drop, clock, elapsed)
        for signal_log in self._logs.values():
            for name, cut in signal_log.recovered:
                log.warning("spool: cut %d bytes of a torn last line from %s", cut, signal_log.dir / name)
        self.maintain()

    # -- writing ---------------------------------------------------------------------------------------------

    def append(self, signal: Signal, lines: Sequence[bytes]) -> bool:
        """Append one batch (whole lines, each ending in a newline) atomically; False when it was dropped."""
        for line in lines:
            if line.find(b"\n") != len(line) - 1:
                raise ValueError("each spool line must be one JSON object ending in a single newline")
        if not lines:
            return True
        data = b"".join(lines)
        self._check_dirs(signal)
        if self._relock_failed:  # never write into a directory another agent may own now
            outcome = Appended(error=OSError(errno.ENOLCK, "the spool directory lock is lost"))
        else:
            outcome = self._logs[signal].append(data, len(lines))
        if outcome.error is not None:
            self._count_drop(signal, REASON_WRITE_ERROR, len(lines))
            self._note_failure(signal, len(lines), outcome.error)
        else:
            with self._stats_lock:
                self._written[signal] += len(data)
                self._records[signal] += len(lines)
                recovered = self._failing.pop(signal, None)
            if recovered is not None:
                log.warning("spool: writing %s works again; %d lines were dropped meanwhile", signal, recovered)
            self._notify(signal)
        if outcome.rotated or self._clock() - self._last_maintain >= MAINTAIN_EVERY:
            self.maintain()
        return outcome.error is None

    def _check_dirs(self, signal: Signal) -> None:
        """Notice a spool directory deleted (or replaced) under us: recreate it, take the lock again, count it.

        Two ``stat`` calls per append; without them writes would go into unlinked files until rotation and a
        second agent could lock the new directory.
        """
        lost_root = identity(self.root) != self._root_id or not self._lock.held()
        if lost_root:
            with self._relocking:
                if identity(self.root) != self._root_id or not self._lock.held():
                    self._relock()
        lost = self._logs[signal].check_dir()
        if lost is None:
            return
        self._count_drop(signal, REASON_DELETED, lost)
        with self._stats_lock:
            self._recreated += 1
            self._last_error = (self._clock(), f"{signal}: the spool directory was deleted and recreated")
        log.error("spool: %s was deleted while the agent ran; recreated it (%d %s lines lost with it)",
                  self.root / signal, lost, signal)

    def _relock(self) -> None:
        try:
            private_dirs(self.root)
            self._lock.release()
            self._lock = DirLock(self.root)
        except (OSError, SpoolLockedError) as exc:
            if not self._relock_failed:
                log.error("spool: %s was deleted and cannot be taken again: %s; dropping batches until it can",
                          self.root, exc)
            self._relock_failed = True
            return
        self._relock_failed = False
        self._root_id = identity(self.root)
        log.error("spool: %s was deleted while the agent ran; recreated it and took its lock again", self.root)

    def add_listener(self, callback: Callable[[Signal], None]) -> None:
        """Call ``callback(signal)`` after each batch that reached the disk (e.g. to wake the forwarder)."""
        self._listeners.append(callback)

    def _notify(self, signal: Signal) -> None:
        for callback in list(self._listeners):
            try:
                callback(signal)
            except Exception:  # a listener bug must not turn a durable write into a failed export
                if not self._listener_failed:
                    self._listener_failed = True
                    log.exception("spool: write listener failed (logged once)")

    def record_dropped(self, signal: Signal, reason: str, lines: int = 1) -> None:
        """Count lines lost before reaching the writer (e.g. a single record too large for a line)."""
        self._count_drop(signal, reason, lines)

    def _count_drop(self, signal: str, reason: str, lines: int) -> None:
        with self._stats_lock:
            self._dropped[(signal, reason)] = self._dropped.get((signal, reason), 0) + lines

    def _note_failure(self, signal: str, lines: int, exc: OSError) -> None:
        reason = exc.strerror or str(exc)
        with self._stats_lock:
            first = signal not in self._failing
            self._failing[signal] = self._failing.get(signal, 0) + lines
            self._last_error = (self._clock(), f"{signal}: write failed: {reason} (errno {exc.errno})")
        if first:
            log.error("spool: cannot write %s to %s: %s (errno %s); dropping batches until writing works again",
                      signal, self.root / signal, reason, exc.errno)

    # -- housekeeping ----------------------------------------------------------------------------------------

    def maintain(self) -> None:
        """Rotate idle segments past their age, gzip closed ones, apply retention. Never raises.

        Runs by itself after a rotation and at most every minute from ``append``; the agent may also call it.
        """
        if self._closed or not self._maint_lock.acquire(blocking=False):
            return  # closed, or another thread is at it
        errors: list[str] = []
        try:
            self._last_maintain = self._clock()
            self._housekeeper.run(errors)
        except OSError as exc:
            errors.append(f"{exc.strerror or exc}")
        except Exception as exc:  # housekeeping must never turn into a failed export; report it and go on
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self._disk_cache = None
            self._maint_lock.release()
        if errors:
            with self._stats_lock:
                self._last_error = (self._clock(), f"housekeeping failed: {errors[0]}")
            if not self._maint_failing:
                log.error("spool: housekeeping in %s failed: %s; will retry", self.root, errors[0])
        elif self._maint_failing:
            log.warning("spool: housekeeping works again")
        self._maint_failing = bool(errors)

    def close(self) -> None:
        """Close the segments and release the directory lock; appends after this are dropped."""
        if self._closed:
            return
        self._closed = True
        for signal_log in self._logs.values():
            signal_log.close()
        self._lock.release()

    # -- stats, metrics and /health ----------------------------------------------------------------------------

    def _disk(self) -> dict[str, list[Segment]]:
        cached = self._disk_cache
        now = time.monotonic()
        if cached is not None and now - cached[0] < _DISK_CACHE_SECONDS:
            return cached[1]
        listing: dict[str, list[Segment]] = {s: list_segments(self.root / s, s) for s in SIGNALS}
        self._disk_cache = (now, listing)
        return listing

    def _oldest_age(self, segments: list[Segment]) -> float | None:
        return max(0.0, self._clock() - segments[0].opened) if segments else None

    def register_metrics(self, instruments: MetricSink) -> None:
        """Provide the ``otel_mon.spool.*`` metrics of ``semconv.py``."""

        def per_signal(fn: Callable[[str], float | None]) -> Callable[[], list[tuple[float, Attrs]]]:
            def points() -> list[tuple[float, Attrs]]:
                out = []
                for signal in SIGNALS:
                    value = fn(signal)
                    if value is not None:
                        out.append((value, {"otel_mon.signal": str(signal)}))
                return out

            return points

        def dropped() -> list[tuple[float, Attrs]]:
            with self._stats_lock:
                items = sorted(self._dropped.items())
            return [(float(n), {"otel_mon.signal": s, "otel_mon.reason": r}) for (s, r), n in items]

        instruments.provide("otel_mon.spool.written", per_signal(lambda s: float(self._written[s])))
        instruments.provide("otel_mon.spool.records", per_signal(lambda s: float(self._records[s])))
        instruments.provide("otel_mon.spool.dropped", dropped)
        instruments.provide("otel_mon.spool.files", per_signal(lambda s: float(len(self._disk()[s]))))
        instruments.provide("otel_mon.spool.size", per_signal(lambda s: float(sum(g.size for g in self._disk()[s]))))
        instruments.provide("otel_mon.spool.oldest_age", per_signal(lambda s: self._oldest_age(self._disk()[s])))

    def stats(self) -> dict[str, Any]:
        """Counters since start: written bytes, records and dropped lines by (signal, reason)."""
        with self._stats_lock:
            return {
                "written": dict(self._written),
                "records": dict(self._records),
                "dropped": {f"{s}/{r}": n for (s, r), n in self._dropped.items()},
            }

    def status(self) -> dict[str, Any]:
        """The ``spool`` section of ``/health``: JSON-able, no file contents."""
        disk = self._disk()
        with self._stats_lock:
            signals: dict[str, Any] = {}
            for s in SIGNALS:
                oldest = self._oldest_age(disk[s])
                signals[s] = {
                    "files": len(disk[s]),
                    "bytes": sum(g.size for g in disk[s]),
                    "written_bytes": self._written[s],
                    "records": self._records[s],
                    "dropped": {r: n for (sig, r), n in self._dropped.items() if sig == s},
                    "oldest_record_age_seconds": None if oldest is None else round(oldest, 3),
                    "writing": "failing" if s in self._failing else "ok",
                }
            last_error = None
            if self._last_error is not None:
                when, message = self._last_error
                last_error = {"time": iso(when, "auto"), "message": message}
        ages = [v["oldest_record_age_seconds"] for v in signals.values() if v["oldest_record_age_seconds"] is not None]
        dropped: dict[str, int] = {}
        for v in signals.values():
            for r, n in v["dropped"].items():
                dropped[r] = dropped.get(r, 0) + n
        return {
            "dir": str(self.root.resolve()),
            "status": "failing" if any(v["writing"] == "failing" for v in signals.values()) else "ok",
            "files": sum(v["files"] for v in signals.values()),
            "bytes": sum(v["bytes"] for v in signals.values()),
            "dropped": dropped,
            "recreated": self._recreated,
            "last_error": last_error,
            "oldest_record_age_seconds": max(ages) if ages else None,
            "signals": signals,
        }
