"""One signal's forwarding loop: follow ``<data_dir>/<signal>/``, send in order, ack by moving the cursor.

At-least-once: the cursor moves only after the endpoint acknowledged (or permanently rejected) a batch, so a
crash resends at most the batch in flight. One thread per signal: a slow logs endpoint never delays metrics.
Pacing uses ``Event.wait``: new data (``notify``) wakes an idle loop, ``stop`` wakes any wait.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from otel_mon.forward.backlog import LineCounter, SegmentReader
from otel_mon.forward.backoff import Backoff, RateLimiter
from otel_mon.forward.batch import Batch
from otel_mon.forward.config import OtlpConfig, Signal, Target
from otel_mon.forward.cursor import cursor_path
from otel_mon.forward.quarantine import Quarantine, QuarantineFull
from otel_mon.forward.requests import MalformedLine, Record, parse_line
from otel_mon.forward.senders import Outcome, Result, Sender, make_sender
from otel_mon.spool.segments import Cursor, list_segments, load_cursor, save_cursor

log = logging.getLogger(__name__)

_SNAPSHOT_TTL = 1.0  # the three backlog metrics of one collection share one directory scan
_GROWTH_CHECKS = 3


@dataclass(frozen=True)
class Backlog:
    records: int
    size: int
    lag: float


class SignalForwarder:
    """The forwarding thread of one signal and the counters it keeps."""

    def __init__(self, config: OtlpConfig, target: Target, data_dir: Path) -> None:
        self.signal: Signal = target.signal
        self.target = target
        self._config = config
        self._dir = Path(data_dir) / target.signal
        self._cursor_file = cursor_path(self._dir)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._deadline = float("inf")
        self._thread: threading.Thread | None = None
        self._sender: Sender | None = None
        self._reader: SegmentReader | None = None
        self._pending: deque[Batch] = deque()
        self._carry: tuple[int, Record] | None = None
        self._position: Cursor | None = None
        self._head_ts: float | None = None
        self._backoff = Backoff(config.backoff_initial, config.backoff_max)
        self._limiter = RateLimiter(config.drain_rate, config.max_batch_records)
        self._failures = 0
        self._counter = LineCounter()
        self._snapshot: tuple[float, Backlog] | None = None
        self._history: deque[int] = deque(maxlen=_GROWTH_CHECKS)
        self._scheduled = False  # check() runs on the agent's schedule; else /health samples the growth itself
        self._degraded = False
        self._last_turn = time.monotonic()  # the loop's last iteration: a loop stuck far longer is wedged
        self.quarantine = Quarantine(self._dir)
        # Counters read by metrics and /health.
        self.sent = 0
        self.failed: dict[str, int] = {"rejected": 0, "malformed": 0}
        self.retries = 0
        self.gaps = 0
        self.last_success: float | None = None
        self.last_error: tuple[float, str] | None = None

    # ------------------------------------------------------------------------------------------ control

    def start(self) -> None:
        self._position = load_cursor(self._cursor_file)
        self._thread = threading.Thread(target=self._run, name=f"otel-mon-forward-{self.signal}", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def request_stop(self, deadline: float) -> None:
        """Stop after sending what can be sent before ``deadline`` (monotonic); nothing if the endpoint fails."""
        self._deadline = deadline
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float) -> bool:
        if self._thread is not None:
            self._thread.join(max(0.0, timeout))
            return not self._thread.is_alive()
        return True

    # ------------------------------------------------------------------------------------------ the loop

    def _run(self) -> None:
        try:
            while not self._should_exit():
                self._last_turn = time.monotonic()
                try:
                    self._step()
                except Exception as exc:  # a bug or an I/O error must not end forwarding for good
                    self._failures += 1  # a failure like any other: backs off, and ends a stop() promptly
                    with self._lock:
                        self.retries += 1
                    if self._failures == 1:
                        log.exception("forwarder %s: unexpected error", self.signal)
                    self._note_error(f"{type(exc).__name__}: {exc}")
                    self._stop.wait(self._backoff.next())
        finally:
            if self._reader is not None:
                self._reader.close()
            if self._sender is not None:
                self._sender.close()

    def _should_exit(self) -> bool:
        if not self._stop.is_set():
            return False
        return self._failures > 0 or time.monotonic() >= self._deadline

    def _step(self) -> None:
        stopping = self._stop.is_set()
        if not self._pending:
            self._wake.clear()
            batch = self._read_batch()
            if batch is None:
                if stopping:
                    self._deadline = 0.0  # caught up: nothing left to flush
                else:
                    self._wake.wait(self._config.poll_interval)
                return
            self._push(batch)
        batch = self._pending[0]
        if not batch.items:
            self._ack(batch)
            return
        if not stopping:
            delay = self._limiter.delay(len(batch.items))
            if delay > 0:
                self._stop.wait(delay)
                return
        self._limiter.take(len(batch.items))
        if self._sender is None:
            try:
                self._sender = make_sender(self.target, (self._config.backoff_initial, self._config.backoff_max))
            except (OSError, ValueError) as exc:  # unreadable certificate or key (ssl.SSLError is an OSError)
                self._handle(batch, Result(Outcome.HOLD, f"cannot set up the connection: {exc}"))
                return
        timeout = self.target.timeout
        if stopping:
            timeout = max(0.05, min(timeout, self._deadline - time.monotonic()))
        self._handle(batch, self._sender.send(batch.body, timeout))

    def _handle(self, batch: Batch, result: Result) -> None:
        if result.outcome is Outcome.OK:
            if self._failures:
                log.info("forwarder %s: %s reachable again after %d failed attempts", self.signal,
                         self.target.display, self._failures)
            self._failures = 0
            self._backoff.reset()
            if result.rejected_items:
                # The answer cannot name the refused items: the batch's lines go to quarantine as a copy.
                kept = self._quarantine(batch, f"partial success, {result.rejected_items} items refused")
                log.warning("forwarder %s: endpoint accepted a batch partially, %d items refused (%s); %s",
                            self.signal, result.rejected_items, result.message,
                            f"its lines are copied to {self.quarantine.path}" if kept else "its lines were not kept")
            with self._lock:
                self.sent += len(batch.items)
                self.last_success = time.time()
            self._ack(batch)
        elif result.outcome is Outcome.REJECT:
            self._failures = 0
            if len(batch.items) > 1:
                log.info("forwarder %s: batch of %d lines rejected (%s); resending line by line", self.signal,
                         len(batch.items), result.message)
                self._pending.popleft()
                self._pending.extendleft(reversed(batch.split()))
                return
            index = batch.items[0][0]
            try:
                self.quarantine.keep([batch.items[0][1].raw])
                where = f"moved to {self.quarantine.path}"
            except QuarantineFull as exc:
                where = f"skipped and lost (quarantine full: {exc})"
            except OSError as exc:  # keep the line in the spool until it can be kept somewhere
                self._failures += 1
                self._note_error(f"cannot write the quarantine: {exc}")
                if self._failures == 1:
                    log.error("forwarder %s: %s line %d rejected by %s, but the quarantine cannot be written "
                              "(%s); holding it", self.signal, batch.segment, index, self.target.display, exc)
                self._stop.wait(self._backoff.next())
                return
            log.error("forwarder %s: %s line %d rejected by %s, %s: %s", self.signal, batch.segment, index,
                      self.target.display, where, result.message)
            with self._lock:
                self.failed["rejected"] += 1
            self._note_error(result.message)
            self._ack(batch)
        else:
            self._failures += 1
            with self._lock:
                self.retries += 1
            self._note_error(result.message)
            if self._failures == 1:
                level = logging.ERROR if result.outcome is Outcome.HOLD else logging.WARNING
                hint = "; check the endpoint and headers" if result.outcome is Outcome.HOLD else ""
                log.log(level, "forwarder %s: export to %s failed, will retry%s: %s", self.signal,
                        self.target.display, hint, result.message)
            self._stop.wait(self._backoff.next(result.retry_after))

    def _quarantine(self, batch: Batch, why: str) -> bool:
        """Copy the batch's lines to quarantine; False (logged by the caller) when they could not be kept."""
        try:
            self.quarantine.keep([record.raw for _, record in batch.items])
        except (QuarantineFull, OSError) as exc:
            log.debug("forwarder %s: quarantine of %s (%s) failed: %s", self.signal, batch.segment, why, exc)
            return False
        return True

    def _note_error(self, message: str) -> None:
        with self._lock:
            self.last_error = (time.time(), message)

    def _push(self, batch: Batch) -> None:
        self._pending.append(batch)
        self._update_head()

    def _ack(self, batch: Batch) -> None:
        self._pending.popleft()
        self._save(Cursor(batch.segment, batch.end_line))
        self._update_head()

    def _update_head(self) -> None:
        with self._lock:
            self._head_ts = self._pending[0].first_timestamp if self._pending else None

    def _save(self, cursor: Cursor) -> None:
        with self._lock:
            self._position = cursor
            self._snapshot = None
        try:
            save_cursor(self._cursor_file, cursor)
        except OSError as exc:  # keep going: a restart resends from the last saved cursor
            log.error("forwarder %s: cannot save cursor %s: %s", self.signal, self._cursor_file, exc)

    # ------------------------------------------------------------------------------------------ reading

    def _read_batch(self) -> Batch | None:
        """The next batch of the spool, or None when everything written so far is delivered."""
        rotated_to: str | None = None
        while True:
            reader = self._open_reader()
            if reader is None:
                return None
            try:
                batch = self._fill(reader)
            except BaseException:
                # Lines already taken into the batch would be lost, and the reader's position would run ahead
                # of the cursor: start over from the saved cursor on the next step.
                self._drop_reader()
                raise
            if batch is not None:
                return batch
            if reader.damaged:
                later = [s.stem for s in list_segments(self._dir, self.signal) if s.stem > reader.segment.stem]
                if not later:
                    return None
                self._damaged(reader)
                self._drop_reader()
                self._save(Cursor(later[0], 0))
                rotated_to = None
                continue
            if rotated_to is not None:
                reader.close()
                self._reader = None
                self._save(Cursor(rotated_to, 0))
                rotated_to = None
                continue
            later = [s.stem for s in list_segments(self._dir, self.signal) if s.stem > reader.segment.stem]
            if not later:
                return None
            # The writer never appends to a segment once a newer one exists: one more read catches the lines
            # written between our last read and the rotation, then the segment is done.
            rotated_to = later[0]

    def _fill(self, reader: SegmentReader) -> Batch | None:
        start = reader.line
        batch = Batch(reader.segment.stem, start)
        size = 0
        if self._carry is not None:
            batch.items.append(self._carry)
            size = len(self._carry[1].payload)
            self._carry = None
        while len(batch.items) < self._config.max_batch_records:
            raw = reader.read_line()
            if raw is None:
                break
            index = reader.line - 1
            try:
                record = parse_line(self.signal, raw)
            except (MalformedLine, RecursionError, ValueError, TypeError) as exc:  # one bad line: skip it
                self._malformed(reader.segment.stem, index, str(exc) or type(exc).__name__, raw)
                continue
            if batch.items and size + len(record.payload) > self._config.max_batch_size:
                self._carry = (index, record)
                break
            batch.items.append((index, record))
            size += len(record.payload)
        batch.end_line = self._carry[0] if self._carry is not None else reader.line
        return batch if batch.items or batch.end_line > start else None

    def _malformed(self, stem: str, index: int, why: str, raw: bytes) -> None:
        with self._lock:
            self.failed["malformed"] += 1
        try:
            self.quarantine.keep([raw])
            where = f"moved to {self.quarantine.path}"
        except (QuarantineFull, OSError) as exc:
            where = f"skipped ({exc})"
        log.warning("forwarder %s: %s line %d %s: %s", self.signal, stem, index, where, why)

    def _damaged(self, reader: SegmentReader) -> None:
        """A damaged (truncated) gzip segment: its unreadable remainder counts as one malformed line."""
        with self._lock:
            self.failed["malformed"] += 1
        log.warning("forwarder %s: %s is damaged after line %d; the rest of it is skipped: %s", self.signal,
                    reader.segment.path.name, reader.line, reader.damaged)

    def _drop_reader(self) -> None:
        if self._reader is not None:
            try:
                self._reader.close()
            except Exception as exc:  # a failed close must not hide the original error
                log.debug("forwarder %s: closing %s failed: %s", self.signal, self._reader.path, exc)
        self._reader = None
        self._carry = None

    def _open_reader(self) -> SegmentReader | None:
        if self._reader is not None:
            return self._reader
        for _attempt in range(3):  # a segment may be compressed (renamed) between listing and opening
            segments = list_segments(self._dir, self.signal)
            if not segments:
                return None
            with self._lock:
                position = self._position
            segment, line = segments[0], 0
            if position is not None:
                same = [s for s in segments if s.stem == position.segment]
                if same:
                    segment, line = same[0], position.line
                elif position.segment < segments[0].stem:
                    with self._lock:
                        self.gaps += 1
                    log.warning("forwarder %s: segment %s was deleted before it was delivered; resuming at %s",
                                self.signal, position.segment, segments[0].stem)
                else:
                    log.warning("forwarder %s: cursor segment %s not found; resuming at the oldest, %s",
                                self.signal, position.segment, segments[0].stem)
            try:
                self._reader = SegmentReader(segment, line)
            except FileNotFoundError:
                continue
            if (segment.stem, line) != ((position.segment, position.line) if position else None):
                self._save(Cursor(segment.stem, line))
            return self._reader
        return None

    # ------------------------------------------------------------------------------------------ reporting

    def backlog(self, max_age: float = _SNAPSHOT_TTL) -> Backlog:
        """Undelivered lines and their bytes on disk (pro rata for the current segment), and the lag.

        Scans at most once per ``max_age`` seconds: one collection reads three metrics from one scan.
        """
        now = time.monotonic()
        cached = self._snapshot
        if cached is not None and now - cached[0] < max_age:
            return cached[1]
        with self._lock:
            position, head_ts = self._position, self._head_ts
        records = size = 0
        oldest_mtime: float | None = None
        segments = list_segments(self._dir, self.signal)
        for segment in segments:
            if position is not None and segment.stem < position.segment:
                continue
            lines, on_disk = self._counter.count(segment)
            done = min(position.line, lines) if position is not None and segment.stem == position.segment else 0
            remaining = lines - done
            if remaining <= 0:
                continue
            records += remaining
            size += on_disk * remaining // lines
            if oldest_mtime is None:
                try:
                    oldest_mtime = segment.path.stat().st_mtime
                except FileNotFoundError:
                    oldest_mtime = time.time()
        self._counter.forget_except({s.path for s in segments})
        oldest = head_ts if head_ts is not None else oldest_mtime
        lag = max(0.0, time.time() - oldest) if records and oldest is not None else 0.0
        result = Backlog(records, size, lag)
        self._snapshot = (now, result)
        return result

    def check(self, scheduled: bool = True) -> bool:
        """Sample the backlog and decide ``degraded`` (growing for three samples, or lagging past the
        threshold). The agent calls this once per interval, so the state does not depend on who polls /health."""
        self._scheduled = self._scheduled or scheduled
        backlog = self.backlog(max_age=0.0)
        self._history.append(backlog.records)
        history = list(self._history)
        growing = len(history) == _GROWTH_CHECKS and all(a < b for a, b in itertools.pairwise(history))
        self._degraded = growing or backlog.lag > self._config.lag_threshold
        return self._degraded

    def wedged(self) -> bool:
        """The thread died, or one loop turn has lasted far longer than a send, a backoff and a poll can."""
        if self._thread is None or self._stop.is_set():
            return False
        if not self._thread.is_alive():
            return True
        cfg = self._config
        limit = self.target.timeout * 2 + cfg.backoff_max + cfg.poll_interval + 60.0
        return time.monotonic() - self._last_turn > limit

    def health(self) -> dict[str, object]:
        if not self._scheduled:
            self.check(scheduled=False)
        backlog = self.backlog(max_age=0.0)
        with self._lock:
            error = self.last_error
            out: dict[str, object] = {
                "endpoint": self.target.display,
                "protocol": self.target.protocol,
                "running": self._thread is not None and self._thread.is_alive(),
                "sent": self.sent,
                "failed": dict(self.failed),
                "retries": self.retries,
                "gaps": self.gaps,
                "quarantined": self.quarantine.kept,
                "last_success": self.last_success,
                "last_error": {"time": error[0], "message": error[1]} if error else None,
            }
        out.update({
            "backlog_records": backlog.records,
            "backlog_bytes": backlog.size,
            "lag_seconds": round(backlog.lag, 3),
            "degraded": self._degraded,
            "wedged": self.wedged(),
        })
        return out
