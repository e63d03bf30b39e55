"""Per-interface network counters (psutil reads /proc/net/dev under PROCFS_PATH) and their rates.

``nowrap=False``: psutil's wrap correction is process-global state shared by every caller; the kernel's
counters are 64-bit here, and a reset is what Prometheus' rate() already handles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import psutil

from otel_mon.host.base import Collected, frozen_attrs, rate
from otel_mon.host.domain import Domain
from otel_mon.host.filters import Filter, allowed
from otel_mon.host.section import Section
from otel_mon.metric_spec import MetricSpec, ReadingSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig
    from otel_mon.host.paths import HostPaths

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
_NET = ("network.interface.name", "network.io.direction")
_V_NET = (("network.io.direction", ("receive", "transmit")),)
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("system.network.io", "counter", "By", _NET, "Bytes received and transmitted per interface.", "network",
      values=_V_NET),
    M("system.network.packet.count", "counter", "{packet}", ("system.device", "network.io.direction"),
      "Packets received and transmitted (system.device is the interface, as semconv v1.44 keys this metric).",
      "network", values=_V_NET),
    M("system.network.packet.dropped", "counter", "{packet}", _NET, "Packets dropped without an error.",
      "network", values=_V_NET),
    M("system.network.errors", "counter", "{error}", _NET, "Receive and transmit errors.", "network",
      values=_V_NET),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("network.receive", "By/s", "interface", "bytes received per second", rules=False),
    ReadingSpec("network.transmit", "By/s", "interface", "bytes transmitted per second", rules=False),
)


@dataclass(frozen=True)
class InterfacesConfig(Filter):
    """The ``interfaces`` section: which network interfaces are reported (globs). node_exporter excludes
    nothing by default; loopback is kept (it is real traffic), container veths are left out as the hostmetrics
    examples do."""

    exclude: tuple[str, ...] = ("veth*",)


# What each direction's counters of an interface feed, in order (bytes, errors, drops).
_BY_DIRECTION = ("system.network.io", "system.network.errors", "system.network.packet.dropped")


class NetworkCollector:
    name = "network"

    def __init__(self, interfaces: Filter) -> None:
        self.interfaces = interfaces
        self._prev: dict[str, tuple[float, int, int]] = {}

    def collect(self, now: float) -> Collected:
        out = Collected()
        seen: dict[str, tuple[float, int, int]] = {}
        for nic, c in (psutil.net_io_counters(pernic=True, nowrap=False) or {}).items():
            if not allowed(nic, self.interfaces):
                continue
            for direction, values, packets in (
                ("receive", (c.bytes_recv, c.errin, c.dropin), c.packets_recv),
                ("transmit", (c.bytes_sent, c.errout, c.dropout), c.packets_sent),
            ):
                out.add_each(_BY_DIRECTION, values,
                             frozen_attrs(("network.interface.name", nic), ("network.io.direction", direction)))
                # semconv v1.44 keys this one by system.device
                out.add("system.network.packet.count", packets,
                        frozen_attrs(("system.device", nic), ("network.io.direction", direction)))
            seen[nic] = (now, c.bytes_recv, c.bytes_sent)
            prev = self._prev.get(nic)
            if prev is not None:
                rx = rate(c.bytes_recv, prev[1], now - prev[0])
                tx = rate(c.bytes_sent, prev[2], now - prev[0])
                if rx is not None:
                    out.reading("network.receive", nic, rx)
                if tx is not None:
                    out.reading("network.transmit", nic, tx)
        self._prev = seen
        return out


def build(host: HostConfig, paths: HostPaths) -> NetworkCollector:
    """This domain's collector, given only its options."""
    return NetworkCollector(host.section(InterfacesConfig))


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("network", position=70, metrics=METRICS,
                readings=READINGS, section=Section("interfaces", InterfacesConfig), build=build)
