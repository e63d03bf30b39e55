"""Socket counts by transport, TCP state and local interface, refreshed at most every ``connections.interval``.

``psutil.net_connections`` walks every process's fds (10-30 ms on a quiet host, more with many sockets), so
it is off by default and, when on, its last result is reused between refreshes. The interface is the one that
holds the socket's local address (``psutil.net_if_addrs``, read in the same refresh); sockets bound to a
wildcard address have none and carry no ``network.interface.name``. UDP has no connection state, so its
points carry no ``network.connection.state``.
"""

from __future__ import annotations

import socket
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psutil

from otel_mon.host.base import Collected, frozen_attrs
from otel_mon.host.domain import Domain
from otel_mon.host.section import Section
from otel_mon.metric_spec import MetricSpec
from otel_mon.schema import Duration, Problem, check

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig
    from otel_mon.host.paths import HostPaths

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
TCP_STATES = ("closed", "close_wait", "closing", "established", "fin_wait_1", "fin_wait_2", "last_ack", "listen",
              "syn_received", "syn_sent", "time_wait")
_V_CONN = (("network.transport", ("tcp", "udp")), ("network.connection.state", TCP_STATES))
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("system.network.connection.count", "updowncounter", "{connection}", ("network.transport",),
      "Sockets by transport, TCP state and local interface (where the local address names one; UDP has no "
      "state); refreshed at most every connections.interval (psutil.net_connections is costly).",
      "connections", optional_attributes=("network.connection.state", "network.interface.name"), values=_V_CONN),
)
del M

# psutil's names -> semconv network.connection.state values where they differ.
_STATES = {"syn_recv": "syn_received", "fin_wait1": "fin_wait_1", "fin_wait2": "fin_wait_2", "close": "closed"}
Key = tuple[str, str | None, str | None]  # transport, state, interface


def interface_of_address() -> dict[str, str]:
    """Local IP -> interface name, for the addresses assigned to this host's interfaces."""
    out: dict[str, str] = {}
    for nic, addrs in psutil.net_if_addrs().items():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                out.setdefault(addr.address.split("%", 1)[0], nic)
    return out


@dataclass(frozen=True)
class ConnectionsConfig:
    """The ``connections`` section (the domain itself is switched on with ``collectors.connections: true``)."""

    interval: Duration = Duration(60.0)  # at most one socket walk per interval

    def __post_init__(self) -> None:
        check(self, [Problem("interval", "must be above 0", self.interval)] if self.interval <= 0 else [])


class ConnectionsCollector:
    name = "connections"

    def __init__(self, cfg: ConnectionsConfig = ConnectionsConfig()) -> None:
        self.every = float(cfg.interval)
        self._at = float("-inf")
        self._counts: Counter[Key] = Counter()

    def collect(self, now: float) -> Collected:
        if now - self._at >= self.every:
            nics = interface_of_address()
            counts: Counter[Key] = Counter()
            for conn in psutil.net_connections(kind="inet"):
                tcp = conn.type == socket.SOCK_STREAM
                state = None
                if tcp and conn.status and conn.status != "NONE":
                    raw = conn.status.lower()
                    state = _STATES.get(raw, raw)
                nic = nics.get(conn.laddr.ip) if conn.laddr else None
                counts[("tcp" if tcp else "udp", state, nic)] += 1
            self._counts, self._at = counts, now
        out = Collected()
        for (transport, state, nic), n in sorted(self._counts.items(), key=lambda kv: tuple(map(str, kv[0]))):
            pairs: list[tuple[str, str | int]] = [("network.transport", transport)]
            if state is not None:
                pairs.append(("network.connection.state", state))
            if nic is not None:
                pairs.append(("network.interface.name", nic))
            out.add("system.network.connection.count", n, frozen_attrs(*pairs))
        return out


def build(host: HostConfig, paths: HostPaths) -> ConnectionsCollector:
    """This domain's collector, given only its options."""
    return ConnectionsCollector(host.section(ConnectionsConfig))


# The registration (host/table.py finds it). Off unless switched on (collectors.connections):
# psutil.net_connections costs 10-30 ms a call.
DOMAIN = Domain("connections", position=80, metrics=METRICS,
                section=Section("connections", ConnectionsConfig), build=build, on_by_default=False)
