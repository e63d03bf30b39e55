"""The forwarder end to end over real sockets: both protocols, gzip, headers, TLS, and following the spool."""

from __future__ import annotations

from pathlib import Path

import pytest
from fwdkit import PROTOCOLS, FakeSpool, fast_config, logs_line, metrics_line, sequences, start
from otlp_receiver import OtlpReceiver, Tls

from otel_mon import schema
from otel_mon.forward import Forwarder, OtlpConfig

TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("compression", ["gzip", "none"])
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_delivers_every_line_once_in_order(tmp_path: Path, tls_files: Tls, forwarders: list[Forwarder],
                                           protocol: str, compression: str, tls: bool) -> None:
    headers = {"authorization": "Bearer s3cret", "x-tenant": "a b"}
    with OtlpReceiver(tls=tls_files if tls else None, required_headers=headers) as receiver:
        metrics, logs = FakeSpool(tmp_path, "metrics"), FakeSpool(tmp_path, "logs")
        metrics.write([metrics_line(i, points=3) for i in range(40)])
        logs.write([logs_line(i) for i in range(15)])
        config = fast_config(receiver.endpoint(protocol), protocol, compression=compression, max_batch_records=7,
                             headers=headers, certificate=str(tls_files.cert) if tls else None)
        forwarder = start(forwarders, config, tmp_path)

        assert receiver.wait_for(lambda r: len(sequences(r)) >= 40 and len(sequences(r, "logs")) >= 15)
        assert sequences(receiver) == list(range(40))
        assert sequences(receiver, "logs") == list(range(15))
        first = receiver.requests("logs")[0]
        record = first.request.resource_logs[0].scope_logs[0].log_records[0]
        assert record.trace_id == TRACE_ID.to_bytes(16, "big")  # hex in OTLP-JSON, bytes on the wire
        assert first.headers["x-tenant"] == "a b"
        if protocol == "http/protobuf":
            assert first.gzip is (compression == "gzip")
        assert len(receiver.requests("metrics")) == 6  # 40 lines in batches of 7
        assert forwarder.stop(2.0)
        health = forwarder.status()
        assert health["signals"]["metrics"]["sent"] == 40  # type: ignore[index]
        assert "s3cret" not in repr(health)


