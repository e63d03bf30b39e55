"""The host domains' part of the settings: which domains run, and each domain's own options.

The keys sit at the top level of the config file (``collectors``, ``cpu``, ``connections``, ``filesystem``,
``disks``, ...): ``Settings`` holds this section inline. A domain with options declares its dataclass in its
own module (``host/cpu.py``'s ``CpuConfig``, ``host/filesystem.py``'s ``FilesystemConfig``) and gets one field
here; the registry's factory hands the collector only that field. See docs/architecture.md, "Adding a config
section".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from otel_mon.host.connections import ConnectionsConfig
from otel_mon.host.cpu import CpuConfig
from otel_mon.host.filesystem import FilesystemConfig
from otel_mon.host.filters import Filter
from otel_mon.host.processes import ProcessesConfig
from otel_mon.host.table import HOST_DOMAINS
from otel_mon.schema import Problem, check, did_you_mean

# node_exporter's --collector.netdev.device-exclude is empty; loopback is rarely wanted on dashboards but is
# kept (it is real traffic). Virtual container veths are excluded like the hostmetrics examples do.
DEFAULT_INTERFACES_EXCLUDE = ("veth*",)
# node_exporter's --collector.diskstats.device-exclude default, as globs.
DEFAULT_DISKS_EXCLUDE = ("ram*", "loop*", "fd*", "sr*", "nbd*", "zram*", "dm-*", "md*p*", "hd*[0-9]",
                         "sd*[0-9]", "nvme*n*p*", "vd*[0-9]", "xvd*[0-9]", "mmcblk*p*")
# Domains off unless switched on: psutil.net_connections costs 10-30 ms a call; conntrack needs nf_conntrack.
OFF_BY_DEFAULT = frozenset({"connections", "conntrack"})


def default_collectors() -> dict[str, bool]:
    return {name: name not in OFF_BY_DEFAULT for name in HOST_DOMAINS}


@dataclass(frozen=True)
class HostConfig:
    collectors: dict[str, bool] = field(default_factory=default_collectors)
    cpu: CpuConfig = CpuConfig()
    connections: ConnectionsConfig = ConnectionsConfig()
    processes: ProcessesConfig = ProcessesConfig()
    filesystem: FilesystemConfig = FilesystemConfig()
    disks: Filter = Filter(exclude=DEFAULT_DISKS_EXCLUDE)
    interfaces: Filter = Filter(exclude=DEFAULT_INTERFACES_EXCLUDE)

    def __post_init__(self) -> None:
        check(self, [Problem(f"collectors.{name}", f"unknown collector{did_you_mean(name, HOST_DOMAINS)}",
                             plain=True) for name in self.collectors if name not in HOST_DOMAINS])

    def collector_enabled(self, domain: str) -> bool:
        return self.collectors.get(domain, domain not in OFF_BY_DEFAULT)
