"""The one table of every metric otel-mon emits.

Instruments are created from these rows and nothing else (see ``instruments.py``); ``docs/metrics.md`` is
generated from them (``python -m otel_mon.docgen``) and a test fails when either drifts. Names, units and
attribute keys follow OpenTelemetry semantic conventions v1.44; load average follows the Collector's
hostmetrics receiver; ``otel_mon.*`` rows are the agent's own health.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Instrument = Literal["counter", "updowncounter", "gauge", "histogram"]

SEMCONV_VERSION = "1.44.0"


@dataclass(frozen=True)
class MetricSpec:
    name: str
    instrument: Instrument
    unit: str
    attributes: tuple[str, ...]
    description: str
    domain: str
    default: bool = True
    optional_attributes: tuple[str, ...] = ()
    # Allowed values of the enumerated attribute keys, ((key, (value, ...)), ...); keys not listed are free-form
    # (device names, mountpoints). The sampler holds every emitted point to these, once per attribute set.
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def allowed(self, key: str) -> tuple[str, ...] | None:
        """The allowed values of ``key``, or None when any value is fine."""
        for k, vals in self.values:
            if k == key:
                return vals
        return None


_NET = ("network.interface.name", "network.io.direction")
_DISK = ("system.device", "disk.io.direction")
_FS = (
    "system.device",
    "system.filesystem.state",
    "system.filesystem.type",
    "system.filesystem.mode",
    "system.filesystem.mountpoint",
)
_FS_NOSTATE = tuple(a for a in _FS if a != "system.filesystem.state")
_SIG = ("otel_mon.signal",)
_DEST = ("otel_mon.destination",)
_V_DEST = (("otel_mon.destination", ("remote_write",)),)
_PROBE = ("otel_mon.probe.name", "otel_mon.probe.kind", "server.address", "server.port")

# Allowed values of the enumerated attributes (semconv's enums; the contract test holds them to the package).
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "interrupt", "steal")
_V_CPU = (("cpu.mode", CPU_MODES),)
_V_NET = (("network.io.direction", ("receive", "transmit")),)
_V_DISK = (("disk.io.direction", ("read", "write")),)
_V_FS = (("system.filesystem.state", ("used", "free", "reserved")), ("system.filesystem.mode", ("rw", "ro")))
_V_FS_MODE = (("system.filesystem.mode", ("rw", "ro")),)
_V_MEM = (("system.memory.state", ("used", "free", "buffers", "cached")),)
_V_HUGE = (("system.memory.linux.hugepages.state", ("used", "free")),)
_V_PAGING = (("system.paging.state", ("used", "free")),)
_V_FAULT = (("system.paging.fault.type", ("major", "minor")),)
_V_PROC_STATE = (("process.state", ("running", "sleeping", "stopped", "defunct")),)
TCP_STATES = ("closed", "close_wait", "closing", "established", "fin_wait_1", "fin_wait_2", "last_ack", "listen",
              "syn_received", "syn_sent", "time_wait")
_V_CONN = (("network.transport", ("tcp", "udp")), ("network.connection.state", TCP_STATES))

M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    # cpu
    M("system.cpu.time", "counter", "s", ("cpu.mode",),
      "Seconds the CPUs spent in each mode (softirq is counted in interrupt).", "cpu",
      optional_attributes=("cpu.logical_number",), values=_V_CPU),
    M("system.cpu.utilization", "gauge", "1", ("cpu.mode",),
      "Share of CPU time spent in each mode since the previous collection (0-1); absent on the first.", "cpu",
      optional_attributes=("cpu.logical_number",), values=_V_CPU),
    M("system.cpu.logical.count", "updowncounter", "{cpu}", (), "Logical CPUs the OS created.", "cpu"),
    M("system.cpu.physical.count", "updowncounter", "{cpu}", (), "Physical CPU cores.", "cpu"),
    M("system.cpu.frequency", "gauge", "Hz", ("cpu.logical_number",), "Current frequency of each logical CPU.",
      "cpu"),
    # load (hostmetrics receiver names)
    M("system.cpu.load_average.1m", "gauge", "{thread}", (), "Load average over 1 minute.", "load"),
    M("system.cpu.load_average.5m", "gauge", "{thread}", (), "Load average over 5 minutes.", "load"),
    M("system.cpu.load_average.15m", "gauge", "{thread}", (), "Load average over 15 minutes.", "load"),
    # memory
    M("system.memory.usage", "updowncounter", "By", ("system.memory.state",),
      "Memory by state: used = MemTotal - MemAvailable (semconv's Linux definition), free = MemFree, "
      "buffers = Buffers, cached = Cached + SReclaimable. The states overlap (reclaimable cache is in both "
      "cached and the headroom that used leaves out), so they do not sum to the limit.", "memory", values=_V_MEM),
    M("system.memory.limit", "updowncounter", "By", (), "Total physical memory (MemTotal).", "memory"),
    M("system.memory.utilization", "gauge", "1", ("system.memory.state",),
      "Each state of system.memory.usage over system.memory.limit (0-1).", "memory", values=_V_MEM),
    M("system.memory.linux.available", "updowncounter", "By", (),
      "MemAvailable: the kernel's estimate of memory available to new work without swapping.", "memory"),
    M("system.memory.linux.shared", "updowncounter", "By", (), "Shmem: shared memory, mostly tmpfs.", "memory"),
    M("system.memory.linux.slab.usage", "updowncounter", "By", ("system.memory.linux.slab.state",),
      "Kernel slab caches, reclaimable (SReclaimable) and not (SUnreclaim).", "memory",
      values=(("system.memory.linux.slab.state", ("reclaimable", "unreclaimable")),)),
    M("system.memory.linux.hugepages.limit", "updowncounter", "{page}", (), "HugePages_Total.", "memory",
      default=False),
    M("system.memory.linux.hugepages.page_size", "updowncounter", "By", (), "Hugepagesize.", "memory",
      default=False),
    M("system.memory.linux.hugepages.reserved", "updowncounter", "{page}", (), "HugePages_Rsvd.", "memory",
      default=False),
    M("system.memory.linux.hugepages.surplus", "updowncounter", "{page}", (), "HugePages_Surp.", "memory",
      default=False),
    M("system.memory.linux.hugepages.usage", "updowncounter", "{page}", ("system.memory.linux.hugepages.state",),
      "Hugepages used (Total - Free) and free.", "memory", default=False, values=_V_HUGE),
    M("system.memory.linux.hugepages.utilization", "gauge", "1", ("system.memory.linux.hugepages.state",),
      "Share of hugepages used and free (0-1).", "memory", default=False, values=_V_HUGE),
    # paging
    M("system.paging.usage", "updowncounter", "By", ("system.device", "system.paging.state"),
      "Swap space used and free per swap device or file (/proc/swaps).", "paging", values=_V_PAGING),
    M("system.paging.utilization", "gauge", "1", ("system.device", "system.paging.state"),
      "Share of each swap device used and free (0-1).", "paging", values=_V_PAGING),
    M("system.paging.operations", "counter", "{operation}", ("system.paging.fault.type", "system.paging.direction"),
      "Pages swapped in and out (pswpin, pswpout), counted as major: the kernel has no count of minor paging "
      "operations.", "paging",
      values=(("system.paging.fault.type", ("major",)), ("system.paging.direction", ("in", "out")))),
    M("system.paging.faults", "counter", "{fault}", ("system.paging.fault.type",), "Page faults, major and minor.",
      "paging", values=_V_FAULT),
    # disk
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
    # filesystem
    M("system.filesystem.usage", "updowncounter", "By", _FS,
      "Filesystem space used, free (to unprivileged users) and reserved (for root).", "filesystem", values=_V_FS),
    M("system.filesystem.utilization", "gauge", "1", _FS,
      "Share of the filesystem's space in use as df counts it: used / (used + free to unprivileged users); "
      "state used only.", "filesystem",
      values=(("system.filesystem.state", ("used",)), *_V_FS_MODE)),
    M("system.filesystem.inodes.usage", "updowncounter", "{inodes}", _FS,
      "Inodes used and free per filesystem (statvfs f_files - f_ffree, f_ffree); hostmetrics' name and unit, "
      "with semconv's attribute keys.", "filesystem",
      values=(("system.filesystem.state", ("used", "free")), *_V_FS_MODE)),
    M("system.filesystem.limit", "updowncounter", "By", _FS_NOSTATE, "Total size of the filesystem.",
      "filesystem", values=_V_FS_MODE),
    # network
    M("system.network.io", "counter", "By", _NET, "Bytes received and transmitted per interface.", "network",
      values=_V_NET),
    M("system.network.packet.count", "counter", "{packet}", ("system.device", "network.io.direction"),
      "Packets received and transmitted (system.device is the interface, as semconv v1.44 keys this metric).",
      "network", values=_V_NET),
    M("system.network.packet.dropped", "counter", "{packet}", _NET, "Packets dropped without an error.",
      "network", values=_V_NET),
    M("system.network.errors", "counter", "{error}", _NET, "Receive and transmit errors.", "network",
      values=_V_NET),
    M("system.network.connection.count", "updowncounter", "{connection}", ("network.transport",),
      "Sockets by transport, TCP state and local interface (where the local address names one; UDP has no "
      "state); refreshed at most every connections.interval (psutil.net_connections is costly).",
      "connections", optional_attributes=("network.connection.state", "network.interface.name"), values=_V_CONN),
    # processes & uptime
    M("system.process.count", "updowncounter", "{process}", ("process.state",),
      "Processes by state from /proc/<pid>/stat (R running; S, D, I sleeping; T, t stopped; Z defunct); "
      "counted at most every processes.interval (30 s).",
      "processes", values=_V_PROC_STATE),
    M("system.process.created", "counter", "{process}", (), "Processes created since boot.", "processes"),
    M("system.uptime", "gauge", "s", (), "Time since the host booted.", "uptime"),
    # sensors
    M("hw.temperature", "gauge", "Cel", ("hw.id",),
      "Temperature of each hwmon sensor under /sys/class/hwmon; absent where there is none.", "sensors",
      optional_attributes=("hw.name", "hw.parent", "hw.sensor_location")),
    # pressure, file handles, conntrack, OOM kills, clock: no semconv metric exists (see EXCEPTIONS)
    M("otel_mon.host.pressure.stall_time", "counter", "s",
      ("otel_mon.pressure.resource", "otel_mon.pressure.stall_type"),
      "Time tasks were stalled on each resource (/proc/pressure, total): some = at least one task, full = all "
      "non-idle tasks; rate() is the stalled share. Absent without PSI.", "pressure",
      values=(("otel_mon.pressure.resource", ("cpu", "memory", "io")),
              ("otel_mon.pressure.stall_type", ("some", "full")))),
    M("otel_mon.host.file_descriptor.count", "updowncounter", "{file_descriptor}", (),
      "File handles allocated host-wide (/proc/sys/fs/file-nr).", "filefd"),
    M("otel_mon.host.file_descriptor.limit", "updowncounter", "{file_descriptor}", (),
      "Host-wide file handle limit (fs.file-max).", "filefd"),
    M("otel_mon.host.conntrack.count", "updowncounter", "{entry}", (),
      "Netfilter connection tracking entries (nf_conntrack_count).", "conntrack"),
    M("otel_mon.host.conntrack.limit", "updowncounter", "{entry}", (),
      "Size of the connection tracking table (nf_conntrack_max); new connections drop when full.", "conntrack"),
    M("otel_mon.host.oom_kills", "counter", "{kill}", (), "Processes killed by the OOM killer (/proc/vmstat oom_kill).",
      "paging"),
    M("otel_mon.host.clock.synchronized", "gauge", "{state}", (),
      "1 when the kernel's clock is synchronised (adjtimex: STA_UNSYNC clear), else 0.", "clock"),
    M("otel_mon.host.clock.offset", "gauge", "s", (), "The kernel's last estimate of the clock's offset (adjtimex).",
      "clock"),
    M("otel_mon.host.clock.max_error", "gauge", "s", (), "The kernel's maximum error bound of the clock (adjtimex).",
      "clock"),
    # the agent's own process (process.pid and process.creation.time are on the resource)
    M("process.cpu.time", "counter", "s", ("cpu.mode",), "CPU seconds the agent used (user, system).", "self",
      values=(("cpu.mode", ("user", "system")),)),
    M("process.cpu.utilization", "gauge", "1", ("cpu.mode",),
      "Agent CPU time since the previous collection over elapsed time and CPUs; absent on the first.", "self",
      values=(("cpu.mode", ("user", "system")),)),
    M("process.memory.usage", "updowncounter", "By", (), "Agent resident memory (RSS).", "self"),
    M("process.memory.virtual", "updowncounter", "By", (), "Agent virtual memory size.", "self"),
    M("process.thread.count", "updowncounter", "{thread}", (), "Agent threads.", "self"),
    M("process.unix.file_descriptor.count", "updowncounter", "{file_descriptor}", (), "Agent open file descriptors.",
      "self"),
    M("process.context_switches", "counter", "{context_switch}", ("process.context_switch.type",),
      "Agent context switches, voluntary and involuntary.", "self",
      values=(("process.context_switch.type", ("voluntary", "involuntary")),)),
    M("process.uptime", "gauge", "s", (), "Time since the agent started.", "self"),
    # the collectors themselves (node_exporter's scrape_collector_* in OTel form)
    M("otel_mon.collector.duration", "gauge", "s", ("otel_mon.collector",),
      "Time the last read of each domain took.", "collector"),
    M("otel_mon.collector.success", "gauge", "{success}", ("otel_mon.collector",),
      "1 when the last read of the domain succeeded, 0 when it failed.", "collector"),
    M("otel_mon.collector.errors", "counter", "{error}", ("otel_mon.collector", "error.type"),
      "Failed reads per domain (psutil errors, hung mounts skipped on timeout).", "collector"),
    # spool (issue 3)
    M("otel_mon.spool.written", "counter", "By", _SIG, "Bytes appended to the spool.", "spool"),
    M("otel_mon.spool.records", "counter", "{record}", _SIG, "Lines (OTLP-JSON objects) appended to the spool.",
      "spool"),
    M("otel_mon.spool.dropped", "counter", "{batch}", (*_SIG, "otel_mon.reason"),
      "Lines lost: not written (write_error), deleted unsent by the byte limit (retention), a single record too "
      "large for a line (oversize), the directory deleted under the agent (deleted), or delivered lines younger "
      "than max_age deleted by the byte limit (evicted).", "spool"),
    M("otel_mon.spool.files", "updowncounter", "{file}", _SIG, "Segment files on disk.", "spool"),
    M("otel_mon.spool.size", "updowncounter", "By", _SIG, "Bytes the spool occupies on disk.", "spool"),
    M("otel_mon.spool.oldest_age", "gauge", "s", _SIG, "Age of the oldest segment still on disk.", "spool"),
    # forwarders (issue 4; remote write issue 10): OTLP series carry no destination (their identity predates
    # remote write), remote write's carry otel_mon.destination="remote_write".
    M("otel_mon.forward.sent", "counter", "{record}", _SIG, "Spool lines delivered to the endpoint.",
      "forward", optional_attributes=_DEST, values=_V_DEST),
    M("otel_mon.forward.failed", "counter", "{record}", (*_SIG, "otel_mon.reason"),
      "Spool lines permanently rejected by the endpoint and skipped.", "forward", optional_attributes=_DEST,
      values=_V_DEST),
    M("otel_mon.forward.retries", "counter", "{request}", _SIG, "Export attempts that will be retried.", "forward",
      optional_attributes=_DEST, values=_V_DEST),
    M("otel_mon.forward.backlog.records", "gauge", "{record}", _SIG, "Spool lines written but not yet delivered.",
      "forward", optional_attributes=_DEST, values=_V_DEST),
    M("otel_mon.forward.backlog.size", "gauge", "By", _SIG, "Spool bytes written but not yet delivered.", "forward",
      optional_attributes=_DEST, values=_V_DEST),
    M("otel_mon.forward.lag", "gauge", "s", _SIG, "Age of the oldest undelivered spool line.", "forward",
      optional_attributes=_DEST, values=_V_DEST),
    # health, probes and notifications (issue 5)
    M("otel_mon.health.state", "gauge", "{state}", ("otel_mon.rule", "otel_mon.instance"),
      "State of each health rule instance: 0 ok, 1 warning, 2 critical.", "health"),
    M("otel_mon.probe.duration", "histogram", "s", _PROBE, "Duration of each probe, successful or not.", "probes"),
    M("otel_mon.probe.success", "gauge", "{success}", _PROBE, "1 when the last probe succeeded, 0 when it failed.",
      "probes"),
    M("otel_mon.notify.sent", "counter", "{message}", ("otel_mon.notifier",), "Notifications delivered.", "health"),
    M("otel_mon.notify.failed", "counter", "{message}", ("otel_mon.notifier",),
      "Notifications given up after retries or dropped from a full queue.", "health"),
    M("otel_mon.action.runs", "counter", "{run}", ("otel_mon.rule", "otel_mon.outcome"),
      "Actions run on sustained critical states, by outcome.", "health"),
)
del M

BY_NAME: dict[str, MetricSpec] = {m.name: m for m in METRICS}

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
    "system.filesystem.type": "attribute values: the kernel's type names (xfs, btrfs, tmpfs, ...); semconv's "
                              "list of well-known values is open and lacks most of them",
}

# The agent's own domains (rows fed by the spool, forwarder, health, probes and the sampler's self-metrics);
# every other domain of the table is a host domain with a collector in host/registry.py (a test checks both).
AGENT_DOMAINS = frozenset({"collector", "spool", "forward", "health", "probes"})
HOST_DOMAINS: tuple[str, ...] = tuple(dict.fromkeys(m.domain for m in METRICS if m.domain not in AGENT_DOMAINS))
