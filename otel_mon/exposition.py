"""``/metrics`` text straight from the collection batch: Prometheus text 0.0.4 and OpenMetrics 1.0.

What opentelemetry-exporter-prometheus' translator and prometheus_client's encoders produce together
(tests/http/test_exposition.py holds them side by side; two deliberate differences: empty scope version and
schema URL labels are left out, and values are printed at 15 significant digits), at a fraction of the cost:
their path re-derives every label name and escapes every label value of every sample on every render (the
README's benchmarks hold the figures), while series are the same from one collection to the next. Here a
series' label text is built once, on first sight, and each render only formats the values. Names, kinds and
labels come from ``otel_mon.promnames`` (remote write's namer too); this module only lays them out as text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    Sum,
)
from prometheus_client import CollectorRegistry

from otel_mon import promnames
from otel_mon.exposition_text import braces, go_float, help_text, label_value, sample_value
from otel_mon.promnames import label_name, le_text, scope_labels

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class _Family:
    """One metric's fixed text: its Prometheus name, kind and header lines in both formats."""

    name: str
    kind: str  # counter | gauge | histogram
    sample: str  # the sample name (``_total`` for counters; histograms add their own suffixes)
    text_header: str
    om_header: str


def _family(metric: Metric) -> _Family | None:
    data = metric.data
    if isinstance(data, Sum):
        named = promnames.family(metric.name, metric.unit or "", "sum", data.is_monotonic,
                       data.aggregation_temporality == AggregationTemporality.CUMULATIVE)
    elif isinstance(data, Gauge):
        named = promnames.family(metric.name, metric.unit or "", "gauge")
    elif isinstance(data, Histogram):
        named = promnames.family(metric.name, metric.unit or "", "histogram")
    else:
        return None
    if named is None:  # not reached for these three kinds; a kind without a family is not exposed
        return None
    name, kind, unit, exposed = named.name, named.kind, named.unit, named.sample
    doc = metric.description or ""
    text_header = f"# HELP {exposed} {help_text(doc, False)}\n# TYPE {exposed} {kind}\n"
    om_header = f"# HELP {name} {help_text(doc, True)}\n# TYPE {name} {kind}\n"
    if unit:
        om_header += f"# UNIT {name} {unit}\n"
    return _Family(name, kind, exposed, text_header, om_header)


