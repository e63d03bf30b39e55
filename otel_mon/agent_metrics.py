"""The agent's own rows of the metric table: spool, forwarder, health, probes, HTTP and the collectors' own
health (``otel_mon.*``, not semantic conventions: the agent's health). Each host domain's rows live in its
module (``otel_mon/host/<domain>.py``).
"""

from __future__ import annotations

from otel_mon.metric_spec import MetricSpec

_SIG = ("otel_mon.signal",)
_DEST = ("otel_mon.destination",)
_V_DEST = (("otel_mon.destination", ("remote_write",)),)
_PROBE = ("otel_mon.probe.name", "otel_mon.probe.kind", "server.address", "server.port")

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

# The agent's own domains (rows fed by the spool, forwarder, health, probes and the sampler's self-metrics);
# every other domain of the table is a host domain (host/table.py; a test checks both).
AGENT_DOMAINS = frozenset(m.domain for m in AGENT_METRICS)
