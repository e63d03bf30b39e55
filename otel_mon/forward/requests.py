"""Spool lines (OTLP-JSON ``MetricsData`` / ``LogsData``) to the bodies of OTLP export requests.

Each line is decoded once (``json.loads``) and then either encoded as protobuf by ``otlp_wire`` (gRPC,
``http/protobuf``; no protobuf runtime, no ``json_format``: that walk was ~90 % of forwarding's CPU) or sent as
the JSON text it already is (``http/json``: OTLP-JSON is that protocol's body, hex ids and all). Unknown
fields are ignored, as OTLP receivers must (a newer writer may add some); snake_case field names, which
protobuf's JSON parser accepts too, are read as their lowerCamelCase forms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from otel_mon.forward.config import Signal
from otel_mon.forward.otlp_wire import WireError, encode_logs, encode_metrics
from otel_mon.spool.format import iter_log_records, log_time_ns, walk_points

_KEYS: dict[Signal, str] = {"metrics": "resourceMetrics", "logs": "resourceLogs"}
_SNAKE = re.compile(r"_([a-z])")


class MalformedLine(ValueError):
    """A line that is not an OTLP-JSON object of the expected signal."""


@dataclass(frozen=True)
class Record:
    """One spool line, ready to send: its part of a request body and the time of its first data point."""

    payload: bytes
    timestamp: float | None
    points: int
    raw: bytes = b""  # the spool line itself, kept for the quarantine should the collector refuse it


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


def _checked(signal: Signal, obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise MalformedLine("not a JSON object")
    found = detect_signal(obj)
    if found is not None and found != signal:
        raise MalformedLine(f"a {found} line in the {signal} spool")
    if any("_" in key for key in obj):
        obj = _camel(obj)
    return dict(obj)


def _camel(node: Any) -> Any:
    """Field names as lowerCamelCase (every key of an OTLP-JSON object is a field name, never data)."""
    if isinstance(node, dict):
        return {_SNAKE.sub(lambda m: m.group(1).upper(), k) if "_" in k else k: _camel(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_camel(v) for v in node]
    return node


def parse_record(signal: Signal, obj: Any) -> Record:
    """The protobuf request of one decoded line of ``signal``."""
    obj = _checked(signal, obj)
    try:
        body, points, first = (encode_metrics if signal == "metrics" else encode_logs)(obj)
    except (WireError, RecursionError) as exc:
        raise MalformedLine(f"not OTLP-JSON: {str(exc)[:200]}") from None
    return Record(body, first / 1e9 if first > 0 else None, points)


def parse_line(signal: Signal, line: bytes) -> Record:
    """A spool line as protobuf (``Export{Metrics,Logs}ServiceRequest`` bytes; such requests concatenate)."""
    record = parse_record(signal, decode_line(line))
    return Record(record.payload, record.timestamp, record.points, line)


def parse_json_line(signal: Signal, line: bytes) -> Record:
    """A spool line for ``http/json``: its resource blocks as JSON text, cut from the line as written."""
    obj = _checked(signal, decode_line(line))
    key = _KEYS[signal]
    blocks = obj.get(key)
    if blocks is not None and not isinstance(blocks, list):
        raise MalformedLine(f"not OTLP-JSON: {key} is not a list")
    text = line.strip()
    prefix = b'{"' + key.encode() + b'":['
    if len(obj) == 1 and blocks is not None and text.startswith(prefix) and text.endswith(b"]}"):
        inner = text[len(prefix):-2]  # one key, so the text between is exactly the list's items
    else:
        inner = json.dumps(blocks or [], separators=(",", ":"))[1:-1].encode()
    points, first = _count(signal, obj)
    return Record(inner, first / 1e9 if first > 0 else None, points, line)


def frame_json(signal: Signal, payloads: Sequence[bytes]) -> bytes:
    """The ``http/json`` body of a batch: one object holding every line's resource blocks, in order."""
    return b'{"' + _KEYS[signal].encode() + b'":[' + b",".join(p for p in payloads if p) + b"]}"


def frame_protobuf(_signal: Signal, payloads: Sequence[bytes]) -> bytes:
    """Serialized messages of one type concatenate into their merge: the requests joined are one request."""
    return b"".join(payloads)


def _count(signal: Signal, obj: dict[str, Any]) -> tuple[int, int]:
    """Data points (log records) of a line and the first one's time in nanoseconds (0 if none)."""
    count = first = 0
    if signal == "logs":
        for record in iter_log_records(obj):
            count += 1
            first = first or _nanos(log_time_ns, record)
        return count, first
    for _metric, _kind, point in walk_points(obj):
        count += 1
        first = first or _nanos(lambda p: int(p.get("timeUnixNano", 0) or 0), point)
    return count, first


def _nanos(read: Any, node: dict[str, Any]) -> int:
    try:
        return max(0, int(read(node)))
    except (TypeError, ValueError):
        return 0


Parse = Callable[[Signal, bytes], Record]
Frame = Callable[[Signal, Sequence[bytes]], bytes]


def codec(protocol: str) -> tuple[Parse, Frame]:
    """How a line becomes part of a request and how a batch's parts become its body, for ``protocol``."""
    if protocol == "http/json":
        return parse_json_line, frame_json
    return parse_line, frame_protobuf
