"""accept() failing with EMFILE pauses the accept loop instead of spinning, and recovers (issue 11).

The server runs in a child process whose file descriptor limit is lowered below what its clients need, with
the connection cap lifted so that accept() itself hits EMFILE; the test measures the child's CPU from outside.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import os, resource, sys, threading
from prometheus_client import CollectorRegistry
import otel_mon.http.server as srv
from otel_mon.http.config import HttpConfig
import logging
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
srv.connection_cap = lambda configured: configured  # no fds kept back: let accept() run out
server = srv.HttpServer(HttpConfig(port=0, max_connections=1000), CollectorRegistry(), lambda: (200, {}), lambda: True)
server.start()
in_use = len(os.listdir("/proc/self/fd"))
resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 4, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
print(server.port, flush=True)
threading.Event().wait()
"""


def test_emfile_pauses_accept_without_spinning_and_recovers() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"})
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        proc = psutil.Process(child.pid)
        clients = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(20)]
        time.sleep(0.3)  # let the accept loop meet EMFILE (measured below, not synchronised on)
        before = sum(proc.cpu_times()[:2])
        threading.Event().wait(2.0)
        rate = (sum(proc.cpu_times()[:2]) - before) / 2.0
        assert rate < 0.2, f"accept loop used {rate:.2f} cores at EMFILE"
        replies = []
        for sock in clients:  # each answered request frees a descriptor for the next accept
            sock.sendall(b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            replies.append(sock.makefile("rb").read())
            sock.close()
        assert all(r.startswith(b"HTTP/1.1 200") for r in replies), [r[:40] for r in replies]
    finally:
        child.kill()
        _, err = child.communicate(timeout=10)
    assert err.count("cannot accept connections") == 1, err


def test_an_idle_server_never_wakes() -> None:
    """No poll interval: the accept thread sleeps in select() until a client or stop() wakes it (issue 12)."""
    from prometheus_client import CollectorRegistry

    from otel_mon.http import HttpServer
    from otel_mon.http.config import HttpConfig

    server = HttpServer(HttpConfig(port=0), CollectorRegistry(), lambda: (200, {}), lambda: True)
    server.start()
    try:
        thread = next(t for t in threading.enumerate() if t.name == "otel-mon-http")

        def switches() -> int:
            status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
            return sum(int(line.split()[1]) for line in status.splitlines() if "ctxt_switches" in line)

        time.sleep(0.2)  # let start-up settle before counting (a measurement window, not synchronisation)
        before = switches()
        threading.Event().wait(1.5)
        assert switches() - before == 0
    finally:
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0  # stop() wakes it at once
