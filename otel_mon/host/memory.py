"""Physical memory from /proc/meminfo (under the root path): semconv states and the Linux-specific metrics.

One read of the file per collection feeds every memory metric. Hugepages are opt-in (most hosts have none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from otel_mon import readings
from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.domain import Domain
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_meminfo
from otel_mon.metric_spec import MetricSpec, ReadingSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
_V_MEM = (("system.memory.state", ("used", "free", "buffers", "cached")),)
_V_HUGE = (("system.memory.linux.hugepages.state", ("used", "free")),)
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("system.memory.usage", "updowncounter", "By", ("system.memory.state",),
      "Memory by state: used = MemTotal - MemAvailable (semconv's Linux definition), free = MemFree, "
      "buffers = Buffers, cached = Cached + SReclaimable. The states overlap (reclaimable cache is in both "
      "cached and the headroom that used leaves out), so they do not sum to the limit.", "memory", values=_V_MEM),
    M("system.memory.limit", "updowncounter", "By", (), "Total physical memory (MemTotal).", "memory"),
    M("system.memory.utilization", "gauge", "1", ("system.memory.state",),
      "Each state of system.memory.usage over system.memory.limit (0-1).", "memory", values=_V_MEM),
    M("system.memory.linux.available", "updowncounter", "By", (),
      "MemAvailable: the kernel's estimate of memory available to new work without swapping.", "memory"),
    M("system.memory.linux.shared", "updowncounter", "By", (), "Shmem: shared memory, mostly tmpfs.", "memory"),
    M("system.memory.linux.slab.usage", "updowncounter", "By", ("system.memory.linux.slab.state",),
      "Kernel slab caches, reclaimable (SReclaimable) and not (SUnreclaim).", "memory",
      values=(("system.memory.linux.slab.state", ("reclaimable", "unreclaimable")),)),
    M("system.memory.linux.hugepages.limit", "updowncounter", "{page}", (), "HugePages_Total.", "memory",
      default=False),
    M("system.memory.linux.hugepages.page_size", "updowncounter", "By", (), "Hugepagesize.", "memory",
      default=False),
    M("system.memory.linux.hugepages.reserved", "updowncounter", "{page}", (), "HugePages_Rsvd.", "memory",
      default=False),
    M("system.memory.linux.hugepages.surplus", "updowncounter", "{page}", (), "HugePages_Surp.", "memory",
      default=False),
    M("system.memory.linux.hugepages.usage", "updowncounter", "{page}", ("system.memory.linux.hugepages.state",),
      "Hugepages used (Total - Free) and free.", "memory", default=False, values=_V_HUGE),
    M("system.memory.linux.hugepages.utilization", "gauge", "1", ("system.memory.linux.hugepages.state",),
      "Share of hugepages used and free (0-1).", "memory", default=False, values=_V_HUGE),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("memory", "%", "", "memory in use (MemTotal - MemAvailable), percent: 90 means 10 % available",
                context="memory"),
    ReadingSpec("memory.available", "%", "", "MemAvailable over MemTotal, percent; low is the trouble (a rule "
                "is reached at or below its thresholds)", low_is_bad=True, context="memory"),
)

_STATES = {s: frozen_attrs(("system.memory.state", s)) for s in ("used", "free", "buffers", "cached")}
_SLAB = {s: frozen_attrs(("system.memory.linux.slab.state", s)) for s in ("reclaimable", "unreclaimable")}
_HUGE = {s: frozen_attrs(("system.memory.linux.hugepages.state", s)) for s in ("used", "free")}


class MemoryCollector:
    name = "memory"

    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths

    def collect(self, now: float) -> Collected:
        out = Collected()
        mem = parse_meminfo(read_text(self.paths.proc("meminfo")))
        out.native["meminfo"] = mem  # every field, for the node_exporter view
        total, free, buffers = mem["MemTotal"], mem.get("MemFree", 0), mem.get("Buffers", 0)
        cached = mem.get("Cached", 0) + mem.get("SReclaimable", 0)  # as `free` counts buff/cache
        # semconv v1.44's Linux used is MemTotal - MemAvailable; before Linux 3.14 the older formula it allows.
        available = mem.get("MemAvailable", free + buffers + cached)
        states = {"used": max(total - available, 0), "free": free, "buffers": buffers, "cached": cached}
        for state, value in states.items():
            out.add("system.memory.usage", value, _STATES[state])
            if total:
                out.add("system.memory.utilization", value / total, _STATES[state])
        out.add("system.memory.limit", total)
        out.add("system.memory.linux.available", available)
        if "Shmem" in mem:
            out.add("system.memory.linux.shared", mem["Shmem"])
        if "SReclaimable" in mem and "SUnreclaim" in mem:
            out.add("system.memory.linux.slab.usage", mem["SReclaimable"], _SLAB["reclaimable"])
            out.add("system.memory.linux.slab.usage", mem["SUnreclaim"], _SLAB["unreclaimable"])
        if "HugePages_Total" in mem:
            huge_total, huge_free = mem["HugePages_Total"], mem.get("HugePages_Free", 0)
            out.add("system.memory.linux.hugepages.limit", huge_total)
            out.add("system.memory.linux.hugepages.page_size", mem.get("Hugepagesize", 0))
            out.add("system.memory.linux.hugepages.reserved", mem.get("HugePages_Rsvd", 0))
            out.add("system.memory.linux.hugepages.surplus", mem.get("HugePages_Surp", 0))
            for state, value in (("used", huge_total - huge_free), ("free", huge_free)):
                out.add("system.memory.linux.hugepages.usage", value, _HUGE[state])
                if huge_total:
                    out.add("system.memory.linux.hugepages.utilization", value / huge_total, _HUGE[state])
        # The rule reading is memory in use: 100 - MemAvailable %, so "memory >= 90" is "available <= 10 %".
        memory = readings.memory_percent(out.points)
        if memory is not None:
            out.reading("memory", "", memory)
        available_pct = readings.memory_available_percent(out.points)  # same points: the two sum to 100
        if available_pct is not None:
            out.reading("memory.available", "", available_pct)
        return out


def build(host: HostConfig, paths: HostPaths) -> MemoryCollector:
    """This domain's collector, given only its options."""
    return MemoryCollector(paths)


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("memory", position=30, metrics=METRICS, readings=READINGS, build=build)
