"""Histograms that arrive already aggregated (a textfile's Prometheus histograms) joined to the SDK's batch.

The SDK has observable counters and gauges but no observable histogram, and a textfile's histogram is counted
by the job that wrote it, not recorded by the agent. So its points are built here as the SDK's own
``HistogramDataPoint`` (explicit bounds, per-bucket counts, sum, count, cumulative) and added to each batch
after the SDK's collection, before /metrics, the spool and the forwarders see it: they reach every path as any
histogram does. The start time of a series is the agent's start, as the SDK gives its observable counters
(the job's own start is unknown), and moves to the collection before when its count goes down (the job
restarted counting). A name the batch already holds is left out (the SDK's metric stands).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import cast

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)

Key = tuple[str, tuple[tuple[str, str], ...]]


class PreaggregatedHistograms:
    """Reads ``native["histograms:<domain>"]`` of the newest snapshot; keeps each series' start time."""

    def __init__(self, native: Callable[[], Mapping[str, object] | None],
                 clock: Callable[[], int] = time.time_ns) -> None:
        self._native = native
        self._clock = clock
        self._since = clock()  # the agent's start: every series' start until it restarts counting
        self._last = self._since  # the previous collection's time
        self._started: dict[Key, tuple[int, int]] = {}  # series -> (start time, last count)

    def metrics(self) -> list[Metric]:
        native = self._native() or {}
        now = self._clock()
        out: list[Metric] = []
        started: dict[Key, tuple[int, int]] = {}
        for key, families in sorted(native.items()):
            if not key.startswith("histograms:") or not isinstance(families, list):
                continue
            for family in families:
                points = []
                for p in family.points:
                    series = (family.name, p.labels)
                    start, last = self._started.get(series, (self._since, p.count))
                    if p.count < last:
                        start = self._last
                    started[series] = (start, p.count)
                    points.append(HistogramDataPoint(
                        attributes=dict(p.labels), start_time_unix_nano=start, time_unix_nano=now, count=p.count,
                        sum=p.sum, bucket_counts=list(p.counts), explicit_bounds=list(p.bounds),
                        min=cast(float, None), max=cast(float, None), exemplars=[]))  # Prometheus has neither
                out.append(Metric(family.name, family.help, "", Histogram(
                    points, AggregationTemporality.CUMULATIVE)))
        self._started = started  # a series gone from the files forgets its start
        self._last = now
        return out


def with_metrics(data: MetricsData, extra: Sequence[Metric]) -> MetricsData:
    """``data`` with ``extra`` appended to its first scope (names it already has left out)."""
    if not extra or not data.resource_metrics:
        return data
    first = data.resource_metrics[0]
    if not first.scope_metrics:
        return data
    scope = first.scope_metrics[0]
    taken = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    added = [m for m in extra if m.name not in taken]
    if not added:
        return data
    scopes: list[ScopeMetrics] = [replace(scope, metrics=[*scope.metrics, *added]), *first.scope_metrics[1:]]
    resources: list[ResourceMetrics] = [replace(first, scope_metrics=scopes), *data.resource_metrics[1:]]
    return replace(data, resource_metrics=resources)

