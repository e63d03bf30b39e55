"""The spool line format, read side: the one walker over OTLP-JSON ``MetricsData`` / ``LogsData`` objects.

Everything that looks inside a spool line goes through here: the reader (a line's time for windows),
``report`` and ``tail`` (points and log records with their attributes as dicts), the line splitter
(``spool/lines.py``), the forwarder and replay (``forward/requests.py``: ids fixed, points counted). Writing
goes through ``spool/encoder.py`` (or the official encoder), never through here. Malformed parts (a list
where an object belongs) are skipped, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

METRIC_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")
_DISTRIBUTIONS = ("histogram", "exponentialHistogram", "summary")
Node = dict[str, Any]


def items(node: Any, key: str) -> list[Node]:
    """The objects in ``node[key]`` (a list), skipping anything that is not an object."""
    value = node.get(key) if isinstance(node, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def metric_kinds(metric: Node) -> Iterator[tuple[str, Node]]:
    """(kind, body) of each data kind a metric carries (one, in a well-formed metric)."""
    for kind in METRIC_KINDS:
        body = metric.get(kind)
        if isinstance(body, dict):
            yield kind, body


def walk_points(data: Any) -> Iterator[tuple[Node, str, Node]]:
    """(metric, kind, data point) for every data point of a ``MetricsData`` object."""
    for rm in items(data, "resourceMetrics"):
        for sm in items(rm, "scopeMetrics"):
            for metric in items(sm, "metrics"):
                for kind, body in metric_kinds(metric):
                    for dp in items(body, "dataPoints"):
                        yield metric, kind, dp


def any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a Python value (int64 arrive as strings in proto JSON)."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return to_float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return attributes(value["kvlistValue"].get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    return {str(kv.get("key")): any_value(kv.get("value")) for kv in items if isinstance(kv, dict)}


def to_float(raw: Any) -> float:
    """Proto JSON doubles are numbers or the strings ``NaN`` / ``Infinity`` / ``-Infinity`` (float() reads all)."""
    return float(raw)


@dataclass(frozen=True)
class DataPoint:
    """One data point with its metric's name and kind; ``value`` for sums/gauges, ``sum``/``count`` else."""

    name: str
    kind: str
    attrs: dict[str, Any]
    time_ns: int
    start_ns: int
    value: float | None = None
    sum: float | None = None
    count: int | None = None


def iter_points(data: dict[str, Any]) -> Iterator[DataPoint]:
    """Every data point of a ``MetricsData`` object, as a :class:`DataPoint`."""
    for metric, kind, dp in walk_points(data):
        yield _point(str(metric.get("name", "")), kind, dp)


def _point(name: str, kind: str, dp: dict[str, Any]) -> DataPoint:
    """Proto JSON leaves out zero values: a histogram without ``count`` or ``sum`` has 0 of them."""
    value: float | None = None
    if "asInt" in dp:
        value = float(int(dp["asInt"]))
    elif "asDouble" in dp:
        value = to_float(dp["asDouble"])
    return DataPoint(
        name=name,
        kind=kind,
        attrs=attributes(dp.get("attributes")),
        time_ns=int(dp.get("timeUnixNano", 0)),
        start_ns=int(dp.get("startTimeUnixNano", 0)),
        value=value,
        sum=to_float(dp.get("sum", 0.0)) if kind in _DISTRIBUTIONS else None,
        count=int(dp.get("count", 0)) if kind in _DISTRIBUTIONS else None,
    )


def iter_log_records(data: Any) -> Iterator[Node]:
    """Every log record of a ``LogsData`` object (the raw OTLP-JSON dicts)."""
    for rl in items(data, "resourceLogs"):
        for sl in items(rl, "scopeLogs"):
            yield from items(sl, "logRecords")


def log_time_ns(record: dict[str, Any]) -> int:
    """A log record's time, falling back to when it was observed (the SDK leaves one of them 0 sometimes)."""
    return int(record.get("timeUnixNano", 0) or 0) or int(record.get("observedTimeUnixNano", 0) or 0)


def line_time_ns(data: dict[str, Any]) -> int | None:
    """The newest timestamp in a line: what a time window is compared against."""
    times = [p.time_ns for p in iter_points(data)] if "resourceMetrics" in data else []
    if "resourceLogs" in data:
        times += [log_time_ns(r) for r in iter_log_records(data)]
    times = [t for t in times if t > 0]
    return max(times) if times else None
