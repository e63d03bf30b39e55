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
from typing import Any

from otel_mon.spool.config import SpoolConfig
from otel_mon.spool.dir_guard import DirGuard
from otel_mon.spool.housekeeper import REASON_EVICTED, REASON_RETENTION, Housekeeper, elapsed_clock
from otel_mon.spool.segment_log import Appended, Clock, SignalLog, SpoolLockedError, private_dirs
from otel_mon.spool.segments import SIGNALS, Signal
from otel_mon.spool.spool_report import DiskListing, MetricSink, SpoolReport
from otel_mon.spool.write_ledger import WriteLedger

log = logging.getLogger(__name__)

REASON_WRITE_ERROR = "write_error"
REASON_OVERSIZE = "oversize"
REASON_DELETED = "deleted"  # the directory was deleted under the running agent
REASONS = (REASON_WRITE_ERROR, REASON_RETENTION, REASON_OVERSIZE, REASON_DELETED, REASON_EVICTED)
__all__ = ["REASONS", "SpoolLockedError", "SpoolWriter"]
MAINTAIN_EVERY = 60.0  # seconds between housekeeping runs triggered by appends


class SpoolWriter:
    """The spool of one agent: one segment log per signal, written in order; it triggers housekeeping.

    The directory lock is :class:`DirGuard`'s, the counters :class:`WriteLedger`'s, the metrics and the
    ``/health`` part :class:`SpoolReport`'s, the rotation and retention :class:`Housekeeper`'s.
    """

    def __init__(self, config: SpoolConfig, *, clock: Clock = time.time, elapsed: Clock = elapsed_clock) -> None:
        self.config = config
        self.root = Path(config.dir)
        private_dirs(self.root)
        self._clock = clock
        self._guard = DirGuard(self.root)
        self._ledger = WriteLedger(SIGNALS, REASONS, clock)
        self._disk = DiskListing(self.root, SIGNALS)
        self._report = SpoolReport(self._ledger, self._disk, clock)
        self._maint_lock = threading.Lock()
        self._maint_failing = False
        self._last_maintain = 0.0
        self._closed = False
        self._listeners: list[Callable[[Signal], None]] = []
        self._listener_failed = False
        try:
            self._logs = {s: SignalLog(self.root, s, config, clock) for s in SIGNALS}
        except BaseException:
            self._guard.release()
            raise
        self._housekeeper = Housekeeper(self.root, config, self._logs, self._ledger.drop, clock, elapsed)
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
        if self._guard.lost:  # never write into a directory another agent may own now
            outcome = Appended(error=OSError(errno.ENOLCK, "the spool directory lock is lost"))
        else:
            outcome = self._logs[signal].append(data, len(lines))
        if outcome.error is not None:
            self._ledger.drop(signal, REASON_WRITE_ERROR, len(lines))
            self._note_failure(signal, len(lines), outcome.error)
        else:
            recovered = self._ledger.wrote(signal, len(data), len(lines))
            if recovered is not None:
                log.warning("spool: writing %s works again; %d lines were dropped meanwhile", signal, recovered)
            self._notify(signal)
        if outcome.rotated or self._clock() - self._last_maintain >= MAINTAIN_EVERY:
            self.maintain()
        return outcome.error is None

    def _check_dirs(self, signal: Signal) -> None:
        """Notice the spool directory or a signal's directory deleted under us: recreate, relock, count it."""
        self._guard.check()
        lost = self._logs[signal].check_dir()
        if lost is None:
            return
        self._ledger.drop(signal, REASON_DELETED, lost)
        self._ledger.error(f"{signal}: the spool directory was deleted and recreated", recreated=True)
        log.error("spool: %s was deleted while the agent ran; recreated it (%d %s lines lost with it)",
                  self.root / signal, lost, signal)

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
        self._ledger.drop(signal, reason, lines)

    def _note_failure(self, signal: str, lines: int, exc: OSError) -> None:
        reason = exc.strerror or str(exc)
        if self._ledger.failed(signal, lines, f"{signal}: write failed: {reason} (errno {exc.errno})"):
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
            self._disk.forget()
            self._maint_lock.release()
        if errors:
            self._ledger.error(f"housekeeping failed: {errors[0]}")
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
        self._guard.release()

    # -- stats, metrics and /health ----------------------------------------------------------------------------

    def register_metrics(self, instruments: MetricSink) -> None:
        """Provide the ``otel_mon.spool.*`` metrics of ``agent_metrics.py``."""
        self._report.register_metrics(instruments)

    def stats(self) -> dict[str, Any]:
        """Counters since start: written bytes, records and dropped lines by (signal, reason)."""
        return self._ledger.stats()

    def status(self) -> dict[str, Any]:
        """The ``spool`` part of ``/health``: JSON-able, no file contents."""
        return self._report.status()
