"""Every spool line is a valid OTLP-JSON MetricsData / LogsData and values survive the round trip."""

from __future__ import annotations

import json
from pathlib import Path

from google.protobuf.json_format import Parse
from opentelemetry._logs import SeverityNumber
from opentelemetry.metrics import Observation
from opentelemetry.proto.logs.v1.logs_pb2 import LogsData
from opentelemetry.proto.metrics.v1.metrics_pb2 import AGGREGATION_TEMPORALITY_CUMULATIVE, MetricsData
from spoolkit import LogsPipeline, MetricsPipeline, segment_files, whole_lines

from otel_mon.spool.lines import MAX_LINE_BYTES
from otel_mon.spool.reader import SpoolReader
from otel_mon.spool.writer import SpoolWriter


def parse_metrics(data_dir: Path) -> list[MetricsData]:
    return [Parse(line, MetricsData()) for f in segment_files(data_dir) for line in whole_lines(f)]


def points_by_name(batches: list[MetricsData]) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for batch in batches:
        for rm in batch.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    out.setdefault(m.name, []).extend(getattr(m, kind).data_points)
    return out


def test_metric_lines_parse_and_values_round_trip(writer: SpoolWriter, data_dir: Path,
                                                  metrics_pipeline: MetricsPipeline) -> None:
    meter = metrics_pipeline.meter
    counter = meter.create_counter("test.bytes", unit="By")
    histogram = meter.create_histogram("test.duration", unit="s")
    meter.create_observable_gauge("test.ratio", callbacks=[lambda _options: [Observation(0.25, {"k": "v"})]])
    counter.add(5, {"dev": "sda"})
    histogram.record(0.5, {"probe": "api"})
    histogram.record(1.5, {"probe": "api"})
    metrics_pipeline.collect()
    counter.add(7, {"dev": "sda"})
    metrics_pipeline.collect()

    batches = parse_metrics(data_dir)
    assert len(batches) == 2
    assert batches[0].resource_metrics[0].resource.attributes[0].key  # the resource travels with every line
    points = points_by_name(batches)
    sums = [p.as_int for p in points["test.bytes"]]  # type: ignore[attr-defined]
    assert sums == [5, 12]  # cumulative
    hist = points["test.duration"][0]
    assert (hist.count, hist.sum, hist.min, hist.max) == (2, 2.0, 0.5, 1.5)  # type: ignore[attr-defined]
    assert points["test.ratio"][0].as_double == 0.25  # type: ignore[attr-defined]
    metric = batches[1].resource_metrics[0].scope_metrics[0].metrics[0]
    assert metric.sum.aggregation_temporality == AGGREGATION_TEMPORALITY_CUMULATIVE
    assert metric.unit == "By"
    assert writer.stats()["records"]["metrics"] == 2


def test_log_lines_parse_and_round_trip(writer: SpoolWriter, data_dir: Path) -> None:
    pipeline = LogsPipeline(writer)
    try:
        pipeline.emit("disk /var almost full", SeverityNumber.WARN, {"mount": "/var", "used": 0.93})
        pipeline.emit("multi\nline", SeverityNumber.ERROR)
    finally:
        pipeline.shutdown()
    lines = [line for f in segment_files(data_dir, "logs") for line in whole_lines(f)]
    assert len(lines) == 2  # SimpleLogRecordProcessor: one export per record
    first = Parse(lines[0], LogsData())
    record = first.resource_logs[0].scope_logs[0].log_records[0]
    assert record.body.string_value == "disk /var almost full"
    assert record.severity_text == "WARN"
    attrs = {kv.key: kv.value for kv in record.attributes}
    assert attrs["mount"].string_value == "/var"
    assert attrs["used"].double_value == 0.93
    assert Parse(lines[1], LogsData()).resource_logs[0].scope_logs[0].log_records[0].body.string_value == "multi\nline"


def test_large_metric_batch_is_split_into_valid_lines(writer: SpoolWriter, data_dir: Path) -> None:
    limit = 64 * 1024
    pipeline = MetricsPipeline(writer, max_line_bytes=limit)
    try:
        gauges = [pipeline.meter.create_gauge(f"test.big.{i}", description="x" * 200) for i in range(4)]
        for g_index, gauge in enumerate(gauges):
            for i in range(600):
                gauge.set(float(i), {"series": f"{g_index}-{i}", "pad": "p" * 40})
        pipeline.collect()
    finally:
        pipeline.shutdown()
    raw = [line for f in segment_files(data_dir) for line in whole_lines(f)]
    assert len(raw) > 4
    assert all(len(line) + 1 <= limit for line in raw)
    points = points_by_name([Parse(line, MetricsData()) for line in raw])
    for g_index in range(4):
        got = sorted(
            (dict((kv.key, kv.value.string_value) for kv in p.attributes)["series"], p.as_double)  # type: ignore[attr-defined]
            for p in points[f"test.big.{g_index}"]
        )
        assert got == sorted((f"{g_index}-{i}", float(i)) for i in range(600))
    for line in raw:  # every piece keeps its resource, scope and metric metadata
        batch = Parse(line, MetricsData())
        assert batch.resource_metrics[0].resource.attributes
        assert batch.resource_metrics[0].scope_metrics[0].scope.name == "otel_mon.test"
        assert batch.resource_metrics[0].scope_metrics[0].metrics[0].description == "x" * 200


def test_batch_over_one_mib_is_split_at_the_default_limit(writer: SpoolWriter, data_dir: Path) -> None:
    pipeline = MetricsPipeline(writer)
    try:
        gauge = pipeline.meter.create_gauge("test.huge")
        for i in range(9000):
            gauge.set(float(i), {"series": str(i), "pad": "q" * 60})
        pipeline.collect()
    finally:
        pipeline.shutdown()
    raw = [line for f in segment_files(data_dir) for line in whole_lines(f)]
    assert sum(len(line) + 1 for line in raw) > MAX_LINE_BYTES  # the batch really was over 1 MiB
    assert len(raw) >= 2
    assert all(len(line) + 1 <= MAX_LINE_BYTES for line in raw)
    total = sum(len(points_by_name([Parse(line, MetricsData())])["test.huge"]) for line in raw)
    assert total == 9000


def test_log_batch_split_and_oversize_record_dropped_and_counted(writer: SpoolWriter, data_dir: Path) -> None:
    limit = 16 * 1024
    pipeline = LogsPipeline(writer, max_line_bytes=limit)
    try:
        pipeline.emit("y" * (limit * 2))  # cannot fit any line: dropped, counted
        pipeline.emit("fits")
    finally:
        pipeline.shutdown()
    lines = [line for f in segment_files(data_dir, "logs") for line in whole_lines(f)]
    assert [Parse(line, LogsData()).resource_logs[0].scope_logs[0].log_records[0].body.string_value
            for line in lines] == ["fits"]
    assert writer.stats()["dropped"]["logs/oversize"] == 1
    assert writer.status()["signals"]["logs"]["dropped"]["oversize"] == 1


def test_lines_are_compact_json_like_the_official_file_exporter(writer: SpoolWriter, data_dir: Path,
                                                                metrics_pipeline: MetricsPipeline) -> None:
    metrics_pipeline.meter.create_counter("test.c").add(1)
    metrics_pipeline.collect()
    record = next(SpoolReader(data_dir, "metrics").records())
    line = whole_lines(segment_files(data_dir)[0])[0]
    assert line.decode() == json.dumps(record.data, separators=(",", ":"))
    assert b"resourceMetrics" in line and b"\n" not in line