def test_wrong_headers_hold_the_data_and_never_log_the_secret(tmp_path: Path, forwarders: list[Forwarder],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    with OtlpReceiver(required_headers={"authorization": "Bearer right"}) as receiver:
        FakeSpool(tmp_path, "metrics").write([metrics_line(i) for i in range(3)])
        config = fast_config(receiver.http_endpoint, headers={"authorization": "Bearer wrong-secret"})
        forwarder = start(forwarders, config, tmp_path)
        assert receiver.wait_for(lambda r: r.attempts >= 3)
        assert receiver.received == []
        signal = forwarder.signals["metrics"]
        assert signal.counters.sent == 0 and signal.failed["rejected"] == 0  # 401 holds the data, it is not skipped
        assert signal.counters.last_error is not None and "401" in signal.counters.last_error[1]
    assert "wrong-secret" not in caplog.text
    assert "wrong-secret" not in repr(forwarder.status())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_follows_the_active_segment_rotation_and_compression(tmp_path: Path, receiver: OtlpReceiver,
                                                            forwarders: list[Forwarder], protocol: str) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    forwarder = start(forwarders, fast_config(receiver.endpoint(protocol), protocol, poll_interval="30s"), tmp_path)
    spool.write([metrics_line(0), metrics_line(1)], raw_tail=metrics_line(2)[:50].encode())
    forwarder.notify("metrics")
    assert receiver.wait_for(lambda r: sequences(r) == [0, 1])
    # The torn tail is finished by the writer: only now is line 2 data.
    with open(spool.active or "", "ab") as handle:
        handle.write(metrics_line(2)[50:].encode() + b"\n")
    forwarder.notify()
    assert receiver.wait_for(lambda r: sequences(r) == [0, 1, 2])
    closed = spool.active
    assert closed is not None
    spool.write([metrics_line(3)])
    spool.rotate()
    spool.compress(closed)
    spool.write([metrics_line(4), metrics_line(5)])
    forwarder.notify()
    assert receiver.wait_for(lambda r: len(sequences(r)) >= 6)
    assert sequences(receiver) == list(range(6))


def test_poll_fallback_without_notify(tmp_path: Path, receiver: OtlpReceiver, forwarders: list[Forwarder]) -> None:
    start(forwarders, fast_config(receiver.http_endpoint, poll_interval="100ms"), tmp_path)
    FakeSpool(tmp_path, "logs").write([logs_line(1)])  # the directory did not even exist at start
    assert receiver.wait_for(lambda r: sequences(r, "logs") == [1])


def test_gz_segments_and_a_segment_present_in_both_forms(tmp_path: Path, receiver: OtlpReceiver,
                                                       forwarders: list[Forwarder]) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    first, second, _third = spool.segments(3, 3, 2)
    spool.compress(first)
    # Compression caught half-way: both files of one stem exist; it must be read once.
    gz = spool.compress(second)
    second.write_bytes(__import__("gzip").decompress(gz.read_bytes()))
    start(forwarders, fast_config(receiver.grpc_endpoint, "grpc"), tmp_path)
    assert receiver.wait_for(lambda r: len(sequences(r)) >= 8)
    assert sequences(receiver) == list(range(8))


def test_malformed_lines_are_counted_and_skipped(tmp_path: Path, receiver: OtlpReceiver,
                                                forwarders: list[Forwarder]) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    spool.write([metrics_line(0), "{not json", '{"resourceLogs": []}', '{"resourceMetrics": 5}', metrics_line(1)])
    forwarder = start(forwarders, fast_config(receiver.http_endpoint), tmp_path)
    assert receiver.wait_for(lambda r: sequences(r) == [0, 1])
    assert forwarder.signals["metrics"].failed["malformed"] == 3
    assert forwarder.stop(2.0)
    assert forwarder.status()["signals"]["metrics"]["backlog_records"] == 0  # type: ignore[index]


def test_only_signals_with_an_endpoint_are_forwarded(tmp_path: Path, receiver: OtlpReceiver) -> None:
    config = schema.build(OtlpConfig, {"logs": {"endpoint": f"{receiver.http_endpoint}/custom/logs"}})
    forwarder = Forwarder(config, tmp_path)
    assert list(forwarder.signals) == ["logs"]
    assert forwarder.signals["logs"].target.address.endswith("/custom/logs")  # per-signal: used as it is
    assert not OtlpConfig().enabled
    assert Forwarder(OtlpConfig(), tmp_path).signals == {}


def test_metrics_follow_the_semconv_table(tmp_path: Path, receiver: OtlpReceiver,
                                          forwarders: list[Forwarder]) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from otel_mon.host.table import METRICS
    from otel_mon.instruments import Instruments

    spool = FakeSpool(tmp_path, "metrics")
    spool.write([metrics_line(i) for i in range(4)])
    forwarder = start(forwarders, fast_config(receiver.http_endpoint), tmp_path)
    assert receiver.wait_for(lambda r: len(sequences(r)) == 4)
    assert forwarder.stop(2.0)
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    forwarder.register_metrics(Instruments(provider.get_meter("test"), lambda spec: spec.domain == "forward",
                                           table=METRICS))
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        metric.name: [(getattr(p, "value", None), dict(p.attributes or {})) for p in metric.data.data_points]
        for rm in data.resource_metrics for sm in rm.scope_metrics for metric in sm.metrics
    }
    assert set(points) == {
        "otel_mon.forward.sent", "otel_mon.forward.failed", "otel_mon.forward.retries",
        "otel_mon.forward.backlog.records", "otel_mon.forward.backlog.size", "otel_mon.forward.lag",
    }
    assert (4, {"otel_mon.signal": "metrics"}) in points["otel_mon.forward.sent"]
    assert (0, {"otel_mon.signal": "metrics", "otel_mon.reason": "rejected"}) in points["otel_mon.forward.failed"]
    assert (0, {"otel_mon.signal": "logs"}) in points["otel_mon.forward.backlog.records"]
    provider.shutdown()
