"""An agent that forwards nothing never loads grpc or protobuf (about 20 MiB of RSS for nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
