"""The report's figures over time: the window cut into buckets, each summarised by ``analysis.build_report``.

Every bucket goes through the very aggregation of the text report (same readings, same deltas, same
weights), so a chart's band is min..max and its line the average of what the table would say for that
bucket. A bucket without samples stays empty: the charts draw it as a gap, never as a zero. Records are
streamed in spool order and only the buckets still open are held in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from otel_mon.report.analysis import Stat, build_report
from otel_mon.spool.format import any_value, attributes, items, iter_log_records, line_time_ns, log_time_ns

# Bucket sizes tried in order: the first that gives at most ``MAX_BUCKETS`` buckets wins; windows of 12 h and
# more use hours (hourly bands), or days past a month. Counters (network, probes) need two points inside a
# bucket for a rate, so a bucket should hold a few collections: 1 h gives 60 s buckets (four at 15 s).
STEPS = (1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
HOURLY_FROM = 12 * 3600.0
MAX_BUCKETS = 60


def bucket_for(window: float, interval: float | None = None) -> float:
    """Seconds per bucket for a window: fine enough to see a spike, coarse enough to read, and never shorter
    than the data's collection ``interval`` (a 10 s bucket over 15 s data left most buckets without a rate)."""
    if window >= 31 * 86400:
        chosen = 86400.0
    elif window >= HOURLY_FROM:
        chosen = 3600.0
    else:
        chosen = next((s for s in STEPS if window / s <= MAX_BUCKETS), 3600.0)
    if interval is None or interval <= chosen:
        return chosen
    return next((s for s in (*STEPS, 3600.0, 86400.0) if s >= interval), interval)


@dataclass
class Timeline:
    """Per figure label (``cpu``, ``filesystem /``, ...): one Stat (or None: a gap) per bucket."""

    start: float
    end: float
    bucket: float
    host: str = ""  # host.name of the first record's resource
    units: dict[str, str] = field(default_factory=dict)
    series: dict[str, list[Stat | None]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return max(1, math.ceil((self.end - self.start) / self.bucket))

    def bucket_start(self, index: int) -> float:
        return self.start + index * self.bucket

    def _put(self, index: int, stats: Iterable[Stat]) -> None:
        for stat in stats:
            row = self.series.setdefault(stat.label, [None] * self.count)
            self.units.setdefault(stat.label, stat.unit)
            if 0 <= index < len(row):
                row[index] = stat


def build_timeline(records: Iterable[dict[str, Any]], start: float, end: float,
                   bucket: float | None = None, interval: float | None = None) -> Timeline:
    """Bucketed figures for metric records (``MetricsData`` dicts) between ``start`` and ``end``.

    ``interval`` is the data's collection interval (``Report.interval``): a bucket is never shorter. A
    counter's rate is taken across buckets: the previous bucket's last collection starts the first delta.
    """
    timeline = Timeline(start, end, bucket or bucket_for(end - start, interval))
    open_buckets: dict[int, list[dict[str, Any]]] = {}
    last: dict[int, dict[str, Any]] = {}  # each bucket's last record: the base of the next bucket's rates
    for data in records:
        t_ns = line_time_ns(data)
        if t_ns is None:
            continue
        index = math.floor((t_ns / 1e9 - start) / timeline.bucket)
        if not 0 <= index < timeline.count:
            continue
        if not timeline.host:
            timeline.host = _host(data)
        open_buckets.setdefault(index, []).append(data)
        last[index] = data
        # The spool is in time order: once a later bucket starts, the ones two behind are complete.
        for done in sorted(i for i in open_buckets if i < index - 1):
            _close(timeline, done, open_buckets.pop(done), last.get(done - 1))
            last = {i: r for i, r in last.items() if i >= done}
    for index in sorted(open_buckets):
        _close(timeline, index, open_buckets.pop(index), last.get(index - 1))
    return timeline


def _host(data: dict[str, Any]) -> str:
    for rm in items(data, "resourceMetrics"):
        name = attributes((rm.get("resource") or {}).get("attributes")).get("host.name")
        if name:
            return str(name)
    return ""


def _close(timeline: Timeline, index: int, records: list[dict[str, Any]], before: dict[str, Any] | None) -> None:
    lo = timeline.bucket_start(index)
    base = [before] if before is not None else []
    report = build_report([*base, *records], since=lo, until=min(lo + timeline.bucket, timeline.end),
                          counters_from=lo - timeline.bucket)
    timeline._put(index, report.metrics)


@dataclass(frozen=True)
class TransitionRow:
    at: float
    rule: str
    instance: str
    old: str
    new: str
    value: Any
    threshold: Any
    why: str


def transitions(log_records: Iterable[dict[str, Any]], start: float, end: float,
                limit: int = 500) -> list[TransitionRow]:
    """The health transitions logged in the window (event ``otel_mon.health.transition``), oldest first."""
    rows: list[TransitionRow] = []
    for data in log_records:
        for record in iter_log_records(data):
            attrs: Mapping[str, Any] = attributes(record.get("attributes"))
            # The logs bridge moves the ``event.name`` attribute into the record's own ``eventName`` field.
            if "otel_mon.health.transition" not in (record.get("eventName"), attrs.get("event.name")):
                continue
            at = log_time_ns(record) / 1e9
            if not start <= at <= end:
                continue
            rows.append(TransitionRow(
                at=at, rule=str(attrs.get("otel_mon.rule", "")), instance=str(attrs.get("otel_mon.instance", "")),
                old=str(attrs.get("otel_mon.health.old_state", "")),
                new=str(attrs.get("otel_mon.health.new_state", "")),
                value=attrs.get("otel_mon.health.value"), threshold=attrs.get("otel_mon.health.threshold"),
                why=str(attrs.get("otel_mon.health.why", "") or any_value(record.get("body")) or "")))
    rows.sort(key=lambda r: r.at)
    return rows[-limit:]
