"""The agent's own process, from getrusage and /proc/self.

Read from the real /proc/self rather than psutil: under a root path psutil looks at the host's /proc, where
the agent's PID (from another PID namespace) may name a different process.
"""

from __future__ import annotations

import os
import resource
import time
from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.domain import Domain
from otel_mon.host.procfs import parse_statm, parse_status_threads
from otel_mon.metric_spec import MetricSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig
    from otel_mon.host.paths import HostPaths

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("process.cpu.time", "counter", "s", ("cpu.mode",), "CPU seconds the agent used (user, system).", "self",
      values=(("cpu.mode", ("user", "system")),)),
    M("process.cpu.utilization", "gauge", "1", ("cpu.mode",),
      "Agent CPU time since the previous collection over elapsed time and CPUs; absent on the first.", "self",
      values=(("cpu.mode", ("user", "system")),)),
    M("process.memory.usage", "updowncounter", "By", (), "Agent resident memory (RSS).", "self"),
    M("process.memory.virtual", "updowncounter", "By", (), "Agent virtual memory size.", "self"),
    M("process.thread.count", "updowncounter", "{thread}", (), "Agent threads.", "self"),
    M("process.unix.file_descriptor.count", "updowncounter", "{file_descriptor}", (), "Agent open file descriptors.",
      "self"),
    M("process.context_switches", "counter", "{context_switch}", ("process.context_switch.type",),
      "Agent context switches, voluntary and involuntary.", "self",
      values=(("process.context_switch.type", ("voluntary", "involuntary")),)),
    M("process.uptime", "gauge", "s", (), "Time since the agent started.", "self"),
)
del M

_PAGE = os.sysconf("SC_PAGE_SIZE")
_USER = frozen_attrs(("cpu.mode", "user"))
_SYSTEM = frozen_attrs(("cpu.mode", "system"))
_VOLUNTARY = frozen_attrs(("process.context_switch.type", "voluntary"))
_INVOLUNTARY = frozen_attrs(("process.context_switch.type", "involuntary"))


class SelfCollector:
    name = "self"

    def __init__(self, started: float | None = None) -> None:
        self.started = time.time() if started is None else started
        self._started_mono = time.monotonic() - max(time.time() - self.started, 0.0)  # steps do not move uptime
        self._prev: tuple[float, float, float] | None = None
        # semconv: process.cpu.utilization is over the CPUs available to the process (its affinity mask).
        self._ncpu = len(os.sched_getaffinity(0)) or 1

    def collect(self, now: float) -> Collected:
        out = Collected()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        out.add("process.cpu.time", ru.ru_utime, _USER)
        out.add("process.cpu.time", ru.ru_stime, _SYSTEM)
        wall = time.monotonic()
        if self._prev is not None and wall > self._prev[0]:
            span = (wall - self._prev[0]) * self._ncpu
            out.add("process.cpu.utilization", max(ru.ru_utime - self._prev[1], 0.0) / span, _USER)
            out.add("process.cpu.utilization", max(ru.ru_stime - self._prev[2], 0.0) / span, _SYSTEM)
        self._prev = (wall, ru.ru_utime, ru.ru_stime)
        vms, rss = parse_statm(read_text("/proc/self/statm"), _PAGE)
        out.add("process.memory.usage", rss)
        out.add("process.memory.virtual", vms)
        out.add("process.thread.count", parse_status_threads(read_text("/proc/self/status")))
        out.add("process.unix.file_descriptor.count", len(os.listdir("/proc/self/fd")))
        out.add("process.context_switches", ru.ru_nvcsw, _VOLUNTARY)
        out.add("process.context_switches", ru.ru_nivcsw, _INVOLUNTARY)
        out.add("process.uptime", max(time.monotonic() - self._started_mono, 0.0))
        return out


def build(host: HostConfig, paths: HostPaths) -> SelfCollector:
    """This domain's collector, given only its options."""
    return SelfCollector()


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("self", position=160, metrics=METRICS, build=build)
