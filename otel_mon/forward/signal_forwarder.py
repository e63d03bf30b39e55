"""One signal's forwarding loop: send what the follower reads, in order; ack by moving the cursor.

This module paces the thread and sends; the rest is each one module's job: reading the spool
``follower.py``'s, the wire ``requests.py``'s and ``senders.py``'s, what to do with each answer (ack, halve,
wait) ``answers.py``'s, the counters ``signal_counters.py``'s, measuring the backlog and judging ``degraded``
``signal_health.py``'s.

At-least-once: the cursor moves only after the endpoint acknowledged (or permanently rejected) a batch, so a
crash resends at most the batch in flight. One thread per signal: a slow logs endpoint never delays metrics.
Pacing uses ``Event.wait``: new data (``notify``) wakes an idle loop, ``stop`` wakes any wait. Once the spool
writer notifies (``writer_notifies``), the idle loop's fallback poll is a minute, not ``poll_interval``.

The cursor file is written once a second at most while batches follow each other, and before every wait
(idle, backoff, rate limit) and at the end: a crash resends at most that second's batches.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from otel_mon.forward.answers import Answers, Next
from otel_mon.forward.backlog import Backlog
from otel_mon.forward.backoff import Backoff, RateLimiter
from otel_mon.forward.batch import Batch
from otel_mon.forward.config import Signal, Target, thread_name
from otel_mon.forward.config_checks import Pacing
from otel_mon.forward.cursor import CONSUMER
from otel_mon.forward.follower import SpoolFollower
from otel_mon.forward.quarantine import PartialLog, Quarantine
from otel_mon.forward.requests import Frame, Parse, codec
from otel_mon.forward.senders import Outcome, Result, Sender, make_sender
from otel_mon.forward.signal_counters import SignalCounters
from otel_mon.forward.signal_health import SignalHealth
from otel_mon.spool.cursor_files import Cursor

SenderFactory = Callable[[Target, tuple[float, float]], Sender]

# With the writer's notification waking the loop, polling only guards against a lost wake-up: once a minute.
NOTIFIED_POLL = 60.0
CURSOR_FLUSH = 1.0  # seconds between cursor writes while a backlog drains


class SignalForwarder:
    """The forwarding thread of one signal and the counters it keeps."""

    def __init__(self, config: Pacing, target: Target, data_dir: Path, *, consumer: str = CONSUMER,
                 parse: Parse | None = None, frame: Frame | None = None,
                 sender: SenderFactory = make_sender) -> None:
        """``consumer``, ``parse``, ``frame`` and ``sender`` make another destination of the same loop (each
        with its own cursor and quarantine file): OTLP by default (the protocol's codec), remote write in
        ``rw_forwarder``."""
        default_parse, default_frame = codec(target.protocol)
        parse = parse or default_parse
        self._frame = frame or default_frame
        self._make_sender = sender
        self.signal: Signal = target.signal
        self.target = target
        self._config = config
        self._dir = Path(data_dir) / target.signal
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._deadline = float("inf")
        self._thread: threading.Thread | None = None
        self._sender: Sender | None = None
        self._pending: deque[Batch] = deque()
        self._head_ts: float | None = None
        self._limiter = RateLimiter(config.drain_rate, config.max_batch_records)
        self._last_turn = time.monotonic()  # the loop's last iteration: a loop stuck far longer is wedged
        self.writer_notifies = False  # set when the spool writer calls notify() after each write
        self.quarantine = Quarantine(self._dir) if consumer == CONSUMER else Quarantine(self._dir, name=consumer)
        self.partial = PartialLog(self._dir) if consumer == CONSUMER else PartialLog(self._dir, name=consumer)
        self.counters = SignalCounters()  # read by metrics and /health
        self.answers = Answers(target, Backoff(config.backoff_initial, config.backoff_max), self.counters,
                               self.quarantine, self.partial)
        self.follower = SpoolFollower(config, self.signal, self._dir, self.quarantine, consumer=consumer, parse=parse)
        self.health = SignalHealth(self._dir, self.signal, config.lag_threshold, lambda: self.follower.position,
                                   self._head_timestamp, self.follower.segments.get)

    # ------------------------------------------------------------------------------------------ control

    @property
    def failed(self) -> dict[str, int]:
        """Lines that left the order: refused by the endpoint, or unparsable in the spool."""
        with self.counters.lock:
            return {"rejected": self.counters.rejected, "malformed": self.follower.malformed}

    @property
    def gaps(self) -> int:
        return self.follower.gaps

    def start(self) -> None:
        self.follower.start()
        self._thread = threading.Thread(target=self._run, name=thread_name(self.signal), daemon=True)
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
                    # a failure like any other: backs off, and ends a stop() promptly
                    self._pause(self._stop, self.answers.crashed(exc))
        finally:
            self.follower.flush()
            self.follower.close()
            if self._sender is not None:
                self._sender.close()

    def _should_exit(self) -> bool:
        if not self._stop.is_set():
            return False
        return self.answers.failures > 0 or time.monotonic() >= self._deadline

    def _step(self) -> None:
        stopping = self._stop.is_set()
        if not self._pending:
            self._wake.clear()
            batch = self.follower.read_batch()
            if batch is None:
                if stopping:
                    self._deadline = 0.0  # caught up: nothing left to flush
                else:
                    if self._sender is not None:
                        self._sender.idle()
                    poll = self._config.poll_interval
                    self._pause(self._wake, max(poll, NOTIFIED_POLL) if self.writer_notifies else poll)
                return
            self._push(batch)
        batch = self._pending[0]
        if not batch.items:
            self._ack(batch)
            return
        if not stopping:
            delay = self._limiter.delay(len(batch.items))
            if delay > 0:
                self._pause(self._stop, delay)
                return
        self._limiter.take(len(batch.items))
        if self._sender is None:
            try:
                self._sender = self._make_sender(self.target, (self._config.backoff_initial, self._config.backoff_max))
            except (OSError, ValueError) as exc:  # unreadable certificate or key (ssl.SSLError is an OSError)
                self._handle(batch, Result(Outcome.HOLD, f"cannot set up the connection: {exc}"))
                return
        timeout = self.target.timeout
        if stopping:
            timeout = max(0.05, min(timeout, self._deadline - time.monotonic()))
        self._handle(batch, self._sender.send(self._frame(self.signal, batch.payloads), timeout))

    def _handle(self, batch: Batch, result: Result) -> None:
        verdict = self.answers.sort(batch, result)
        if verdict.next is Next.ACK:
            self._ack(batch)
        elif verdict.next is Next.HALVE:
            self._pending.popleft()
            self._pending.extendleft(reversed(verdict.halves))
        else:
            self._pause(self._stop, verdict.delay)

    def _push(self, batch: Batch) -> None:
        self._pending.append(batch)
        self._update_head()

    def _pause(self, event: threading.Event, seconds: float) -> None:
        """Wait on ``event`` for up to ``seconds``, with the cursor file brought up to date first."""
        self.follower.flush()
        event.wait(seconds)

    def _ack(self, batch: Batch) -> None:
        self._pending.popleft()
        self.follower.advance(Cursor(batch.segment, batch.end_line))
        self.follower.flush_due(CURSOR_FLUSH)
        self._update_head()

    def _head_timestamp(self) -> float | None:
        with self._lock:
            return self._head_ts

    def _update_head(self) -> None:
        with self._lock:
            self._head_ts = self._pending[0].first_timestamp if self._pending else None

    # ------------------------------------------------------------------------------------------ reporting

    def backlog(self, max_age: float = 1.0) -> Backlog:
        """Undelivered lines, their bytes and the lag (``SignalHealth.backlog``)."""
        return self.health.backlog(max_age)

    def check(self, scheduled: bool = True) -> bool:
        """Decide ``degraded`` (``SignalHealth.check``); the agent calls it once per interval."""
        return self.health.check(scheduled)

    def rejecting(self) -> bool:
        """The endpoint refuses more than ``RejectionRate.high`` of the items sent in the last minute."""
        return self.counters.rejecting()

    def wedged(self) -> bool:
        """The thread died, or one loop turn has lasted far longer than a send, a backoff and a poll can."""
        if self._thread is None or self._stop.is_set():
            return False
        if not self._thread.is_alive():
            return True
        cfg = self._config
        limit = self.target.timeout * 2 + cfg.backoff_max + cfg.poll_interval + 60.0
        return time.monotonic() - self._last_turn > limit

    def status(self) -> dict[str, object]:
        if not self.health.scheduled:
            self.check(scheduled=False)
        backlog = self.backlog(max_age=0.0)
        counts = self.counters.snapshot()
        out: dict[str, object] = {
            "endpoint": self.target.display,
            "protocol": self.target.protocol,
            "running": self._thread is not None and self._thread.is_alive(),
            "sent": counts["sent"],
            "failed": {"rejected": counts["rejected"], "malformed": self.follower.malformed},
            "retries": counts["retries"],
            "gaps": self.follower.gaps,
            "quarantined": self.quarantine.kept,
            "refused_items": counts["refused_items"],
            "partial_noted": self.partial.noted,
            "rejection_rate": counts["rejection_rate"],
            "last_success": counts["last_success"],
            "last_error": counts["last_error"],
        }
        out.update({
            "backlog_records": backlog.records,
            "backlog_bytes": backlog.size,
            "lag_seconds": round(backlog.lag, 3),
            "degraded": self.health.degraded or self.rejecting(),
            "wedged": self.wedged(),
        })
        return out
