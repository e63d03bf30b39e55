"""Physical memory by state (psutil reads /proc/meminfo under PROCFS_PATH)."""

from __future__ import annotations

import psutil

from otel_mon.host.base import Collected, frozen_attrs


class MemoryCollector:
    name = "memory"

    def collect(self, now: float) -> Collected:
        out = Collected()
        vm = psutil.virtual_memory()
        # psutil 7 reports used = total - available; we keep the four states summing to total, as the
        # hostmetrics receiver does (psutil's cached already includes reclaimable slab).
        used = max(vm.total - vm.free - vm.buffers - vm.cached, 0)
        states = {"used": used, "free": vm.free, "buffers": vm.buffers, "cached": vm.cached}
        for state, value in states.items():
            attrs = frozen_attrs(("system.memory.state", state))
            out.add("system.memory.usage", value, attrs)
            if vm.total:
                out.add("system.memory.utilization", value / vm.total, attrs)
        out.add("system.memory.limit", vm.total)
        if vm.total:
            # What `free` calls used: memory not available for new work (counts unreclaimable caches too).
            out.reading("memory", "", round(100.0 * (vm.total - vm.available) / vm.total, 3))
        return out
