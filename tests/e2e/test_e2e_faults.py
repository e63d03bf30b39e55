"""agent -> Collector -> Prometheus 3 under faults, on both metric paths; nothing lost, nothing moved in time.

Each test runs its own pipeline (tests/e2e/e2ekit.py) on free ports, so xdist runs them side by side. The
agent collects every second; after the fault heals, every collection in its spool must be in Prometheus at its
original timestamp (the range vector's timestamps equal the spool's) and ``count_over_time`` over the window
must equal the number of collections. The agent's log records (it logs the failures) must be in VictoriaLogs
exactly once, each (timestamp, body) pair. Each test also shows that its fault bit: collections fell behind
while it lasted.

Outages: Prometheus is stopped with SIGTERM and started again on the same port and TSDB (a real outage: the
port refuses connections); the Collector is killed with SIGKILL (nothing flushed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.e2ekit import PATHS, Count, Path_, Pipeline
from tests.fleet.fleetkit import wait_until

pytestmark = pytest.mark.integration

COLLECTOR_GAP = 30.0    # the "restarted 30 s later"
PROMETHEUS_GAP = 60.0   # the "Prometheus stopped 60 s"


@pytest.fixture(params=PATHS)
def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pipeline]:
    path: Path_ = request.param
    p = Pipeline(tmp_path / "e2e", path)
    try:
        p.start()
        yield p
    finally:
        p.stop()


def assert_all_at_their_timestamps(p: Pipeline, count: Count, at_least: int) -> None:
    assert count.expected >= at_least, count.line()
    assert count.ok, f"{p.path}: {count.line()}"


def assert_logs_once(p: Pipeline) -> None:
    stored, spooled = p.logs_settle()
    assert sum(spooled.values()) > 0, "the agent spooled no log record"
    assert stored == spooled, (f"{p.path}: log records lost {spooled - stored}, doubled {stored - spooled}")


def gap(seconds: float, p: Pipeline) -> int:
    """Let ``seconds`` pass (polling); the most collections seen behind meanwhile. While Prometheus is down
    (its port refuses) every collection taken since the gap began is behind."""
    start, began = time.monotonic(), time.time()
    most = [0]

    def over() -> bool:
        try:
            behind = p.behind()
        except OSError:  # Prometheus down: urllib's URLError is an OSError
            behind = sum(1 for ms in p.agent.collections() if ms / 1000 >= began)
        most[0] = max(most[0], behind)
        return time.monotonic() - start >= seconds

    wait_until(over, seconds + 60, f"a {seconds:.0f} s outage", interval=2.0)
    return most[0]


def test_collector_killed_mid_stream_and_restarted_30s_later(pipeline: Pipeline) -> None:
    p = pipeline
    assert p.collector is not None
    p.wait_collections(5)
    p.collector.kill9()
    fell_behind = gap(COLLECTOR_GAP, p)
    assert fell_behind >= 10, "nothing waited while the Collector was dead: the kill did not bite"
    p.collector.start()
    p.collector.wait_ready()
    assert_all_at_their_timestamps(p, p.settle(), at_least=30)
    assert_logs_once(p)


def stop_backends(p: Pipeline) -> None:
    """Prometheus and the log store down: SIGTERM, as an operator stops them."""
    p.prometheus.stop()
    if p.logs is not None:
        p.logs.stop()


def start_backends(p: Pipeline) -> None:
    for server in (p.prometheus, p.logs):
        if server is not None:
            server.start()
            server.wait_ready()


def test_prometheus_stopped_60s_while_the_collector_runs(pipeline: Pipeline) -> None:
    p = pipeline
    p.wait_collections(5)
    stop_backends(p)
    fell_behind = gap(PROMETHEUS_GAP, p)
    assert fell_behind >= 20, "nothing waited while Prometheus was down: the outage did not bite"
    start_backends(p)
    assert_all_at_their_timestamps(p, p.settle(), at_least=60)
    assert_logs_once(p)


def test_collector_killed_and_prometheus_stopped_at_once_with_the_agent_restarted_meanwhile(
        pipeline: Pipeline) -> None:
    p = pipeline
    assert p.collector is not None
    p.wait_collections(5)
    stop_backends(p)
    p.collector.kill9()
    fell_behind = gap(15.0, p)
    p.agent.stop()  # SIGTERM: the agent shuts down in order; its spool and cursor stay on disk
    p.agent.start()
    p.agent.wait_ready()
    fell_behind = max(fell_behind, gap(15.0, p))
    p.collector.start()  # 30 s after the kill, Prometheus still down
    p.collector.wait_ready()
    fell_behind = max(fell_behind, gap(PROMETHEUS_GAP - 30.0, p))
    assert fell_behind >= 20, "nothing waited during the double outage: it did not bite"
    assert p.agent.starts == 2
    start_backends(p)
    assert_all_at_their_timestamps(p, p.settle(), at_least=50)
    assert_logs_once(p)


def test_collector_killed_while_its_disk_queue_holds_data_then_restarted(pipeline: Pipeline) -> None:
    """Prometheus down, so what the Collector accepts (and acknowledged to the agent, which moved its cursor)
    waits in the Collector's WAL (remote write) or persistent queue (OTLP); kill -9 then, and only the
    Collector's disk still holds those collections."""
    p = pipeline
    c = p.collector
    assert c is not None
    p.wait_collections(5)
    stop_backends(p)
    accepted = c.counter("otelcol_receiver_accepted_metric_points")
    wait_until(lambda: c.counter("otelcol_receiver_accepted_metric_points") > accepted, 30,
               "the Collector accepting collections while Prometheus is down", interval=0.5)
    if p.path == "otlp":
        wait_until(lambda: c.counter("otelcol_exporter_queue_size", exporter="otlp_http/prometheus") >= 5, 30,
                   "5 requests in the Collector's persistent queue", interval=0.5)
    else:
        held = p.wait_collections(0)
        wait_until(lambda: c.counter("otelcol_receiver_accepted_metric_points") > accepted
                   and len(p.agent.collections()) >= held + 5, 30, "5 more collections accepted", interval=0.5)
    c.kill9()
    start_backends(p)
    # Acknowledged to the agent (before its cursor: never sent again) and not in Prometheus: only the dead
    # Collector's disk has them now.
    held_only_there = p.agent.collections(acknowledged=True) - p.stored(time.time())
    assert len(held_only_there) >= 3, f"the Collector held nothing the agent had let go of: {held_only_there}"
    c.start()
    c.wait_ready()
    assert_all_at_their_timestamps(p, p.settle(), at_least=8)
    assert_logs_once(p)
