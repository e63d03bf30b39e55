"""A spool line (OTLP-JSON ``MetricsData``) as Prometheus series with the line's own timestamps.

Names and labels must be the ones ``/metrics`` serves, so one dashboard and one rule file work on both paths.
The line is therefore decoded back into the SDK's ``MetricsData`` and translated by the very translator
``/metrics`` uses (opentelemetry-exporter-prometheus, with the same resource-attribute filter), rather than by
a second set of naming rules; ``tests/stack/test_stack_rw_units.py`` holds the two outputs equal. What /metrics
cannot carry is added here: each point's original timestamp, and ``job`` / ``instance`` from the resource
(``service.namespace/service.name`` and ``service.instance.id``, as the Collector's ``prometheusremotewrite``
exporter and Prometheus's OTLP receiver derive them), since no scrape config assigns them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_mon.forward.rw_wire import Series
from otel_mon.spool.format import attributes, items, metric_kinds, to_float

# The resource attributes /metrics turns into labels (otel_mon.telemetry.LABELLED_RESOURCE_ATTRIBUTES).
LABELLED_RESOURCE_ATTRIBUTES = frozenset({"host.name", "service.name"})

_CARRIED = ("sum", "gauge", "histogram")  # what remote write 1.0 can carry (no exponential histograms, summaries)
_CUMULATIVE = int(AggregationTemporality.CUMULATIVE)
_TEMPORALITY_NAMES = {"AGGREGATION_TEMPORALITY_CUMULATIVE": 2, "AGGREGATION_TEMPORALITY_DELTA": 1}


class Unsupported(ValueError):
    """A line with nothing Prometheus can store (logs, or only metric kinds remote write 1.0 cannot carry)."""


def series_of_line(data: Mapping[str, Any], extra_labels: Mapping[str, str] | None = None) -> list[Series]:
    """Every sample of one spool line: labels sorted, empty values dropped (as a scrape drops them)."""
    # The /metrics translator itself (same pin); why its private name: telemetry.PrometheusBridge.
    from opentelemetry.exporter.prometheus import _CustomCollector

    out: list[Series] = []
    extra = dict(extra_labels or {})
    for resource_attrs, metrics_data, time_ns in _groups(data):
        identity = _identity(resource_attrs)
        translator = _CustomCollector(resource_attribute_filter=LABELLED_RESOURCE_ATTRIBUTES.__contains__)
        translator.add_metrics_data(metrics_data)
        millis = time_ns // 1_000_000
        for family in translator.collect():
            for sample in family.samples:
                labels = {k: v for k, v in sample.labels.items() if v != ""}
                for key, value in (*identity.items(), *extra.items()):
                    labels.setdefault(key, value)
                labels["__name__"] = sample.name
                out.append((tuple(sorted(labels.items())), float(sample.value), millis))
    return out


def _identity(resource: Mapping[str, Any]) -> dict[str, str]:
    name = str(resource.get("service.name", ""))
    namespace = str(resource.get("service.namespace", ""))
    out = {"job": f"{namespace}/{name}" if namespace and name else name,
           "instance": str(resource.get("service.instance.id", ""))}
    return {k: v for k, v in out.items() if v}


def _groups(data: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], MetricsData, int]]:
    """Per resource and per point timestamp (one collection has one), a ``MetricsData`` of the SDK."""
    found = False
    for rm in items(data, "resourceMetrics"):
        found = True
        resource_attrs = attributes(_dict(rm, "resource").get("attributes"))
        resource = Resource(resource_attrs)
        by_time: dict[int, list[ScopeMetrics]] = {}
        for sm in items(rm, "scopeMetrics"):
            scope_node = _dict(sm, "scope")
            scope = InstrumentationScope(str(scope_node.get("name", "")), scope_node.get("version") or None,
                                         sm.get("schemaUrl") or None,
                                         attributes(scope_node.get("attributes")) or None)
            per_time: dict[int, list[Metric]] = {}
            for metric in items(sm, "metrics"):
                for time_ns, sdk_metric in _metric(metric):
                    per_time.setdefault(time_ns, []).append(sdk_metric)
            for time_ns, metrics in per_time.items():
                by_time.setdefault(time_ns, []).append(ScopeMetrics(scope, metrics, str(sm.get("schemaUrl", ""))))
        for time_ns, scopes in sorted(by_time.items()):
            batch = MetricsData([ResourceMetrics(resource, scopes, str(rm.get("schemaUrl", "")))])
            yield resource_attrs, batch, time_ns
    if not found:
        raise Unsupported("no resourceMetrics in the line")


def _metric(node: dict[str, Any]) -> Iterator[tuple[int, Metric]]:
    """The metric split by point timestamp; kinds remote write 1.0 cannot carry are left out."""
    name, unit, description = str(node.get("name", "")), str(node.get("unit", "")), str(node.get("description", ""))
    for kind, body in metric_kinds(node):
        if kind not in _CARRIED:
            continue
        by_time: dict[int, list[Any]] = {}
        for dp in items(body, "dataPoints"):
            point = _histogram_point(dp) if kind == "histogram" else _number_point(dp)
            if point is not None:
                by_time.setdefault(point.time_unix_nano, []).append(point)
        temporality = AggregationTemporality(_temporality(body.get("aggregationTemporality")))
        for time_ns, points in by_time.items():
            data: Sum | Gauge | Histogram
            if kind == "sum":
                data = Sum(points, temporality, bool(body.get("isMonotonic", False)))
            elif kind == "gauge":
                data = Gauge(points)
            else:
                data = Histogram(points, temporality)
            yield time_ns, Metric(name, description, unit, data)


def _temporality(raw: Any) -> int:
    if isinstance(raw, str):
        return _TEMPORALITY_NAMES.get(raw, _CUMULATIVE) if not raw.isdigit() else int(raw)
    return int(raw) if isinstance(raw, int) and raw in (1, 2) else _CUMULATIVE


def _number_point(dp: Mapping[str, Any]) -> NumberDataPoint | None:
    if "asInt" in dp:
        value: float | int = int(dp["asInt"])
    elif "asDouble" in dp:
        value = to_float(dp["asDouble"])
    else:
        value = 0  # proto JSON leaves a zero out
    time_ns = int(dp.get("timeUnixNano", 0) or 0)
    if time_ns <= 0:
        return None
    return NumberDataPoint(attributes(dp.get("attributes")), int(dp.get("startTimeUnixNano", 0) or 0), time_ns,
                           value)


def _histogram_point(dp: Mapping[str, Any]) -> HistogramDataPoint | None:
    time_ns = int(dp.get("timeUnixNano", 0) or 0)
    if time_ns <= 0:
        return None
    return HistogramDataPoint(
        attributes(dp.get("attributes")), int(dp.get("startTimeUnixNano", 0) or 0), time_ns,
        int(dp.get("count", 0) or 0), to_float(dp.get("sum", 0.0)),
        [int(c) for c in dp.get("bucketCounts") or []], [to_float(b) for b in dp.get("explicitBounds") or []],
        to_float(dp.get("min", "NaN")), to_float(dp.get("max", "NaN")),
    )


def _dict(node: Any, key: str) -> dict[str, Any]:
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, dict) else {}
