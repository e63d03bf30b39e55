"""The health component: transition log events, /health section, metrics through the OTel SDK, sources."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_mon.health import HealthConfig, HealthMonitor, RuleConfig
from otel_mon.host.table import METRICS
from otel_mon.instruments import Instruments
from otel_mon.schema import ConfigError

RULES = (RuleConfig(reading="cpu", warning=75, critical=90),
         RuleConfig(reading="filesystem", warning=80, critical=95),
         RuleConfig(reading="probe.failure", critical=1))


def make(**kw: Any) -> HealthMonitor:
    return HealthMonitor(HealthConfig(rules=RULES, default_for=20, **kw), env={}, host="h")  # type: ignore[arg-type]


def test_each_transition_is_a_structured_log_event(caplog: pytest.LogCaptureFixture) -> None:
    m = make()
    with caplog.at_level(logging.INFO, logger="otel_mon.health"):
        for now in (0, 10, 20):
            m.update({"cpu": {"": 93.5}}, now=now)
        m.update({"cpu": {"": 20.0}}, now=30)
    events = [r for r in caplog.records if r.name == "otel_mon.health"]
    assert [(r.levelname, r.getMessage()) for r in events] == [
        ("ERROR", "health cpu: ok -> critical: 93.5 % >= critical threshold 90 % for 20s"),
        ("INFO", "health cpu: critical -> ok: 20 % < 85.5 % (clears critical at 90 % minus 5%)"),
    ]
    attrs = {k: v for k, v in events[0].__dict__.items() if k.startswith(("otel_mon.", "event."))}
    assert attrs == {"event.name": "otel_mon.health.transition", "otel_mon.rule": "cpu", "otel_mon.instance": "",
                     "otel_mon.health.old_state": "ok", "otel_mon.health.new_state": "critical",
                     "otel_mon.health.value": 93.5, "otel_mon.health.threshold": 90.0,
                     "otel_mon.health.why": "93.5 % >= critical threshold 90 % for 20s"}


def test_health_section_lists_every_rule() -> None:
    m = make()
    assert m.status()["status"] == "no_data"  # no rule has data yet
    for now in (0, 10, 20):
        m.update({"cpu": {"": 50.0}, "filesystem": {"/": 85.0, "/data": 40.0}}, now=1_700_000_000 + now)
    doc = m.status()
    assert doc["status"] == "warning"
    assert doc["rules"] == [
        {"rule": "cpu", "instance": "", "state": "ok", "value": 50.0, "since": "2023-11-14T22:13:20Z",
         "why": "50 % < warning 75 %", "warning": 75, "critical": 90, "unit": "%"},
        {"rule": "filesystem", "instance": "/", "state": "warning", "value": 85.0, "since": "2023-11-14T22:13:40Z",
         "why": "85 % >= warning 80 %, clears below 76 %", "warning": 80, "critical": 95, "unit": "%"},
        {"rule": "filesystem", "instance": "/data", "state": "ok", "value": 40.0, "since": "2023-11-14T22:13:20Z",
         "why": "40 % < warning 80 %", "warning": 80, "critical": 95, "unit": "%"},
        {"rule": "probe.failure", "instance": "", "state": "no_data", "value": None, "since": None, "why": "no data",
         "warning": None, "critical": 1, "unit": ""},
    ]
    assert m.recent()[0]["rule"] == "filesystem" and m.recent()[0]["new"] == "warning"


def test_pending_rise_is_explained() -> None:
    m = make()
    m.update({"cpu": {"": 92.0}}, now=0)
    m.update({"cpu": {"": 92.0}}, now=10)
    (cpu,) = [r for r in m.status()["rules"] if r["rule"] == "cpu"]
    assert cpu["state"] == "ok" and cpu["why"] == "92 % >= warning 75 %; critical pending for 10s of 20s"


def test_sources_are_merged_into_each_update() -> None:
    calls: list[int] = []

    def probes() -> dict[str, dict[str, float]]:
        calls.append(1)
        return {"probe.failure": {"web": 1.0}}

    def broken() -> dict[str, dict[str, float]]:
        raise RuntimeError("boom")

    m = HealthMonitor(HealthConfig(rules=RULES, default_for=0), sources=[broken, probes], env={},  # type: ignore[arg-type]
                      host="h")
    (t,) = m.update({"cpu": {"": 1.0}}, now=0)
    assert (t.rule, t.instance, t.new.label) == ("probe.failure", "web", "critical")
    assert calls == [1] and m.state.label == "critical"


def test_metrics_state_per_rule_instance() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    m = HealthMonitor(HealthConfig(rules=RULES, default_for=0), env={}, host="h")  # type: ignore[arg-type]
    m.register_metrics(Instruments(provider.get_meter("t"), enabled=lambda spec: True, table=METRICS))
    m.update({"cpu": {"": 80.0}, "filesystem": {"/": 99.0}}, now=0)
    data = reader.get_metrics_data()
    assert data is not None
    points = {(p.attributes["otel_mon.rule"], p.attributes["otel_mon.instance"]): p.value
              for rm in data.resource_metrics for sm in rm.scope_metrics for metric in sm.metrics
              if metric.name == "otel_mon.health.state" for p in metric.data.data_points}
    assert points == {("cpu", ""): 1, ("filesystem", "/"): 2}  # probe.failure has no data: no point
    provider.shutdown()


def test_unreadable_secret_stops_construction_without_the_value() -> None:
    from otel_mon.health import NotifierConfig

    cfg = HealthConfig(notifiers=(NotifierConfig(kind="slack", url_env="NOPE"),))
    with pytest.raises(ConfigError) as err:
        HealthMonitor(cfg, env={})
    assert err.value.problems == ["health.notifiers[0].url_env: invalid value 'NOPE': the environment variable is "
                                  "not set or empty"]


def test_probe_failure_flows_from_runner_to_webhook(hook: Any) -> None:
    """End to end: a probe against a closed port -> probe.failure -> critical -> one webhook message."""
    import socket

    from otel_mon.health import NotifierConfig
    from otel_mon.probes import ProbeConfig, ProbeRunner

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runner = ProbeRunner([ProbeConfig(name="db", kind="tcp", host="127.0.0.1", port=port, timeout=1, interval=5)])
    cfg = HealthConfig(rules=(RuleConfig(reading="probe.failure", critical=1),), default_for=0,  # type: ignore[arg-type]
                       notifiers=(NotifierConfig(kind="webhook", url_env="HOOK"),))
    m = HealthMonitor(cfg, sources=[runner.readings], env={"HOOK": hook.url()}, host="h")
    runner.start()
    m.start()
    try:
        assert runner.wait_runs(1, timeout=5)
        (t,) = m.update({}, now=0)
        assert (t.rule, t.instance, t.new.label) == ("probe.failure", "db", "critical")
        (post,) = hook.wait_posts(1)
        assert (post.body["instance"], post.body["new_state"]) == ("db", "critical")
    finally:
        m.stop(2)
        runner.stop(2)


def test_no_data_is_one_state_never_ok_and_writes_no_metric_point() -> None:
    """Issue 24: /health said ``state: ok, why: no data``, and the state metric wrote 0 (ok) for it."""
    m = make()
    m.update({}, now=1_700_000_000)
    doc = m.status()
    assert {r["state"] for r in doc["rules"]} == {"no_data"} and doc["status"] == "no_data"
    assert list(m._state_points()) == []
    m.update({"cpu": {"": 50.0}}, now=1_700_000_010)
    doc = m.status()
    assert doc["status"] == "ok"
    assert [(r["rule"], r["state"]) for r in doc["rules"]] == [
        ("cpu", "ok"), ("filesystem", "no_data"), ("probe.failure", "no_data")]
    assert list(m._state_points()) == [(0.0, {"otel_mon.rule": "cpu", "otel_mon.instance": ""})]
