"""A textfile's histograms become OpenTelemetry explicit-bucket histograms on every path (/metrics, the spool,
an OTLP receiver) with the file's counts; summaries and histograms whose buckets do not add up are refused with
the reason, once, and still served as written on /metrics/node_exporter."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from otel_mon.host.textfile import histogram_points, parse_textfile
from otel_mon.preaggregated import PreaggregatedHistograms
from tests.compat.test_textfile import write_atomically
from tests.conftest import ROOT, AgentProcess, agent_env, wait_until
from tests.otlp_receiver import OtlpReceiver

HIST = ("# HELP backup_duration_seconds How long each backup took.\n"
        "# TYPE backup_duration_seconds histogram\n"
        'backup_duration_seconds_bucket{job="db",le="1"} 2\n'
        'backup_duration_seconds_bucket{job="db",le="10"} 5\n'
        'backup_duration_seconds_bucket{job="db",le="60"} 9\n'
        'backup_duration_seconds_bucket{job="db",le="+Inf"} 10\n'
        'backup_duration_seconds_sum{job="db"} 312.5\n'
        'backup_duration_seconds_count{job="db"} 10\n'
        'backup_duration_seconds_bucket{job="web",le="1"} 0\n'
        'backup_duration_seconds_bucket{job="web",le="10"} 1\n'
        'backup_duration_seconds_bucket{job="web",le="60"} 1\n'
        'backup_duration_seconds_bucket{job="web",le="+Inf"} 3\n'
        'backup_duration_seconds_sum{job="web"} 250\n'
        'backup_duration_seconds_count{job="web"} 3\n')
SUMMARY = ("# TYPE rpc_latency_seconds summary\n"
           'rpc_latency_seconds{quantile="0.5"} 0.2\nrpc_latency_seconds{quantile="0.99"} 1.5\n'
           "rpc_latency_seconds_sum 40\nrpc_latency_seconds_count 100\n")
BROKEN = ("# TYPE broken_seconds histogram\n"
          'broken_seconds_bucket{le="1"} 5\nbroken_seconds_bucket{le="+Inf"} 3\n'
          "broken_seconds_sum 1\nbroken_seconds_count 3\n")


def _points(text: str) -> Any:
    (family,) = parse_textfile(text, "/x.prom", frozenset())
    return histogram_points(family)


def test_cumulative_buckets_become_per_bucket_counts() -> None:
    db, web = _points(HIST)
    assert db.labels == (("job", "db"),) and web.labels == (("job", "web"),)
    assert db.bounds == (1.0, 10.0, 60.0) and db.counts == (2, 3, 4, 1) and db.count == 10 and db.sum == 312.5
    assert web.counts == (0, 1, 0, 2) and web.count == 3 and web.sum == 250.0


@pytest.mark.parametrize(("text", "why"), [
    (BROKEN, "cumulative bucket counts go down"),
    ('# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', r'no le="\+Inf" bucket'),
    ('# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 5\n',
     "_count 5 is not the [+]Inf bucket 2"),
    ('# TYPE h histogram\nh_bucket{le="+Inf"} 2.5\nh_sum 1\nh_count 2.5\n', "whole numbers"),
])
def test_a_histogram_that_does_not_add_up_is_refused_with_why(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        _points(text)


def test_start_time_holds_until_the_count_goes_down() -> None:
    clock = iter(range(1000, 10_000, 1000))
    families: list[Any] = []
    pre = PreaggregatedHistograms(lambda: {"histograms:textfile": families}, clock=lambda: next(clock))
    from otel_mon.host.textfile import HistogramFamily

    families[:] = [HistogramFamily("h", "", tuple(_points(HIST)))]
    first = pre.metrics()[0].data.data_points
    again = pre.metrics()[0].data.data_points
    assert [p.start_time_unix_nano for p in again] == [p.start_time_unix_nano for p in first] == [1000, 1000]
    assert [p.time_unix_nano for p in first] == [2000, 2000] and [p.time_unix_nano for p in again] == [3000, 3000]
    families[:] = [HistogramFamily("h", "", tuple(_points(HIST.replace("} 10\n", "} 1\n").replace(
        'le="60"} 9', 'le="60"} 1').replace('le="10"} 5', 'le="10"} 1').replace('le="1"} 2', 'le="1"} 1'))))]
    reset = pre.metrics()[0].data.data_points
    assert [p.start_time_unix_nano for p in reset] == [3000, 1000]  # db restarted counting; web did not
    assert reset[0].time_unix_nano == 4000


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    rx = OtlpReceiver().start()
    yield rx
    rx.stop()


def _spooled(tmp_path: Path, name: str) -> list[dict[str, Any]]:
    out = []
    for f in sorted((tmp_path / "data" / "metrics").glob("*.jsonl")):
        for line in f.read_text().splitlines():
            for rm in json.loads(line)["resourceMetrics"]:
                out.extend(m for sm in rm["scopeMetrics"] for m in sm["metrics"] if m["name"] == name)
    return out


def test_textfile_histograms_reach_every_path(start_agent: Callable[..., AgentProcess], tmp_path: Path,
                                              receiver: OtlpReceiver) -> None:
    tf = tmp_path / "textfile"
    tf.mkdir()
    write_atomically(tf / "backup.prom", HIST + SUMMARY + BROKEN)
    env = agent_env(PYTHONPATH=str(ROOT), OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint("grpc"),
                    OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
    agent = start_agent("--interval", "1s", "--set", f"textfile.directory={tf}", "--set",
                        "compat.node_exporter=true", env=env)

    def metrics() -> str | None:
        body = agent.get("/metrics")[1].decode()
        return body if "backup_duration_seconds_bucket" in body else None

    text = wait_until(metrics, 30, what="the textfile histogram on /metrics")
    got = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith("backup_duration_seconds") and s.labels.get("job") == "db":
                got[(s.name, s.labels.get("le", ""))] = s.value
    assert got == {("backup_duration_seconds_bucket", "1.0"): 2, ("backup_duration_seconds_bucket", "10.0"): 5,
                   ("backup_duration_seconds_bucket", "60.0"): 9, ("backup_duration_seconds_bucket", "+Inf"): 10,
                   ("backup_duration_seconds_count", ""): 10, ("backup_duration_seconds_sum", ""): 312.5}
    assert "rpc_latency_seconds" not in text and "broken_seconds" not in text

    compat = agent.get("/metrics/node_exporter")[1].decode()
    assert 'rpc_latency_seconds{quantile="0.99"} 1.5' in compat and 'broken_seconds_bucket{le="1"} 5.0' in compat

    spooled = wait_until(lambda: _spooled(tmp_path, "backup_duration_seconds"), 30, what="the histogram spooled")
    points = {p["attributes"][0]["value"]["stringValue"]: p for p in spooled[-1]["histogram"]["dataPoints"]}
    assert points["db"]["bucketCounts"] == ["2", "3", "4", "1"] and points["db"]["explicitBounds"] == [1, 10, 60]
    assert points["db"]["count"] == "10" and points["db"]["sum"] == 312.5
    assert points["web"]["bucketCounts"] == ["0", "1", "0", "2"]
    assert spooled[-1]["histogram"]["aggregationTemporality"] == 2  # cumulative
    assert not _spooled(tmp_path, "rpc_latency_seconds") and not _spooled(tmp_path, "broken_seconds")

    def received() -> list[Any]:
        return [m for req in receiver.requests("metrics") for rm in req.request.resource_metrics
                for sm in rm.scope_metrics for m in sm.metrics if m.name == "backup_duration_seconds"]

    assert receiver.wait_for(lambda r: received(), 60)
    point = next(p for p in received()[-1].histogram.data_points if p.attributes[0].value.string_value == "db")
    assert list(point.bucket_counts) == [2, 3, 4, 1] and list(point.explicit_bounds) == [1, 10, 60]
    assert point.count == 10 and point.sum == 312.5 and point.start_time_unix_nano < point.time_unix_nano

    wait_until(lambda: agent.get("/metrics")[1].count(b"backup_duration_seconds_count") and
               agent.stderr().count("not converted to OpenTelemetry") >= 2, 30, what="the refusals logged")
    log = agent.stderr()
    assert "summary's quantiles cannot become histogram buckets" in log and "bucket counts go down" in log
    wait_until(lambda: len(_spooled(tmp_path, "backup_duration_seconds")) >= 3, 30, what="more collections")
    assert agent.stderr().count("not converted to OpenTelemetry") == 2  # once each, not once per collection


def test_the_spool_encoder_writes_the_official_encoders_bytes_for_them() -> None:
    from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from otel_mon.host.textfile import HistogramFamily
    from otel_mon.spool.encoder import LineEncoder
    from otel_mon.spool.exporters import encode_metrics

    family = HistogramFamily("backup_duration_seconds", "How long.", tuple(_points(HIST)))
    metrics = PreaggregatedHistograms(lambda: {"histograms:textfile": [family]}).metrics()
    data = MetricsData([ResourceMetrics(Resource({"host.name": "h"}),
                                        [ScopeMetrics(InstrumentationScope("otel_mon"), metrics, "")], "")])
    lines = LineEncoder().encode_lines(data, 1 << 20)
    assert lines is not None and len(lines) == 1
    assert json.loads(lines[0]) == encode_metrics(data).to_dict()
