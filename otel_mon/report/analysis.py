"""Headline figures over a time window of spooled metrics: pure computation, no I/O, no formatting.

Every figure is a list of samples, each with a weight, summarised as avg (weighted), min, max, p95
(nearest rank) and the number of samples:

* CPU %, memory %, filesystem % per mountpoint: ``otel_mon.readings`` over each collection's points, the
  functions that give /health and the health rules the same figures (CPU from ``system.cpu.utilization``;
  before the first utilisation, ``system.cpu.time`` deltas between collections, weighted by the interval);
  load 1m: one sample per collection, weight 1;
* network bytes/s per interface and direction: counter deltas over time deltas, weighted by the interval;
* probe latency (ms) per probe: histogram sum and count deltas; the average is total time over total probes;
* health: time in each state per rule (and instance), each sample's state held until the next sample.

Counters are cumulative; an interval whose value went down or whose start time changed (agent restart) is
skipped, as is a health interval longer than five times the usual one (the agent was down).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from otel_mon import readings
from otel_mon.spool.format import DataPoint, iter_points
from otel_mon.timefmt import iso

STATES = ("ok", "warning", "critical")
NO_DATA = "no_data"  # time in the window without a sample of the rule: shown as such, never counted as ok
COLUMNS = (*STATES, NO_DATA)
_GAP_FACTOR = 5.0

Sample = tuple[float, float]  # (value, weight)
SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Stat:
    label: str
    unit: str
    avg: float
    min: float
    max: float
    p95: float
    samples: int
    source: str = ""


@dataclass(frozen=True)
class HealthTime:
    rule: str
    instance: str
    seconds: dict[str, float]
    avg: float
    max: float
    samples: int

    def share(self) -> dict[str, float]:
        total = sum(self.seconds.values())
        return {s: (self.seconds.get(s, 0.0) / total * 100.0 if total else 0.0) for s in COLUMNS}


@dataclass(frozen=True)
class Report:
    start: float | None
    end: float | None
    records: int
    points: int
    metrics: list[Stat] = field(default_factory=list)
    health: list[HealthTime] = field(default_factory=list)
    interval: float | None = None  # the data's collection interval: the median step between collections

    def to_json(self) -> dict[str, Any]:
        return {
            "from": iso_or_none(self.start),
            "to": iso_or_none(self.end),
            "records": self.records,
            "points": self.points,
            "metrics": [asdict(s) for s in self.metrics],
            "health": [{**asdict(h), "share": h.share()} for h in self.health],
        }


def summarize(label: str, unit: str, samples: list[Sample], source: str = "") -> Stat | None:
    """Weighted average, min, max, nearest-rank p95 and count; None without finite samples."""
    good = [(v, w) for v, w in samples if math.isfinite(v) and w > 0]
    if not good:
        return None
    values = sorted(v for v, _ in good)
    weight = sum(w for _, w in good)
    avg = sum(v * w for v, w in good) / weight
    p95 = values[max(0, math.ceil(0.95 * len(values)) - 1)]
    return Stat(label, unit, avg, values[0], values[-1], p95, len(values), source)


class _Series:
    """Points by metric name and attributes, sorted by time; later duplicates of a timestamp win.

    Points before ``since_ns`` (the window's start) are held only as the first end of a counter's delta into
    the window: a rate across the window's edge (a chart bucket's) counts, a gauge before it does not.
    """

    def __init__(self, since_ns: int = 0) -> None:
        self.by_key: dict[SeriesKey, dict[int, DataPoint]] = defaultdict(dict)
        self.points = 0
        self.since_ns = since_ns

    def add(self, point: DataPoint) -> None:
        key = (point.name, tuple(sorted((k, str(v)) for k, v in point.attrs.items())))
        self.by_key[key][point.time_ns] = point
        if point.time_ns >= self.since_ns:
            self.points += 1

    def of(self, name: str, before: bool = False) -> dict[SeriesKey, list[DataPoint]]:
        """The series of ``name``; ``before``: with the points before the window (for counters' deltas)."""
        lo = -1 if before else self.since_ns
        out = {k: [pts[t] for t in sorted(pts) if t >= lo] for k, pts in self.by_key.items() if k[0] == name}
        return {k: v for k, v in out.items() if v}


def build_report(records: Iterable[dict[str, Any]], since: float | None = None, until: float | None = None,
                 counters_from: float | None = None) -> Report:
    """The report over metric records (``MetricsData`` dicts); points outside [since, until] are ignored,
    except that counters' points from ``counters_from`` on start a delta (a rate) that ends inside."""
    lo = since if counters_from is None or since is None else min(since, counters_from)
    series = _Series(int(since * 1e9) if since is not None else 0)
    count = 0
    times: list[int] = []
    for data in records:
        count += 1
        for point in iter_points(data):
            t = point.time_ns / 1e9
            if (lo is not None and t < lo) or (until is not None and t > until):
                continue
            series.add(point)
            if since is None or t >= since:
                times.append(point.time_ns)
    start = since if since is not None else (min(times) / 1e9 if times else None)
    end = until if until is not None else (max(times) / 1e9 if times else None)
    distinct = sorted(set(times))
    steps = [(b - a) / 1e9 for a, b in itertools.pairwise(distinct)]
    rows = [_cpu(series), _memory(series)]
    rows += _filesystems(series) + _network(series)
    rows.append(_load(series))
    rows += _probes(series)
    rows += _groups(series)
    return Report(start, end, count, series.points, [r for r in rows if r is not None], _health(series, start, end),
                  interval=statistics.median(steps) if steps else None)


def _attr(key: SeriesKey, name: str) -> str:
    return dict(key[1]).get(name, "")


def collections(series: _Series, *names: str,
                before: bool = False) -> dict[int, dict[str, list[tuple[float, dict[str, Any]]]]]:
    """The points of ``names`` grouped by collection (time stamp), in the shape ``otel_mon.readings`` reads."""
    out: dict[int, dict[str, list[tuple[float, dict[str, Any]]]]] = defaultdict(lambda: defaultdict(list))
    for name in names:
        for points in series.of(name, before).values():
            for p in points:
                if p.value is not None:
                    out[p.time_ns][name].append((p.value, p.attrs))
    return out


def _per_collection(series: _Series, label: str, fn: Any, *names: str) -> Stat | None:
    samples = [(v, 1.0) for pts in collections(series, *names).values() if (v := fn(pts)) is not None]
    return summarize(label, "%", samples, names[0])


def _memory(series: _Series) -> Stat | None:
    return _per_collection(series, "memory", readings.memory_percent, "system.memory.usage", "system.memory.limit")


def _cpu(series: _Series) -> Stat | None:
    if series.of("system.cpu.utilization"):
        return _per_collection(series, "cpu", readings.cpu_percent, "system.cpu.utilization")
    # Without the gauge: the same definition over successive counters, weighted by the time between them.
    starts: dict[int, set[int]] = defaultdict(set)  # a changed start time is a reset: that interval is skipped
    for points in series.of("system.cpu.time", before=True).values():
        for p in points:
            starts[p.time_ns].add(p.start_ns)
    per = collections(series, "system.cpu.time", before=True)
    samples = []
    for t0, t1 in itertools.pairwise(sorted(per)):
        if t1 < series.since_ns:
            continue
        busy = readings.cpu_percent_between(per[t0], per[t1]) if starts[t0] == starts[t1] else None
        if busy is not None:
            samples.append((busy, (t1 - t0) / 1e9))
    return summarize("cpu", "%", samples, "system.cpu.time")


def _filesystems(series: _Series) -> list[Stat | None]:
    by_mount: dict[str, list[Sample]] = defaultdict(list)
    for pts in collections(series, "system.filesystem.usage").values():
        for mount, percent in readings.filesystem_percent(pts).items():
            by_mount[mount].append((percent, 1.0))
    return [summarize(f"filesystem {mount}", "%", samples, "system.filesystem.usage")
            for mount, samples in sorted(by_mount.items())]


def _deltas(points: list[DataPoint], since_ns: int = 0) -> list[tuple[DataPoint, DataPoint]]:
    """Consecutive pairs of a cumulative series ending in the window, without resets (restart or a value
    going down)."""
    pairs = []
    for a, b in itertools.pairwise(points):
        if b.time_ns < since_ns:
            continue
        if b.time_ns <= a.time_ns or (a.start_ns and b.start_ns and a.start_ns != b.start_ns):
            continue
        pairs.append((a, b))
    return pairs


def _network(series: _Series) -> list[Stat | None]:
    rows = []
    for key, points in sorted(series.of("system.network.io", before=True).items()):
        if _attr(key, "network.interface.name") == "lo":
            continue  # loopback: traffic of the host with itself, left out as the status page does
        samples = []
        for a, b in _deltas(points, series.since_ns):
            if a.value is None or b.value is None or b.value < a.value:
                continue
            dt = (b.time_ns - a.time_ns) / 1e9
            samples.append(((b.value - a.value) / dt, dt))
        label = f"network {_attr(key, 'network.interface.name')} {_attr(key, 'network.io.direction')}"
        rows.append(summarize(label, "B/s", samples, "system.network.io"))
    return rows


def _load(series: _Series) -> Stat | None:
    samples = [(p.value, 1.0) for points in series.of("system.cpu.load_average.1m").values() for p in points
               if p.value is not None]
    return summarize("load 1m", "", samples, "system.cpu.load_average.1m")


GROUP = "otel_mon.process.group"  # host/process_groups.py's attribute (the report reads spools, not the domain)


def _groups(series: _Series) -> list[Stat | None]:
    """Each process group's CPU (percent of one core, from its ``process.cpu.time`` counters, exited processes
    included) and resident memory (``process.memory.usage``), as the status page's Top table shows them."""
    cpu: dict[str, dict[int, float]] = defaultdict(dict)  # group -> collection time -> CPU seconds (all modes)
    starts: dict[str, dict[int, int]] = defaultdict(dict)
    for key, points in series.of("process.cpu.time", before=True).items():
        group = _attr(key, GROUP)
        if not group:
            continue  # the agent's own process.cpu.time (no group)
        for p in points:
            if p.value is not None:
                cpu[group][p.time_ns] = cpu[group].get(p.time_ns, 0.0) + p.value
                starts[group][p.time_ns] = p.start_ns
    rows: list[Stat | None] = []
    memory: dict[str, list[Sample]] = defaultdict(list)
    for key, points in series.of("process.memory.usage").items():
        group = _attr(key, GROUP)
        if group:
            memory[group] += [(p.value, 1.0) for p in points if p.value is not None]
    for group in sorted(cpu.keys() | memory.keys()):
        samples = []
        times = sorted(cpu.get(group, {}))
        for t0, t1 in itertools.pairwise(times):
            if t1 < series.since_ns or starts[group][t0] != starts[group][t1]:
                continue
            used = cpu[group][t1] - cpu[group][t0]
            if used >= 0:
                dt = (t1 - t0) / 1e9
                samples.append((100.0 * used / dt, dt))
        rows.append(summarize(f"process group {group} CPU", "%", samples, "process.cpu.time"))
        rows.append(summarize(f"process group {group} memory", "B", memory.get(group, []), "process.memory.usage"))
    return rows


def _probes(series: _Series) -> list[Stat | None]:
    by_probe: dict[str, list[Sample]] = defaultdict(list)
    for key, points in series.of("otel_mon.probe.duration", before=True).items():
        for a, b in _deltas(points, series.since_ns):
            if None in (a.sum, b.sum, a.count, b.count):
                continue
            d_count = (b.count or 0) - (a.count or 0)
            d_sum = (b.sum or 0.0) - (a.sum or 0.0)
            if d_count > 0 and d_sum >= 0:
                by_probe[_attr(key, "otel_mon.probe.name")].append((d_sum / d_count * 1000.0, float(d_count)))
    return [summarize(f"probe {name}", "ms", samples, "otel_mon.probe.duration")
            for name, samples in sorted(by_probe.items())]


def _health(series: _Series, start: float | None = None, end: float | None = None) -> list[HealthTime]:
    """Time per state for each rule instance, and time without its samples (a gap, or the window's edges) as
    ``no_data``: the agent writes no point for a rule that has no data."""
    out = []
    for key, points in sorted(series.of("otel_mon.health.state").items()):
        values = [p for p in points if p.value is not None]
        steps = [(b.time_ns - a.time_ns) / 1e9 for a, b in itertools.pairwise(values)]
        limit = _GAP_FACTOR * statistics.median(steps) if steps else 0.0
        seconds = dict.fromkeys(COLUMNS, 0.0)
        if values and steps:
            edges = [values[0].time_ns / 1e9 - start if start is not None else 0.0,
                     end - values[-1].time_ns / 1e9 if end is not None else 0.0]
            seconds[NO_DATA] += sum(e for e in edges if e > limit)
        weighted = 0.0
        for p, dt in zip(values, steps, strict=False):  # the last sample opens no interval
            if dt > limit:
                seconds[NO_DATA] += dt
                continue
            state = STATES[min(2, max(0, round(p.value or 0.0)))]
            seconds[state] += dt
            weighted += (p.value or 0.0) * dt
        total = sum(seconds[s] for s in STATES)
        out.append(HealthTime(
            rule=_attr(key, "otel_mon.rule"),
            instance=_attr(key, "otel_mon.instance"),
            seconds=seconds,
            avg=weighted / total if total else (values[0].value or 0.0 if values else 0.0),
            max=max((p.value or 0.0) for p in values) if values else 0.0,
            samples=len(values),
        ))
    return out


def iso_or_none(t: float | None) -> str | None:
    return None if t is None else iso(t, "auto")
