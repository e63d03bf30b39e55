"""Host uptime from /proc/uptime (under the root path)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, read_text
from otel_mon.host.domain import Domain
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_uptime
from otel_mon.metric_spec import MetricSpec, ReadingSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("system.uptime", "gauge", "s", (), "Time since the host booted.", "uptime"),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("uptime", "s", "", "time since the host booted", rules=False),
)


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


def build(host: HostConfig, paths: HostPaths) -> UptimeCollector:
    """This domain's collector, given only its options."""
    return UptimeCollector(paths)


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("uptime", position=100, metrics=METRICS, readings=READINGS, build=build)
