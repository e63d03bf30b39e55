"""Remote write pieces without Prometheus: the translation matches /metrics, the wire format round-trips,
Prometheus' answers are classified per the remote write specification, and the config reads env and files."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.resources import Resource
from prometheus_client.parser import text_string_to_metric_families

from otel_mon import config, schema
from otel_mon.exposition import Exposition
from otel_mon.forward import rw_wire
from otel_mon.forward.rw_config import RemoteWriteConfig
from otel_mon.forward.rw_forwarder import RemoteWriteSender, make_parser
from otel_mon.forward.rw_series import series_of_line
from otel_mon.forward.senders import Outcome
from otel_mon.promnames import le_stored
from otel_mon.resource import instance_id
from otel_mon.telemetry import LABELLED_RESOURCE_ATTRIBUTES
from tests.promoracle import official_families

RESOURCE = Resource.create({"service.name": "otel-mon", "host.name": "h1", "service.instance.id": "i-1",
                            "host.id": "abc"})


def _collect() -> MetricsData:
    """Every instrument kind and unit style the agent uses, through the real SDK."""
    reader = InMemoryMetricReader()  # cumulative, as the agent collects
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = provider.get_meter("otel_mon", schema_url="https://opentelemetry.io/schemas/1.44.0")

    def obs(value: float, **attrs: Any) -> Any:
        return lambda _o: [Observation(value, attrs)]

    meter.create_observable_counter("system.cpu.time", [obs(12.5, **{"cpu.mode": "user"})], unit="s")
    meter.create_observable_up_down_counter("system.memory.usage", [obs(1024, **{"system.memory.state": "used"})],
                                            unit="By")
    meter.create_observable_gauge("system.memory.utilization", [obs(0.25, **{"system.memory.state": "used"})],
                                  unit="1")
    meter.create_observable_gauge("otel_mon.collector.success", [obs(1, **{"otel_mon.collector": "cpu"})],
                                  unit="{success}")
    meter.create_observable_gauge("system.cpu.frequency", [obs(2e9, **{"cpu.logical_number": 0})], unit="Hz")
    meter.create_observable_gauge("test.flag", [obs(1, enabled=True)], unit="{thing}")
    hist = meter.create_histogram("otel_mon.probe.duration", unit="s")
    for value in (0.01, 0.2, 3.0):
        hist.record(value, {"otel_mon.probe": "web"})
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    return data


def _stored(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Non-empty labels, ``le`` as Prometheus stores it from OTLP and remote write (10, not the text's 10.0)."""
    return tuple(sorted((k, le_stored(float(v)) if k == "le" else v) for k, v in labels.items() if v))


def _official(data: MetricsData) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The official exporter's samples (name, non-empty labels) -> value."""
    return {(s.name, _stored(s.labels)): s.value for family in official_families(data) for s in family.samples}


def _metrics_endpoint(data: MetricsData) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """What the agent's /metrics serves for the batch (parsed back from its text)."""
    text = Exposition(LABELLED_RESOURCE_ATTRIBUTES.__contains__).render(data, False).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, _stored(s.labels))] = s.value
    return out


def test_series_have_the_names_labels_and_values_of_the_metrics_endpoint() -> None:
    data = _collect()
    line = json.loads(json.dumps(encode_metrics(data).to_dict()))
    series = series_of_line(line, {"region": "eu"})
    got: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for labels, value, _ts in series:
        as_dict = dict(labels)
        assert list(labels) == sorted(labels), "labels must be sorted"
        assert as_dict.pop("job") == "otel-mon"
        assert as_dict.pop("instance") == "h1"  # the host name; service.instance.id stays in target_info
        assert as_dict.pop("region") == "eu"
        name = as_dict.pop("__name__")
        got[(name, tuple(sorted(as_dict.items())))] = value
    assert got == _official(data)  # the official translation, name for name, label set for label set
    assert got == _metrics_endpoint(data)  # and what /metrics serves
    assert dict(next(labels for labels, _, _ in series if dict(labels)["__name__"] == "target_info"))[
        "service_instance_id"] == "i-1"
    names = {n for n, _ in got}
    assert {"system_cpu_time_seconds_total", "system_memory_usage_bytes", "otel_mon_probe_duration_seconds_bucket",
            "otel_mon_collector_success", "target_info"} <= names


