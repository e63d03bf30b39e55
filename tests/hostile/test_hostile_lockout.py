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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, AgentProcess, agent_env, stop_process, wait_until

ATTACKER = Path(__file__).with_name("lockout_attacker.py")
TOKEN = "lockout-test-token-0123456789"
ATTEMPTS = 100


def _scrape(port: int, headers: dict[str, str]) -> float | None:
    """Seconds to a whole /metrics answer on a new connection, or None if it took over 1 s or failed."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", "/metrics", headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = time.monotonic() - started
        ok = response.status == 200 and b"system_memory" in body and elapsed <= 1.0
        return elapsed if ok else None
    except OSError:
        return None
    finally:
        conn.close()


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
@pytest.mark.parametrize(("shape", "count", "token"), [
    ("keepalive", 64, False), ("keepalive", 64, True), ("silent", 300, False), ("slowhead", 200, False)])
def test_a_scraper_gets_through_every_lockout_shape(shape: str, count: int, token: bool, tmp_path: Path,
                                                    start_agent: Callable[..., AgentProcess]) -> None:
    env = agent_env(PYTHONPATH=str(ROOT), **({"OTEL_MON_HTTP__TOKEN": TOKEN} if token else {}))
    agent = start_agent("--interval", "1s", "--data-dir", str(tmp_path / "spool"), env=env, ready=False)
    headers = {"Authorization": f"Bearer {TOKEN}"} if token else {}
    wait_until(lambda: _scrape(agent.port, headers) is not None, 30, what="agent serving /metrics")
    threads_before = _threads(agent.proc.pid)
    attacker = subprocess.Popen([sys.executable, str(ATTACKER), shape, str(agent.port), str(count)],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert attacker.stdout is not None
        assert attacker.stdout.readline().startswith("open "), "the attacker could not open its connections"
        times = []
        for _ in range(ATTEMPTS):
            times.append(_scrape(agent.port, headers))
            time.sleep(0.05)  # the scraper's own pace, not a synchronisation
        assert attacker.poll() is None, "the attacker stopped: the attack did not run the whole time"
        # No thread per connection (one loop reads every head): the crowd costs file descriptors, not threads.
        # The slack of 2 is for the agent's own threads that come and go (a probe, a notifier).
        threads_during = _threads(agent.proc.pid)
        assert threads_during <= threads_before + 2, (threads_before, threads_during)
        served = sorted(t for t in times if t is not None)
        print(f"{shape}{' + token' if token else ''}: {len(served)}/{ATTEMPTS} within 1 s, "
              f"p99 {served[int(len(served) * 0.99) - 1] * 1000 if served else float('nan'):.0f} ms")
        assert len(served) >= 0.99 * ATTEMPTS, f"{len(served)}/{ATTEMPTS} scrapes answered within 1 s"
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
