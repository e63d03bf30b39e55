"""Swap per device (/proc/swaps), paging operations, faults and OOM kills (/proc/vmstat), under the root path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otel_mon import readings
from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.domain import Domain
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_key_int, parse_swaps
from otel_mon.metric_spec import MetricSpec, ReadingSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
_V_PAGING = (("system.paging.state", ("used", "free")),)
_V_FAULT = (("system.paging.fault.type", ("major", "minor")),)
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("system.paging.usage", "updowncounter", "By", ("system.device", "system.paging.state"),
      "Swap space used and free per swap device or file (/proc/swaps).", "paging", values=_V_PAGING),
    M("system.paging.utilization", "gauge", "1", ("system.device", "system.paging.state"),
      "Share of each swap device used and free (0-1).", "paging", values=_V_PAGING),
    M("system.paging.operations", "counter", "{operation}", ("system.paging.fault.type", "system.paging.direction"),
      "Pages swapped in and out (pswpin, pswpout), counted as major: the kernel has no count of minor paging "
      "operations.", "paging",
      values=(("system.paging.fault.type", ("major",)), ("system.paging.direction", ("in", "out")))),
    M("system.paging.faults", "counter", "{fault}", ("system.paging.fault.type",), "Page faults, major and minor.",
      "paging", values=_V_FAULT),
    M("otel_mon.host.oom_kills", "counter", "{kill}", (), "Processes killed by the OOM killer (/proc/vmstat oom_kill).",
      "paging"),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("paging", "%", "", "swap in use, percent", context="memory"),
    ReadingSpec("oom_kills", "", "", "processes killed by the OOM killer (rules see the increase per collection)",
                counter=True),
)

# pgpgin/pgpgout only for the node_exporter view (its vmstat collector's default fields).
_VMSTAT = frozenset({"pswpin", "pswpout", "pgfault", "pgmajfault", "oom_kill", "pgpgin", "pgpgout"})
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
        out.native["vmstat"] = vm
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


def build(host: HostConfig, paths: HostPaths) -> PagingCollector:
    """This domain's collector, given only its options."""
    return PagingCollector(paths)


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("paging", position=40, metrics=METRICS, readings=READINGS, build=build)
