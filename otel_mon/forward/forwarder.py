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

from otel_mon.forward.config import SIGNALS, OtlpConfig, Signal, resolve
from otel_mon.forward.signal_forwarder import SignalForwarder
from otel_mon.instruments import Point

if TYPE_CHECKING:
    from otel_mon.instruments import Instruments


METRIC_NAMES = ("otel_mon.forward.sent", "otel_mon.forward.retries", "otel_mon.forward.failed",
                "otel_mon.forward.backlog.records", "otel_mon.forward.backlog.size", "otel_mon.forward.lag")


def register_metrics(instruments: Instruments, forwarders: Iterable[Forwarder]) -> None:
    """Provide the ``otel_mon.forward.*`` rows from every forwarder (OTLP and remote write share them)."""
    sources = list(forwarders)
    for name in METRIC_NAMES:
        instruments.provide(name, lambda n=name: [p for f in sources for p in f.points(n)])  # type: ignore[misc]


class Forwarder:
    """Follow ``<data_dir>/<signal>/`` for every signal that has an endpoint and deliver it over OTLP."""

    # Extra attributes on this forwarder's otel_mon.forward.* points. None for OTLP: its series keep the
    # identity they always had; remote write adds otel_mon.destination="remote_write".
    labels: Mapping[str, str] = {}

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

    def listen(self, add_listener: Callable[[Callable[[Signal], None]], None]) -> None:
        """Be woken by the spool writer after each write (``add_listener`` is the writer's): the threads then
        poll only as a fallback, once a minute instead of every ``poll_interval``."""
        add_listener(self.notify)
        for forwarder in self.signals.values():
            forwarder.writer_notifies = True

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
        """Provide the ``otel_mon.forward.*`` rows of the metric table (this forwarder alone)."""
        register_metrics(instruments, [self])

    def points(self, name: str) -> list[Point]:
        """The points of metric ``name`` (one of ``METRIC_NAMES``)."""
        if name == "otel_mon.forward.failed":
            return [
                (count, {"otel_mon.signal": signal, "otel_mon.reason": reason, **self.labels})
                for signal, forwarder in self.signals.items()
                for reason, count in sorted(forwarder.failed.items())
            ]
        per_signal: dict[str, Callable[[SignalForwarder], float]] = {
            "otel_mon.forward.sent": lambda f: f.counters.sent,
            "otel_mon.forward.retries": lambda f: f.counters.retries,
            "otel_mon.forward.backlog.records": lambda f: f.backlog().records,
            "otel_mon.forward.backlog.size": lambda f: f.backlog().size,
            "otel_mon.forward.lag": lambda f: f.backlog().lag,
        }
        value = per_signal[name]
        return [(value(f), {"otel_mon.signal": signal, **self.labels}) for signal, f in self.signals.items()]

    def lag(self) -> float:
        """Age of the oldest undelivered line over all signals (the ``forward.lag`` health reading)."""
        return max((f.backlog().lag for f in self.signals.values()), default=0.0)

    # ------------------------------------------------------------------------------------------ health

    def check(self) -> None:
        """Once per collection interval (the agent's loop): decide each signal's ``degraded`` state."""
        for forwarder in self.signals.values():
            forwarder.check()

    def status(self) -> dict[str, object]:
        """The ``forward`` part of /health: per-signal state, no credentials."""
        signals = {name: forwarder.status() for name, forwarder in self.signals.items()}
        return {
            "enabled": bool(signals),
            "degraded": any(bool(s["degraded"]) for s in signals.values()),
            "wedged": any(bool(s["wedged"]) for s in signals.values()),
            "signals": signals,
        }
