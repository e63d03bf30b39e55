"""The first hour of a new user (issue 24): what `make run` installs, what the start says, what --help lists."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT, AgentProcess, agent_env, free_port, wait_until


def test_make_run_installs_the_runtime_only_and_make_test_the_rest(tmp_path: Path) -> None:
    venv = tmp_path / "venv"

    def planned(target: str) -> list[str]:
        out = subprocess.run(["make", "-n", "-B", target, f"VENV={venv}"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60, check=True)
        return [line for line in out.stdout.splitlines() if "pip install" in line and "--upgrade pip" not in line]

    assert planned("run") == [f"{venv}/bin/pip install --quiet -e ."]
    assert f"{venv}/bin/pip install --quiet -e '.[test,bench]'" in planned("test")


def test_run_help_lists_the_status_page() -> None:
    out = subprocess.run([sys.executable, "-m", "otel_mon", "run", "--help"], capture_output=True, text=True,
                         timeout=60, env=agent_env(PYTHONPATH=str(ROOT)), cwd=ROOT)
    text = " ".join(out.stdout.split())
    assert out.returncode == 0
    assert "status page at /" in text and "status page /, /metrics, /health and /ready" in text, text


def _log_lines(stderr: str) -> list[str]:
    """The console lines without their timestamp and level."""
    return [re.sub(r"^\S+ +[A-Z]+ +", "", line) for line in stderr.splitlines()]


def test_the_start_says_where_to_look_once(start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    otlp, rw = free_port(), free_port()  # nothing listens there: the lines are said all the same
    agent = start_agent("--data-dir", str(spool), "--set", f"otlp.endpoint=http://127.0.0.1:{otlp}",
                        "--set", "otlp.protocol=grpc", "--set", f"remote_write.url=http://127.0.0.1:{rw}/api/v1/write")
    base = agent.base
    wanted = [
        f"otel_mon.agent: status page {base}/ (Prometheus {base}/metrics, JSON /health, /ready) "
        f"listen=127.0.0.1:{agent.port} tls=False auth=False",
        f"otel_mon.agent: spool {spool} (OTLP-JSON lines; `otel-mon tail` reads it)",
        f"otel_mon.agent: forwarding metrics over OTLP to http://127.0.0.1:{otlp} protocol=grpc",
        f"otel_mon.agent: forwarding logs over OTLP to http://127.0.0.1:{otlp} protocol=grpc",
        f"otel_mon.agent: forwarding metrics by Prometheus remote write to http://127.0.0.1:{rw}/api/v1/write",
    ]
    lines = wait_until(lambda: (got := _log_lines(agent.stderr())) and all(w in got for w in wanted) and got,
                       30, what="the start-up lines")
    for line in wanted:
        assert lines.count(line) == 1, (line, lines)
    start = next(i for i, line in enumerate(lines) if line.startswith("otel_mon.agent: starting otel-mon"))
    assert lines[start + 1:start + 1 + len(wanted)] == wanted, lines
