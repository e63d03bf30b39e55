"""Netfilter connection tracking entries against the table size (opt-in; needs the nf_conntrack module).

A full conntrack table drops new connections silently ("nf_conntrack: table full"), which is why SREs alert
on it. Read from /proc/sys/net/netfilter under the root path; without the module the files are absent and the
domain reports nothing. semconv v1.44 has no such metric, hence the ``otel_mon.`` names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, read_text
from otel_mon.host.domain import Domain
from otel_mon.host.paths import HostPaths
from otel_mon.metric_spec import MetricSpec, ReadingSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("otel_mon.host.conntrack.count", "updowncounter", "{entry}", (),
      "Netfilter connection tracking entries (nf_conntrack_count).", "conntrack"),
    M("otel_mon.host.conntrack.limit", "updowncounter", "{entry}", (),
      "Size of the connection tracking table (nf_conntrack_max); new connections drop when full.", "conntrack"),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("conntrack", "%", "", "connection tracking table in use, percent (conntrack collector on)"),
)


class ConntrackCollector:
    name = "conntrack"

    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths

    def collect(self, now: float) -> Collected:
        out = Collected()
        try:
            count = int(read_text(self.paths.proc("sys", "net", "netfilter", "nf_conntrack_count")))
            limit = int(read_text(self.paths.proc("sys", "net", "netfilter", "nf_conntrack_max")))
        except FileNotFoundError:
            return out
        out.add("otel_mon.host.conntrack.count", count)
        out.add("otel_mon.host.conntrack.limit", limit)
        if limit > 0:
            out.reading("conntrack", "", 100.0 * count / limit)
        return out


def build(host: HostConfig, paths: HostPaths) -> ConntrackCollector:
    """This domain's collector, given only its options."""
    return ConntrackCollector(paths)


# The registration (host/table.py finds it). Off unless switched on (collectors.conntrack): it needs
# nf_conntrack loaded.
DOMAIN = Domain("conntrack", position=140, metrics=METRICS, readings=READINGS, build=build, on_by_default=False)
