"""Block device I/O counters (psutil reads /proc/diskstats under PROCFS_PATH).

``nowrap=False``: psutil's wrap correction is process-global state shared by every caller; the kernel's
counters are 64-bit here, and a reset is what Prometheus' rate() already handles.
"""

from __future__ import annotations

import psutil

from otel_mon.host.base import Collected, frozen_attrs
from otel_mon.host.filters import Filter, allowed


class DiskCollector:
    name = "disk"

    def __init__(self, devices: Filter) -> None:
        self.devices = devices

    def collect(self, now: float) -> Collected:
        out = Collected()
        counters = psutil.disk_io_counters(perdisk=True, nowrap=False) or {}
        for dev, c in counters.items():
            if not allowed(dev, self.devices):
                continue
            for direction, nbytes, ops, ms, merged in (
                ("read", c.read_bytes, c.read_count, c.read_time, c.read_merged_count),
                ("write", c.write_bytes, c.write_count, c.write_time, c.write_merged_count),
            ):
                attrs = frozen_attrs(("system.device", dev), ("disk.io.direction", direction))
                out.add("system.disk.io", nbytes, attrs)
                out.add("system.disk.operations", ops, attrs)
                out.add("system.disk.operation_time", ms / 1000.0, attrs)
                out.add("system.disk.merged", merged, attrs)
            out.add("system.disk.io_time", c.busy_time / 1000.0, frozen_attrs(("system.device", dev)))
        return out
