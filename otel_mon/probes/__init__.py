"""Latency probes (tcp, http, dns, icmp), each on its own schedule, feeding metrics and health readings."""

from typing import TYPE_CHECKING

from otel_mon import lazy

if TYPE_CHECKING:
    from otel_mon.probes.config import KINDS, ProbeConfig
    from otel_mon.probes.result import ProbeResult
    from otel_mon.probes.runner import PROBE_DURATION_BUCKETS, ProbeRunner

__getattr__ = lazy.exports(__name__, {
    "KINDS": "config",
    "ProbeConfig": "config",
    "ProbeResult": "result",
    "PROBE_DURATION_BUCKETS": "runner",
    "ProbeRunner": "runner",
})

__all__ = ["KINDS", "PROBE_DURATION_BUCKETS", "ProbeConfig", "ProbeResult", "ProbeRunner"]
