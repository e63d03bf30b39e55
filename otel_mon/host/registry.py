"""The host domains, by name, and how each is built from its section (node_exporter's one-line registration)."""

from __future__ import annotations

from collections.abc import Callable

from otel_mon.host.base import Collector
from otel_mon.host.clock import ClockCollector
from otel_mon.host.config import HostConfig
from otel_mon.host.connections import ConnectionsCollector
from otel_mon.host.conntrack import ConntrackCollector
from otel_mon.host.cpu import CpuCollector
from otel_mon.host.disk import DiskCollector
from otel_mon.host.filefd import FilefdCollector
from otel_mon.host.filesystem import FilesystemCollector
from otel_mon.host.load import LoadCollector
from otel_mon.host.memory import MemoryCollector
from otel_mon.host.network import NetworkCollector
from otel_mon.host.paging import PagingCollector
from otel_mon.host.paths import HostPaths
from otel_mon.host.pressure import PressureCollector
from otel_mon.host.processes import ProcessesCollector
from otel_mon.host.selfproc import SelfCollector
from otel_mon.host.sensors import SensorsCollector
from otel_mon.host.uptime import UptimeCollector

# Each factory gets the host section and the paths, and hands its collector only the options it needs.
Factory = Callable[[HostConfig, HostPaths], Collector]

DOMAINS: dict[str, Factory] = {
    "cpu": lambda s, p: CpuCollector(p, s.cpu),
    "load": lambda s, p: LoadCollector(p),
    "memory": lambda s, p: MemoryCollector(p),
    "paging": lambda s, p: PagingCollector(p),
    "disk": lambda s, p: DiskCollector(p, s.disks),
    "filesystem": lambda s, p: FilesystemCollector(p, s.filesystem),
    "network": lambda s, p: NetworkCollector(s.interfaces),
    "connections": lambda s, p: ConnectionsCollector(s.connections),
    "processes": lambda s, p: ProcessesCollector(p, s.processes),
    "uptime": lambda s, p: UptimeCollector(p),
    "sensors": lambda s, p: SensorsCollector(p),
    "pressure": lambda s, p: PressureCollector(p),
    "filefd": lambda s, p: FilefdCollector(p),
    "conntrack": lambda s, p: ConntrackCollector(p),
    "clock": lambda s, p: ClockCollector(),
    "self": lambda s, p: SelfCollector(),
}


def build(cfg: HostConfig, paths: HostPaths) -> list[Collector]:
    return [factory(cfg, paths) for name, factory in DOMAINS.items() if cfg.collector_enabled(name)]
