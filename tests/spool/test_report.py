"""Report figures against a hand computation over a spool the test writes, and through the real exporter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from spoolkit import LineBuilder, MetricsPipeline

from otel_mon.report.analysis import Report, Stat, build_report
from otel_mon.report.text import format_table
from otel_mon.spool.reader import SpoolReader
from otel_mon.spool.writer import SpoolWriter

T0 = 1_800_000_000.0
STEP = 10.0
# Seven collections, 10 s apart, on a 2-CPU host (20 CPU-seconds per interval).
IDLE_PER_INTERVAL = [15, 10, 18, 5, 12, 16]  # -> busy 25, 50, 10, 75, 40, 20 %
MEMORY = [0.50, 0.60, 0.55, 0.70, 0.65, 0.60, 0.58]
ROOT_FS = [0.71, 0.71, 0.72, 0.72, 0.73, 0.73, 0.74]
ETH0_RX = [0, 1000, 3000, 6000, 6000, 10000, 12000]  # -> 100, 200, 300, 0, 400, 200 B/s
ETH1_TX = [500, 1500, 2500, 100, 1100, 2100, 3100]  # restart after the 3rd point: that interval is skipped
LOAD = [0.5, 1.0, 1.5, 2.0, 1.0, 0.5, 0.5]
PROBE_COUNT = [0, 2, 4, 4, 7, 8, 10]
PROBE_SUM = [0.0, 0.2, 0.6, 0.6, 1.5, 1.6, 2.0]  # -> 100, 200, (none), 300, 100, 200 ms
HEALTH = [0, 0, 1, 2, 1, 0, 0]  # -> ok 30 s, warning 20 s, critical 10 s


def fixture_lines() -> list[bytes]:
    lines = []
    idle = user = 0.0
    for i in range(7):
        if i:
            idle += IDLE_PER_INTERVAL[i - 1]
            user += 20 - IDLE_PER_INTERVAL[i - 1]
        b = LineBuilder(T0 + i * STEP)
        b.counter("system.cpu.time", idle, {"cpu.mode": "idle"})
        b.counter("system.cpu.time", user * 0.75, {"cpu.mode": "user"})
        b.counter("system.cpu.time", user * 0.25, {"cpu.mode": "system"})
        b.gauge("system.memory.usage", MEMORY[i] * 8e9, {"system.memory.state": "used"})
        b.gauge("system.memory.limit", 8e9)
        for mount, device, used in (("/", "sda1", ROOT_FS[i]), ("/var", "sda2", 0.25)):
            for state, value in (("used", used * 1e9), ("free", (1 - used) * 1e9), ("reserved", 5e7)):
                b.gauge("system.filesystem.usage", value, {"system.filesystem.mountpoint": mount,
                                                           "system.device": device, "system.filesystem.state": state})
        b.counter("system.network.io", ETH0_RX[i], {"network.interface.name": "eth0",
                                                    "network.io.direction": "receive"})
        b.gauge("system.cpu.load_average.1m", LOAD[i])
        b.histogram("otel_mon.probe.duration", PROBE_SUM[i], PROBE_COUNT[i], {"otel_mon.probe.name": "api"})
        b.gauge("otel_mon.health.state", HEALTH[i], {"otel_mon.rule": "disk_full", "otel_mon.instance": "/"})
        if i < 3:
            b.counter("system.network.io", ETH1_TX[i], {"network.interface.name": "eth1",
                                                        "network.io.direction": "transmit"})
        lines.append(b.line())
    restarted = [LineBuilder(T0 + i * STEP, start=T0 + 25).counter(
        "system.network.io", ETH1_TX[i], {"network.interface.name": "eth1", "network.io.direction": "transmit"})
        for i in range(3, 7)]
    return lines + [b.line() for b in restarted]


@pytest.fixture
def report(writer: SpoolWriter, data_dir: Path) -> Report:
    writer.append("metrics", fixture_lines())
    return build_report(r.data for r in SpoolReader(data_dir, "metrics").records())


def row(report: Report, label: str) -> Stat:
    return next(s for s in report.metrics if s.label == label)


def check(stat: Stat, avg: float, lo: float, hi: float, p95: float, n: int) -> None:
    assert (stat.avg, stat.min, stat.max, stat.p95, stat.samples) == pytest.approx((avg, lo, hi, p95, n))


def test_cpu_from_time_deltas(report: Report) -> None:
    check(row(report, "cpu"), avg=(25 + 50 + 10 + 75 + 40 + 20) / 6, lo=10, hi=75, p95=75, n=6)
    assert row(report, "cpu").source == "system.cpu.time"


def test_memory_filesystems_load(report: Report) -> None:
    check(row(report, "memory"), avg=sum(MEMORY) / 7 * 100, lo=50, hi=70, p95=70, n=7)
    check(row(report, "filesystem /"), avg=sum(ROOT_FS) / 7 * 100, lo=71, hi=74, p95=74, n=7)
    check(row(report, "filesystem /var"), avg=25, lo=25, hi=25, p95=25, n=7)
    check(row(report, "load 1m"), avg=sum(LOAD) / 7, lo=0.5, hi=2.0, p95=2.0, n=7)


def test_network_rates_and_reset(report: Report) -> None:
    check(row(report, "network eth0 receive"), avg=12000 / 60, lo=0, hi=400, p95=400, n=6)
    # eth1: 100 B/s for two intervals, the restart interval skipped, then 100 B/s for three more
    check(row(report, "network eth1 transmit"), avg=100, lo=100, hi=100, p95=100, n=5)


def test_probe_latency(report: Report) -> None:
    # five intervals with probes (one had none); the average is total time over total probes
    check(row(report, "probe api"), avg=2.0 / 10 * 1000, lo=100, hi=300, p95=300, n=5)


def test_health_time_per_state(report: Report) -> None:
    (health,) = report.health
    assert (health.rule, health.instance) == ("disk_full", "/")
    assert health.seconds == pytest.approx({"ok": 30, "warning": 20, "critical": 10, "no_data": 0})
    assert health.share() == pytest.approx({"ok": 50, "warning": 100 / 3, "critical": 100 / 6, "no_data": 0})
    assert health.avg == pytest.approx((1 * 20 + 2 * 10) / 60)
    assert (health.max, health.samples) == (2, 7)


def test_health_ignores_a_gap_where_the_agent_was_down() -> None:
    lines = [LineBuilder(T0 + t).gauge("otel_mon.health.state", s, {"otel_mon.rule": "r"}).dict()
             for t, s in [(0, 0), (10, 2), (20, 2), (30, 1), (3600, 0), (3610, 0)]]
    (health,) = build_report(lines).health
    # steps of 10 s, one of 3570 s (more than 5x the usual step: the agent was down): no data, not ok
    assert health.seconds == pytest.approx({"ok": 20, "warning": 0, "critical": 20, "no_data": 3570})


def test_a_rule_without_data_is_never_counted_ok() -> None:
    """Issue 24: the agent writes no state point while a rule has no data; the report shows that time as
    "no data" (gaps, and the window's edges before the first and after the last sample), never as ok."""
    lines = [LineBuilder(T0 + t).gauge("otel_mon.health.state", 0, {"otel_mon.rule": "disk"}).dict()
             for t in range(300, 600, 10)]
    (health,) = build_report(lines, since=T0, until=T0 + 600).health
    assert health.seconds == pytest.approx({"ok": 290, "warning": 0, "critical": 0, "no_data": 300})
    assert health.share()["ok"] == pytest.approx(290 / 590 * 100)
    text = format_table(build_report(lines, since=T0, until=T0 + 600))
    header = next(line for line in text.splitlines() if line.startswith("health rule"))
    assert header.split()[2:8] == ["ok", "warning", "critical", "no", "data", "avg"]
    row = next(line for line in text.splitlines() if line.startswith("disk "))
    assert "49.2% (4m50s)" in row and "50.8% (5m00s)" in row


def test_window_limits_the_points(writer: SpoolWriter, data_dir: Path) -> None:
    writer.append("metrics", fixture_lines())
    since, until = T0 + 25, T0 + 45  # collections 3 and 4 only
    report = build_report((r.data for r in SpoolReader(data_dir, "metrics").records(since=since, until=until)),
                          since=since, until=until)
    check(row(report, "load 1m"), avg=1.5, lo=1.0, hi=2.0, p95=2.0, n=2)
    check(row(report, "cpu"), avg=75, lo=75, hi=75, p95=75, n=1)  # the one interval inside: 3 -> 4
    assert (report.start, report.end) == (since, until)


def test_cpu_from_utilization_when_present() -> None:
    lines = []
    for i, idle in enumerate([(0.9, 0.7), (0.5, 0.3)]):
        b = LineBuilder(T0 + i * STEP)
        for cpu, value in enumerate(idle):
            b.gauge("system.cpu.utilization", value, {"cpu.mode": "idle", "cpu.logical_number": cpu})
            b.gauge("system.cpu.utilization", 1 - value, {"cpu.mode": "user", "cpu.logical_number": cpu})
        lines.append(b.dict())
    stat = row(build_report(lines), "cpu")
    check(stat, avg=40, lo=20, hi=60, p95=60, n=2)
    assert stat.source == "system.cpu.utilization"


def test_probe_latency_through_the_real_exporter(writer: SpoolWriter, data_dir: Path) -> None:
    pipeline = MetricsPipeline(writer)
    try:
        probe = pipeline.meter.create_histogram("otel_mon.probe.duration", unit="s")
        attrs = {"otel_mon.probe.name": "db", "otel_mon.probe.kind": "tcp"}
        for batch in ([0.1, 0.3], [0.2], [], [0.5, 0.5]):
            for seconds in batch:
                probe.record(seconds, attrs)
            pipeline.collect()
    finally:
        pipeline.shutdown()
    report = build_report(r.data for r in SpoolReader(data_dir, "metrics").records())
    # intervals after the first collection: 0.2 s over 1 probe, none, 1.0 s over 2 probes
    check(row(report, "probe db"), avg=1.2 / 3 * 1000, lo=200, hi=500, p95=500, n=2)


def test_table_and_json(report: Report) -> None:
    text = format_table(report)
    lines = text.splitlines()
    assert lines[0].startswith("otel-mon report  2027-01-15T08:00:00Z .. 2027-01-15T08:01:00Z  (11 records")
    header = next(line for line in lines if line.startswith("metric"))
    cpu = next(line for line in lines if line.startswith("cpu "))
    assert header.index("avg") + len("avg") == cpu.index("36.67") + len("36.67")  # right-aligned columns
    assert any(line.startswith("disk_full /") and "50.0% (30s)" in line for line in lines)
    doc = json.loads(json.dumps(report.to_json()))
    assert doc["from"] == "2027-01-15T08:00:00Z"
    assert {m["label"] for m in doc["metrics"]} >= {"cpu", "memory", "probe api", "network eth0 receive"}
    assert doc["health"][0]["seconds"]["critical"] == pytest.approx(10)


def test_empty_input() -> None:
    report = build_report([])
    assert report.metrics == [] and report.health == [] and report.points == 0
    assert "(0 records, 0 points)" in format_table(report)
