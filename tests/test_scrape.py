"""Scrapes read the snapshot: one psutil read per source per interval, whatever the number of scrapes.

Reads are counted at the kernel-file level with a Python audit hook on ``open`` (psutil opens /proc files
with the builtin open), so nothing of ours or of psutil's is patched.
"""

from __future__ import annotations

import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_mon import config
from otel_mon.agent import Agent

_counting = threading.local()
_opens: Counter[str] = Counter()
_lock = threading.Lock()
_active = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _active and event == "open" and isinstance(args[0], str) and args[0].startswith("/proc/"):
        with _lock:
            _opens[args[0]] += 1


sys.addaudithook(_hook)  # audit hooks cannot be removed: it only counts while _active is set


@pytest.fixture
def counting() -> Iterator[Counter[str]]:
    global _active
    _opens.clear()
    _active = True
    yield _opens
    _active = False


def test_burst_of_scrapes_costs_no_psutil_reads(counting: Counter[str], tmp_path: Path) -> None:
    # The spool in a temporary directory: the default ./data is the checkout's (and `make run`'s, locked).
    settings = config.load(env={}, flags={"http.port": "0", "interval": "1h", "spool.dir": str(tmp_path / "spool")})
    agent = Agent(settings)
    agent.start()  # one collection at start-up, then the loop waits an hour
    try:
        after_start = Counter(counting)
        assert after_start["/proc/meminfo"] >= 1 and after_start["/proc/diskstats"] == 1
        assert after_start["/proc/net/dev"] == 1
        url = f"http://127.0.0.1:{agent.http.port}/metrics"
        bodies = []
        for _ in range(25):
            with urllib.request.urlopen(url, timeout=5) as resp:
                bodies.append(resp.read().decode())
        with urllib.request.urlopen(f"http://127.0.0.1:{agent.http.port}/health", timeout=5) as resp:
            assert resp.status == 200
        host_reads = {p: n for p, n in counting.items() if not p.startswith("/proc/self/")}
        assert host_reads == {p: n for p, n in after_start.items() if not p.startswith("/proc/self/")}
        assert all("system_memory_usage_bytes" in b for b in bodies)
        # The next interval reads each source exactly once more.
        agent.collect_once()
        for path in ("/proc/diskstats", "/proc/net/dev", "/proc/loadavg", "/proc/uptime", "/proc/vmstat"):
            assert counting[path] == 2 * after_start[path], path
    finally:
        agent.stop()


def test_connections_are_read_at_most_once_per_interval(counting: Counter[str]) -> None:
    import socket

    from otel_mon.host.connections import ConnectionsCollector

    collector = ConnectionsCollector()  # connections.interval: 60s
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        first = collector.collect(1000.0)
    finally:
        listener.close()
    counts = {(a["network.transport"], a.get("network.connection.state")): v
              for v, a in first.points["system.network.connection.count"]}
    assert counts[("tcp", "listen")] >= 1
    reads = counting["/proc/net/tcp"]
    assert reads >= 1
    again = collector.collect(1030.0)  # within the minute: the cached counts, no new walk
    assert counting["/proc/net/tcp"] == reads
    assert again.points == first.points
    collector.collect(1060.0)
    assert counting["/proc/net/tcp"] == 2 * reads
    # UDP sockets (some on any host running the suite's DNS tests) have no state: their points carry none
    states = {a["network.connection.state"] for _, a in first.points.get("system.network.connection.count", [])
              if a["network.transport"] == "tcp"}
    assert all("network.connection.state" not in a for _, a in first.points["system.network.connection.count"]
               if a["network.transport"] == "udp")
    # semconv v1.44 network.connection.state values (psutil spells four of them differently)
    assert states <= {"established", "listen", "time_wait", "close_wait", "syn_sent", "syn_received", "fin_wait_1",
                      "fin_wait_2", "last_ack", "closing", "closed"}
