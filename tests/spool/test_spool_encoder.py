"""The spool's metrics line encoder writes exactly the official OTLP-JSON encoder's bytes, or steps aside."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics.export import Gauge, Metric, MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_mon.spool import lines
from otel_mon.spool.encoder import LineEncoder
from tests.batches import agent_batches, odd_batch, point


def official(data: MetricsData) -> bytes:
    payload = encode_metrics(data).to_dict()
    return lines.dumps(payload) if payload else b""


def test_edge_cases_match_the_official_encoder() -> None:
    encoder = LineEncoder()
    for v in (1.0, 2.5, 2.5):  # cached fragments reused across batches
        data = odd_batch(v)
        assert encoder.encode_line(data) == official(data)


def test_unsupported_values_step_aside() -> None:
    data = MetricsData([ResourceMetrics(Resource({}), [ScopeMetrics(InstrumentationScope("s"), [
        Metric("m", "", "", Gauge([point(1, {"list": ("a", "b")})]))], "")], "")])
    assert LineEncoder().encode_line(data) is None


def test_empty_batch_is_no_line() -> None:
    assert LineEncoder().encode_line(MetricsData([])) == b"" == official(MetricsData([]))


def test_the_agents_own_batches(fake_root: Callable[[str], Path]) -> None:
    encoder = LineEncoder()
    for _telemetry, batch in agent_batches(fake_root("host1")):
        line = encoder.encode_line(batch)
        assert line is not None and line.count(b"dataPoints") > 30
        assert line == official(batch)


def test_split_lines_stay_under_the_limit_and_keep_every_point() -> None:
    import json

    from otel_mon.spool.format import iter_points

    data = odd_batch(1.0)
    whole = LineEncoder().encode_lines(data, lines.MAX_LINE_BYTES)
    assert whole == [official(data)]
    limit = 1000
    out = LineEncoder().encode_lines(data, limit)
    assert out is not None and len(out) > 2
    assert all(len(line) <= limit and line.endswith(b"\n") for line in out)
    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    for line in out:  # what the forwarder does with every line
        json_format.Parse(line, ExportMetricsServiceRequest())

    def points(payload: dict) -> list[tuple[str, str]]:
        return sorted((p.name, json.dumps(p.attrs, sort_keys=True) + repr(p.value)) for p in iter_points(payload))

    split = [p for line in out for p in points(json.loads(line))]
    assert sorted(split) == points(json.loads(official(data)))
    assert LineEncoder().encode_lines(data, 600) is None  # a single metric over the limit: the official path
