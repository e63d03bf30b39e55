"""A metrics batch as one spool line, byte for byte what the official OTLP-JSON encoder + ``lines.dumps`` write.

The official path builds a message object per data point, attribute and value, turns them into dicts and
serialises those (what that costs is in the README's cycle benchmark). The line's text is mostly the same from
one collection to the next (metric headers, every series' attributes), so this encoder keeps those fragments
and only formats values and timestamps. It covers what the agent emits (sums, gauges, explicit histograms;
attribute values str/bool/int/float; no exemplars); for anything else ``encode_line`` returns None and the
caller uses the official encoder, as it does when a single metric alone is over the line limit
(``encode_lines`` packs whole metrics into lines under it otherwise). tests/spool/test_spool_encoder.py
compares both encoders' bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from opentelemetry.sdk.metrics.export import Gauge, Histogram, HistogramDataPoint, Metric, MetricsData, Sum

T = TypeVar("T")

_dumps = json.dumps  # a str gives its JSON string (ASCII, escaped), as json.dumps of the whole line would


class _Unsupported(Exception):
    """Something only the official encoder handles (exemplars, list or bytes values, other metric kinds)."""


def _value(v: Any) -> str:
    """An OTLP ``AnyValue`` as JSON text (proto JSON: int64 as strings, special doubles as strings)."""
    if isinstance(v, bool):
        return '{"boolValue":true}' if v else '{"boolValue":false}'
    if isinstance(v, str):
        return '{"stringValue":' + _dumps(v) + "}"
    if isinstance(v, int):
        return '{"intValue":"' + str(v) + '"}'
    if isinstance(v, float):
        return '{"doubleValue":' + _double(v) + "}"
    raise _Unsupported(type(v).__name__)


def _double(v: float) -> str:
    if math.isnan(v):
        return '"NaN"'
    if math.isinf(v):
        return '"Infinity"' if v > 0 else '"-Infinity"'
    return repr(v)


def _attributes(attrs: Mapping[str, Any] | None) -> str:
    """``"attributes":[...]`` with its trailing comma, or nothing for no attributes."""
    if not attrs:
        return ""
    items = []
    for k, v in attrs.items():
        key = '"key":' + _dumps(k) + "," if k else ""
        items.append("{" + key + '"value":' + _value(v) + "}")
    return '"attributes":[' + ",".join(items) + "],"


def _number(v: Any) -> str:
    if isinstance(v, int):
        return '"asInt":"' + str(v) + '"'
    return '"asDouble":' + _double(v)


class LineEncoder:
    """Encodes batches; keeps attribute and metric-header fragments between calls (bounded)."""

    MAX_CACHED = 100_000

    def __init__(self) -> None:
        self._attrs: dict[tuple[Any, ...], str] = {}
        self._heads: dict[tuple[Any, ...], tuple[str, str, str]] = {}

    def encode_line(self, data: MetricsData) -> bytes | None:
        """The line (with its newline), b"" for an empty batch, None when only the official encoder will do."""
        if len(self._attrs) > self.MAX_CACHED:
            self._attrs.clear()
        try:
            return self._line(data)
        except _Unsupported:
            return None

    def encode_lines(self, data: MetricsData, limit: int) -> list[bytes] | None:
        """Lines of at most ``limit`` bytes: one line when it fits (``encode_line``'s bytes), else whole
        metrics packed greedily under copies of their resource and scope. None when only the official
        encoder will do, or when a single metric alone is over the limit (the official path splits it)."""
        line = self.encode_line(data)
        if line is None or len(line) <= limit:
            return None if line is None else ([line] if line else [])
        try:
            return self._split(data, limit)
        except _Unsupported:
            return None

    def _split(self, data: MetricsData, limit: int) -> list[bytes] | None:
        budget = limit - 1  # the newline
        lines: list[bytes] = []
        current: list[str] = []  # finished resource groups of the line being filled
        used = len('{"resourceMetrics":[]}')
        for rm in data.resource_metrics:
            rm_open = '{"resource":{' + self._attr_text(rm.resource.attributes).rstrip(",") + '},"scopeMetrics":['
            rm_close = "]" + (',"schemaUrl":' + _dumps(rm.resource.schema_url) if rm.resource.schema_url else "") + "}"
            for sm in rm.scope_metrics:
                head: list[str] = []
                self._scope(_NoMetrics(sm), head)
                sm_text = "".join(head)  # '{"scope":{...}[,"schemaUrl":...]}'
                cut = sm_text.rfind(',"schemaUrl":') if sm.scope is not None and sm.scope.schema_url else -1
                sm_open = (sm_text[:cut] if cut >= 0 else sm_text[:-1]) + ',"metrics":['
                sm_close = "]" + (sm_text[cut:] if cut >= 0 else "}")
                wrap = len(rm_open) + len(rm_close) + len(sm_open) + len(sm_close) + 1
                metrics: list[str] = []
                for metric in sm.metrics:
                    frag: list[str] = []
                    self._metric(metric, frag)
                    text = "".join(frag)
                    if wrap + len(text) + len('{"resourceMetrics":[]}') > budget:
                        return None  # one metric over the limit: the official path splits its points
                    if used + wrap + sum(len(m) + 1 for m in metrics) + len(text) + 1 > budget and (metrics or current):
                        if metrics:
                            current.append(rm_open + sm_open + ",".join(metrics) + sm_close + rm_close)
                        lines.append(('{"resourceMetrics":[' + ",".join(current) + "]}\n").encode("ascii"))
                        current, metrics, used = [], [], len('{"resourceMetrics":[]}')
                    metrics.append(text)
                if metrics:
                    group = rm_open + sm_open + ",".join(metrics) + sm_close + rm_close
                    current.append(group)
                    used += len(group) + 1
        if current:
            lines.append(('{"resourceMetrics":[' + ",".join(current) + "]}\n").encode("ascii"))
        return lines

    def _attr_text(self, attrs: Mapping[str, Any] | None) -> str:
        if not attrs:
            return ""
        try:
            # Types in the key: 1, 1.0 and True are equal (and hash alike) but encode differently.
            key = (tuple(attrs.items()), tuple(map(type, attrs.values())))
            text = self._attrs.get(key)
        except TypeError:  # unhashable values are unsupported anyway
            raise _Unsupported("unhashable attribute") from None
        if text is None:
            text = self._attrs[key] = _attributes(attrs)
        return text

    def _line(self, data: MetricsData) -> bytes:
        if not data.resource_metrics:
            return b""
        out: list[str] = ['{"resourceMetrics":[']
        _join(out, data.resource_metrics, self._resource)
        out.append("]}\n")
        return "".join(out).encode("ascii")

    def _resource(self, rm: Any, out: list[str]) -> None:
        out.append('{"resource":{' + self._attr_text(rm.resource.attributes).rstrip(",") + "}")
        if rm.scope_metrics:
            out.append(',"scopeMetrics":[')
            _join(out, rm.scope_metrics, self._scope)
            out.append("]")
        if rm.resource.schema_url:
            out.append(',"schemaUrl":' + _dumps(rm.resource.schema_url))
        out.append("}")

    def _scope(self, sm: Any, out: list[str]) -> None:
        scope = sm.scope
        fields = []
        if scope is not None:
            if scope.name:
                fields.append('"name":' + _dumps(scope.name))
            if scope.version:
                fields.append('"version":' + _dumps(scope.version))
            if scope.attributes:
                fields.append(self._attr_text(scope.attributes).rstrip(","))
        out.append('{"scope":{' + ",".join(fields) + "}")
        if sm.metrics:
            out.append(',"metrics":[')
            _join(out, sm.metrics, self._metric)
            out.append("]")
        if scope is not None and scope.schema_url:
            out.append(',"schemaUrl":' + _dumps(scope.schema_url))
        out.append("}")

    def _head(self, metric: Metric) -> tuple[str, str, str]:
        """(text before the points, after them, the whole kind object when there are no points)."""
        data = metric.data
        temporality = int(getattr(data, "aggregation_temporality", 0) or 0)
        monotonic = bool(getattr(data, "is_monotonic", False))
        key = (metric.name, metric.description, metric.unit, type(data), temporality, monotonic)
        cached = self._heads.get(key)
        if cached is not None:
            return cached
        fields = []
        if metric.name:
            fields.append('"name":' + _dumps(metric.name))
        if metric.description:
            fields.append('"description":' + _dumps(metric.description))
        if metric.unit:
            fields.append('"unit":' + _dumps(metric.unit))
        if isinstance(data, Histogram):
            kind, extra = "histogram", [f'"aggregationTemporality":{temporality}'] if temporality else []
        elif isinstance(data, Sum):
            kind = "sum"
            extra = [f'"aggregationTemporality":{temporality}'] if temporality else []
            if monotonic:
                extra.append('"isMonotonic":true')
        elif isinstance(data, Gauge):
            kind, extra = "gauge", []
        else:
            raise _Unsupported(type(data).__name__)
        start = "{" + "".join(f + "," for f in fields) + '"' + kind + '":{'
        tail = "".join("," + e for e in extra)
        cached = (start + '"dataPoints":[', "]" + tail + "}}", start + ",".join(extra) + "}}")
        self._heads[key] = cached
        return cached

    def _metric(self, metric: Metric, out: list[str]) -> None:
        before, after, empty = self._head(metric)
        points: Sequence[Any] = metric.data.data_points
        if not points:
            out.append(empty)
            return
        out.append(before)
        gauge = isinstance(metric.data, Gauge)
        for n, point in enumerate(points):
            if n:
                out.append(",")
            if point.exemplars:
                raise _Unsupported("exemplars")
            parts = ["{", self._attr_text(point.attributes)]
            if isinstance(point, HistogramDataPoint):
                self._histogram_point(point, parts)
            else:
                if not gauge and point.start_time_unix_nano:
                    parts.append(f'"startTimeUnixNano":"{point.start_time_unix_nano}",')
                if point.time_unix_nano:
                    parts.append(f'"timeUnixNano":"{point.time_unix_nano}",')
                parts.append(_number(point.value))
            parts.append("}")
            out.append("".join(parts))
        out.append(after)

    @staticmethod
    def _histogram_point(point: HistogramDataPoint, parts: list[str]) -> None:
        fields = []
        if point.start_time_unix_nano:
            fields.append(f'"startTimeUnixNano":"{point.start_time_unix_nano}"')
        if point.time_unix_nano:
            fields.append(f'"timeUnixNano":"{point.time_unix_nano}"')
        if point.count:
            fields.append(f'"count":"{point.count}"')
        if point.sum is not None:
            fields.append('"sum":' + _json_number(point.sum))
        if point.bucket_counts:
            fields.append('"bucketCounts":[' + ",".join(f'"{c}"' for c in point.bucket_counts) + "]")
        if point.explicit_bounds:
            fields.append('"explicitBounds":[' + ",".join(_json_number(b) for b in point.explicit_bounds) + "]")
        if point.min is not None:
            fields.append('"min":' + _json_number(point.min))
        if point.max is not None:
            fields.append('"max":' + _json_number(point.max))
        if not fields and parts[-1]:
            parts[-1] = parts[-1].rstrip(",")
        parts.append(",".join(fields))


def _join(out: list[str], items: Sequence[T], write: Callable[[T, list[str]], None]) -> None:
    """``write`` each item into ``out``, comma-separated (a JSON array's members)."""
    for i, item in enumerate(items):
        if i:
            out.append(",")
        write(item, out)


class _NoMetrics:
    """A ScopeMetrics seen without its metrics: renders just the scope's own fields."""

    def __init__(self, sm: Any) -> None:
        self.scope = sm.scope
        self.metrics: list[Metric] = []


def _json_number(v: Any) -> str:
    """A double field as the official encoder leaves it: ints stay ints, special floats become strings."""
    if isinstance(v, float):
        return _double(v)
    return _dumps(v)
