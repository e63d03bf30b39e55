"""Send spool files to an OTLP endpoint once, in order: the engine behind ``otel-mon replay``.

Unlike the forwarder it keeps no cursor and gives up on an unreachable endpoint after a few attempts; the
signal of each line is read from the line itself, so a file of either signal (or a mix) can be replayed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from otel_mon.forward.backlog import iter_lines
from otel_mon.forward.backoff import Backoff, RateLimiter
from otel_mon.forward.batch import Batch
from otel_mon.forward.config import SIGNALS, OtlpConfig, Signal, resolve
from otel_mon.forward.requests import (
    MalformedLine,
    Record,
    codec,
    decode_line,
    detect_signal,
    parse_line,
    parse_record,
)
from otel_mon.forward.senders import Outcome, Sender, make_sender

Report = Callable[[str], None]


@dataclass
class ReplayStats:
    sent: dict[str, int] = field(default_factory=lambda: {"metrics": 0, "logs": 0})
    rejected: int = 0
    malformed: int = 0
    unsent: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.rejected or self.malformed or self.unsent or self.error)


class Unreachable(Exception):
    pass


class Replayer:
    def __init__(self, config: OtlpConfig, rate: float = 0.0, attempts: int = 5, report: Report = print) -> None:
        self.config = config
        self.stats = ReplayStats()
        self._attempts = max(1, attempts)
        self._limiter = RateLimiter(rate, config.max_batch_records)
        self._senders: dict[Signal, Sender] = {}
        self._report = report
        targets = {signal: resolve(config, signal) for signal in SIGNALS}
        self._codecs = {s: codec(t.protocol if t else "http/protobuf") for s, t in targets.items()}

    def run(self, paths: Sequence[Path]) -> ReplayStats:
        try:
            for path in paths:
                for signal, batch in self._batches(path):
                    if self.stats.error is not None:  # gave up: the rest is only counted
                        self.stats.unsent += len(batch.items)
                        continue
                    try:
                        self._deliver(signal, batch, path)
                    except Unreachable as exc:
                        self.stats.error = str(exc)
        finally:
            for sender in self._senders.values():
                sender.close()
        return self.stats

    def _batches(self, path: Path) -> Iterator[tuple[Signal, Batch]]:
        current: tuple[Signal, Batch] | None = None
        size = 0
        for index, line in enumerate(iter_lines(path)):
            try:
                obj = decode_line(line)
                signal = detect_signal(obj)
                if signal is None:
                    raise MalformedLine("neither resourceMetrics nor resourceLogs")
                record = self._record(signal, obj, line)
            except MalformedLine as exc:
                self.stats.malformed += 1
                self._report(f"{path} line {index + 1}: skipped: {exc}")  # counted from 1, like editors
                continue
            full = current is not None and (
                current[0] != signal
                or len(current[1].items) >= self.config.max_batch_records
                or size + len(record.payload) > self.config.max_batch_size
            )
            if current is not None and full:
                yield current
                current = None
            if current is None:
                current, size = (signal, Batch(path.name, index)), 0
            current[1].items.append((index, record))
            current[1].end_line = index + 1
            size += len(record.payload)
        if current is not None:
            yield current

    def _record(self, signal: Signal, obj: object, line: bytes) -> Record:
        parse = self._codecs[signal][0]
        return parse_record(signal, obj) if parse is parse_line else parse(signal, line)

    def _sender(self, signal: Signal) -> Sender:
        if signal not in self._senders:
            target = resolve(self.config, signal)
            if target is None:
                raise Unreachable(f"no endpoint configured for {signal}")
            try:
                self._senders[signal] = make_sender(target, (self.config.backoff_initial, self.config.backoff_max))
            except (OSError, ValueError) as exc:  # unreadable certificate or key
                raise Unreachable(f"cannot set up the {signal} connection: {exc}") from None
        return self._senders[signal]

    def _frame(self, signal: Signal, batch: Batch) -> bytes:
        return self._codecs[signal][1](signal, batch.payloads)

    def _deliver(self, signal: Signal, batch: Batch, path: Path) -> None:
        try:
            sender = self._sender(signal)
        except Unreachable:
            self.stats.unsent += len(batch.items)
            raise
        backoff = Backoff(self.config.backoff_initial, self.config.backoff_max)
        pending = [batch]
        while pending:
            current = pending.pop(0)
            while (delay := self._limiter.delay(len(current.items))) > 0:
                time.sleep(delay)
            self._limiter.take(len(current.items))
            for attempt in range(self._attempts):
                result = sender.send(self._frame(signal, current))
                if result.outcome not in (Outcome.RETRY, Outcome.HOLD):
                    break
                if attempt + 1 == self._attempts:
                    self.stats.unsent += len(current.items) + sum(len(b.items) for b in pending)
                    raise Unreachable(f"{signal} endpoint failed {self._attempts} times: {result.message}")
                time.sleep(backoff.next(result.retry_after))
            if result.outcome is Outcome.OK:
                self.stats.sent[signal] += len(current.items)
            elif len(current.items) > 1:
                pending[:0] = current.split()  # isolate the line(s) the endpoint refuses
            else:
                self.stats.rejected += 1
                self._report(f"{path} line {current.items[0][0] + 1}: rejected: {result.message}")
