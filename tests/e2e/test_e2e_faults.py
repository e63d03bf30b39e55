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
    """Let ``seconds`` pass (polling); the most collections seen behind meanwhile."""
    start = time.monotonic()
    most = [0]

    def over() -> bool:
        most[0] = max(most[0], p.behind())
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
