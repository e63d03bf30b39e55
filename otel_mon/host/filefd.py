"""Open file handles of the whole host against the kernel's limit (/proc/sys/fs/file-nr, under the root path).

file-nr holds allocated, allocated-but-unused (0 since Linux 2.6) and the maximum (fs.file-max). semconv
v1.44 has no host-wide file descriptor metric, hence the ``otel_mon.`` names (node_exporter's
node_filefd_allocated / node_filefd_maximum).
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
    M("otel_mon.host.file_descriptor.count", "updowncounter", "{file_descriptor}", (),
      "File handles allocated host-wide (/proc/sys/fs/file-nr).", "filefd"),
    M("otel_mon.host.file_descriptor.limit", "updowncounter", "{file_descriptor}", (),
      "Host-wide file handle limit (fs.file-max).", "filefd"),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("file_descriptors", "%", "", "host-wide file handles in use, percent of fs.file-max"),
)


class FilefdCollector:
    name = "filefd"

    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths

    def collect(self, now: float) -> Collected:
        out = Collected()
        allocated, unused, maximum = (int(f) for f in read_text(self.paths.proc("sys", "fs", "file-nr")).split()[:3])
        used = allocated - unused
        out.add("otel_mon.host.file_descriptor.count", used)
        out.add("otel_mon.host.file_descriptor.limit", maximum)
        if maximum > 0:
            out.reading("file_descriptors", "", 100.0 * used / maximum)
        return out


def build(host: HostConfig, paths: HostPaths) -> FilefdCollector:
    """This domain's collector, given only its options."""
    return FilefdCollector(paths)


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("filefd", position=130, metrics=METRICS, readings=READINGS, build=build)
