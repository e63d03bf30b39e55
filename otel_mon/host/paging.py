"""Swap usage (psutil) and paging operations and faults (/proc/vmstat, which psutil does not expose)."""

from __future__ import annotations

import psutil

from otel_mon.host.base import Collected, frozen_attrs, read_text
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
            attrs = frozen_attrs(("system.paging.state", state))
            out.add("system.paging.usage", value, attrs)
            if swap.total:
                out.add("system.paging.utilization", value / swap.total, attrs)
        if swap.total:
            out.reading("paging", "", round(100.0 * swap.used / swap.total, 3))
        vm = parse_key_int(read_text(self.paths.proc("vmstat")), _VMSTAT)
        if "pswpin" in vm:
            out.add("system.paging.operations", vm["pswpin"], frozen_attrs(("system.paging.direction", "in")))
            out.add("system.paging.operations", vm["pswpout"], frozen_attrs(("system.paging.direction", "out")))
        if "pgfault" in vm:
            major = vm.get("pgmajfault", 0)
            out.add("system.paging.faults", major, frozen_attrs(("system.paging.fault.type", "major")))
            out.add("system.paging.faults", vm["pgfault"] - major, frozen_attrs(("system.paging.fault.type", "minor")))
        return out
