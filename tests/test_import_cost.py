"""An agent that forwards nothing never loads grpc or protobuf (about 20 MiB of RSS for nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import contextlib, io, sys, tempfile
from otel_mon import cli, config
with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
    cli.main(["run", "--help"])  # the CLI builds every command's parser, as `otel-mon run` does
from otel_mon.agent import Agent
from otel_mon.http.render import render_metrics
with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as spool:
    agent = Agent(config.load(env={}, flags={"spool.dir": spool, "http.enabled": "false"}))
    agent.collect_once()
    render_metrics(agent.telemetry.registry, "text/plain", "gzip")
    print(sorted(m for m in ("grpc", "google.protobuf") if m in sys.modules))
    agent.spool.close()
"""


def test_default_agent_loads_no_grpc_or_protobuf() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


_PUSH_PROBE = """
import subprocess, sys, tempfile, time
from otel_mon import config
from otel_mon.agent import Agent
receiver = subprocess.Popen([sys.executable, "-c", "import sys; from otlp_receiver import OtlpReceiver; "
                             "r = OtlpReceiver().start(); print(r.http_port, flush=True); sys.stdin.read()"],
                            cwd="tests", stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
port = int(receiver.stdout.readline())
with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as spool:
    agent = Agent(config.load(env={}, flags={"spool.dir": spool, "http.enabled": "false",
                                             "otlp.endpoint": f"http://127.0.0.1:{port}",
                                             "otlp.protocol": sys.argv[1], "otlp.compression": "gzip"}))
    agent.collect_once()
    agent.forwarder.start()
    deadline = time.monotonic() + 30
    while agent.forwarder.signals["metrics"].counters.sent < 1 and time.monotonic() < deadline:
        agent.forwarder.signals["metrics"].notify()
        time.sleep(0.02)  # a poll of the counter, not synchronisation: the deadline decides
    assert agent.forwarder.signals["metrics"].counters.sent >= 1, agent.forwarder.status()
    agent.forwarder.stop(2.0)
    print(sorted(m for m in ("grpc", "google.protobuf") if m in sys.modules))
    agent.spool.close()
receiver.kill()
"""


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_pushing_over_http_loads_no_grpc_or_protobuf(protocol: str) -> None:
    # The request is written by forward/otlp_wire.py and the answer read by forward/outcome.py: a delivered
    # batch (acknowledged by a real receiver in another process) needs neither protobuf's runtime nor grpc.
    out = subprocess.run([sys.executable, "-c", _PUSH_PROBE, protocol], cwd=ROOT, capture_output=True, text=True,
                         timeout=90, check=False, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


_RW_PROBE = """
import sys, tempfile
from otel_mon import config
from otel_mon.agent import Agent
from otel_mon.forward.rw_forwarder import RemoteWriteSender, make_parser
import json
from otel_mon.spool.reader import SpoolReader
with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as spool:
    settings = config.load(env={}, flags={"spool.dir": spool, "http.enabled": "false",
                                          "remote_write.url": "http://127.0.0.1:1/api/v1/write"})
    agent = Agent(settings)
    agent.collect_once()
    line = json.dumps(next(SpoolReader(spool, "metrics").records()).data).encode()
    record = make_parser(settings.remote_write)("metrics", line)
    sender = RemoteWriteSender(settings.remote_write.target())
    assert record.points > 50 and sender.send(record.payload, 0.5).outcome.name == "RETRY"
    print(sorted(m for m in ("grpc", "google.protobuf") if m in sys.modules))
    agent.spool.close()
"""


def test_remote_write_loads_no_grpc_or_protobuf() -> None:
    # The WriteRequest is written by forward/rw_wire.py from the spool line itself.
    out = subprocess.run([sys.executable, "-c", _RW_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=90,
                         check=False, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr
