"""The OTLP forwarder: one ``SignalForwarder`` thread per forwarded signal, and their metrics and health.

The agent builds it from the ``otlp`` settings and the spool's data directory, starts it, calls ``notify``
after each spool write, and stops it on shutdown. Everything it sends comes from the spool; it never holds
data the spool does not have.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from otel_mon.forward.backlog import Backlog
from otel_mon.forward.config import SIGNALS, OtlpConfig, Signal, resolve
from otel_mon.forward.signal_forwarder import SignalForwarder

if TYPE_CHECKING:
    from otel_mon.instruments import Instruments

Point = tuple[float, Mapping[str, str | int | float | bool]]


class Forwarder:
    """Follow ``<data_dir>/<signal>/`` for every signal that has an endpoint and deliver it over OTLP."""

    def __init__(self, config: OtlpConfig, data_dir: str | Path, signals: Iterable[Signal] = SIGNALS) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.signals: dict[Signal, SignalForwarder] = {}
        for signal in signals:
            target = resolve(config, signal)
            if target is not None:
                self.signals[signal] = SignalForwarder(config, target, self.data_dir)

    def start(self) -> None:
        for forwarder in self.signals.values():
            forwarder.start()

    def notify(self, signal: Signal | None = None) -> None:
        """Wake the forwarder of ``signal`` (all when None): the spool has new lines."""
        for name, forwarder in self.signals.items():
            if signal is None or signal == name:
                forwarder.notify()

    def stop(self, timeout: float = 5.0) -> bool:
        """Send what can be sent within ``timeout`` (not while the endpoint fails), then end the threads.

        Returns False when a thread did not end in time (it is a daemon and dies with the process).
        """
        started = time.monotonic()
        # Leave a margin for the last request to return and the threads to close their connections.
        deadline = started + max(0.0, timeout * 0.8)
        for forwarder in self.signals.values():
            forwarder.request_stop(deadline)
        ended = True
        for forwarder in self.signals.values():
            ended = forwarder.join(timeout - (time.monotonic() - started)) and ended
        return ended

    # ------------------------------------------------------------------------------------------ metrics

    def register_metrics(self, instruments: Instruments) -> None:
        """Provide the ``otel_mon.forward.*`` rows of the metric table."""
        instruments.provide("otel_mon.forward.sent", self._per_signal(lambda f: f.sent))
        instruments.provide("otel_mon.forward.retries", self._per_signal(lambda f: f.retries))
        instruments.provide("otel_mon.forward.failed", self._failed_points)
        instruments.provide("otel_mon.forward.backlog.records", self._per_backlog(lambda b: b.records))
        instruments.provide("otel_mon.forward.backlog.size", self._per_backlog(lambda b: b.size))
        instruments.provide("otel_mon.forward.lag", self._per_backlog(lambda b: b.lag))

    def _per_signal(self, value: Callable[[SignalForwarder], float]) -> Callable[[], list[Point]]:
        return lambda: [(value(f), {"otel_mon.signal": name}) for name, f in self.signals.items()]

    def _per_backlog(self, value: Callable[[Backlog], float]) -> Callable[[], list[Point]]:
        return lambda: [(value(f.backlog()), {"otel_mon.signal": name}) for name, f in self.signals.items()]

    def _failed_points(self) -> list[Point]:
        return [
            (count, {"otel_mon.signal": name, "otel_mon.reason": reason})
            for name, forwarder in self.signals.items()
            for reason, count in sorted(forwarder.failed.items())
        ]

    def lag(self) -> float:
        """Age of the oldest undelivered line over all signals (the ``forward.lag`` health reading)."""
        return max((f.backlog().lag for f in self.signals.values()), default=0.0)

    # ------------------------------------------------------------------------------------------ health

    def check(self) -> None:
        """Once per collection interval (the agent's loop): decide each signal's ``degraded`` state."""
        for forwarder in self.signals.values():
            forwarder.check()

    def status(self) -> dict[str, object]:
        """The ``forward`` section of /health: per-signal state, no credentials."""
        signals = {name: forwarder.status() for name, forwarder in self.signals.items()}
        return {
            "enabled": bool(signals),
            "degraded": any(bool(s["degraded"]) for s in signals.values()),
            "wedged": any(bool(s["wedged"]) for s in signals.values()),
            "signals": signals,
        }
