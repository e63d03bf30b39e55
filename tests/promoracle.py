"""The official OTel-to-Prometheus translation of a batch: opentelemetry-exporter-prometheus' public reader.

``PrometheusMetricReader`` on a registry of its own, fed the batch through ``_receive_metrics`` (the SDK's
hook every MetricReader implements: the SDK calls it with each collection); prometheus_client's encoders
write the text. The agent's deliberate differences are applied to the oracle's families, each named here:
empty ``otel_scope_version`` / ``otel_scope_schema_url`` labels left out (an empty label is no label in
Prometheus, whose own OTLP translation leaves them out), and values at 15 significant digits.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics.export import MetricsData
from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as om_format
from prometheus_client.samples import Sample

from otel_mon.telemetry import LABELLED_RESOURCE_ATTRIBUTES

DROPPED_WHEN_EMPTY = ("otel_scope_version", "otel_scope_schema_url")


def official_families(data: MetricsData) -> list[Metric]:
    """The exporter's families for ``data``, as they come (no differences applied)."""
    registry = CollectorRegistry(auto_describe=False)
    reader = PrometheusMetricReader(registry=registry,
                                    resource_attribute_filter=LABELLED_RESOURCE_ATTRIBUTES.__contains__)
    reader._receive_metrics(data)
    families = list(registry.collect())
    reader.shutdown()
    return families


def _agreed(sample: Sample) -> Sample:
    labels = {k: v for k, v in sample.labels.items() if not (k in DROPPED_WHEN_EMPTY and v == "")}
    value: Any = sample.value
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        rounded = float(f"{value:.15g}")
        value = rounded if abs(rounded) != float("inf") else value
    return sample._replace(labels=labels, value=value)


def agreed_families(data: MetricsData) -> list[Metric]:
    """The exporter's families with the agent's deliberate differences applied."""
    out = []
    for family in official_families(data):
        copy = Metric(family.name, family.documentation, family.type, family.unit)
        copy.samples = [_agreed(s) for s in family.samples]
        out.append(copy)
    return out


def oracle(data: MetricsData) -> tuple[bytes, bytes]:
    """(text, OpenMetrics) of the agreed families, by prometheus_client's encoders."""
    families = agreed_families(data)

    class Fixed:
        def collect(self) -> list[Metric]:
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Fixed())  # type: ignore[arg-type]
    return text_format.generate_latest(registry), om_format.generate_latest(registry)
