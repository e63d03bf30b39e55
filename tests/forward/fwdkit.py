"""Helpers of the forwarder tests: real SDK data encoded by the official OTLP-JSON encoder, written as
segment files the way docs/spool-format.md lays them out; forwarder settings sized for tests."""

from __future__ import annotations

import gzip
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from opentelemetry import trace
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.json.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
for path in (str(ROOT), str(TESTS)):
    if path not in sys.path:
        sys.path.insert(0, path)

from otlp_receiver import OtlpReceiver  # noqa: E402

from otel_mon import schema  # noqa: E402
from otel_mon.forward import Forwarder, OtlpConfig  # noqa: E402

BASE_NS = time.time_ns() // 10**9 * 10**9  # recent, so lag figures are realistic
RESOURCE = Resource.create({"service.name": "otel-mon-test", "host.name": "test-host"})
SCOPE = InstrumentationScope("otel_mon.test", "1")
SEQ_METRIC = "test.sequence"
PROTOCOLS = ["grpc", "http/protobuf", "http/json"]


def metrics_line(seq: int, points: int = 1) -> str:
    """One MetricsData line whose gauge ``test.sequence`` carries ``seq`` (value and time) in each point."""
    data_points = [
        NumberDataPoint(attributes={"point": i}, start_time_unix_nano=BASE_NS, time_unix_nano=BASE_NS + seq,
                        value=seq)
        for i in range(points)
    ]
    metric = Metric(name=SEQ_METRIC, description="", unit="1", data=Gauge(data_points=data_points))
    data = MetricsData([ResourceMetrics(RESOURCE, [ScopeMetrics(SCOPE, [metric], "")], "")])
    return json.dumps(encode_metrics(data).to_dict(), separators=(",", ":"))


def logs_line(seq: int, trace_id: int = 0x0AF7651916CD43DD8448EB211C80319C, span_id: int = 0xB7AD6B7169203331) -> str:
    """One LogsData line with a record whose body is ``line <seq>``, inside a (fake) span."""
    span = NonRecordingSpan(SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1)))
    record = LogRecord(timestamp=BASE_NS + seq, observed_timestamp=BASE_NS + seq, body=f"line {seq}",
                       context=trace.set_span_in_context(span), severity_text="INFO", attributes={"seq": seq})
    readable = ReadableLogRecord(log_record=record, resource=RESOURCE, instrumentation_scope=SCOPE)
    return json.dumps(encode_logs([readable]).to_dict(), separators=(",", ":"))


class FakeSpool:
    """Writes segments of one signal as the spool writer does: append whole lines, rotate, gzip closed ones."""

    def __init__(self, data_dir: Path, signal: str, start_micros: int | None = None) -> None:
        self.dir = data_dir / signal
        self.dir.mkdir(parents=True, exist_ok=True)
        self.signal = signal
        self._micros = start_micros if start_micros is not None else time.time_ns() // 1000 - 3_600_000_000
        self.active: Path | None = None

    def stem(self) -> str:
        from datetime import datetime, timezone

        when = datetime.fromtimestamp(self._micros / 1e6, tz=timezone.utc)
        return f"{self.signal}-{when.strftime('%Y%m%dT%H%M%S%f')}Z"

    def rotate(self) -> Path:
        self._micros += 1_000_000
        self.active = self.dir / f"{self.stem()}.jsonl"
        self.active.touch()
        return self.active

    def write(self, lines: list[str], raw_tail: bytes = b"") -> None:
        if self.active is None:
            self.rotate()
        assert self.active is not None
        with open(self.active, "ab") as handle:
            handle.write("".join(f"{line}\n" for line in lines).encode() + raw_tail)
            handle.flush()
            os.fsync(handle.fileno())

    def segments(self, *counts: int) -> list[Path]:
        """Sequence-numbered metrics lines, ``counts[i]`` of them in the i-th of as many new segments."""
        paths, seq = [], 0
        for count in counts:
            self.rotate()
            self.write([metrics_line(i) for i in range(seq, seq + count)])
            assert self.active is not None
            paths.append(self.active)
            seq += count
        return paths

    def compress(self, path: Path) -> Path:
        """Compress a closed segment per the contract: .gz.tmp, fsync, rename, unlink the plain file."""
        target = path.with_name(path.name + ".gz")
        tmp = path.with_name(path.name + ".gz.tmp")
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as gz:
            gz.write(path.read_bytes())
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        path.unlink()
        return target


def has_seq(request: object, seq: int) -> bool:
    """Whether an export request carries the line with sequence number ``seq``."""
    for rm in request.resource_metrics:  # type: ignore[attr-defined]
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == SEQ_METRIC and any(p.as_int == seq for p in metric.gauge.data_points):
                    return True
    return False


def sequences(receiver: OtlpReceiver, signal: str = "metrics") -> list[int]:
    """The sequence numbers that arrived, in arrival order (one per line: the first point's value)."""
    out: list[int] = []
    for received in receiver.requests(signal):
        if signal == "metrics":
            for rm in received.request.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        if metric.name == SEQ_METRIC:
                            out.append(int(metric.gauge.data_points[0].as_int))
        else:
            for rl in received.request.resource_logs:
                for sl in rl.scope_logs:
                    out.extend(int(r.body.string_value.split()[1]) for r in sl.log_records)
    return out


def fast_config(endpoint: str, protocol: str = "http/protobuf", **extra: object) -> OtlpConfig:
    """Forwarding settings with test-sized backoffs and polling, no drain limit unless asked."""
    raw: dict[str, object] = {
        "endpoint": endpoint, "protocol": protocol, "backoff_initial": "20ms", "backoff_max": "100ms",
        "poll_interval": "200ms", "drain_rate": 0, "timeout": "3s",
    }
    raw.update(extra)
    return schema.build(OtlpConfig, raw)


def start(forwarders: list[Forwarder], config: OtlpConfig, data_dir: Path) -> Forwarder:
    forwarder = Forwarder(config, data_dir)
    forwarders.append(forwarder)
    forwarder.start()
    return forwarder


def poll(predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Check ``predicate`` every 10 ms until it holds; fail at the deadline (for state without a Condition)."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        tick.wait(0.01)
