"""Build OTel instruments from the metric table and route their callbacks to point providers.

Observable instruments are created once, from the metric table they are handed (``host/table.py``'s); a
callback never reads the host, it asks the provider registered for that name (the sampler's cached snapshot,
the spool's counters, ...). A provider that raises degrades only its own metric: the error is logged once
and the callback yields nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation

from otel_mon.metric_spec import MetricSpec

log = logging.getLogger(__name__)

AttrValue = str | int | float | bool
Point = tuple[float, Mapping[str, AttrValue]]
Provider = Callable[[], Iterable[Point]]


class Instruments:
    """Every enabled metric of the table as an instrument; providers plug in by name."""

    def __init__(self, meter: Meter, enabled: Callable[[MetricSpec], bool], table: Iterable[MetricSpec]) -> None:
        self._providers: dict[str, Provider] = {}
        self._failed: set[str] = set()
        self._lock = threading.Lock()
        self.histograms: dict[str, Histogram] = {}
        self.specs: dict[str, MetricSpec] = {}
        self._known: frozenset[str] = frozenset()
        self._meter = meter
        self._dynamic: set[str] = set()
        for spec in table:
            self._known |= {spec.name}
            if spec.name in self.specs or not enabled(spec):  # a name two domains share: one instrument
                continue
            self.specs[spec.name] = spec
            self._create(meter, spec)

    def _create(self, meter: Meter, spec: MetricSpec) -> None:
        kwargs: dict[str, Any] = {"name": spec.name, "unit": spec.unit, "description": spec.description}
        if spec.instrument == "histogram":
            self.histograms[spec.name] = meter.create_histogram(**kwargs)
            return
        callback = self._callback(spec.name)
        if spec.instrument == "counter":
            meter.create_observable_counter(callbacks=[callback], **kwargs)
        elif spec.instrument == "updowncounter":
            meter.create_observable_up_down_counter(callbacks=[callback], **kwargs)
        else:
            meter.create_observable_gauge(callbacks=[callback], **kwargs)

    def _callback(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            provider = self._providers.get(name)
            if provider is None:
                return []
            try:
                # No attributes as None, not {}: the SDK then skips cleaning and copying them (same point).
                return [Observation(value, dict(attrs) if attrs else None) for value, attrs in provider()]
            except Exception:  # a provider bug must not take the other metrics down
                if name not in self._failed:
                    self._failed.add(name)
                    log.exception("metric provider failed", extra={"metric": name})
                return []

        return observe

    def declare(self, name: str, instrument: str, description: str, provider: Provider) -> bool:
        """An instrument whose name comes from data (a textfile), created on first sight; False when ``name``
        is already an instrument (the table's names are never taken over)."""
        with self._lock:
            if name in self._dynamic:  # declared before (a reload's new sampler): route it to the new provider
                self._providers[name] = provider
                return True
            if name in self._known:
                return False
            self._known |= {name}
            self._dynamic.add(name)
        spec = MetricSpec(name, instrument, "", (), description, "dynamic")  # type: ignore[arg-type]
        self._create(self._meter, spec)
        self.provide(name, provider)
        return True

    def provide(self, name: str, provider: Provider) -> None:
        """Route the callback of ``name`` to ``provider``; names outside the table are a programming error."""
        if name not in self._known:
            raise KeyError(f"metric {name!r} is not declared in the metric table")
        with self._lock:
            self._providers[name] = provider

    def provide_many(self, names: Iterable[str], source: Callable[[str], Iterable[Point]]) -> None:
        for name in names:
            self.provide(name, lambda n=name: source(n))  # type: ignore[misc]

    def record(self, name: str, value: float, attributes: Mapping[str, AttrValue]) -> None:
        """Record into a synchronous histogram when it is enabled; a no-op otherwise."""
        histogram = self.histograms.get(name)
        if histogram is not None:
            histogram.record(value, dict(attributes))
