"""The HTML report's pieces without a browser: buckets, gaps, transitions from the logs, escaping."""

from __future__ import annotations

from typing import Any

from otel_mon.report.analysis import build_report
from otel_mon.report.html import chart, fmt, render
from otel_mon.report.timeline import bucket_for, build_timeline, transitions


def metrics_line(t: float, cpu_idle: float, host: str = "box") -> dict[str, Any]:
    ns = str(int(t * 1e9))
    point = lambda mode, v: {"timeUnixNano": ns, "asDouble": v,  # noqa: E731
                             "attributes": [{"key": "cpu.mode", "value": {"stringValue": mode}}]}
    return {"resourceMetrics": [{
        "resource": {"attributes": [{"key": "host.name", "value": {"stringValue": host}}]},
        "scopeMetrics": [{"metrics": [
            {"name": "system.cpu.utilization", "unit": "1",
             "gauge": {"dataPoints": [point("idle", cpu_idle), point("user", 1 - cpu_idle)]}}]}]}]}


def log_line(t: float, rule: str, old: str, new: str, why: str) -> dict[str, Any]:
    attrs = {"event.name": "otel_mon.health.transition", "otel_mon.rule": rule, "otel_mon.instance": "",
             "otel_mon.health.old_state": old, "otel_mon.health.new_state": new, "otel_mon.health.why": why}
    return {"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "timeUnixNano": str(int(t * 1e9)), "body": {"stringValue": "health"},
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()]}]}]}]}


def test_bucket_sizes() -> None:
    assert bucket_for(60) == 1 and bucket_for(3600) == 60 and bucket_for(6 * 3600) == 900
    assert bucket_for(86400) == 3600 and bucket_for(7 * 86400) == 3600 and bucket_for(60 * 86400) == 86400


def test_timeline_buckets_match_the_report_and_keep_gaps() -> None:
    lines = [metrics_line(1000 + i, 0.5 if i < 10 else 0.2) for i in range(20) if not 5 <= i < 8]
    timeline = build_timeline(lines, 1000.0, 1020.0, bucket=2.0)
    cpu = timeline.series["cpu"]
    assert len(cpu) == 10 and cpu[3] is None  # 1006-1008: no collections
    assert cpu[0] is not None and cpu[0].avg == build_report(lines[:2], 1000.0, 1002.0).metrics[0].avg == 50.0
    assert cpu[9] is not None and round(cpu[9].avg, 6) == 80.0


def test_transitions_from_the_log_spool() -> None:
    logs = [log_line(1005, "cpu", "ok", "warning", "80 % >= 75 %"), log_line(2000, "cpu", "warning", "ok", "x")]
    (row,) = transitions(logs, 1000, 1500)
    assert (row.rule, row.old, row.new, row.why) == ("cpu", "ok", "warning", "80 % >= 75 %")


def test_page_is_escaped_and_scriptless() -> None:
    lines = [metrics_line(1000 + i, 0.5) for i in range(10)]
    report = build_report(lines, 1000, 1010)
    html = render(report, build_timeline(lines, 1000, 1010, 1.0),
                  transitions([log_line(1005, "<b>cpu</b>", "ok", "warning", "<script>alert(1)</script>")],
                              1000, 1010), host="<host>")
    assert "<script" not in html and "&lt;script&gt;" in html and "&lt;host&gt;" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_chart_and_formatting() -> None:
    assert fmt(1536, "B/s") == "1.5 KiB/s" and fmt(12.345, "%") == "12.3 %" and fmt(0.5, "") == "0.50"
    lines = [metrics_line(1000 + i, 0.5) for i in range(4)]
    timeline = build_timeline(lines, 1000, 1006, 1.0)
    svg = chart("cpu", "%", timeline.series["cpu"], timeline)
    assert svg.count('class="gap"') == 2 and "polyline" in svg and "100 %" in svg
