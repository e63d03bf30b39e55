"""The runner: concurrency, readings for health, metrics through the real OTel SDK, /health section."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

from otel_mon.host.table import METRICS
from otel_mon.instruments import Instruments
from otel_mon.probes import PROBE_DURATION_BUCKETS, ProbeConfig, ProbeRunner


def _points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [p for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics if m.name == name
            for p in m.data.data_points]


def test_a_slow_probe_does_not_delay_the_others(http_target: Any, tcp_listener: int) -> None:
    slow = ProbeConfig(name="slow", kind="http", url=f"{http_target.base}/slow", timeout=5.0, interval=5.0)
    fast = ProbeConfig(name="fast", kind="tcp", host="127.0.0.1", port=tcp_listener, timeout=0.1, interval=0.1)
    runner = ProbeRunner([slow, fast])
    start = time.monotonic()
    runner.start()
    try:
        deadline = time.monotonic() + 4
        while runner.runs()["fast"] < 5 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling with a deadline
        assert runner.runs()["fast"] >= 5
        assert runner.runs()["slow"] == 0, "the slow probe is still inside its first run"
        assert time.monotonic() - start < 4.0
    finally:
        http_target.release.set()
        runner.stop(3.0)


def test_readings_health_and_metrics(http_target: Any, closed_port: int) -> None:
    reader = InMemoryMetricReader()
    view = View(instrument_name="otel_mon.probe.duration",
                aggregation=ExplicitBucketHistogramAggregation(PROBE_DURATION_BUCKETS))
    provider = MeterProvider(metric_readers=[reader], views=[view])
    instruments = Instruments(provider.get_meter("test"), enabled=lambda spec: True, table=METRICS)
    web = ProbeConfig(name="web", kind="http", url=f"{http_target.base}/ok", timeout=0.2, interval=0.2)
    down = ProbeConfig(name="down", kind="tcp", host="127.0.0.1", port=closed_port, timeout=0.2, interval=0.2)
    runner = ProbeRunner([web, down])
    runner.register_metrics(instruments)
    runner.start()
    try:
        assert runner.wait_runs(2, timeout=5)
    finally:
        runner.stop(2.0)

    readings = runner.readings()
    assert set(readings["probe.latency"]) == {"web"}
    assert 0 < readings["probe.latency"]["web"] < 500  # milliseconds
    assert readings["probe.failure"] == {"web": 0.0, "down": 1.0}

    doc = runner.status()
    assert doc["failing"] == ["down"] and doc["count"] == 2
    assert doc["results"]["down"]["reason"] == "connection refused"
    assert doc["results"]["web"]["detail"] == "HTTP 200" and doc["results"]["web"]["ok"] is True
    assert set(doc["results"]["web"]["phases_ms"]) == {"resolve", "connect", "first_byte", "total"}

    hist = [p for p in _points(reader, "otel_mon.probe.duration") if isinstance(p, HistogramDataPoint)]
    by_name = {p.attributes["otel_mon.probe.name"]: p for p in hist}
    assert by_name["web"].count >= 2 and tuple(by_name["web"].explicit_bounds) == PROBE_DURATION_BUCKETS
    assert dict(by_name["down"].attributes) == {"otel_mon.probe.name": "down", "otel_mon.probe.kind": "tcp",
                                                "server.address": "127.0.0.1", "server.port": closed_port}
    assert by_name["web"].attributes["server.port"] == http_target.port
    success = {p.attributes["otel_mon.probe.name"]: p.value for p in _points(reader, "otel_mon.probe.success")
               if isinstance(p, NumberDataPoint)}
    assert success == {"web": 1, "down": 0}
    provider.shutdown()


def test_stop_returns_promptly_while_a_probe_waits(http_target: Any) -> None:
    runner = ProbeRunner([ProbeConfig(name="s", kind="http", url=f"{http_target.base}/ok", interval=60, timeout=1)])
    runner.start()
    assert runner.wait_runs(1, timeout=5)
    start = time.monotonic()
    runner.stop(2.0)
    assert time.monotonic() - start < 0.5


def test_buckets_are_increasing_seconds() -> None:
    assert list(PROBE_DURATION_BUCKETS) == sorted(set(PROBE_DURATION_BUCKETS))
    assert PROBE_DURATION_BUCKETS[0] <= 0.001 and 0.1 in PROBE_DURATION_BUCKETS and 0.25 in PROBE_DURATION_BUCKETS
