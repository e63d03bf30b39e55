"""Build the MeterProvider, its readers and the LoggerProvider from the settings; flush and shut down.

Readers: the Prometheus reader (pull, on its own registry so prometheus_client's python ``process_*`` series
do not collide with our ``process.*``) and a push reader that the agent's loop collects right after each host
refresh, so every exported batch holds exactly one fresh snapshot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricReader,
    MetricsData,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from otel_mon.config import Settings
from otel_mon.instruments import Instruments
from otel_mon.probes.runner import PROBE_DURATION_BUCKETS
from otel_mon.semconv import HOST_DOMAINS, MetricSpec

log = logging.getLogger(__name__)



class SnapshotCache:
    """A prometheus_client collector serving the Prometheus reader's families once per host snapshot.

    Between two collections every observable value is the same, so only the first scrape after a refresh
    pays for the SDK collection and translation; later scrapes in the interval reuse its families.
    """

    def __init__(self, inner: CollectorRegistry, key: Callable[[], object]) -> None:
        self.inner = inner
        self.key = key
        self._lock = threading.Lock()
        self._cached_key: object = object()
        self._families: list[Metric] = []

    def collect(self) -> list[Metric]:
        key = self.key()
        with self._lock:
            if key != self._cached_key or key is None:
                self._families = list(self.inner.collect())
                self._cached_key = key
            return self._families


class PushReader(MetricReader):
    """Hands every ``collect()`` to its exporters; collected by the agent loop, not by a timer of its own."""

    def __init__(self, exporters: Sequence[MetricExporter]) -> None:
        super().__init__(preferred_temporality={k: AggregationTemporality.CUMULATIVE for k in _INSTRUMENT_TYPES})
        self.exporters = list(exporters)

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> None:
        if metrics_data is None:
            return
        for exporter in self.exporters:
            try:
                exporter.export(metrics_data, timeout_millis=timeout_millis)
            except Exception:  # an exporter must never break collection for the others
                log.exception("metric exporter failed", extra={"exporter": type(exporter).__name__})

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        for exporter in self.exporters:
            exporter.shutdown(timeout_millis=timeout_millis)


def _instrument_types() -> list[type]:
    from opentelemetry.sdk.metrics import (
        Counter,
        Histogram,
        ObservableCounter,
        ObservableGauge,
        ObservableUpDownCounter,
        UpDownCounter,
    )

    return [Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge]


_INSTRUMENT_TYPES = _instrument_types()


def build_logs(resource: Resource, exporters: Sequence[LogRecordExporter]) -> tuple[LoggerProvider, logging.Handler]:
    """The logs bridge: Python logging -> OTel LoggingHandler -> LoggerProvider -> batch -> spool."""
    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    provider = LoggerProvider(resource=resource)
    for exporter in exporters:
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=1000))
    return provider, LoggingHandler(level=logging.INFO, logger_provider=provider)


def metric_enabled(settings: Settings, spec: MetricSpec) -> bool:
    if spec.name in settings.metrics:
        return settings.metrics[spec.name]
    if spec.domain in HOST_DOMAINS and not settings.collector_enabled(spec.domain):
        return False
    return spec.default or (spec.domain == "connections" and settings.collector_enabled("connections"))


class Telemetry:
    def __init__(
        self,
        settings: Settings,
        resource: Resource,
        exporters: Sequence[MetricExporter] = (),
        cache_key: Callable[[], object] | None = None,
    ) -> None:
        # The reader registers on its own registry (no prometheus_client default process_*/python_* series);
        # /metrics serves `registry`, which caches that per snapshot when a cache key is given.
        self.reader_registry = CollectorRegistry(auto_describe=False)
        self.prometheus = PrometheusMetricReader(registry=self.reader_registry)
        if cache_key is None:
            self.registry = self.reader_registry
        else:
            self.registry = CollectorRegistry(auto_describe=False)
            self.registry.register(SnapshotCache(self.reader_registry, cache_key))  # type: ignore[arg-type]
        self.push = PushReader(exporters)
        views = [View(instrument_name="otel_mon.probe.duration",
                      aggregation=ExplicitBucketHistogramAggregation(PROBE_DURATION_BUCKETS))]
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[self.prometheus, self.push],
                                            views=views)
        meter = self.meter_provider.get_meter("otel_mon", schema_url="https://opentelemetry.io/schemas/1.44.0")
        self.instruments = Instruments(meter, lambda spec: metric_enabled(settings, spec))

    def export(self) -> None:
        """Collect once for the push reader (spool and any other exporter)."""
        self.push.collect()

    def shutdown(self) -> None:
        self.meter_provider.shutdown()
