"""Latency probes (tcp, http, dns, icmp), each on its own schedule, feeding metrics and health readings."""

from otel_mon.probes.config import KINDS, ProbeConfig
from otel_mon.probes.result import ProbeResult
from otel_mon.probes.runner import PROBE_DURATION_BUCKETS, ProbeRunner

__all__ = ["KINDS", "PROBE_DURATION_BUCKETS", "ProbeConfig", "ProbeResult", "ProbeRunner"]
