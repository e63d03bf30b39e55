"""A spool line (OTLP-JSON ``MetricsData``) as Prometheus series with the line's own timestamps.

Names and labels are the ones ``/metrics`` serves, so one dashboard and one rule file work on both paths: both
are named by ``otel_mon.promnames``, here straight from the decoded line (no SDK objects, no second
translator). ``tests/stack/test_stack_rw_units.py`` holds the series to /metrics and to the official
exporter's translation of the same batch. What /metrics cannot carry is added here: each point's original
timestamp, and ``job`` / ``instance``, since no scrape config assigns them: ``job`` is
``service.namespace/service.name`` as the Collector's ``prometheus_remote_write`` exporter and Prometheus' OTLP
receiver derive it; ``instance`` is the host name (what a scrape of the agent shows as its target, and what a
person looks for), not ``service.instance.id`` (a UUID here), which stays a label of ``target_info``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from otel_mon.forward.rw_wire import Series
from otel_mon.promnames import TARGET_INFO, family, labels_of, le_stored, scope_labels
from otel_mon.spool.format import attributes, items, metric_kinds, to_float

# The resource attributes /metrics turns into labels (otel_mon.telemetry.LABELLED_RESOURCE_ATTRIBUTES).
LABELLED_RESOURCE_ATTRIBUTES = frozenset({"host.name", "service.name"})

_CARRIED = ("sum", "gauge", "histogram")  # what remote write 1.0 can carry (no exponential histograms, summaries)
_CUMULATIVE = 2
_TEMPORALITY_NAMES = {"AGGREGATION_TEMPORALITY_CUMULATIVE": 2, "AGGREGATION_TEMPORALITY_DELTA": 1}


class Unsupported(ValueError):
    """A line with nothing Prometheus can store (logs, or only metric kinds remote write 1.0 cannot carry)."""


def series_of_line(data: Mapping[str, Any], extra_labels: Mapping[str, str] | None = None) -> list[Series]:
    """Every sample of one spool line: labels sorted, empty values dropped (as a scrape drops them)."""
    out: list[Series] = []
    extra = dict(extra_labels or {})
    found = False
    for rm in items(data, "resourceMetrics"):
        found = True
        resource = attributes(_dict(rm, "resource").get("attributes"))
        added = {**_identity(resource), **extra}
        fixed = labels_of((k, v) for k, v in resource.items() if k in LABELLED_RESOURCE_ATTRIBUTES)
        stamps: set[int] = set()
        for sm in items(rm, "scopeMetrics"):
            scope = _dict(sm, "scope")
            labels = {**fixed, **dict(scope_labels(str(scope.get("name") or ""), scope.get("version") or None,
                                                   sm.get("schemaUrl") or None, attributes(scope.get("attributes"))))}
            for metric in items(sm, "metrics"):
                for sample_name, sample_labels, value, time_ns in _samples(metric):
                    stamps.add(time_ns)
                    out.append(_series(sample_name, {**labels, **sample_labels}, added, value, time_ns))
        if resource:
            info = labels_of(resource.items())
            out.extend(_series(TARGET_INFO, info, added, 1.0, t) for t in sorted(stamps))
    if not found:
        raise Unsupported("no resourceMetrics in the line")
    return out


def _series(name: str, labels: dict[str, str], added: Mapping[str, str], value: float, time_ns: int) -> Series:
    kept = {k: v for k, v in labels.items() if v != ""}
    for key, extra in added.items():
        kept.setdefault(key, extra)
    kept["__name__"] = name
    return tuple(sorted(kept.items())), value, time_ns // 1_000_000


def _identity(resource: Mapping[str, Any]) -> dict[str, str]:
    name = str(resource.get("service.name", ""))
    namespace = str(resource.get("service.namespace", ""))
    instance = resource.get("host.name") or resource.get("service.instance.id") or ""
    out = {"job": f"{namespace}/{name}" if namespace and name else name, "instance": str(instance)}
    return {k: v for k, v in out.items() if v}


def _samples(node: dict[str, Any]) -> Iterator[tuple[str, dict[str, str], float, int]]:
    """(sample name, point labels, value, time in ns) of one metric; kinds remote write 1.0 cannot carry and
    points without a time are left out."""
    for kind, body in metric_kinds(node):
        if kind not in _CARRIED:
            continue
        named = family(str(node.get("name", "")), str(node.get("unit", "")), kind,
                       bool(body.get("isMonotonic", False)),
                       _temporality(body.get("aggregationTemporality")) == _CUMULATIVE)
        if named is None:
            continue
        for dp in items(body, "dataPoints"):
            time_ns = int(dp.get("timeUnixNano", 0) or 0)
            if time_ns <= 0:
                continue
            labels = labels_of(attributes(dp.get("attributes")).items())
            if kind != "histogram":
                yield named.sample, labels, _number(dp), time_ns
                continue
            yield from _histogram(named.sample, labels, dp, time_ns)


def _histogram(sample: str, labels: dict[str, str], dp: Mapping[str, Any],
               time_ns: int) -> Iterator[tuple[str, dict[str, str], float, int]]:
    """Cumulative ``_bucket`` series, then ``_count`` and ``_sum`` (left out, as the exporter leaves them out,
    when the first bound is negative)."""
    bounds: list[Any] = [*(dp.get("explicitBounds") or []), "+Inf"]
    total = 0
    for bound, count in zip(bounds, dp.get("bucketCounts") or [], strict=False):
        total += int(count)
        yield f"{sample}_bucket", {**labels, "le": le_stored(bound)}, float(total), time_ns
    if dp.get("bucketCounts") and to_float(bounds[0]) >= 0:
        yield f"{sample}_count", labels, float(total), time_ns
        yield f"{sample}_sum", labels, to_float(dp.get("sum", 0.0)), time_ns


def _number(dp: Mapping[str, Any]) -> float:
    if "asInt" in dp:
        return float(int(dp["asInt"]))
    if "asDouble" in dp:
        return to_float(dp["asDouble"])
    return 0.0  # proto JSON leaves a zero out


def _temporality(raw: Any) -> int:
    if isinstance(raw, str):
        return _TEMPORALITY_NAMES.get(raw, _CUMULATIVE) if not raw.isdigit() else int(raw)
    return int(raw) if isinstance(raw, int) and raw in (1, 2) else _CUMULATIVE


def _dict(node: Any, key: str) -> dict[str, Any]:
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, dict) else {}
