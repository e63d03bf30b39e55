"""Host uptime from /proc/uptime (under the root path)."""

from __future__ import annotations

from otel_mon.host.base import Collected, read_text
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_uptime
from otel_mon.semconv import MetricSpec

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("system.uptime", "gauge", "s", (), "Time since the host booted.", "uptime"),
)
del M


class UptimeCollector:
    name = "uptime"

    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths

    def collect(self, now: float) -> Collected:
        out = Collected()
        up = parse_uptime(read_text(self.paths.proc("uptime")))
        out.add("system.uptime", up)
        out.reading("uptime", "", up)
        return out
