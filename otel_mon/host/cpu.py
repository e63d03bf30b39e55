"""CPU time, utilisation from our own deltas, counts and frequency.

Utilisation is computed from successive ``cpu_times`` reads, never from ``psutil.cpu_percent``: that keeps
per-caller state, so a second reader (a scrape thread) would see zeros. The first collection emits time only.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import psutil

from otel_mon import readings
from otel_mon.host.base import Collected
from otel_mon.host.domain import Domain
from otel_mon.host.paths import HostPaths
from otel_mon.host.section import Section
from otel_mon.host.sysfs import frequencies, physical_cores
from otel_mon.metric_spec import MetricSpec, ReadingSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "interrupt", "steal")
_V_CPU = (("cpu.mode", CPU_MODES),)
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("system.cpu.time", "counter", "s", ("cpu.mode",),
      "Seconds the CPUs spent in each mode (softirq is counted in interrupt).", "cpu",
      optional_attributes=("cpu.logical_number",), values=_V_CPU),
    M("system.cpu.utilization", "gauge", "1", ("cpu.mode",),
      "Share of CPU time spent in each mode since the previous collection (0-1); absent on the first.", "cpu",
      optional_attributes=("cpu.logical_number",), values=_V_CPU),
    M("system.cpu.logical.count", "updowncounter", "{cpu}", (), "Logical CPUs the OS created.", "cpu"),
    M("system.cpu.physical.count", "updowncounter", "{cpu}", (), "Physical CPU cores.", "cpu"),
    M("system.cpu.frequency", "gauge", "Hz", ("cpu.logical_number",), "Current frequency of each logical CPU.",
      "cpu"),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("cpu", "%", "", "CPU busy, percent of all logical CPUs", context="cpu"),
    ReadingSpec("cpu.iowait", "%", "", "CPU time idle while waiting for I/O, percent of all logical CPUs (not busy, "
                "but a sign of slow disks)"),
)

# psutil fields, in the order of semconv's cpu.mode values below. guest/guest_nice are already inside
# user/nice on Linux, so they are skipped; softirq is not a semconv mode and is folded into interrupt, as the
# semconv note for cpu.mode asks (interrupt = hard + soft interrupts).
_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
_MODE_NAMES = ("user", "nice", "system", "idle", "iowait", "interrupt", "steal")
_raw = operator.attrgetter(*_FIELDS)


def _pick(times: object) -> tuple[float, ...]:
    """psutil's per-CPU times as semconv modes (softirq added to interrupt)."""
    u, n, s, i, w, irq, soft, st = _raw(times)
    return (u, n, s, i, w, irq + soft, st)

# Attribute sets are built once and shared by every collection (nothing downstream mutates them).
_MODE_ATTRS: tuple[Mapping[str, str | int], ...] = tuple(MappingProxyType({"cpu.mode": m}) for m in _MODE_NAMES)
_PHYSICAL_EVERY = 60.0


@dataclass(frozen=True)
class CpuConfig:
    """The ``cpu`` section."""

    per_logical: bool = False  # add cpu.logical_number to system.cpu.time / utilization (semconv opt-in)


class CpuCollector:
    name = "cpu"

    def __init__(self, paths: HostPaths, cfg: CpuConfig = CpuConfig()) -> None:
        self.paths = paths
        self.per_cpu = cfg.per_logical
        self._prev: list[tuple[float, ...]] | None = None  # per-CPU times when per_cpu, else [totals]
        self._physical: int | None = None
        self._physical_at = float("-inf")

    def collect(self, now: float) -> Collected:
        out = Collected()
        # Per-CPU lines even without per-CPU attributes: their count is the logical CPUs of the host read
        # under root_path (os.cpu_count would be the container's view).
        raw = psutil.cpu_times(percpu=True)
        out.native["cpu.times"] = raw  # with irq/softirq and guest apart, for the node_exporter view
        per_cpu: list[tuple[float, ...]] = [_pick(t) for t in raw]
        rows: list[tuple[float, ...]] = per_cpu if self.per_cpu else [_column_sums(per_cpu)]
        for i, times in enumerate(rows):
            attrs = _MODE_ATTRS if not self.per_cpu else _per_cpu_attrs(i)
            for value, mode_attrs in zip(times, attrs, strict=True):
                out.add("system.cpu.time", value, mode_attrs)
        self._utilization(out, rows)
        self._prev = rows
        out.add("system.cpu.logical.count", len(per_cpu))
        if now - self._physical_at >= _PHYSICAL_EVERY:
            self._physical = physical_cores(self.paths)  # the host's sysfs topology, under root_path
            self._physical_at = now
        if self._physical:
            out.add("system.cpu.physical.count", self._physical)
        for cpu, hz in frequencies(self.paths).items():  # nothing without cpufreq (many VMs and containers)
            out.add("system.cpu.frequency", hz, _number_attrs(cpu))
        return out

    def _utilization(self, out: Collected, rows: list[tuple[float, ...]]) -> None:
        prev = self._prev
        if prev is None or len(prev) != len(rows):
            return
        deltas = [tuple(max(c - o, 0.0) for c, o in zip(cur, old, strict=True))
                  for cur, old in zip(rows, prev, strict=True)]
        total = _column_sums(deltas)
        elapsed = sum(total)
        if elapsed <= 0:
            return
        for i, d in enumerate(deltas):
            row_total = sum(d)
            if row_total <= 0:
                continue
            attrs = _MODE_ATTRS if not self.per_cpu else _per_cpu_attrs(i)
            for value, mode_attrs in zip(d, attrs, strict=True):
                out.add("system.cpu.utilization", value / row_total, mode_attrs)
        busy = readings.cpu_percent(out.points)
        if busy is not None:
            out.reading("cpu", "", busy)
            out.reading("cpu.iowait", "", 100.0 * total[_MODE_NAMES.index("iowait")] / elapsed)


def _column_sums(rows: list[tuple[float, ...]]) -> tuple[float, ...]:
    return tuple(float(sum(column)) for column in zip(*rows, strict=True))


@functools.lru_cache(maxsize=1024)
def _number_attrs(cpu: int) -> Mapping[str, str | int]:
    return MappingProxyType({"cpu.logical_number": cpu})


@functools.lru_cache(maxsize=1024)
def _per_cpu_attrs(cpu: int) -> tuple[Mapping[str, str | int], ...]:
    return tuple(MappingProxyType({"cpu.mode": mode, "cpu.logical_number": cpu}) for mode in _MODE_NAMES)


def build(host: HostConfig, paths: HostPaths) -> CpuCollector:
    """This domain's collector, given only its options."""
    return CpuCollector(paths, host.section(CpuConfig))


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("cpu", position=10, metrics=METRICS, readings=READINGS, section=Section("cpu", CpuConfig), build=build)
