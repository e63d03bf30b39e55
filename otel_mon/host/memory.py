"""Physical memory by state (psutil reads /proc/meminfo under PROCFS_PATH)."""

from __future__ import annotations

import psutil

from otel_mon import readings
from otel_mon.host.base import Collected, frozen_attrs

_STATES = {s: frozen_attrs(("system.memory.state", s)) for s in ("used", "free", "buffers", "cached")}


class MemoryCollector:
    name = "memory"

    def collect(self, now: float) -> Collected:
        out = Collected()
        vm = psutil.virtual_memory()
        # semconv v1.44's Linux definition: used = MemTotal - MemAvailable (what `free` calls used). psutil's
        # cached is Cached + SReclaimable. The states overlap, so they are not expected to sum to the limit.
        states = {"used": max(vm.total - vm.available, 0), "free": vm.free, "buffers": vm.buffers,
                  "cached": vm.cached}
        for state, value in states.items():
            out.add("system.memory.usage", value, _STATES[state])
            if vm.total:
                out.add("system.memory.utilization", value / vm.total, _STATES[state])
        out.add("system.memory.limit", vm.total)
        memory = readings.memory_percent(out.points)
        if memory is not None:
            out.reading("memory", "", memory)
        return out
