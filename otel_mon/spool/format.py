"""Read the OTLP-JSON objects of spool lines back into plain Python values.

Only reading: ``report`` and ``tail`` need points and log records with their attributes as dicts, and the
reader needs a line's time for windows. Writing goes through the official encoder, never through here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

METRIC_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")
_DISTRIBUTIONS = ("histogram", "exponentialHistogram", "summary")


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
class Point:
    """One data point with its metric's name and kind; ``value`` for sums/gauges, ``sum``/``count`` else."""

    name: str
    kind: str
    attrs: dict[str, Any]
    time_ns: int
    start_ns: int
    value: float | None = None
    sum: float | None = None
    count: int | None = None


def iter_points(data: dict[str, Any]) -> Iterator[Point]:
    """Every data point of a ``MetricsData`` object; malformed parts are skipped, not fatal."""
    for rm in data.get("resourceMetrics") or []:
        for sm in rm.get("scopeMetrics") or []:
            for metric in sm.get("metrics") or []:
                name = str(metric.get("name", ""))
                for kind in METRIC_KINDS:
                    body = metric.get(kind)
                    if isinstance(body, dict):
                        for dp in body.get("dataPoints") or []:
                            yield _point(name, kind, dp)


def _point(name: str, kind: str, dp: dict[str, Any]) -> Point:
    """Proto JSON leaves out zero values: a histogram without ``count`` or ``sum`` has 0 of them."""
    value: float | None = None
    if "asInt" in dp:
        value = float(int(dp["asInt"]))
    elif "asDouble" in dp:
        value = to_float(dp["asDouble"])
    return Point(
        name=name,
        kind=kind,
        attrs=attributes(dp.get("attributes")),
        time_ns=int(dp.get("timeUnixNano", 0)),
        start_ns=int(dp.get("startTimeUnixNano", 0)),
        value=value,
        sum=to_float(dp.get("sum", 0.0)) if kind in _DISTRIBUTIONS else None,
        count=int(dp.get("count", 0)) if kind in _DISTRIBUTIONS else None,
    )


def iter_log_records(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every log record of a ``LogsData`` object (the raw OTLP-JSON dicts)."""
    for rl in data.get("resourceLogs") or []:
        for sl in rl.get("scopeLogs") or []:
            yield from sl.get("logRecords") or []


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
