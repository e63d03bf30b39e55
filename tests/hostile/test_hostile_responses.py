"""A hostile OTLP/HTTP endpoint (issue 23, High): the agent reads its answers under a byte limit, so an endless
body or head costs one failed, retried attempt and never the agent's memory; a head the watchdog cut short is no
answer either. The endpoint is its own process (hostile_peer.py); the agent is the real one."""

from __future__ import annotations

import itertools
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


class CountingPeer(Peer):
    """A peer of the ``reject-400``, ``limit-413`` or ``partial`` modes: what it answered, request by request."""

    def __init__(self, mode: str, tmp: Path) -> None:
        self.answers: list[tuple[int, int]] = []  # (status, resource entries in the request)
        super().__init__(mode, tmp)

    def _count(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("answered "):
                _, status, entries = line.split()
                self.answers.append((int(status), int(entries)))


def _forwarding_agent(mode: str, tmp_path: Path, start_agent: Callable[..., AgentProcess]
                      ) -> tuple[CountingPeer, AgentProcess]:
    hostile = CountingPeer(mode, tmp_path)
    env = agent_env(PYTHONPATH=str(ROOT), OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{hostile.port}",
                    OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf")
    return hostile, start_agent("--interval", "200ms", "--data-dir", str(tmp_path / "spool"), env=env)


def test_a_peer_refusing_everything_degrades_health_is_counted_and_logged_once(
        start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    """Before: 59 of 59 lines quarantined with /health not degraded, one error line per spool line."""
    hostile, agent = _forwarding_agent("reject-400", tmp_path, start_agent)
    try:
        wait_until(lambda: _health(agent)["forward"]["signals"]["metrics"]["failed"]["rejected"] >= 8, 60,
                   what="eight lines refused")
        doc = _health(agent)
        signal = doc["forward"]["signals"]["metrics"]
        assert signal["degraded"] is True and signal["rejection_rate"] == 1.0, signal
        assert doc["forward"]["degraded"] is True and doc["status"] != "ok", doc["status"]
        assert signal["sent"] == 0 and signal["quarantined"] == signal["failed"]["rejected"], signal
        assert all(status == 400 for status, _ in hostile.answers)
    finally:
        stop_process(hostile.proc)
    log = agent.stderr()
    for name in ("metrics", "logs"):  # each signal's forwarder says it once, then counts
        assert log.count(f"forwarder {name}: {name}-") == 1, log  # "... line N rejected by ..."
        assert log.count(f"forwarder {name}: http://127.0.0.1:{hostile.port}/v1/{name} refuses 100%") == 1, log


def test_a_413_halves_the_batch_and_loses_nothing(start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    """A peer taking at most two spool lines per request: batches are halved until they pass, none is
    quarantined. Before: every line of a refused batch was resent alone; a 413 on one line was quarantined."""
    hostile, agent = _forwarding_agent("limit-413", tmp_path, start_agent)
    spool = tmp_path / "spool" / "metrics"
    try:
        # The peer answers 503 for 3 s first: a backlog builds, so batches hold more than two lines.
        wait_until(lambda: any(status == 413 for status, _ in hostile.answers)
                   and sum(e for s, e in hostile.answers if s == 200) >= 12, 90,
                   what="a 413, then twelve lines accepted")
        signal = _health(agent)["forward"]["signals"]["metrics"]
    finally:
        stop_process(hostile.proc)
    assert signal["failed"]["rejected"] == 0 and signal["quarantined"] == 0, signal
    assert not (spool / "quarantine.jsonl").exists()
    assert all(entries <= 2 for status, entries in hostile.answers if status == 200)
    answers = [(s, e) for s, e in hostile.answers if s != 503]
    refused = [entries for status, entries in answers if status == 413]
    assert refused and max(refused) > 4, answers
    # Halving: the request after a refused batch of n holds about n/2 of its lines, not one.
    for (status, entries), (_, following) in itertools.pairwise(answers):
        if status == 413:
            assert following in (entries // 2, (entries + 1) // 2) or following <= 2, answers
    assert 2 in [entries for status, entries in answers if status == 200], answers
    assert signal["rejection_rate"] == 0.0, signal


def test_a_partial_success_keeps_only_what_it_can_name(start_agent: Callable[..., AgentProcess],
                                                        tmp_path: Path) -> None:
    """Every answer refuses one data point. A one-line batch's line is quarantined (it holds the refused
    point), a longer batch is only noted (segment, lines, count), so no line is kept twice and accepted data
    is not copied. Before: every batch was copied whole (about 3 MB a minute at a 1 s interval)."""
    hostile, agent = _forwarding_agent("partial", tmp_path, start_agent)
    spool = tmp_path / "spool" / "metrics"
    try:
        wait_until(lambda: _health(agent)["forward"]["signals"]["metrics"]["refused_items"] >= 10, 60,
                   what="ten partial answers to metrics")
        signal = _health(agent)["forward"]["signals"]["metrics"]
    finally:
        stop_process(hostile.proc)
    assert signal["refused_items"] >= 10, signal
    # Each answer refused one point: it either quarantined its one line or wrote one note.
    assert signal["quarantined"] + signal["partial_noted"] == signal["refused_items"], signal
    assert 0 < signal["rejection_rate"] < 0.1 and signal["degraded"] is False, signal  # 1 point of hundreds
    kept = (spool / "quarantine.jsonl").read_bytes().splitlines() if (spool / "quarantine.jsonl").exists() else []
    assert len(kept) == len(set(kept)) == signal["quarantined"]
    notes = [json.loads(line) for line in (spool / "partial.jsonl").read_text().splitlines()] if signal[
        "partial_noted"] else []
    assert all(n["refused_items"] == 1 and n["end_line"] - n["first_line"] >= 2 for n in notes), notes
    assert all(n["message"] == "one point refused" for n in notes)
    log = agent.stderr()
    assert log.count("forwarder metrics: endpoint accepted a batch partially") == 1, log  # once, then counted
