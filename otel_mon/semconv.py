"""The metric spec type, the agent's own rows and the documented departures from semconv.

A host domain declares its rows next to the code that reads them (``otel_mon/host/<domain>.py``, in its
``DOMAIN``); ``otel_mon/host/table.py`` assembles those and ``AGENT_METRICS`` into the one table that
instruments, the ``metrics:`` check, the sampler's contract and ``docs/metrics.md`` (``python -m
otel_mon.docgen``) are built from. This module sits in the bottom layer: it imports nothing of ours. Names,
units and attribute keys follow OpenTelemetry semantic conventions v1.44; load average follows the Collector's
hostmetrics receiver; ``otel_mon.*`` rows of the agent's own domains are its health.
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



@dataclass(frozen=True)
class ReadingSpec:
    """A reading offered to health rules and /health: declared by the domain (or component) that computes it."""

    name: str
    unit: str
    instances: str  # what an instance is ("" for host-wide readings)
    description: str
    counter: bool = False  # cumulative since start: rules compare the increase since the previous reading
    probe: bool = False  # instances are probe names, checked against the probes section
    rules: bool = True  # False: shown on /health (and by status) only, not a reading health rules may use
    low_is_bad: bool = False  # low values are the trouble: rules are reached at or below their thresholds
    # What explains a rise, measured once per batch (health/context.py): the top processes by CPU or by memory,
    # or the figures of the instance's filesystem (size, free, inodes).
    context: Literal["", "cpu", "memory", "filesystem"] = ""

_SIG = ("otel_mon.signal",)
_DEST = ("otel_mon.destination",)
_V_DEST = (("otel_mon.destination", ("remote_write",)),)
_PROBE = ("otel_mon.probe.name", "otel_mon.probe.kind", "server.address", "server.port")

# The agent's own rows (spool, forwarder, health, probes, the collectors' own health). Each host domain's rows
# live in its module (otel_mon/host/<domain>.py); otel_mon/host/table.py assembles the whole table.
M = MetricSpec
AGENT_METRICS: tuple[MetricSpec, ...] = (
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
      "State of each health rule instance: 0 ok, 1 warning, 2 critical; no point while it has no data.", "health"),
    M("otel_mon.probe.duration", "histogram", "s", _PROBE, "Duration of each probe, successful or not.", "probes"),
    M("otel_mon.probe.success", "gauge", "{success}", _PROBE, "1 when the last probe succeeded, 0 when it failed.",
      "probes"),
    M("otel_mon.notify.sent", "counter", "{message}", ("otel_mon.notifier",), "Notifications delivered.", "health"),
    M("otel_mon.notify.failed", "counter", "{message}", ("otel_mon.notifier",),
      "Notifications given up after retries or dropped from a full queue.", "health"),
    M("otel_mon.http.connections.closed", "counter", "{connection}", ("otel_mon.reason",),
      "HTTP connections closed early so that one client cannot lock others out: evicted (the longest-idle one, "
      "for a new client at the cap or over its share) or refused (a client's share all busy, or no thread).",
      "http", values=(("otel_mon.reason", ("evicted", "refused")),)),
    M("otel_mon.action.runs", "counter", "{run}", ("otel_mon.rule", "otel_mon.outcome"),
      "Actions run on sustained critical states, by outcome.", "health"),
)
del M

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

# The agent's own domains (rows fed by the spool, forwarder, health, probes and the sampler's self-metrics);
# every other domain of the table is a host domain (host/table.py; a test checks both).
AGENT_DOMAINS = frozenset(m.domain for m in AGENT_METRICS)
