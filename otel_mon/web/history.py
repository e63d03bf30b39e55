"""The last hour of headline readings in memory, for the status page's sparklines.

One ring of timestamps (``array('d')``) and one ring of float32 values (``array('f')``) per series, all
sharing a write index: recording a collection writes one slot per series and allocates nothing once the
series exist. Memory is fixed by ``capacity x (8 + 4 x series)`` bytes plus a small header per series;
both are bounded (``MAX_SERIES``, ``MAX_CAPACITY``), so a host with hundreds of mounts cannot grow it.
"""

from __future__ import annotations

import math
import os
import threading
from array import array
from collections.abc import Iterable, Mapping
from typing import Any

from otel_mon.host.sampler import Snapshot
from otel_mon.web.top import Top

WINDOW = 3600.0  # seconds of history kept
MAX_CAPACITY = 3600  # points per series at most (a 1 s interval keeps an hour)
MAX_SERIES = 64  # series beyond this are not kept (their latest value is still in /health)
SENT_POINTS = 360  # points per series in the JSON at most: a sparkline is a few hundred pixels wide
_NAN = math.nan


def capacity_for(interval: float) -> int:
    """Points per series that cover ``WINDOW`` at ``interval`` (at least 2, at most ``MAX_CAPACITY``)."""
    return max(2, min(MAX_CAPACITY, math.ceil(WINDOW / max(interval, 1e-3))))


def _total(values: Mapping[str, float] | None, skip: Iterable[str] = ()) -> float | None:
    if not values:
        return None
    left = [v for k, v in values.items() if k not in skip]
    return float(sum(left)) if left else None


def extract(snap: Snapshot, ncpu: int, disk_before: tuple[float, dict[str, float]] | None = None) -> dict[str, float]:
    """The series values one collection offers: readings in human units plus rates from points.

    Network is the sum over interfaces but loopback; disk I/O the sum over devices per direction (bytes/s,
    against ``disk_before``, the previous collection's (time, bytes per direction)); the agent's CPU is
    percent of one CPU, as ``top`` shows it.
    """
    r = snap.readings
    out: dict[str, float] = {}
    for name, key in (("cpu", "cpu"), ("memory", "memory"), ("swap", "paging"), ("load", "load")):
        value = r.get(key, {}).get("")
        if value is not None:
            out[name] = value
    for direction, name in (("receive", "net.rx"), ("transmit", "net.tx")):
        total = _total(r.get(f"network.{direction}"), skip=("lo",))
        if total is not None:
            out[name] = total
    if disk_before is not None and snap.time > disk_before[0]:
        now, before = disk_bytes(snap), disk_before[1]
        for direction in ("read", "write"):
            if direction in now and direction in before and now[direction] >= before[direction]:
                out[f"disk.{direction}"] = (now[direction] - before[direction]) / (snap.time - disk_before[0])
    util = snap.points.get("process.cpu.utilization")
    if util:
        out["agent.cpu"] = 100.0 * ncpu * sum(v for v, _ in util)
    rss = snap.points.get("process.memory.usage")
    if rss:
        out["agent.rss"] = rss[0][0]
    for mount, value in sorted(r.get("filesystem", {}).items()):
        out[f"fs:{mount}"] = value
    for sensor, value in sorted(r.get("temperature", {}).items()):
        out[f"temp:{sensor}"] = value
    return out


def disk_bytes(snap: Snapshot) -> dict[str, float]:
    sums: dict[str, float] = {}
    for value, attrs in snap.points.get("system.disk.io", ()):
        direction = str(attrs.get("disk.io.direction", ""))
        sums[direction] = sums.get(direction, 0.0) + value
    return sums


def _values(ring: array[float], start: int, count: int, step: int) -> list[float | None]:
    """Every ``step``-th of ``count`` values from slot ``start`` on, oldest first, ending with the newest.

    NaN (a missing point) becomes JSON null; values are rounded to three decimals, as float32 noise
    (``0.30000001``) would triple the JSON for nothing.
    """
    end = start + count
    raw = ring[start:end].tolist() if end <= len(ring) else ring[start:].tolist() + ring[: end - len(ring)].tolist()
    if step > 1:
        raw = raw[(count - 1) % step :: step]
    return [None if v != v else round(v, 3) for v in raw]


class History:
    """Fixed-size rings of the headline series; ``record`` is called once per collection."""

    def __init__(self, interval: float, capacity: int | None = None, max_series: int = MAX_SERIES) -> None:
        self.interval = interval
        self.capacity = capacity if capacity is not None else capacity_for(interval)
        self.max_series = max_series
        self.dropped_series = 0  # series refused because ``max_series`` were already kept
        self._times = array("d", [_NAN]) * self.capacity
        self._series: dict[str, array[float]] = {}
        self._next = 0  # the slot the next collection writes
        self._count = 0  # filled slots
        self._disk_before: tuple[float, dict[str, float]] | None = None
        # process.cpu.utilization is over the CPUs the agent may run on (its affinity, as host/selfproc.py
        # divides), not os.cpu_count(): top's "percent of one CPU" is that times the count.
        self._ncpu = len(os.sched_getaffinity(0)) or 1
        self._lock = threading.Lock()
        self.top = Top(self._ncpu)  # the "Top" section, from the same collections

    def record(self, snap: Snapshot) -> None:
        """Store one collection; series missing from it get a gap (NaN) in this slot."""
        self.top.record(snap)
        values = extract(snap, self._ncpu, self._disk_before)
        self._disk_before = (snap.time, disk_bytes(snap))
        self.add(snap.time, values)

    def add(self, when: float, values: Mapping[str, float]) -> None:
        with self._lock:
            slot = self._next
            self._times[slot] = when
            for name, ring in self._series.items():
                ring[slot] = values.get(name, _NAN)
            for name in values.keys() - self._series.keys():
                if len(self._series) >= self.max_series:
                    self.dropped_series += 1
                    continue
                ring = array("f", [_NAN]) * self.capacity
                ring[slot] = values[name]
                self._series[name] = ring
            self._next = (slot + 1) % self.capacity
            self._count = min(self._count + 1, self.capacity)

    def to_json(self) -> dict[str, Any]:
        """Oldest first: ``times`` (epoch seconds) and each series' values, ``null`` where it had none.

        Longer rings are thinned to ``SENT_POINTS`` (every n-th point, the newest always included).
        """
        with self._lock:
            start, count = (self._next - self._count) % self.capacity, self._count
            step = max(1, math.ceil(count / SENT_POINTS))
            times = _values(self._times, start, count, step)
            series = {name: _values(ring, start, count, step) for name, ring in sorted(self._series.items())}
        return {"interval": self.interval, "capacity": self.capacity, "times": times, "series": series}

    def latest(self, name: str) -> float | None:
        """The newest value of one series, or None."""
        with self._lock:
            ring = self._series.get(name)
            if ring is None or not self._count:
                return None
            value = ring[(self._next - 1) % self.capacity]
        return None if math.isnan(value) else float(value)

    def nbytes(self) -> int:
        """Bytes held by the rings' buffers (the fixed part of the cost)."""
        with self._lock:
            return self._times.itemsize * len(self._times) + sum(r.itemsize * len(r) for r in self._series.values())
