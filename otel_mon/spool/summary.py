"""One human line per spool record, for ``otel-mon tail``: a metrics line's headline values, a log's text."""

from __future__ import annotations

import json
from typing import Any

from otel_mon import readings
from otel_mon.spool.format import any_value, attributes, iter_log_records, iter_points, log_time_ns
from otel_mon.timefmt import iso_ns

_SEVERITIES = ((21, "FATAL"), (17, "ERROR"), (13, "WARN"), (9, "INFO"), (5, "DEBUG"), (1, "TRACE"))
# Where in our source a log came from (noise on a terminal), and the agent's own bookkeeping that spools
# written before the bridge skipped underscore names still carry (``_otel_mon_repeat``).
_HIDDEN_ATTR_PREFIXES = ("code.", "_")


def timestamp(t_ns: int) -> str:
    """UTC, millisecond precision, ``Z`` suffix: sorts and greps well."""
    return iso_ns(t_ns)


def render_metrics(data: dict[str, Any]) -> str:
    """``<time>  cpu 12.3%  mem 45.6%  load1 0.52  fs / 71.0%  (312 points)``; names when no headline fits."""
    points = list(iter_points(data))
    if not points:
        return "(empty metrics line)"
    parts = [timestamp(max(p.time_ns for p in points))]
    by_name: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for p in points:
        if p.value is not None:
            by_name.setdefault(p.name, []).append((p.value, p.attrs))
    # The same functions as /health and the health rules (otel_mon.readings), over this record's collection.
    cpu, memory = readings.cpu_percent(by_name), readings.memory_percent(by_name)
    load = by_name.get("system.cpu.load_average.1m")
    fs = readings.filesystem_percent(by_name)
    if cpu is not None:
        parts.append(f"cpu {cpu:.1f}%")
    if memory is not None:
        parts.append(f"mem {memory:.1f}%")
    if load:
        parts.append(f"load1 {load[0][0]:.2f}")
    if fs:
        mount, used = max(fs.items(), key=lambda kv: kv[1])
        parts.append(f"fs {mount} {used:.1f}%")
    if len(parts) == 1:
        names = list(dict.fromkeys(p.name for p in points))
        parts.append(", ".join(names[:4]) + (f" +{len(names) - 4} more" if len(names) > 4 else ""))
    parts.append(f"({len(points)} points)")
    return "  ".join(parts)


def render_logs(data: dict[str, Any]) -> list[str]:
    """One line per log record: ``<time> <SEVERITY> <body> key=value ...`` (newlines in the body escaped)."""
    out = []
    for record in iter_log_records(data):
        severity = record.get("severityText") or _severity_name(int(record.get("severityNumber") or 0))
        body = any_value(record.get("body"))
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"), default=str)
        attrs = {k: v for k, v in attributes(record.get("attributes")).items()
                 if not k.startswith(_HIDDEN_ATTR_PREFIXES)}
        pairs = " ".join(f"{k}={_value(v)}" for k, v in attrs.items())
        line = f"{timestamp(log_time_ns(record))} {severity:<5} {_one_line(text)}"
        out.append(f"{line}  {pairs}" if pairs else line)
    return out


def _severity_name(number: int) -> str:
    return next((name for floor, name in _SEVERITIES if number >= floor), "-")


def _one_line(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    if not text or any(c.isspace() or c in "\"'=" for c in text):
        return json.dumps(text)
    return text

