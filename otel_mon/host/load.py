"""Load averages from /proc/loadavg (read under the root path, unlike os.getloadavg)."""

from __future__ import annotations

import os

from otel_mon.host.base import Collected, read_text
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_loadavg


class LoadCollector:
    name = "load"

    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths
        self.ncpu = os.cpu_count() or 1

    def collect(self, now: float) -> Collected:
        out = Collected()
        one, five, fifteen = parse_loadavg(read_text(self.paths.proc("loadavg")))
        out.add("system.cpu.load_average.1m", one)
        out.add("system.cpu.load_average.5m", five)
        out.add("system.cpu.load_average.15m", fifteen)
        out.reading("load", "", one / self.ncpu)
        out.reading("load.1m", "", one)
        out.reading("load.5m", "", five)
        out.reading("load.15m", "", fifteen)
        return out
