"""A failing probe's reason (connection refused, timeout after 2s, status 503) reaches the rule's "why" in the
log event, /health and the transition the notifiers send."""

from __future__ import annotations

import logging
import socket

import pytest

from otel_mon.health import HealthConfig, HealthMonitor, RuleConfig
from otel_mon.probes.config import ProbeConfig
from otel_mon.probes.runner import ProbeRunner


def test_probe_failure_reason_in_why_health_and_log(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    probes = ProbeRunner([ProbeConfig(name="db", kind="tcp", host="127.0.0.1", port=port, timeout=1.0)])
    assert not probes.run_once("db").ok
    monitor = HealthMonitor(HealthConfig(rules=(RuleConfig(reading="probe.failure", critical=1),), default_for=0),
                            sources=[probes.readings], env={}, host="h", reasons=probes.reasons)
    with caplog.at_level(logging.INFO, logger="otel_mon.health"):
        (transition,) = monitor.update({}, now=10.0)
    assert transition.why.endswith(": connection refused"), transition.why  # what the notifiers are given
    (row,) = monitor.status()["rules"]
    assert row["state"] == "critical" and row["why"].endswith(": connection refused")
    assert any("connection refused" in r.getMessage() for r in caplog.records)


def test_no_reason_for_a_rule_in_ok_state() -> None:
    monitor = HealthMonitor(HealthConfig(rules=(RuleConfig(reading="probe.failure", critical=1),), default_for=0),
                            sources=[lambda: {"probe.failure": {"db": 0.0}}], env={}, host="h",
                            reasons=lambda: {("probe.failure", "db"): "stale reason"})
    monitor.update({}, now=10.0)
    (row,) = monitor.status()["rules"]
    assert row["state"] == "ok" and "stale reason" not in row["why"]
