"""Swap per device (/proc/swaps), paging operations, faults and OOM kills (/proc/vmstat), under the root path."""

from __future__ import annotations

from otel_mon import readings
from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_key_int, parse_swaps

_VMSTAT = frozenset({"pswpin", "pswpout", "pgfault", "pgmajfault", "oom_kill"})
_MAJOR_IN = frozen_attrs(("system.paging.fault.type", "major"), ("system.paging.direction", "in"))
_MAJOR_OUT = frozen_attrs(("system.paging.fault.type", "major"), ("system.paging.direction", "out"))
_MAJOR = frozen_attrs(("system.paging.fault.type", "major"))
_MINOR = frozen_attrs(("system.paging.fault.type", "minor"))


class PagingCollector:
    name = "paging"

    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths

    def collect(self, now: float) -> Collected:
        out = Collected()
        for device, size, used in parse_swaps(read_text(self.paths.proc("swaps"))):
            for state, value in (("used", used), ("free", max(size - used, 0))):
                attrs = frozen_attrs(("system.device", device), ("system.paging.state", state))
                out.add("system.paging.usage", value, attrs)
                if size:
                    out.add("system.paging.utilization", value / size, attrs)
        swap = readings.swap_percent(out.points)
        if swap is not None:
            out.reading("paging", "", swap)
        vm = parse_key_int(read_text(self.paths.proc("vmstat")), _VMSTAT)
        if "pswpin" in vm:
            out.add("system.paging.operations", vm["pswpin"], _MAJOR_IN)
            out.add("system.paging.operations", vm.get("pswpout", 0), _MAJOR_OUT)
        if "pgfault" in vm:
            major = vm.get("pgmajfault", 0)
            out.add("system.paging.faults", major, _MAJOR)
            out.add("system.paging.faults", vm["pgfault"] - major, _MINOR)
        if "oom_kill" in vm:  # Linux 4.13+
            out.add("otel_mon.host.oom_kills", vm["oom_kill"])
            out.reading("oom_kills", "", vm["oom_kill"])
        return out
