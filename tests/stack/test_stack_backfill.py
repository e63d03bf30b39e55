"""Backfill, end to end: a real agent remote-writes its spool to Debian's Prometheus, Prometheus is down for
at least 60 s, and once the backlog drains every collection of the outage is in the TSDB with its original
timestamp (the promise of docs/data-path.md: an outage costs latency, not data)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from otel_mon.spool.format import iter_points
from otel_mon.spool.reader import SpoolReader
from tests.conftest import ROOT as REPO
from tests.conftest import AgentProcess, agent_env, wait_until
from tests.stack.stackkit import Prometheus

pytestmark = pytest.mark.integration

OUTAGE = 60.0  # seconds Prometheus is down: the "at least 60 s"
SERIES = "system_uptime_seconds"


def _remote_write(agent: AgentProcess) -> dict[str, object]:
    _status, body = agent.get("/health")
    section: dict[str, object] = json.loads(body)["remote_write"]["signals"]["metrics"]
    return section


def _spool_stamps(data_dir: Path, since: float, until: float) -> list[int]:
    """Milliseconds of every ``system.uptime`` point the agent spooled in [since, until] (epoch seconds)."""
    stamps = [p.time_ns // 1_000_000 for rec in SpoolReader(data_dir, "metrics").records()
              for p in iter_points(rec.data) if p.name == "system.uptime"]
    return sorted(s for s in stamps if since * 1000 <= s <= until * 1000)


def test_outage_backlog_lands_with_original_timestamps(start_agent: Callable[..., AgentProcess],
                                                       tmp_path: Path) -> None:
    prom = Prometheus(tmp_path / "prom", {"global": {"scrape_interval": "15s"}})
    prom.start()
    data_dir = tmp_path / "data"
    try:
        env = agent_env(PYTHONPATH=str(REPO), OTEL_MON_REMOTE_WRITE__URL=prom.write_url,
                        OTEL_MON_REMOTE_WRITE__BACKOFF_MAX="1s", OTEL_MON_REMOTE_WRITE__POLL_INTERVAL="500ms")
        agent = start_agent("--interval", "1s", "--data-dir", str(data_dir), env=env)
        wait_until(lambda: prom.query(f'{SERIES}{{job="otel-mon"}}'), 30, interval=0.2,
                   what="first remote-written sample")

        prom.stop()
        down = time.time()
        # Wait out the outage by the agent's own account: lines pile up unsent while Prometheus is down.
        wait_until(lambda: time.time() - down >= OUTAGE and int(_remote_write(agent)["backlog_records"]) >= 30,
                   OUTAGE + 30, interval=0.5, what="a 60 s outage with a backlog")
        backlog = int(_remote_write(agent)["backlog_records"])
        assert int(_remote_write(agent)["retries"]) > 0
        prom.start()
        up = time.time()

        wait_until(lambda: int(_remote_write(agent)["backlog_records"]) == 0, 60, interval=0.5,
                   what="the backlog to drain")
        wait_until(lambda: prom.query(f'{SERIES}{{job="otel-mon"}}', time=time.time()), 20, interval=0.5)

        # Every collection the agent made while Prometheus was down, compared one by one.
        expected = _spool_stamps(data_dir, down + 1, up - 1)
        assert len(expected) >= OUTAGE - 10, expected  # ~1 per second on a loaded 2-core machine
        window = int(up - down)
        now = time.time()
        result = prom.query(f'{SERIES}{{job="otel-mon"}}[{window + 120}s]', time=now)
        assert len(result) == 1, result
        stored = sorted(round(float(ts) * 1000) for ts, _ in result[0]["values"])
        assert [s for s in stored if expected[0] <= s <= expected[-1]] == expected

        # The dashboard's question: count_over_time over the outage window sees every collection.
        end = expected[-1] / 1000
        span_ms = expected[-1] - expected[0] + 1
        counted = prom.query(f'count_over_time({SERIES}{{job="otel-mon"}}[{span_ms}ms])', time=end)
        assert int(float(counted[0]["value"][1])) == len(expected)
        assert backlog >= 30
        assert _remote_write(agent)["failed"] == {"malformed": 0, "rejected": 0}
    finally:
        prom.stop()
