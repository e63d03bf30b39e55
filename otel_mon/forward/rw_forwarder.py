"""Remote write from the spool: the OTLP forwarder's loop with another parser, transport and cursor.

Everything about following the spool (cursor, rotation, gzip segments, backoff, drain rate, backlog, /health)
is ``SignalForwarder``'s; this module only says how a line becomes a request and how Prometheus' answers are
read. The remote write specification's rules: 2xx delivered; 5xx and 429 retried (the same batch, in order,
so the backlog keeps its timestamps); 400 means Prometheus refused these samples (out of order beyond the
window, out of bounds, a duplicate with another value): the batch is halved until the line refused alone is
isolated, which is logged, counted as ``rejected`` and skipped. 413 is treated like 400: the halves are smaller
requests, and a line refused alone will never pass.
401/403/404/405 refuse every batch: held and retried at backoff, as for OTLP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from otel_mon.forward.config import Signal, Target
from otel_mon.forward.forwarder import Forwarder
from otel_mon.forward.requests import MalformedLine, Record, decode_line
from otel_mon.forward.rw_config import RemoteWriteConfig
from otel_mon.forward.senders import HttpSender, Outcome, Result, Sender
from otel_mon.forward.signal_forwarder import SignalForwarder
from otel_mon.retry_after import parse_retry_after

CONSUMER = "remote_write"
_RETRY = {429}
_REJECT = {400, 413}


class RemoteWriteSender(HttpSender):
    """POSTs snappy-compressed ``WriteRequest`` bodies over a kept-alive connection (``HttpSender``'s)."""

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        from otel_mon.forward import rw_wire

        self._headers.update(rw_wire.HEADERS)
        self._compress = rw_wire.compress

    def send(self, body: bytes, timeout: float | None = None) -> Result:
        return super().send(self._compress(body), timeout)

    def _classify(self, status: int, reason: str, retry_after: str | None, content_type: str,
                  payload: bytes) -> Result:
        if 200 <= status < 300:
            return Result(Outcome.OK)
        text = " ".join(payload[:300].decode("utf-8", "replace").split())
        message = f"HTTP {status} {reason}: {text}"
        if status in _RETRY or status >= 500:
            return Result(Outcome.RETRY, message, parse_retry_after(retry_after))
        if status in _REJECT:
            return Result(Outcome.REJECT, message)
        return Result(Outcome.HOLD, message)


def make_parser(config: RemoteWriteConfig) -> Any:
    """A line -> ``Record`` whose payload is the line's serialized ``WriteRequest``."""
    from otel_mon.forward import rw_wire
    from otel_mon.forward.rw_series import series_of_line

    labels = dict(config.labels)

    def parse(signal: Signal, line: bytes) -> Record:
        series = series_of_line(decode_line(line), labels)
        if not series:
            raise MalformedLine("no samples Prometheus can store in this line")
        return Record(rw_wire.encode(series), min(ts for _, _, ts in series) / 1000.0, len(series), raw=line)

    return parse


def _sender(target: Target, _reconnect: tuple[float, float]) -> Sender:
    return RemoteWriteSender(target)


class RemoteWriteForwarder(Forwarder):
    """The ``metrics`` spool to one remote write URL; /health part ``remote_write``."""

    labels = {"otel_mon.destination": "remote_write"}

    def __init__(self, config: RemoteWriteConfig, data_dir: str | Path) -> None:
        self.config = config  # type: ignore[assignment]
        self.data_dir = Path(data_dir)
        self.signals = {}
        target = config.target()
        if target is not None:
            self.signals["metrics"] = SignalForwarder(config, target, self.data_dir, consumer=CONSUMER,
                                                      parse=make_parser(config), sender=_sender)

    def status(self) -> dict[str, object]:
        out = super().status()
        for signal in out["signals"].values():  # type: ignore[attr-defined]
            signal["protocol"] = "prometheus-remote-write/1.0"
        return out