def test_series_keep_the_points_timestamp_in_milliseconds() -> None:
    data = _collect()
    line = encode_metrics(data).to_dict()
    stamps = {ts for _, _, ts in series_of_line(line)}
    point_ns = data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points[0].time_unix_nano
    assert stamps == {point_ns // 1_000_000}


def test_job_includes_the_service_namespace() -> None:
    data = _collect()
    line = encode_metrics(data).to_dict()
    line["resourceMetrics"][0]["resource"]["attributes"].append(
        {"key": "service.namespace", "value": {"stringValue": "infra"}})
    assert {dict(labels)["job"] for labels, _, _ in series_of_line(line)} == {"infra/otel-mon"}


def _protobuf_write_request() -> Any:
    """``prometheus.WriteRequest`` (remote write 1.0's fields of prompb/remote.proto and types.proto) as a
    protobuf class built from a descriptor: the oracle of rw_wire's own encoding."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="test_prompb.proto", package="prometheus", syntax="proto3")
    rep, opt = field.LABEL_REPEATED, field.LABEL_OPTIONAL
    for name, fields in (
        ("Label", [("name", 1, field.TYPE_STRING, opt, ""), ("value", 2, field.TYPE_STRING, opt, "")]),
        ("Sample", [("value", 1, field.TYPE_DOUBLE, opt, ""), ("timestamp", 2, field.TYPE_INT64, opt, "")]),
        ("TimeSeries", [("labels", 1, field.TYPE_MESSAGE, rep, ".prometheus.Label"),
                        ("samples", 2, field.TYPE_MESSAGE, rep, ".prometheus.Sample")]),
        ("WriteRequest", [("timeseries", 1, field.TYPE_MESSAGE, rep, ".prometheus.TimeSeries")]),
    ):
        message = file.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            added = message.field.add(name=field_name, number=number, type=kind, label=label)  # type: ignore[arg-type]
            if type_name:
                added.type_name = type_name
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prometheus.WriteRequest"))


def test_wire_bytes_are_protobufs_own() -> None:
    write_request = _protobuf_write_request()
    line = json.loads(json.dumps(encode_metrics(_collect()).to_dict()))
    edge: list[Any] = [((("__name__", "a"), ("", "empty name"), ("e", ""), ("ü", "\u2028")), -0.0, -5),
                       ((("__name__", "b"),), 0.0, 0), ((("__name__", "c"),), float("nan"), 2**62),
                       ((("__name__", "d"),), float("-inf"), -(2**63)), ((), 5e-324, 1)]
    for series in (series_of_line(line, {"region": "eu"}), edge, []):
        request = write_request()
        for labels, value, timestamp in series:
            ts = request.timeseries.add()
            for name, label_value in labels:
                ts.labels.add(name=name, value=label_value)
            ts.samples.add(value=value, timestamp=timestamp)
        assert rw_wire.encode(series) == request.SerializeToString()
        decoded = rw_wire.decode(request.SerializeToString())
        assert [(tuple(lb), ts) for lb, _, ts in decoded] == [(tuple(lb), ts) for lb, _, ts in series]


def test_wire_round_trip_and_concatenation_merges() -> None:
    a = [((("__name__", "a"), ("x", "1")), 1.5, 1000)]
    b = [((("__name__", "b"),), float("inf"), 2000)]
    body = rw_wire.encode(a) + rw_wire.encode(b)
    assert rw_wire.decode(rw_wire.decompress(rw_wire.compress(body))) == a + b


def test_parser_rejects_lines_without_samples() -> None:
    parse = make_parser(RemoteWriteConfig(url="http://p:9090/api/v1/write"))
    record = parse("metrics", json.dumps(encode_metrics(_collect()).to_dict()).encode())
    assert record.points > 5 and record.timestamp is not None
    with pytest.raises(ValueError):
        parse("metrics", b'{"resourceMetrics": []}')
    with pytest.raises(ValueError):
        parse("metrics", b'{"resourceLogs": [{}]}')


# ------------------------------------------------------------------------------------------------- sender

class _Answer(http.server.BaseHTTPRequestHandler):
    status = 204
    extra: dict[str, str] = {}
    seen: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((dict(self.headers), body))
        self.send_response(type(self).status)
        for key, value in type(self).extra.items():
            self.send_header(key, value)
        payload = b"" if type(self).status == 204 else b"out of order sample"
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def answer() -> Iterator[tuple[type[_Answer], str]]:
    handler = type("Handler", (_Answer,), {"seen": [], "extra": {}, "status": 204})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/api/v1/write"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("status", "outcome"), [
    (200, Outcome.OK), (204, Outcome.OK), (400, Outcome.REJECT), (413, Outcome.REJECT), (429, Outcome.RETRY),
    (500, Outcome.RETRY), (503, Outcome.RETRY), (401, Outcome.HOLD), (403, Outcome.HOLD), (404, Outcome.HOLD),
])
def test_sender_classifies_answers_per_the_remote_write_spec(answer: tuple[type[_Answer], str], status: int,
                                                             outcome: Outcome) -> None:
    handler, url = answer
    handler.status = status
    handler.extra = {"Retry-After": "7"} if status == 429 else {}
    target = schema.build(RemoteWriteConfig, {"url": url, "basic_auth": {"username": "u", "password": "p"},
                                              "headers": {"X-Scope-OrgID": "t1"}}).target()
    assert target is not None
    sender = RemoteWriteSender(target)
    body = rw_wire.encode([((("__name__", "up"),), 1.0, 5)])
    result = sender.send(body, 5)
    sender.close()
    assert result.outcome is outcome
    if status == 429:
        assert result.retry_after == 7.0
    headers, sent = handler.seen[-1]
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower["content-encoding"] == "snappy"
    assert lower["content-type"] == "application/x-protobuf"
    assert lower["x-prometheus-remote-write-version"] == "0.1.0"
    assert lower["authorization"] == "Basic dTpw"
    assert lower["x-scope-orgid"] == "t1"
    assert rw_wire.decode(rw_wire.decompress(sent)) == [((("__name__", "up"),), 1.0, 5)]


# ------------------------------------------------------------------------------------------------- config

def test_env_enables_remote_write_and_reads_the_password_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    settings = config.load(env={
        "OTEL_MON_REMOTE_WRITE__URL": "https://prom.example:9090/api/v1/write",
        "OTEL_MON_REMOTE_WRITE__BASIC_AUTH__USERNAME": "agent",
        "OTEL_MON_REMOTE_WRITE__BASIC_AUTH__PASSWORD_FILE": str(secret),
        "OTEL_MON_REMOTE_WRITE__LABELS": "region=eu",
    })
    rw = settings.remote_write
    assert rw.enabled and rw.basic_auth.password == "s3cret"
    assert rw.labels == {"region": "eu"}
    target = rw.target()
    assert target is not None and target.secure
    assert "s3cret" not in repr(rw) and "s3cret" not in repr(settings)


@pytest.mark.parametrize(("raw", "message"), [
    ({"url": "prom:9090/api/v1/write"}, "expected http:// or https://"),
    ({"url": "ftp://prom/api/v1/write"}, "scheme"),
    ({"url": "http://u:p@prom/api/v1/write"}, "credentials"),
    ({"url": "http://prom/w", "basic_auth": {"username": "u"}}, "together"),
    ({"url": "http://prom/w", "labels": {"__name__": "x"}}, "invalid label name"),
    ({"url": "http://prom/w", "max_batch_records": 0}, "at least 1"),
])
def test_invalid_settings_are_one_line_each(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(schema.ConfigError) as err:
        schema.build(RemoteWriteConfig, raw)
    assert message in str(err.value)
    assert "p@" not in str(err.value)


def test_remote_write_needs_the_spool() -> None:
    with pytest.raises(schema.ConfigError, match="remote write reads the spool"):
        config.load(env={"OTEL_MON_REMOTE_WRITE__URL": "http://p/api/v1/write", "OTEL_MON_SPOOL__ENABLED": "false"})


def test_instance_id_is_stable_per_host_and_service() -> None:
    assert instance_id("abc", "otel-mon") == instance_id("abc", "otel-mon")
    assert instance_id("abc", "otel-mon") != instance_id("abd", "otel-mon")
    assert instance_id("abc", "otel-mon") != instance_id("abc", "other")
    assert instance_id(None, "otel-mon") != instance_id(None, "otel-mon")  # no machine id: random per start
