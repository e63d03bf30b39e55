"""Human one-line rendering of spool records for ``tail``."""

from __future__ import annotations

from pathlib import Path

from opentelemetry._logs import SeverityNumber
from spoolkit import LineBuilder, LogsPipeline

from otel_mon.spool.reader import SpoolReader
from otel_mon.spool.summary import render_logs, render_metrics
from otel_mon.spool.writer import SpoolWriter

T = 1_800_000_000.25  # 2027-01-15T08:00:00.250Z


def test_metrics_headline() -> None:
    b = LineBuilder(T)
    for cpu, idle in enumerate([0.7, 0.8]):
        b.gauge("system.cpu.utilization", idle, {"cpu.mode": "idle", "cpu.logical_number": cpu})
    b.gauge("system.memory.usage", 456, {"system.memory.state": "used"}).gauge("system.memory.limit", 1000)
    b.gauge("system.cpu.load_average.1m", 0.52)
    for mount, used in (("/", 71), ("/var", 50)):  # df's Use%: used / (used + free), reserved left out
        for state, value in (("used", used), ("free", 100 - used), ("reserved", 5)):
            b.gauge("system.filesystem.usage", value, {"system.filesystem.mountpoint": mount,
                                                       "system.filesystem.state": state})
    assert render_metrics(b.dict()) == (
        "2027-01-15T08:00:00.250Z  cpu 25.0%  mem 45.6%  load1 0.52  fs / 71.0%  (11 points)"
    )


def test_metrics_without_headline_values_lists_names() -> None:
    b = LineBuilder(T)
    for name in ["a.one", "a.two", "a.three", "a.four", "a.five"]:
        b.gauge(name, 1.0)
    assert render_metrics(b.dict()) == "2027-01-15T08:00:00.250Z  a.one, a.two, a.three, a.four +1 more  (5 points)"


def test_log_lines(writer: SpoolWriter, data_dir: Path) -> None:
    pipeline = LogsPipeline(writer)
    try:
        pipeline.emit("disk almost full", SeverityNumber.WARN,
                      {"mount": "/var lib", "used": 0.93, "code.line.number": 12,
                       "_otel_mon_repeat": True}, t=T)  # as spools written before the bridge skipped it hold
        pipeline.emit("Traceback:\n  boom", SeverityNumber.ERROR, t=T + 1)
    finally:
        pipeline.shutdown()
    rendered = [line for r in SpoolReader(data_dir, "logs").records() for line in render_logs(r.data)]
    assert rendered == [
        '2027-01-15T08:00:00.250Z WARN  disk almost full  mount="/var lib" used=0.93',
        "2027-01-15T08:00:01.250Z ERROR Traceback:\\n  boom",
    ]


def test_severity_from_number_when_text_is_missing() -> None:
    data = {"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"timeUnixNano": str(int(T * 1e9)), "severityNumber": 17, "body": {"kvlistValue": {"values": [
            {"key": "event", "value": {"stringValue": "state"}}]}}}]}]}]}
    assert render_logs(data) == ['2027-01-15T08:00:00.250Z ERROR {"event":"state"}']