class Exposition:
    """Renders a batch in both formats; keeps what does not change between collections (names, label text).

    ``resource_labels`` picks the resource attributes copied as labels onto every series (``host.name`` and
    ``service.name`` here). Caches are bounded by the series the host has; a series that disappears costs
    only its entry until ``MAX_CACHED`` forces a reset.
    """

    MAX_CACHED = 100_000

    def __init__(self, resource_labels: Callable[[str], bool]) -> None:
        self._resource_labels = resource_labels
        self._lock = threading.Lock()
        self._families: dict[tuple[str, str, str, type, bool, int], _Family | None] = {}
        self._labels: dict[tuple[Any, ...], dict[str, str]] = {}
        self._label_text: dict[tuple[Any, ...], str] = {}
        self._series: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[list[Any], list[str]]] = {}
        self._target: tuple[str, str] | None = None
        self._rendered: tuple[MetricsData, list[tuple[_Family, list[str]]]] | None = None

    def render(self, data: MetricsData | None, openmetrics: bool) -> bytes:
        """The body for ``data`` (None before the first collection) in the chosen format."""
        if data is None:
            return b"# EOF\n" if openmetrics else b""
        with self._lock:
            families = self._samples(data)
            target = self._target
        out: list[str] = []
        if target is not None:
            out.append(target[1] if openmetrics else target[0])
        for family, lines in families:
            out.append(family.om_header if openmetrics else family.text_header)
            out.extend(lines)
        if openmetrics:
            out.append("# EOF\n")
        return "".join(out).encode()

    def _samples(self, data: MetricsData) -> list[tuple[_Family, list[str]]]:
        """Sample lines per family for ``data``, rendered once per batch for both formats."""
        if self._rendered is not None and self._rendered[0] is data:
            return self._rendered[1]
        if len(self._labels) > self.MAX_CACHED or len(self._label_text) > self.MAX_CACHED:
            self._labels.clear()
            self._label_text.clear()
            self._series.clear()
        if self._target is None:
            self._target = self._target_info(data)
        merged: dict[tuple[str, str, str], tuple[_Family, list[str]]] = {}
        for rm in data.resource_metrics:
            resource = tuple((label_name(k), label_value(v)) for k, v in rm.resource.attributes.items()
                             if self._resource_labels(k))
            for sm in rm.scope_metrics:
                scope = sm.scope
                scope_attrs = scope_labels(scope.name, scope.version, scope.schema_url, scope.attributes)
                fixed = resource + tuple((k, label_value(v)) for k, v in scope_attrs)
                for metric in sm.metrics:
                    self._metric(metric, fixed, merged)
        result = list(merged.values())
        self._rendered = (data, result)
        return result

    def _metric(self, metric: Metric, fixed: tuple[tuple[str, str], ...],
                merged: dict[tuple[str, str, str], tuple[_Family, list[str]]]) -> None:
        data = metric.data
        key = (metric.name, metric.description or "", metric.unit or "", type(data),
               bool(getattr(data, "is_monotonic", False)), int(getattr(data, "aggregation_temporality", 0)))
        if key not in self._families:
            self._families[key] = _family(metric)
        family = self._families[key]
        if family is None:
            log.warning("unsupported metric data for /metrics: %s", type(data).__name__)
            return
        slot = merged.setdefault((family.name, metric.description or "", family.kind), (family, []))
        lines = slot[1]
        points = data.data_points
        sample = family.sample
        if family.kind != "histogram":
            texts = self._series_texts(metric.name, fixed, points)
            lines.extend([f"{sample}{text} {sample_value(point.value)}\n"  # type: ignore[attr-defined]
                          for text, point in zip(texts, points, strict=True)])
            return
        labelled = [self._point_labels(fixed, point.attributes) for point in points]
        label_keys = _union(labelled)
        for (labels, _), point in zip(labelled, points, strict=True):
            assert isinstance(point, HistogramDataPoint)  # nosec B101  # narrows the type; histograms only reach here
            full = {k: labels.get(k, "") for k in label_keys}
            total = 0
            bounds: Iterable[Any] = chain(point.explicit_bounds, ["+Inf"])
            first = None
            for bound, count in zip(bounds, point.bucket_counts, strict=False):
                total += count
                first = f"{bound}" if first is None else first
                lines.append(f"{sample}_bucket{braces({**full, 'le': le_text(bound)})} {go_float(total)}\n")
            if first is not None and float(first) >= 0 and point.sum is not None:
                plain = braces(full)
                lines.append(f"{sample}_count{plain} {go_float(total)}\n")
                lines.append(f"{sample}_sum{plain} {sample_value(point.sum)}\n")

    def _series_texts(self, name: str, fixed: tuple[tuple[str, str], ...], points: Any) -> list[str]:
        """The label text of each point of metric ``name``, reused while its points carry the same attribute
        objects as last time: the SDK hands every collection of a series the same (never mutated) mapping."""
        attrs = [point.attributes for point in points]
        cached = self._series.get((name, fixed))
        if cached is not None and len(cached[0]) == len(attrs) and all(
                a is b for a, b in zip(cached[0], attrs, strict=True)):
            return cached[1]
        labelled = [self._point_labels(fixed, a) for a in attrs]
        label_keys = _union(labelled)
        texts = [self._text(label_keys, labels, cache_key) for labels, cache_key in labelled]
        self._series[(name, fixed)] = (attrs, texts)  # holding ``attrs`` keeps their identities unique
        return texts

    def _point_labels(self, fixed: tuple[tuple[str, str], ...], attributes: Any) -> tuple[dict[str, str], Any]:
        """Sanitised, escaped labels of one point (resource, scope, then its own attributes) and its cache key."""
        items = tuple(attributes.items()) if attributes else ()
        # Types in the key: 1, 1.0 and True are equal (and hash alike) but render differently.
        cache_key: Any = (fixed, items, tuple(map(type, attributes.values())) if attributes else ())
        try:
            cached = self._labels.get(cache_key)
        except TypeError:  # an unhashable attribute value (a list): build it every time
            cache_key, cached = None, None
        if cached is None:
            cached = dict(fixed)
            for k, v in items:
                cached[label_name(k)] = label_value(v)
            if cache_key is not None:
                self._labels[cache_key] = cached
        return cached, cache_key

    def _text(self, label_keys: tuple[str, ...], labels: dict[str, str], cache_key: Any) -> str:
        if cache_key is None:
            return braces({k: labels.get(k, "") for k in label_keys})
        full_key = (label_keys, cache_key)
        text = self._label_text.get(full_key)
        if text is None:
            text = self._label_text[full_key] = braces({k: labels.get(k, "") for k in label_keys})
        return text

    def _target_info(self, data: MetricsData) -> tuple[str, str]:
        """``target_info`` from the first batch's resource (the resource does not change while running)."""
        attrs: dict[str, Any] = {}
        for rm in data.resource_metrics:
            attrs = {**attrs, **rm.resource.attributes}
        labels = {label_name(k): label_value(v) for k, v in attrs.items()}
        line = f"target_info{braces(labels)} 1.0\n"
        return (f"# HELP target_info Target metadata\n# TYPE target_info gauge\n{line}",
                f"# HELP target Target metadata\n# TYPE target info\n{line}")


def _union(labelled: list[tuple[dict[str, str], Any]]) -> tuple[str, ...]:
    """Every label name of a metric's points, sorted: a point without one shows it empty."""
    keys: set[str] = set()
    for labels, _ in labelled:
        keys.update(labels)
    return tuple(sorted(keys))


class BatchRegistry(CollectorRegistry):
    """The /metrics registry: ``http.render`` calls ``render``; it holds no prometheus_client collectors
    (its own ``process_*`` / ``python_*`` series would collide with our ``process.*``)."""

    def __init__(self, batch: Callable[[], MetricsData | None], resource_labels: Callable[[str], bool]) -> None:
        super().__init__(auto_describe=False)
        self._batch = batch
        self.exposition = Exposition(resource_labels)

    def render(self, openmetrics: bool) -> bytes:
        return self.exposition.render(self._batch(), openmetrics)
