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
_PROBE = ("otel_mon.probe.name", "otel_mon.probe.kind", "server.address", "server.port")

M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    # cpu
    M("system.cpu.time", "counter", "s", ("cpu.mode",), "Seconds the CPUs spent in each mode.", "cpu",
      optional_attributes=("cpu.logical_number",)),
    M("system.cpu.utilization", "gauge", "1", ("cpu.mode",),
      "Share of CPU time spent in each mode since the previous collection (0-1); absent on the first.", "cpu",
      optional_attributes=("cpu.logical_number",)),
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
      "Memory in use by state (used, free, buffers, cached).", "memory"),
    M("system.memory.limit", "updowncounter", "By", (), "Total physical memory.", "memory"),
    M("system.memory.utilization", "gauge", "1", ("system.memory.state",),
      "Share of physical memory in each state (0-1).", "memory"),
    # paging
    M("system.paging.usage", "updowncounter", "By", ("system.paging.state",), "Swap space used and free.",
      "paging"),
    M("system.paging.utilization", "gauge", "1", ("system.paging.state",), "Share of swap space used and free.",
      "paging"),
    M("system.paging.operations", "counter", "{operation}", ("system.paging.direction",),
      "Pages swapped in and out.", "paging"),
    M("system.paging.faults", "counter", "{fault}", ("system.paging.fault.type",), "Page faults, major and minor.",
      "paging"),
    # disk
    M("system.disk.io", "counter", "By", _DISK, "Bytes read from and written to each disk.", "disk"),
    M("system.disk.operations", "counter", "{operation}", _DISK, "Read and write operations completed.", "disk"),
    M("system.disk.io_time", "counter", "s", ("system.device",), "Time the disk spent with I/O in progress.",
      "disk"),
    M("system.disk.operation_time", "counter", "s", _DISK, "Sum of the time each operation took.", "disk"),
    M("system.disk.merged", "counter", "{operation}", _DISK, "Adjacent reads and writes merged by the kernel.",
      "disk"),
    # filesystem
    M("system.filesystem.usage", "updowncounter", "By", _FS,
      "Filesystem space used, free (to unprivileged users) and reserved (for root).", "filesystem"),
    M("system.filesystem.utilization", "gauge", "1", _FS_NOSTATE,
      "Share of the filesystem's space in use (used / (used + free), as df shows it).", "filesystem"),
    M("system.filesystem.limit", "updowncounter", "By", _FS_NOSTATE, "Total size of the filesystem.",
      "filesystem"),
    # network
    M("system.network.io", "counter", "By", _NET, "Bytes received and transmitted per interface.", "network"),
    M("system.network.packet.count", "counter", "{packet}", _NET, "Packets received and transmitted.", "network"),
    M("system.network.packet.dropped", "counter", "{packet}", _NET, "Packets dropped without an error.",
      "network"),
    M("system.network.errors", "counter", "{error}", _NET, "Receive and transmit errors.", "network"),
    M("system.network.connection.count", "updowncounter", "{connection}",
      ("network.transport", "network.connection.state"),
      "Sockets by transport and state; refreshed at most once a minute (psutil.net_connections is costly).",
      "connections", default=False),
    # processes & uptime
    M("system.process.count", "updowncounter", "{process}", ("process.state",), "Processes in each state.",
      "processes"),
    M("system.process.created", "counter", "{process}", (), "Processes created since boot.", "processes"),
    M("system.uptime", "gauge", "s", (), "Time since the host booted.", "uptime"),
    # sensors
    M("hw.temperature", "gauge", "Cel", ("hw.id", "hw.type", "hw.name"),
      "Temperature of each sensor psutil reports; absent where it reports none.", "sensors"),
    # the agent's own process
    M("process.cpu.time", "counter", "s", ("cpu.mode",), "CPU seconds the agent used (user, system).", "self"),
    M("process.cpu.utilization", "gauge", "1", ("cpu.mode",),
      "Agent CPU time since the previous collection over elapsed time and CPUs; absent on the first.", "self"),
    M("process.memory.usage", "updowncounter", "By", (), "Agent resident memory (RSS).", "self"),
    M("process.memory.virtual", "updowncounter", "By", (), "Agent virtual memory size.", "self"),
    M("process.thread.count", "updowncounter", "{thread}", (), "Agent threads.", "self"),
    M("process.unix.file_descriptor.count", "updowncounter", "{file_descriptor}", (), "Agent open file descriptors.",
      "self"),
    M("process.context_switches", "counter", "{context_switch}", ("process.context_switch.type",),
      "Agent context switches, voluntary and involuntary.", "self"),
    M("process.uptime", "gauge", "s", (), "Time since the agent started.", "self"),
    # the collectors themselves (node_exporter's scrape_collector_* in OTel form)
    M("otel_mon.collector.duration", "gauge", "s", ("otel_mon.collector",),
      "Time the last read of each domain took.", "collector"),
    M("otel_mon.collector.success", "gauge", "1", ("otel_mon.collector",),
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
    # forwarder (issue 4)
    M("otel_mon.forward.sent", "counter", "{record}", _SIG, "Spool lines delivered to the OTLP endpoint.",
      "forward"),
    M("otel_mon.forward.failed", "counter", "{record}", (*_SIG, "otel_mon.reason"),
      "Spool lines permanently rejected by the endpoint and skipped.", "forward"),
    M("otel_mon.forward.retries", "counter", "{request}", _SIG, "Export attempts that will be retried.", "forward"),
    M("otel_mon.forward.backlog.records", "gauge", "{record}", _SIG, "Spool lines written but not yet delivered.",
      "forward"),
    M("otel_mon.forward.backlog.size", "gauge", "By", _SIG, "Spool bytes written but not yet delivered.", "forward"),
    M("otel_mon.forward.lag", "gauge", "s", _SIG, "Age of the oldest undelivered spool line.", "forward"),
    # health, probes and notifications (issue 5)
    M("otel_mon.health.state", "gauge", "1", ("otel_mon.rule", "otel_mon.instance"),
      "State of each health rule instance: 0 ok, 1 warning, 2 critical.", "health"),
    M("otel_mon.probe.duration", "histogram", "s", _PROBE, "Duration of each probe, successful or not.", "probes"),
    M("otel_mon.probe.success", "gauge", "1", _PROBE, "1 when the last probe succeeded, 0 when it failed.",
      "probes"),
    M("otel_mon.notify.sent", "counter", "{message}", ("otel_mon.notifier",), "Notifications delivered.", "health"),
    M("otel_mon.notify.failed", "counter", "{message}", ("otel_mon.notifier",),
      "Notifications given up after retries or dropped from a full queue.", "health"),
    M("otel_mon.action.runs", "counter", "{run}", ("otel_mon.rule", "otel_mon.outcome"),
      "Actions run on sustained critical states, by outcome.", "health"),
)
del M

BY_NAME: dict[str, MetricSpec] = {m.name: m for m in METRICS}

HOST_DOMAINS: tuple[str, ...] = (
    "cpu", "load", "memory", "paging", "disk", "filesystem", "network", "connections", "processes", "uptime",
    "sensors", "self",
)
