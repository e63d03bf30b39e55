"""The status page's "Top" section: the busiest processes, process groups and services of the last collection.

Built once per collection from the snapshot (no read of the host of its own): processes from
``top_processes`` (``otel_mon.process.top.*``), groups from the process groups' readings and I/O counters,
services and containers from the cgroups domain (rates from this collection's counters and the previous
one's). Each table is sorted by CPU and bounded (``ROWS``), so ``/api/status`` stays small whatever the host.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from otel_mon.host.sampler import Snapshot

ROWS = 20  # rows per table at most
GROUP = "otel_mon.process.group"
CGROUP = "otel_mon.cgroup.path"


def _sum_by(snap: Snapshot, metric: str, key: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for value, attrs in snap.points.get(metric, ()):
        name = attrs.get(key)
        if isinstance(name, str):
            out[name] = out.get(name, 0.0) + value
    return out


def _rate(now: Mapping[str, float], before: Mapping[str, float], dt: float) -> dict[str, float]:
    return {k: max(v - before[k], 0.0) / dt for k, v in now.items() if k in before and dt > 0}


class Top:
    def __init__(self, ncpu: int) -> None:
        self.ncpu = ncpu  # utilisation over all CPUs x ncpu x 100 = percent of one CPU, as top shows it
        self._before: tuple[float, dict[str, dict[str, float]]] | None = None
        self._doc: dict[str, Any] = {"processes": [], "groups": [], "services": []}
        self._lock = threading.Lock()

    def record(self, snap: Snapshot) -> None:
        counters = {"group_io": _sum_by(snap, "process.disk.io", GROUP),
                    "cg_cpu": _sum_by(snap, "otel_mon.cgroup.cpu.usage", CGROUP),
                    "cg_io": _sum_by(snap, "otel_mon.cgroup.io", CGROUP)}
        rates: dict[str, dict[str, float]] = {k: {} for k in counters}
        if self._before is not None:
            dt = snap.time - self._before[0]
            rates = {k: _rate(v, self._before[1][k], dt) for k, v in counters.items()}
        self._before = (snap.time, counters)
        doc = {"processes": self._processes(snap), "groups": self._groups(snap, rates["group_io"]),
               "services": self._services(snap, rates["cg_cpu"], rates["cg_io"])}
        with self._lock:
            self._doc = doc

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return self._doc

    def _processes(self, snap: Snapshot) -> list[dict[str, Any]]:
        rows: dict[int, dict[str, Any]] = {}
        for metric, field in (("otel_mon.process.top.cpu.utilization", "cpu_percent"),
                              ("otel_mon.process.top.memory.usage", "rss_bytes")):
            for value, attrs in snap.points.get(metric, ()):
                pid = int(attrs.get("process.pid", 0))
                row = rows.setdefault(pid, {"pid": pid, "name": attrs.get("process.executable.name", ""),
                                            "user": attrs.get("process.owner", ""), "cpu_percent": None,
                                            "rss_bytes": None})
                row[field] = value * self.ncpu * 100 if field == "cpu_percent" else value
        return sorted(rows.values(), key=lambda r: (-(r["cpu_percent"] or 0.0), -(r["rss_bytes"] or 0.0)))[:ROWS]

    def _groups(self, snap: Snapshot, io: Mapping[str, float]) -> list[dict[str, Any]]:
        count = snap.readings.get("process_group.count", {})
        cpu = snap.readings.get("process_group.cpu", {})
        memory = snap.readings.get("process_group.memory", {})
        rows: list[dict[str, Any]] = [
            {"name": g, "processes": int(n), "cpu_percent": cpu.get(g), "rss_bytes": memory.get(g, 0.0) * 2**20,
             "io_bytes_per_s": io.get(g)} for g, n in count.items()]
        return sorted(rows, key=lambda r: (-(r["cpu_percent"] or 0.0), -r["rss_bytes"]))[:ROWS]

    def _services(self, snap: Snapshot, cpu: Mapping[str, float], io: Mapping[str, float]) -> list[dict[str, Any]]:
        memory = _sum_by(snap, "otel_mon.cgroup.memory.usage", CGROUP)
        units = {a.get(CGROUP): a for _, a in snap.points.get("otel_mon.cgroup.memory.usage", ())}
        rows: list[dict[str, Any]] = [{"path": p, "unit": units.get(p, {}).get("otel_mon.systemd.unit", ""),
                 "container_id": units.get(p, {}).get("container.id", ""),
                 "cpu_percent": cpu[p] * 100 if p in cpu else None, "memory_bytes": m,
                 "io_bytes_per_s": io.get(p)} for p, m in memory.items()]
        return sorted(rows, key=lambda r: (-(r["cpu_percent"] or 0.0), -r["memory_bytes"]))[:ROWS]
