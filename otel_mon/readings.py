"""One definition of each human reading (percentages), computed from metric points.

The sampler's snapshot, ``/health``, the health rules, ``tail`` and ``report`` all call these functions over
the points of one collection (the snapshot's, or a spooled batch's), so "memory %" is one number everywhere.
The dashboard's PromQL for each is given in the docstring; it reads the same series.

``Points`` maps a metric name to its (value, attributes) points, the shape of a snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Points = Mapping[str, Iterable[tuple[float, Mapping[str, Any]]]]
_NONE: tuple[tuple[float, Mapping[str, Any]], ...] = ()
IDLE_MODES = ("idle", "iowait")  # the cpu.mode values that are not busy


def _by(points: Points, name: str, key: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for value, attrs in points.get(name, _NONE):
        out[str(attrs.get(key, ""))] = out.get(str(attrs.get(key, "")), 0.0) + value
    return out


def _one(points: Points, name: str) -> float | None:
    for value, _attrs in points.get(name, _NONE):
        return value
    return None


def memory_percent(points: Points) -> float | None:
    """Memory in use: MemTotal - MemAvailable over MemTotal (semconv's ``used``, what ``free`` shows).

    PromQL: ``100 * system_memory_usage_bytes{system_memory_state="used"} / system_memory_limit_bytes``.
    """
    limit = _one(points, "system.memory.limit")
    used = _by(points, "system.memory.usage", "system.memory.state").get("used")
    if not limit or used is None:
        return None
    return 100.0 * used / limit


def memory_available_percent(points: Points) -> float | None:
    """MemAvailable over MemTotal.

    PromQL: ``100 * system_memory_linux_available_bytes / system_memory_limit_bytes``.
    """
    limit = _one(points, "system.memory.limit")
    available = _one(points, "system.memory.linux.available")
    if not limit or available is None:
        return None
    return 100.0 * available / limit


def cpu_percent(points: Points) -> float | None:
    """CPU busy since the previous collection: 1 - idle - iowait, averaged over logical CPUs.

    From ``system.cpu.utilization`` (absent on the first collection). PromQL over the counter (the
    dashboard's "CPU busy" and ``HostHighCpu``): ``100 * (1 - avg(sum by (cpu_logical_number)
    (rate(system_cpu_time_seconds_total{cpu_mode=~"idle|iowait"}[5m])) / sum by (cpu_logical_number)
    (rate(system_cpu_time_seconds_total[5m]))))``; a plain sum ratio differs when per-CPU series are on.
    """
    idle: dict[str, float] = {}
    for value, attrs in points.get("system.cpu.utilization", _NONE):
        cpu = str(attrs.get("cpu.logical_number", ""))
        mode = attrs.get("cpu.mode")
        idle[cpu] = idle.get(cpu, 0.0) + (value if mode in IDLE_MODES else 0.0)
    if not idle:
        return None
    return 100.0 * (1.0 - sum(idle.values()) / len(idle))


def cpu_percent_between(before: Points, after: Points) -> float | None:
    """CPU busy between two collections from the ``system.cpu.time`` counters: 1 - delta(idle + iowait) /
    delta(all), the PromQL of :func:`cpu_percent` over two points instead of rate(). Where the utilisation
    gauge was not kept (``report`` over a spool without it). None when no CPU time elapsed or a counter went
    back (a reboot)."""

    def sums(points: Points) -> tuple[float, float]:
        total = idle = 0.0
        for value, attrs in points.get("system.cpu.time", _NONE):
            total += value
            idle += value if attrs.get("cpu.mode") in IDLE_MODES else 0.0
        return total, idle

    (all0, idle0), (all1, idle1) = sums(before), sums(after)
    elapsed, idle_delta = all1 - all0, idle1 - idle0
    if elapsed <= 0 or idle_delta < 0:
        return None
    return 100.0 * (elapsed - idle_delta) / elapsed


def _df(points: Points, name: str, state_key: str) -> dict[str, float]:
    """used / (used + free) per mountpoint: ``df``'s Use% (free is what unprivileged users can still use)."""
    parts: dict[str, dict[str, float]] = {}
    for value, attrs in points.get(name, _NONE):
        mount = str(attrs.get("system.filesystem.mountpoint", ""))
        parts.setdefault(mount, {})[str(attrs.get(state_key, ""))] = value
    out = {}
    for mount, states in parts.items():
        used, free = states.get("used"), states.get("free")
        if used is not None and free is not None and used + free > 0:
            out[mount] = 100.0 * used / (used + free)
    return out


def filesystem_percent(points: Points) -> dict[str, float]:
    """Space in use per mountpoint as ``df`` counts it: used / (used + available to non-root).

    PromQL: ``100 * system_filesystem_usage_bytes{system_filesystem_state="used"} / ignoring(system_filesystem_state)
    sum without(system_filesystem_state)(system_filesystem_usage_bytes{system_filesystem_state=~"used|free"})``.
    """
    return _df(points, "system.filesystem.usage", "system.filesystem.state")


def inodes_percent(points: Points) -> dict[str, float]:
    """Inodes in use per mountpoint: used / (used + free).

    PromQL: ``100 * system_filesystem_inodes_usage{system_filesystem_state="used"} / ignoring(system_filesystem_state)
    sum without(system_filesystem_state)(system_filesystem_inodes_usage)``.
    """
    return _df(points, "system.filesystem.inodes.usage", "system.filesystem.state")


def swap_percent(points: Points) -> float | None:
    """Swap in use over all swap devices; None without swap.

    PromQL: ``100 * sum(system_paging_usage_bytes{system_paging_state="used"}) / sum(system_paging_usage_bytes)``.
    """
    states = _by(points, "system.paging.usage", "system.paging.state")
    total = states.get("used", 0.0) + states.get("free", 0.0)
    return 100.0 * states.get("used", 0.0) / total if total > 0 else None
