"""The command line as a user drives it: real processes, exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT, agent_env


def otel_mon(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "otel_mon", *args], capture_output=True, text=True, timeout=60,
                          env=env or agent_env(PYTHONPATH=str(ROOT)), cwd=cwd)


def test_version_and_help() -> None:
    from otel_mon import __version__

    out = otel_mon("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"otel-mon {__version__}"
    out = otel_mon("--help")
    assert out.returncode == 0
    for command in ("run", "snapshot", "check-config"):
        assert command in out.stdout
    assert otel_mon().returncode == 2  # no command: usage, not a silent success


def test_check_config_ok_and_bad(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("interval: 15s\nhttp:\n  port: 9100\n")
    out = otel_mon("check-config", str(good))
    assert out.returncode == 0, out.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("interval: fast\nhttp:\n  prot: 1\n")
    out = otel_mon("check-config", str(bad))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines == [
        "otel-mon: config error: interval: invalid value 'fast': expected a duration such as 10s, 500ms or 2m",
        "otel-mon: config error: http.prot: unknown key (did you mean 'port'?)",
    ]


def test_check_config_print_redacts_secrets(tmp_path: Path) -> None:
    env = agent_env(PYTHONPATH=str(ROOT), OTEL_MON_HTTP__TOKEN="hunter2")
    out = otel_mon("check-config", "--print", env=env)
    assert out.returncode == 0
    doc = yaml.safe_load(out.stdout)
    assert doc["http"]["token"] == "***"
    assert "hunter2" not in out.stdout + out.stderr


def test_run_refuses_bad_config_with_exit_2(tmp_path: Path) -> None:
    out = otel_mon("run", "--interval", "10 parsecs")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "otel-mon: config error: interval: invalid value '10 parsecs': expected a duration such as 10s, 500ms or 2m")
    out = otel_mon("run", "--root-path", str(tmp_path))
    assert out.returncode == 2
    assert "root_path: invalid value" in out.stderr and "/proc/stat not found" in out.stderr


def test_snapshot_prints_one_collection() -> None:
    out = otel_mon("snapshot", "--wait", "200ms")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["metrics"]["system.memory.limit"]["unit"] == "By"
    assert doc["metrics"]["system.cpu.time"]["points"][0]["attributes"]["cpu.mode"]
    assert "cpu" in doc["readings"]  # two reads: utilisation is there


def test_snapshot_from_fake_root() -> None:
    root = ROOT / "tests" / "fixtures" / "host1"
    out = otel_mon("snapshot", "--wait", "0", "--root-path", str(root), "--set", "collectors.sensors=false")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["metrics"]["system.memory.limit"]["points"][0]["value"] == 8000000 * 1024
    assert "system.cpu.utilization" not in doc["metrics"]  # one read: no utilisation


def test_repeated_sigterm_stops_the_agent_cleanly(start_agent, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A burst of signals (systemd, an impatient operator) must stop the agent, never wedge it."""
    import os
    import signal as sig
    import time

    agent = start_agent("--interval", "100ms", "--data-dir", str(tmp_path / "spool"))
    deadline = time.monotonic() + 20
    while agent.proc.poll() is None and time.monotonic() < deadline:  # signals keep coming while it stops
        try:  # pairs, like GNU timeout (the child, then its process group): the second lands mid-handler
            os.kill(agent.proc.pid, sig.SIGTERM)
            os.kill(agent.proc.pid, sig.SIGTERM)
        except ProcessLookupError:
            break
        time.sleep(0.0005)
    # Stopped, not wedged; once Python is finalizing, a late SIGTERM may still end it with -15.
    assert agent.proc.wait(5) in (0, -sig.SIGTERM)
    assert "signal received, stopping" in agent.stderr() and "otel-mon stopped" in agent.stderr()
