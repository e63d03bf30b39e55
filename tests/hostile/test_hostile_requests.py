"""Hostile requests against the real agent (issue 23): DNS rebinding (a Host that is not ours, or none, gets 421
without a token) and request smuggling heads (two differing Content-Length fields, or one with
Transfer-Encoding, get 400 and close: the body is never served as a second request)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, AgentProcess, agent_env

TOKEN = "rebinding-test-token-0123456789"


def _exchange(port: int, head: bytes) -> bytes:
    """Send ``head`` (and whatever follows it), read until the server closes (every case here closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _get(port: int, host: str | None, extra: str = "") -> bytes:
    lines = ["GET /api/status HTTP/1.1", *([f"Host: {host}"] if host is not None else []), "Connection: close"]
    return _exchange(port, ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode())


def test_without_a_token_only_our_own_host_names_are_served(start_agent: Callable[..., AgentProcess],
                                                            tmp_path: Path) -> None:
    agent = start_agent("--interval", "500ms", "--data-dir", str(tmp_path / "spool"),
                        "--set", "http.allowed_hosts=monitor.internal")
    for host in ("attacker.example", "attacker.example:9464", "127.0.0.1.attacker.example", None, ""):
        reply = _get(agent.port, host)
        assert reply.startswith(b"HTTP/1.1 421 "), (host, reply[:60])
        assert b"hostname" not in reply and socket.gethostname().encode() not in reply.split(b"\r\n\r\n", 1)[1]
    for host in (f"127.0.0.1:{agent.port}", "localhost", f"localhost:{agent.port}", f"[::1]:{agent.port}",
                 "10.1.2.3", "monitor.internal:80", socket.gethostname()):
        reply = _get(agent.port, host)
        assert reply.startswith(b"HTTP/1.1 200 "), (host, reply[:60])


def test_with_a_token_any_host_is_served_to_the_token(start_agent: Callable[..., AgentProcess],
                                                      tmp_path: Path) -> None:
    env = agent_env(PYTHONPATH=str(ROOT), OTEL_MON_HTTP__TOKEN=TOKEN)
    agent = start_agent("--interval", "500ms", "--data-dir", str(tmp_path / "spool"), env=env, ready=False)
    from tests.conftest import wait_until

    wait_until(lambda: _get(agent.port, "proxy.example", f"Authorization: Bearer {TOKEN}\r\n")
               .startswith(b"HTTP/1.1 200 "), 30, what="agent serving with the token")
    assert _get(agent.port, "attacker.example").startswith(b"HTTP/1.1 401 ")


@pytest.mark.parametrize("fields", [
    b"Content-Length: 0\r\nContent-Length: 40\r\n",
    b"Content-Length: 40\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
    b"Content-Length: 4, 40\r\n",
    b"Content-Length: -1\r\n",
])
def test_ambiguous_framing_is_a_400_and_nothing_more(fields: bytes, start_agent: Callable[..., AgentProcess],
                                                     tmp_path: Path) -> None:
    agent = start_agent("--interval", "500ms", "--data-dir", str(tmp_path / "spool"))
    smuggled = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    body = smuggled.ljust(40, b" ")
    reply = _exchange(agent.port, b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields + b"\r\n" + body)
    assert reply.startswith(b"HTTP/1.1 400 "), reply[:80]
    assert reply.count(b"HTTP/1.1 ") == 1, reply  # the body was never read as a request


def test_equal_repeated_lengths_are_one_length(start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    agent = start_agent("--interval", "500ms", "--data-dir", str(tmp_path / "spool"))
    reply = _exchange(agent.port, b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
                      b"Content-Length: 2\r\n\r\nxx")
    assert reply.startswith(b"HTTP/1.1 200 ") and reply.count(b"HTTP/1.1 ") == 1, reply[:80]
