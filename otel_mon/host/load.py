"""Load averages from /proc/loadavg (read under the root path, unlike os.getloadavg)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, read_text
from otel_mon.host.domain import Domain
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_loadavg
from otel_mon.host.sysfs import online_cpus
from otel_mon.metric_spec import MetricSpec, ReadingSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("system.cpu.load_average.1m", "gauge", "{thread}", (), "Load average over 1 minute.", "load"),
    M("system.cpu.load_average.5m", "gauge", "{thread}", (), "Load average over 5 minutes.", "load"),
    M("system.cpu.load_average.15m", "gauge", "{thread}", (), "Load average over 15 minutes.", "load"),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("load", "", "", "1-minute load average per logical CPU", context="cpu"),
    ReadingSpec("load.1m", "", "", "1-minute load average", rules=False),
    ReadingSpec("load.5m", "", "", "5-minute load average", rules=False),
    ReadingSpec("load.15m", "", "", "15-minute load average", rules=False),
)

_CPUS_EVERY = 60.0  # CPU hotplug is rare: recount the host's online CPUs once a minute


class LoadCollector:
    name = "load"

    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths
        self.ncpu = 1
        self._ncpu_at = float("-inf")

    def collect(self, now: float) -> Collected:
        out = Collected()
        if now - self._ncpu_at >= _CPUS_EVERY:  # the host's CPUs (under root_path), not this container's view
            self.ncpu = online_cpus(self.paths) or _stat_cpus(read_text(self.paths.proc("stat"))) or 1
            self._ncpu_at = now
        one, five, fifteen = parse_loadavg(read_text(self.paths.proc("loadavg")))
        out.add("system.cpu.load_average.1m", one)
        out.add("system.cpu.load_average.5m", five)
        out.add("system.cpu.load_average.15m", fifteen)
        out.reading("load", "", one / self.ncpu)
        out.reading("load.1m", "", one)
        out.reading("load.5m", "", five)
        out.reading("load.15m", "", fifteen)
        return out


def _stat_cpus(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.startswith("cpu") and line[3:4].isdigit())


def build(host: HostConfig, paths: HostPaths) -> LoadCollector:
    """This domain's collector, given only its options."""
    return LoadCollector(paths)


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("load", position=20, metrics=METRICS, readings=READINGS, build=build)
