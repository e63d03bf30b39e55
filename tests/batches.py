"""Metric batches with every edge the encoders must agree on (shared by the exposition and spool tests)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_mon import config
from otel_mon.host import registry as host_registry
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler
from otel_mon.resource import build_resource
from otel_mon.telemetry import Telemetry


def point(value: float, attrs: dict[str, object]) -> NumberDataPoint:
    return NumberDataPoint(attributes=attrs, start_time_unix_nano=1, time_unix_nano=2, value=value)  # type: ignore[arg-type]


def odd_batch(v: float = 1.0) -> MetricsData:
    cumulative = AggregationTemporality.CUMULATIVE
    metrics = [
        Metric("system.cpu.time", 'CPU "time"\nper\\mode', "s", Sum(
            [point(12.5 * v, {"cpu.mode": "user"}), point(3 * v, {"cpu.mode": "system", "cpu.logical_number": 1})],
            cumulative, True)),
        Metric("app.requests_total", "", "{request}", Sum([point(7, {"ok": True, "code": 200})], cumulative, True)),
        Metric("app.in_flight", "non-monotonic", "1", Sum([point(-2, {})], cumulative, False)),
        Metric("app.delta_updown", "delta non-monotonic", "By", Sum([point(5, {"x": "y"})],
                                                                       AggregationTemporality.DELTA, False)),
        Metric("9lives.temp", "odd name", "Cel", Gauge([point(float("nan"), {"a.b": "q\"uote\\back\nnl"}),
                                                        point(float("inf"), {"a.b": "2"}),
                                                        point(-math.inf, {"a.b": "3"}),
                                                        point(1e21, {"a.b": "4", "list": 1.5})])),
        Metric("app.rate", "", "By/s", Gauge([point(123456789.0, {"dir": "in"})])),
        Metric("app.per", "", "/s", Gauge([point(1, {})])),
        Metric("app.flags", "1, 1.0 and True are equal keys", "", Gauge([point(1, {"ok": 1}), point(2, {"ok": 1.0}),
                                                                          point(0.0, {"": "empty key"})])),
        Metric("app.empty", "no points", "ms", Gauge([])),
        Metric("app.latency", "a histogram", "s", Histogram([HistogramDataPoint(
            attributes={"probe": "web", "le": "clash"}, start_time_unix_nano=1, time_unix_nano=2, count=6, sum=0.75,
            bucket_counts=[1, 2, 0, 3], explicit_bounds=[0.005, 0.1, 1], min=0.001, max=0.5, exemplars=[])],
            cumulative)),
    ]
    scope = InstrumentationScope("otel_mon", "0.1", "https://opentelemetry.io/schemas/1.44.0", attributes={"k": "v"})
    other = InstrumentationScope("other", None, None)
    resource = Resource({"host.name": "h1", "service.name": "otel-mon", "os.type": "linux", "n": 3})
    return MetricsData([ResourceMetrics(resource, [
        ScopeMetrics(scope, metrics, "https://opentelemetry.io/schemas/1.44.0"),
        ScopeMetrics(other, [Metric("other.thing", "x", "", Gauge([point(1, {"z": "1"})]))], ""),
    ], "")])


def agent_batches(root: Path, count: int = 2) -> Iterator[tuple[Telemetry, MetricsData]]:
    """The agent's own batches of the fixture host at ``root`` (activated by the ``fake_root`` fixture), with
    the Telemetry that collected each: every CPU, sensors off."""
    settings = config.load(env={}, flags={"root_path": str(root), "collectors.sensors": "false",
                                          "cpu.per_logical": "true"})
    paths = HostPaths(str(root))
    telemetry = Telemetry(build_resource(settings.resource, paths), lambda spec: True)
    sampler = HostSampler(host_registry.build(settings.host, paths))
    sampler.register_metrics(telemetry.instruments)
    try:
        for _ in range(count):
            sampler.refresh()
            telemetry.export()
            batch = telemetry.batches.latest
            assert batch is not None
            yield telemetry, batch
    finally:
        telemetry.shutdown()
