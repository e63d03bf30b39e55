"""A hostile OTLP/HTTP endpoint (issue 23, High): the agent reads its answers under a byte limit, so an endless
body or head costs one failed, retried attempt and never the agent's memory; a head the watchdog cut short is no
answer either. The endpoint is its own process (hostile_peer.py); the agent is the real one."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import ROOT, AgentProcess, agent_env, stop_process, wait_until

PEER = Path(__file__).with_name("hostile_peer.py")
# The agent idles at 40-60 MiB; before the fix one endless answer took it past 4 GiB within seconds.
RSS_BOUND = 200 * 1024 * 1024


class Peer:
    def __init__(self, mode: str, tmp: Path) -> None:
        port_file = tmp / f"peer-{mode}.port"
        self.proc = subprocess.Popen([sys.executable, str(PEER), mode, str(port_file)], stdout=subprocess.PIPE,
                                     text=True)
        self.port = int(wait_until(lambda: port_file.exists() and port_file.read_text(), 20, what="peer port"))
        self.requests = 0
        threading.Thread(target=self._count, daemon=True).start()

    def _count(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("request "):
                self.requests = int(line.split()[1])


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Callable[[str], Peer]]:
    started: list[Peer] = []

    def start(mode: str) -> Peer:
        p = Peer(mode, tmp_path)
        started.append(p)
        return p

    yield start
    for p in started:
        stop_process(p.proc)


def _health(agent: AgentProcess) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(agent.get("/health")[1])
    return doc


@pytest.mark.parametrize("mode", ["endless-chunked", "huge-length", "endless-headers", "trickle-headers"])
def test_a_hostile_answer_is_a_failed_attempt_and_memory_stays_bounded(
        mode: str, peer: Callable[[str], Peer], start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    hostile = peer(mode)
    env = agent_env(PYTHONPATH=str(ROOT), OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{hostile.port}",
                    OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_EXPORTER_OTLP_TIMEOUT="1500")
    agent = start_agent("--interval", "200ms", "--data-dir", str(tmp_path / "spool"), env=env)
    process = psutil.Process(agent.proc.pid)
    peak = 0

    def attempts_made() -> bool:
        nonlocal peak
        peak = max(peak, process.memory_info().rss)
        assert peak < RSS_BOUND, f"agent RSS {peak / 2**20:.0f} MiB while the peer streams ({mode})"
        return hostile.requests >= 4

    wait_until(attempts_made, 60, what=f"four attempts against the {mode} peer")
    signal = _health(agent)["forward"]["signals"]["metrics"]
    assert signal["last_error"] is not None, signal
    assert signal["sent"] == 0, signal  # nothing counted as delivered: no complete answer ever came
    assert signal["retries"] >= 1, signal
    assert signal["quarantined"] == 0, signal
    assert peak < RSS_BOUND
