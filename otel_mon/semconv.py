"""Semantic conventions v1.44, as the agent follows them: the version, and the deliberate departures.

Names, units and attribute keys of the table follow OpenTelemetry semantic conventions v1.44; load average
follows the Collector's hostmetrics receiver. The row type is ``metric_spec.py``, the agent's own
``otel_mon.*`` rows ``agent_metrics.py``, each host domain's rows its module.
"""

from __future__ import annotations

from otel_mon.metric_spec import MetricSpec, ReadingSpec  # for branches written before the split; import from there

__all__ = ["EXCEPTIONS", "SEMCONV_VERSION", "MetricSpec", "ReadingSpec"]

SEMCONV_VERSION = "1.44.0"

# Deliberate departures from semconv v1.44 (metric names, or attribute values for a key), each with its reason.
# docs/metrics.md lists them; tests/test_semconv_contract.py fails on any departure that is not listed here and
# on any entry here that is no departure. The agent's own ``otel_mon.*`` rows need no entry.
EXCEPTIONS: dict[str, str] = {
    "system.cpu.load_average.1m": "not in semconv: the Collector hostmetrics receiver's name, so one dashboard "
                                  "serves both paths",
    "system.cpu.load_average.5m": "as system.cpu.load_average.1m",
    "system.cpu.load_average.15m": "as system.cpu.load_average.1m",
    "system.disk.weighted_io_time": "not in semconv: the Collector hostmetrics receiver's name (node_exporter's "
                                    "node_disk_io_time_weighted_seconds_total)",
    "system.disk.pending_operations": "not in semconv: hostmetrics' name (node_exporter's node_disk_io_now)",
    "system.filesystem.inodes.usage": "not in semconv: hostmetrics' name and unit (node_exporter's "
                                      "node_filesystem_files/files_free)",
    "otel_mon.host.pressure.stall_time": "PSI: no semconv metric in v1.44 (proposals pending); node_exporter's "
                                         "node_pressure_*_seconds_total",
    "otel_mon.host.file_descriptor.count": "no semconv host-wide file handle metric; node_exporter's "
                                           "node_filefd_allocated",
    "otel_mon.host.file_descriptor.limit": "as otel_mon.host.file_descriptor.count (node_filefd_maximum)",
    "otel_mon.host.conntrack.count": "no semconv conntrack metric; node_exporter's node_nf_conntrack_entries",
    "otel_mon.host.conntrack.limit": "as otel_mon.host.conntrack.count (node_nf_conntrack_entries_limit)",
    "otel_mon.host.oom_kills": "no semconv OOM metric; node_exporter's node_vmstat_oom_kill",
    "otel_mon.host.clock.synchronized": "no semconv clock metric; node_exporter's node_timex_sync_status",
    "otel_mon.host.clock.offset": "as otel_mon.host.clock.synchronized (node_timex_offset_seconds)",
    "otel_mon.host.clock.max_error": "as otel_mon.host.clock.synchronized (node_timex_maxerror_seconds)",
    "otel_mon.process.group": "attribute added to semconv's process.* metrics: a process group's rows carry the "
                              "sums over its processes (host/process_groups.py); semconv's describe one process "
                              "(process.pid on the resource). process-exporter's groupname",
    "system.filesystem.type": "attribute values: the kernel's type names (xfs, btrfs, tmpfs, ...); semconv's "
                              "list of well-known values is open and lacks most of them",
}
