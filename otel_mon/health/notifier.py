"""A webhook notifier: cooldown gate, bounded queue, one delivery thread with retries and backoff.

Delivery never runs on the collection thread; a full queue drops the newest message and counts it. Logs
name the notifier, never its URL.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable

from otel_mon.health import messages
from otel_mon.health.config import NotifierConfig
from otel_mon.health.cooldown import Cooldown
from otel_mon.health.rules import State, Transition
from otel_mon.health.webhook import Delivery, post_json

log = logging.getLogger("otel_mon.health.notify")

_MAX_BACKOFF = 60.0
_Item = tuple[Transition, bytes]


class Notifier:
    def __init__(self, cfg: NotifierConfig, url: str, token: str | None, host: str) -> None:
        self.cfg = cfg
        self.name = cfg.notifier_name
        self.host = host
        self._url = url
        self._token = token
        self._gate = Cooldown(cfg.cooldown)
        self._queue: queue.Queue[_Item | None] = queue.Queue(cfg.queue_size)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    def __repr__(self) -> str:  # never the URL
        return f"Notifier({self.name!r}, kind={self.cfg.kind!r})"

    # --- fed by the health monitor (collection thread) -----------------------------------------------------
    def notify(self, transitions: Iterable[Transition], host_status: State, now: float) -> None:
        for t in transitions:
            if self.cfg.rules and t.rule not in self.cfg.rules:
                continue
            message = self._gate.offer(t, now)
            if message is not None:
                self._enqueue(message, host_status)
        for message in self._gate.due(now):
            self._enqueue(message, host_status)

    def _enqueue(self, t: Transition, host_status: State) -> None:
        try:
            self._queue.put_nowait((t, messages.body(self.cfg.kind, t, self.host, host_status)))
        except queue.Full:
            self._count(ok=False)
            log.warning("notifier %s queue full (%d): dropped the message for %s", self.name, self.cfg.queue_size,
                        messages.subject(t), extra=self._extra(t, "queue full"))

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name=f"otel-mon-notify-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Send what is queued with one attempt each (no retry waits) until ``timeout``."""
        self._stop.set()
        if self._thread is None:
            return
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(None, timeout=max(timeout, 0.001))
        except queue.Full:
            pass
        self._thread.join(max(deadline - time.monotonic(), 0.0))

    def pending(self) -> int:
        return self._queue.qsize()

    # --- delivery thread -----------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._deliver(*item)
            except Exception:  # a bug here must not end deliveries
                log.exception("notifier %s crashed delivering a message", self.name)
                self._count(ok=False)

    def _deliver(self, t: Transition, body: bytes) -> None:
        attempts = self.cfg.retries + 1
        outcome = Delivery(False, False, "not attempted")
        for attempt in range(attempts):
            outcome = post_json(self._url, body, self.cfg.timeout, self._token)
            if outcome.ok:
                self._count(ok=True)
                log.debug("notifier %s delivered %s", self.name, messages.subject(t), extra=self._extra(t, ""))
                return
            if not outcome.retry or attempt == attempts - 1:
                break
            delay = min(self.cfg.backoff * 2**attempt, _MAX_BACKOFF)
            if outcome.retry_after is not None:
                if outcome.retry_after > self.cfg.max_retry_after:
                    outcome = Delivery(False, False, f"{outcome.reason}, asked to retry after "
                                                    f"{outcome.retry_after:g}s (over max_retry_after)")
                    break
                delay = outcome.retry_after
            if self._stop.wait(delay):
                outcome = Delivery(False, False, f"{outcome.reason}; agent stopping")
                break
        log.warning("notifier %s failed to deliver %s after %d attempt(s): %s", self.name, messages.subject(t),
                    attempt + 1, outcome.reason, extra=self._extra(t, outcome.reason))
        self._count(ok=False)  # after the log, so whoever sees the count also finds the record

    def _count(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.sent += 1
            else:
                self.failed += 1

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return self.sent, self.failed

    def _extra(self, t: Transition, reason: str) -> dict[str, str]:
        return {"otel_mon.notifier": self.name, "otel_mon.rule": t.rule, "otel_mon.instance": t.instance,
                "otel_mon.reason": reason}
