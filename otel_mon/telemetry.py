"""Build the MeterProvider, its one reader and the LoggerProvider with the logs bridge; collect and shut down.

One reader (``LoopReader``), collected by the agent's loop right after each host refresh, so every batch holds
exactly one fresh snapshot; the batch feeds the spool exporter and /metrics (kept by ``LatestBatch``, rendered
by ``otel_mon.exposition`` through its own registry, so prometheus_client's python ``process_*`` series never
collide with our ``process.*``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence

# The OTel logs API and SDK exist only as ``_logs`` modules in the pinned release set (no public module yet).
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    Exemplar,
    ExemplarReservoir,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
)
from opentelemetry.sdk.metrics.export import Metric, MetricExporter, MetricReader, MetricsData
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

from otel_mon.exposition import BatchRegistry
from otel_mon.host.table import METRICS
from otel_mon.instruments import Instruments
from otel_mon.logsetup import NOT_ABOUT_ITS_OWN_PATH
from otel_mon.metric_spec import MetricSpec
from otel_mon.preaggregated import with_metrics

log = logging.getLogger(__name__)



LABELLED_RESOURCE_ATTRIBUTES = frozenset({"host.name", "service.name"})


class NoExemplars(ExemplarReservoir):
    """The reservoir of every observable instrument: exemplars tie a measurement to the span it was made in,
    and an observable callback runs in no span, so the SDK's default reservoir only ever returns [] -- after
    a lock, a sort and a reset per point per collection (what that cost is in the README's cycle benchmark)."""

    def offer(self, value: float, time_unix_nano: int, attributes: object, context: object) -> None:
        return None

    def collect(self, point_attributes: object) -> list[Exemplar]:
        return []


def _no_exemplars(_aggregation: type) -> type[NoExemplars]:
    return NoExemplars


def no_exemplar_views() -> list[View]:
    """One view per observable instrument kind (each instrument matches exactly one; histograms keep theirs)."""
    return [View(instrument_type=kind, exemplar_reservoir_factory=_no_exemplars)
            for kind in (ObservableCounter, ObservableGauge, ObservableUpDownCounter)]


class LatestBatch:
    """The loop's latest batch for ``/metrics``: the agent collects the SDK once per interval (``LoopReader``)
    and hands the batch here; ``otel_mon.exposition`` renders it (once per batch, whatever the scrapes). A
    scrape therefore never runs a second SDK aggregation, let alone a psutil read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latest: MetricsData | None = None  # what otel_mon.exposition renders /metrics from
        self.generation = 0  # collections received: what /metrics bodies are cached against

    def update(self, data: MetricsData) -> None:
        with self._lock:
            self.latest = data
            self.generation += 1


class LoopReader(MetricReader):
    """The SDK reader the agent loop pulls once per interval; it hands each batch to /metrics and the exporters."""

    def __init__(self, exporters: Sequence[MetricExporter], batches: LatestBatch | None = None) -> None:
        # The SDK's default temporality is cumulative for every instrument kind: each batch (a spool line, a
        # /metrics render) then stands on its own for replay, report, a restarted forwarder and Prometheus.
        super().__init__()
        self.exporters = list(exporters)
        self.batches = batches
        self.extra: list[Callable[[], Sequence[Metric]]] = []  # pre-aggregated metrics (otel_mon/preaggregated.py)
        self._extra_failed = False

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> None:
        if metrics_data is None:
            return
        for source in self.extra:
            try:
                metrics_data = with_metrics(metrics_data, source())
            except Exception:  # a bad pre-aggregated point must not cost the batch: logged once
                if not self._extra_failed:
                    self._extra_failed = True
                    log.exception("pre-aggregated metrics left out of the batch (logged once)")
        if self.batches is not None:
            self.batches.update(metrics_data)
        for exporter in self.exporters:
            try:
                exporter.export(metrics_data, timeout_millis=timeout_millis)
            except Exception:  # an exporter must never break collection for the others
                log.exception("metric exporter failed", extra={"exporter": type(exporter).__name__})

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        for exporter in self.exporters:
            exporter.shutdown(timeout_millis=timeout_millis)


def build_logs(resource: Resource, exporters: Sequence[LogRecordExporter]) -> tuple[LoggerProvider, logging.Handler]:
    """The logs bridge: Python logging -> LogBridge -> LoggerProvider -> spool on the collection tick.

    The records wait in memory until the agent's loop calls ``force_flush`` after a collection (see logbatch).
    The bridge never takes the logs forwarder's own records (``logsetup.NotAboutItsOwnPath``): built in, so
    no caller can wire the loop back.
    """
    from otel_mon.logbatch import TickLogRecordProcessor
    from otel_mon.logbridge import LogBridge

    provider = LoggerProvider(resource=resource)
    for exporter in exporters:
        provider.add_log_record_processor(TickLogRecordProcessor(exporter))
    bridge = LogBridge(provider, level=logging.INFO)
    bridge.addFilter(NOT_ABOUT_ITS_OWN_PATH)
    return provider, bridge


class Telemetry:
    def __init__(self, resource: Resource, enabled: Callable[[MetricSpec], bool],
                 exporters: Sequence[MetricExporter] = (),
                 buckets: Mapping[str, Sequence[float]] | None = None) -> None:
        """``enabled`` picks the metrics to create; ``buckets`` gives histograms their boundaries by name."""
        # /metrics has its own registry: no prometheus_client default process_*/python_* series beside ours.
        self.batches = LatestBatch()
        # /metrics is rendered from the batch by otel_mon.exposition (names from otel_mon.promnames).
        self.registry = BatchRegistry(lambda: self.batches.latest, LABELLED_RESOURCE_ATTRIBUTES.__contains__)
        self.reader = LoopReader(exporters, self.batches)
        views = [View(instrument_name=name, aggregation=ExplicitBucketHistogramAggregation(bounds))
                 for name, bounds in (buckets or {}).items()]
        # The agent records nothing inside a sampled span, so the default trace-based exemplar filter never
        # samples: switching it off skips its span lookup per measurement; batches are unchanged.
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[self.reader],
                                            views=[*views, *no_exemplar_views()],
                                            exemplar_filter=AlwaysOffExemplarFilter())
        meter = self.meter_provider.get_meter("otel_mon", schema_url="https://opentelemetry.io/schemas/1.44.0")
        self.instruments = Instruments(meter, enabled, METRICS)

    def export(self) -> None:
        """The interval's one SDK collection: to /metrics, the spool and any other exporter."""
        self.reader.collect()

    def shutdown(self) -> None:
        self.meter_provider.shutdown()
