"""The endpoint on a running agent: opt-in, switched on by the environment, /metrics unchanged beside it."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import ROOT, AgentProcess, agent_env


def test_off_by_default(start_agent: Callable[..., AgentProcess]) -> None:
    agent = start_agent("--set", "spool.enabled=false")
    assert agent.get("/metrics/node_exporter")[0] == 404


def test_on_from_the_environment_with_metrics_unchanged(start_agent: Callable[..., AgentProcess]) -> None:
    agent = start_agent("--set", "spool.enabled=false",
                        env=agent_env(PYTHONPATH=str(ROOT), OTEL_MON_COMPAT__NODE_EXPORTER="true"))
    status, body = agent.get("/metrics/node_exporter")
    assert status == 200
    text = body.decode()
    assert "\nnode_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} " in text
    assert "# TYPE node_vmstat_pgfault untyped\n" in text
    status, metrics = agent.get("/metrics")
    assert status == 200
    assert b"system_cpu_time_seconds_total{" in metrics and b"node_" not in metrics
