"""Spool lines (OTLP-JSON ``MetricsData`` / ``LogsData``) to OTLP export requests (protobuf).

The JSON is field-compatible with ``Export{Metrics,Logs}ServiceRequest``. One difference from protobuf's
canonical JSON: OTLP-JSON writes trace and span ids as hex, protobuf expects base64, so ids are converted
before parsing. Unknown fields are ignored, as OTLP receivers must (a newer writer may add some).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from otel_mon.forward.config import Signal
from otel_mon.spool.format import items, iter_log_records, walk_points

_HEX_ID = re.compile(r"^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32})$")


class MalformedLine(ValueError):
    """A line that is not an OTLP-JSON object of the expected signal."""


@dataclass(frozen=True)
class Record:
    """One spool line, ready to send: its serialized request and the time of its first data point."""

    payload: bytes
    timestamp: float | None
    points: int
    raw: bytes = b""  # the spool line itself, kept for the quarantine should the collector refuse it


def request_type(signal: Signal) -> type[Message]:
    return ExportMetricsServiceRequest if signal == "metrics" else ExportLogsServiceRequest


def detect_signal(obj: Any) -> Signal | None:
    """Which signal a decoded line holds, judged by its top-level key."""
    if isinstance(obj, dict):
        if "resourceMetrics" in obj or "resource_metrics" in obj:
            return "metrics"
        if "resourceLogs" in obj or "resource_logs" in obj:
            return "logs"
    return None


def decode_line(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedLine(f"not JSON: {exc}") from None


def parse_record(signal: Signal, obj: Any) -> Record:
    """Validate and serialize one decoded line of ``signal``."""
    if not isinstance(obj, dict):
        raise MalformedLine("not a JSON object")
    found = detect_signal(obj)
    if found is not None and found != signal:
        raise MalformedLine(f"a {found} line in the {signal} spool")
    timestamp, points = _walk(signal, obj)
    message = request_type(signal)()
    try:
        json_format.ParseDict(obj, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise MalformedLine(f"not OTLP-JSON: {str(exc)[:200]}") from None
    return Record(message.SerializeToString(), timestamp, points)


def parse_line(signal: Signal, line: bytes) -> Record:
    record = parse_record(signal, decode_line(line))
    return Record(record.payload, record.timestamp, record.points, line)


def _walk(signal: Signal, obj: dict[str, Any]) -> tuple[float | None, int]:
    """Fix hex ids in place; return the first timestamp seen (seconds) and the data point / record count."""
    first: float | None = None
    count = 0
    if signal == "logs":
        for record in iter_log_records(obj):
            count += 1
            _fix_ids(record)
            first = first if first is not None else _nanos(record, "timeUnixNano", "observedTimeUnixNano")
        return first, count
    for _metric, _kind, point in walk_points(obj):
        count += 1
        first = first if first is not None else _nanos(point, "timeUnixNano")
        for exemplar in items(point, "exemplars"):
            _fix_ids(exemplar)
    return first, count


def _fix_ids(node: dict[str, Any]) -> None:
    for key in ("traceId", "spanId"):
        value = node.get(key)
        if isinstance(value, str) and _HEX_ID.match(value):
            node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")


def _nanos(node: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = node.get(key)
        try:
            nanos = int(value) if value is not None else 0
        except (TypeError, ValueError):
            continue
        if nanos > 0:
            return nanos / 1e9
    return None
