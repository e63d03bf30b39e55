"""The spool's housekeeping run: rotate idle segments, gzip closed ones, apply the retention limits.

The decisions (what to delete, why, what it costs) are pure functions in ``retention_plan.py``; this module
runs them against the directory and counts what was lost. Age limits are measured on a clock that survives
wall-clock steps (see :meth:`Housekeeper.now`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from otel_mon.spool import closed_files, retention_plan
from otel_mon.spool.config import SpoolConfig
from otel_mon.spool.cursor_files import Cursor, read_cursors
from otel_mon.spool.durable import fsync_dir
from otel_mon.spool.segment_log import Clock, SignalLog
from otel_mon.spool.segments import SIGNALS, Signal, list_segments

log = logging.getLogger("otel_mon.spool.writer")

REASON_RETENTION = "retention"
REASON_EVICTED = "evicted"  # delivered but younger than max_age, deleted because max_bytes was reached
# A wall clock differing from the elapsed time by more than this was stepped (NTP, an operator, a VM resume).
CLOCK_STEP_TOLERANCE = 120.0


def elapsed_clock() -> float:
    """Seconds on a clock that never steps and counts suspend (CLOCK_BOOTTIME where it exists)."""
    return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))


class Housekeeper:
    def __init__(self, root: Path, config: SpoolConfig, logs: Mapping[Signal, SignalLog],
                 count_drop: Callable[[str, str, int], None], clock: Clock, elapsed: Clock = elapsed_clock) -> None:
        self.root = root
        self.config = config
        self._logs = logs
        self._count_drop = count_drop
        self._clock = clock
        self._elapsed = elapsed
        # Wall time minus elapsed time at start: how far the wall clock has stepped since is their difference.
        self._clock_base = clock() - elapsed()
        self._clock_step_logged = 0.0
        self._retention_biting = False

    def run(self, errors: list[str]) -> None:
        """One pass; recoverable problems are appended to ``errors``, anything else raises."""
        for signal_log in self._logs.values():
            signal_log.rotate_if_aged()
        if self.config.compress:
            self._compress_closed(errors)
        self._apply_retention()

    def _active(self) -> set[str]:
        """Stems being appended to. Read it *after* listing: a stem opened since is then newer than any listed."""
        out = set()
        for signal_log in self._logs.values():
            with signal_log.lock:
                if signal_log.stem is not None:
                    out.add(signal_log.stem)
        return out

    def _compress_closed(self, errors: list[str]) -> None:
        for signal in SIGNALS:
            listed = list_segments(self.root / signal, signal)
            with self._logs[signal].lock:
                active = self._logs[signal].stem
            for seg in listed:
                if seg.plain is None or (active is not None and seg.stem >= active):
                    continue
                try:
                    if seg.gz is not None:
                        seg.plain.unlink()  # compressed before a crash, not yet unlinked
                    else:
                        closed_files.compress(seg.plain, durable=self.config.fsync == "batch")
                except FileNotFoundError:
                    continue
                except OSError as exc:  # e.g. no space for the .gz: keep the plain segment, try again later
                    errors.append(f"compress {seg.stem}: {exc.strerror or exc}")

    def _apply_retention(self) -> None:
        cfg = self.config
        segments = [seg for s in SIGNALS for seg in list_segments(self.root / s, s)]
        cursors: dict[str, list[Cursor]] = {s: read_cursors(self.root / s) for s in SIGNALS}
        limits = retention_plan.Limits(cfg.max_files, cfg.max_bytes, cfg.max_age)
        plan = retention_plan.plan_retention(segments, self._active(), cursors, limits, self.now())
        for signal in {d.segment.signal for d in plan if not d.unsent}:
            # Cursors are renamed into place without a directory fsync: make the ones that called these
            # segments delivered durable before the deletions, or a crash could bring back an older cursor
            # pointing into a deleted segment (counted as a gap though it was sent).
            fsync_dir(self.root / signal)
        lost: dict[str, int] = {}
        evicted: dict[str, int] = {}
        now = self.now()
        for deletion in plan:
            seg = deletion.segment
            try:
                if deletion.unsent:
                    lost[seg.signal] = lost.get(seg.signal, 0) + retention_plan.lost_lines(seg, cursors[seg.signal])
                elif deletion.reason == "bytes" and cfg.max_age > 0 and now - seg.mtime < cfg.max_age:
                    evicted[seg.signal] = evicted.get(seg.signal, 0) + retention_plan.lost_lines(seg, ())
                for path in seg.files:
                    path.unlink(missing_ok=True)
            except FileNotFoundError:
                continue
        for signal in {d.segment.signal for d in plan}:
            fsync_dir(self.root / signal)
        for signal, lines in lost.items():
            self._count_drop(signal, REASON_RETENTION, lines)
        for signal, lines in evicted.items():
            self._count_drop(signal, REASON_EVICTED, lines)
        if evicted and not lost and not self._retention_biting:
            log.warning("spool: max_bytes forced deleting delivered data younger than max_age (%s lines); raise "
                        "spool.max_bytes or lower spool.max_age",
                        ", ".join(f"{s}: {n}" for s, n in sorted(evicted.items())))
        if lost and not self._retention_biting:
            log.error("spool: max_bytes forced deleting unsent data (%s lines); raise spool.max_bytes or fix the "
                      "forwarder", ", ".join(f"{s}: {n}" for s, n in sorted(lost.items())))
        self._retention_biting = bool(lost or evicted)

    def now(self) -> float:
        """The time age limits compare against: the wall clock, unless it stepped since start.

        A forward step would age every segment at once (a year's jump empties the spool), a backward one would
        keep data forever: ages are measured against start time plus the elapsed time, whichever is earlier,
        and a step is logged once.
        """
        wall = self._clock()
        steady = self._clock_base + self._elapsed()
        step = wall - steady
        if abs(step) > CLOCK_STEP_TOLERANCE and abs(step - self._clock_step_logged) > CLOCK_STEP_TOLERANCE:
            self._clock_step_logged = step
            log.warning("spool: the wall clock stepped by %+.0f s since the agent started; age-based retention "
                        "measures elapsed time instead, and deletes nothing for the jump", step)
        return min(wall, steady)
