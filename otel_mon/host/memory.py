"""Physical memory by state (psutil reads /proc/meminfo under PROCFS_PATH)."""

from __future__ import annotations

import psutil

from otel_mon.host.base import Collected


class MemoryCollector:
    name = "memory"

    def collect(self, now: float) -> Collected:
        out = Collected()
        vm = psutil.virtual_memory()
        # psutil's used = total - free - buffers - cached, so the four states add up to total.
        states = {"used": vm.used, "free": vm.free, "buffers": vm.buffers, "cached": vm.cached}
        for state, value in states.items():
            out.add("system.memory.usage", value, {"system.memory.state": state})
            if vm.total:
                out.add("system.memory.utilization", value / vm.total, {"system.memory.state": state})
        out.add("system.memory.limit", vm.total)
        if vm.total:
            # What `free` calls used: memory not available for new work (counts unreclaimable caches too).
            out.reading("memory", "", round(100.0 * (vm.total - vm.available) / vm.total, 3))
        return out
