"""Swap usage (psutil) and paging operations and faults (/proc/vmstat, which psutil does not expose)."""

from __future__ import annotations

import psutil

from otel_mon.host.base import Collected, read_text
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_key_int

_VMSTAT = frozenset({"pswpin", "pswpout", "pgfault", "pgmajfault"})


class PagingCollector:
    name = "paging"

    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths

    def collect(self, now: float) -> Collected:
        out = Collected()
        swap = psutil.swap_memory()
        for state, value in (("used", swap.used), ("free", swap.free)):
            out.add("system.paging.usage", value, {"system.paging.state": state})
            if swap.total:
                out.add("system.paging.utilization", value / swap.total, {"system.paging.state": state})
        if swap.total:
            out.reading("paging", "", round(100.0 * swap.used / swap.total, 3))
        vm = parse_key_int(read_text(self.paths.proc("vmstat")), _VMSTAT)
        if "pswpin" in vm:
            out.add("system.paging.operations", vm["pswpin"], {"system.paging.direction": "in"})
            out.add("system.paging.operations", vm["pswpout"], {"system.paging.direction": "out"})
        if "pgfault" in vm:
            major = vm.get("pgmajfault", 0)
            out.add("system.paging.faults", major, {"system.paging.fault.type": "major"})
            out.add("system.paging.faults", vm["pgfault"] - major, {"system.paging.fault.type": "minor"})
        return out
