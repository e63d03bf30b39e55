"""Helpers of the spool tests: configs in a temp dir, a real MeterProvider/LoggerProvider onto the spool,
child processes running a real writer, and OTLP-JSON lines built with the official protobuf classes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf.json_format import MessageToDict
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from otel_mon.schema import ByteSize, Duration
from otel_mon.spool.config import SpoolConfig
from otel_mon.spool.exporters import SpoolLogExporter, SpoolMetricExporter
from otel_mon.spool.writer import SpoolWriter

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 15.0, what: str = "") -> T:
    """Poll with a deadline (another process is working); never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.01)


def config(data_dir: Path, **overrides: Any) -> SpoolConfig:
    """Small limits by default so tests rotate without writing megabytes; everything overridable."""
    values: dict[str, Any] = {"dir": str(data_dir), "fsync": "never", "max_files": 0, "max_bytes": ByteSize(0),
                              "max_age": Duration(0)}
    values.update(overrides)
    return SpoolConfig(**values)


class Clock:
    """A settable clock handed to the writer (the writer takes its clock as a parameter)."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class MetricsPipeline:
    """A real MeterProvider whose only reader exports into the spool when ``collect()`` is called."""

    def __init__(self, spool: SpoolWriter, **exporter_kwargs: Any) -> None:
        self.exporter = SpoolMetricExporter(spool, **exporter_kwargs)
        self.reader = PeriodicExportingMetricReader(self.exporter, export_interval_millis=float("inf"))
        self.provider = MeterProvider(metric_readers=[self.reader],
                                      resource=Resource.create({"service.name": "otel-mon-test"}))
        self.meter = self.provider.get_meter("otel_mon.test", "1.0")

    def collect(self) -> None:
        self.reader.force_flush()

    def shutdown(self) -> None:
        self.provider.shutdown()


class LogsPipeline:
    """A real LoggerProvider exporting each record synchronously into the spool (the OTel logs API)."""

    def __init__(self, spool: SpoolWriter, name: str = "otel_mon.test.app", **exporter_kwargs: Any) -> None:
        self.exporter = SpoolLogExporter(spool, **exporter_kwargs)
        self.provider = LoggerProvider(resource=Resource.create({"service.name": "otel-mon-test"}))
        self.provider.add_log_record_processor(SimpleLogRecordProcessor(self.exporter))
        self.logger = self.provider.get_logger(name)

    def emit(self, body: Any, severity: SeverityNumber = SeverityNumber.INFO,
             attributes: dict[str, Any] | None = None, t: float | None = None) -> None:
        t_ns = int((t if t is not None else time.time()) * 1e9)
        self.logger.emit(LogRecord(timestamp=t_ns, observed_timestamp=t_ns, body=body, severity_number=severity,
                                   severity_text=severity.name.rstrip("0123456789"),
                                   attributes=attributes or {}))

    def shutdown(self) -> None:
        self.provider.shutdown()


def segment_files(data_dir: Path, signal: str = "metrics") -> list[Path]:
    return sorted(p for p in (data_dir / signal).iterdir() if not p.name.startswith("."))


def whole_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), f"{path.name} ends in a torn line"
    return data.splitlines()


def run_python(code: str, *args: str, timeout: float = 30.0, **popen: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          env=child_env(), cwd=ROOT, **popen)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# -- OTLP-JSON lines built with the official protobuf classes (independent of the code under test) ----------

def kv(key: str, value: str | int | float) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(double_value=value))


class LineBuilder:
    """Accumulate metrics of one collection at time ``t`` (seconds), then ``line()`` gives the spool line."""

    def __init__(self, t: float, start: float = 1_000.0) -> None:
        self.t_ns = int(t * 1e9)
        self.start_ns = int(start * 1e9)
        self.data = metrics_pb2.MetricsData()
        rm = self.data.resource_metrics.add()
        rm.resource.attributes.append(kv("service.name", "otel-mon-test"))
        self.scope = rm.scope_metrics.add()
        self.scope.scope.name = "otel_mon"

    def gauge(self, name: str, value: float, attrs: dict[str, str | int] | None = None) -> LineBuilder:
        m = self.scope.metrics.add(name=name)
        p = m.gauge.data_points.add(time_unix_nano=self.t_ns, as_double=value)
        p.attributes.extend(kv(k, v) for k, v in (attrs or {}).items())
        return self

    def counter(self, name: str, value: float, attrs: dict[str, str | int] | None = None) -> LineBuilder:
        m = self.scope.metrics.add(name=name)
        m.sum.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
        m.sum.is_monotonic = True
        p = m.sum.data_points.add(time_unix_nano=self.t_ns, start_time_unix_nano=self.start_ns, as_double=value)
        p.attributes.extend(kv(k, v) for k, v in (attrs or {}).items())
        return self

    def histogram(self, name: str, total: float, count: int, attrs: dict[str, str | int] | None = None
                  ) -> LineBuilder:
        m = self.scope.metrics.add(name=name)
        m.histogram.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
        p = m.histogram.data_points.add(time_unix_nano=self.t_ns, start_time_unix_nano=self.start_ns, sum=total,
                                        count=count)
        p.attributes.extend(kv(k, v) for k, v in (attrs or {}).items())
        return self

    def dict(self) -> dict[str, Any]:
        out: dict[str, Any] = MessageToDict(self.data)
        return out

    def line(self) -> bytes:
        return (json.dumps(self.dict(), separators=(",", ":")) + "\n").encode()
