"""No lockout by one client (issue 23, High): under each attack shape a scraper still gets /metrics within 1 s
in at least 99 % of attempts, and the early closes are counted in /health and the metric.

The attacker is its own process (lockout_attacker.py), keeping its connections open (one closed on it is opened
again at once), all from the scraper's own address (loopback), so a per-address limit alone cannot tell them
apart. Before the fix a scraper got 0 answers in 10 s under each shape. With a thread per connection the silent
x300 shape was the tight one (p99 466-701 ms, 85/100 once under load): the server now holds no thread per
connection (one selector loop reads every head, workers answer), which the thread count checks."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, AgentProcess, agent_env, stop_process, wait_until
from tests.hostile.lockout_kit import ATTACKER, SHAPES, scrape_round, scrape_seconds

TOKEN = "lockout-test-token-0123456789"
ATTEMPTS = 100
MEMORY = b"system_memory"  # a whole /metrics body, not an error page


def _threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def _health(port: int, headers: dict[str, str]) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/health", headers=headers)
        doc: dict[str, Any] = json.loads(conn.getresponse().read())
        return doc
    finally:
        conn.close()


@pytest.mark.xdist_group("lockout")  # one attack at a time: two at once on 2 cores measure each other
@pytest.mark.parametrize(("shape", "count", "token"), SHAPES)
def test_a_scraper_gets_through_every_lockout_shape(shape: str, count: int, token: bool, tmp_path: Path,
                                                    start_agent: Callable[..., AgentProcess]) -> None:
    env = agent_env(PYTHONPATH=str(ROOT), **({"OTEL_MON_HTTP__TOKEN": TOKEN} if token else {}))
    agent = start_agent("--interval", "1s", "--data-dir", str(tmp_path / "spool"), env=env, ready=False)
    headers = {"Authorization": f"Bearer {TOKEN}"} if token else {}
    wait_until(lambda: scrape_seconds(agent.port, headers, MEMORY) is not None, 30, what="agent serving /metrics")
    threads_before = _threads(agent.proc.pid)
    attacker = subprocess.Popen([sys.executable, str(ATTACKER), shape, str(agent.port), str(count)],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert attacker.stdout is not None
        assert attacker.stdout.readline().startswith("open "), "the attacker could not open its connections"
        served, p99 = scrape_round(agent.port, headers, ATTEMPTS, MEMORY)
        assert attacker.poll() is None, "the attacker stopped: the attack did not run the whole time"
        # No thread per connection (one loop reads every head): the crowd costs file descriptors, not threads.
        # The slack of 2 is for the agent's own threads that come and go (a probe, a notifier).
        threads_during = _threads(agent.proc.pid)
        assert threads_during <= threads_before + 2, (threads_before, threads_during)
        print(f"{shape}{' + token' if token else ''}: {served}/{ATTEMPTS} within 1 s, p99 {p99 * 1000:.0f} ms")
        assert served >= 0.99 * ATTEMPTS, f"{served}/{ATTEMPTS} scrapes answered within 1 s"
        connections = _health(agent.port, headers)["http"]["connections"]
        assert connections["evicted"] + connections["refused"] > 0, connections
        assert connections["open"] <= 64, connections
    finally:
        stop_process(attacker)
    status, body = agent.get("/metrics", headers)
    assert status == 200
    closed = {m.group(1): float(m.group(2)) for m in re.finditer(
        r'otel_mon_http_connections_closed_total\{[^}]*otel_mon_reason="(\w+)"[^}]*\} (\S+)', body.decode())}
    assert closed["evicted"] + closed["refused"] > 0, closed
    assert agent.stderr().count("closing the longest-idle connection") <= 1  # logged once, then counted
