"""Block device I/O counters from /proc/diskstats under the root path.

Read directly (not through psutil, which drops the in-flight and weighted-time columns): sectors there are
always 512 bytes; a counter reset is what Prometheus' rate() already handles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.domain import Domain
from otel_mon.host.filters import Filter, allowed
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_diskstats
from otel_mon.host.section import Section
from otel_mon.metric_spec import MetricSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
_DISK = ("system.device", "disk.io.direction")
_V_DISK = (("disk.io.direction", ("read", "write")),)
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("system.disk.io", "counter", "By", _DISK, "Bytes read from and written to each disk.", "disk",
      values=_V_DISK),
    M("system.disk.operations", "counter", "{operation}", _DISK, "Read and write operations completed.", "disk",
      values=_V_DISK),
    M("system.disk.io_time", "counter", "s", ("system.device",), "Time the disk spent with I/O in progress.",
      "disk"),
    M("system.disk.weighted_io_time", "counter", "s", ("system.device",),
      "Time spent on I/O weighted by the operations in flight (diskstats field 11; hostmetrics' name): its rate "
      "is the average queue length.", "disk"),
    M("system.disk.pending_operations", "updowncounter", "{operation}", ("system.device",),
      "Operations in flight now (diskstats field 9; hostmetrics' name).", "disk"),
    M("system.disk.operation_time", "counter", "s", _DISK, "Sum of the time each operation took.", "disk",
      values=_V_DISK),
    M("system.disk.merged", "counter", "{operation}", _DISK, "Adjacent reads and writes merged by the kernel.",
      "disk", values=_V_DISK),
)
del M

SECTOR = 512
# What each direction's columns of a device feed, in order (bytes, operations, seconds, merges).
_BY_DIRECTION = ("system.disk.io", "system.disk.operations", "system.disk.operation_time", "system.disk.merged")


@dataclass(frozen=True)
class DisksConfig(Filter):
    """The ``disks`` section: which block devices are reported (globs). The default excludes
    node_exporter's --collector.diskstats.device-exclude (partitions, ram, loop, device-mapper, ...)."""

    exclude: tuple[str, ...] = ("ram*", "loop*", "fd*", "sr*", "nbd*", "zram*", "dm-*", "md*p*", "hd*[0-9]",
                                "sd*[0-9]", "nvme*n*p*", "vd*[0-9]", "xvd*[0-9]", "mmcblk*p*")


class DiskCollector:
    name = "disk"

    def __init__(self, paths: HostPaths, devices: Filter) -> None:
        self.paths = paths
        self.devices = devices

    def collect(self, now: float) -> Collected:
        out = Collected()
        for dev, c in parse_diskstats(read_text(self.paths.proc("diskstats"))).items():
            if not allowed(dev, self.devices):
                continue
            for direction, values in (
                ("read", (c.sectors_read * SECTOR, c.reads, c.read_ms / 1000.0, c.reads_merged)),
                ("write", (c.sectors_written * SECTOR, c.writes, c.write_ms / 1000.0, c.writes_merged)),
            ):
                out.add_each(_BY_DIRECTION, values,
                             frozen_attrs(("system.device", dev), ("disk.io.direction", direction)))
            device = frozen_attrs(("system.device", dev))
            out.add("system.disk.io_time", c.io_ms / 1000.0, device)
            out.add("system.disk.weighted_io_time", c.weighted_io_ms / 1000.0, device)
            out.add("system.disk.pending_operations", c.in_progress, device)
        return out


def build(host: HostConfig, paths: HostPaths) -> DiskCollector:
    """This domain's collector, given only its options."""
    return DiskCollector(paths, host.section(DisksConfig))


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("disk", position=50, metrics=METRICS, section=Section("disks", DisksConfig), build=build)
