"""A real agent names the processes behind a CPU and a memory warning: the test starts one that burns CPU
and one that holds memory, and finds both by pid and name in the webhook payloads, /health and the log."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, AgentProcess, agent_env, wait_until
from tests.hogs import BURN, HOLD
from tests.webhooks import Hooks


def _warning(hooks: Hooks, rule: str) -> dict[str, Any] | None:
    """The first webhook body saying ``rule`` turned warning."""
    return next((b for b in hooks.bodies("/hook") if b["rule"] == rule and b["new_state"] == "warning"), None)


@pytest.fixture
def workload() -> Iterator[tuple[subprocess.Popen[str], subprocess.Popen[str]]]:
    burn = subprocess.Popen([sys.executable, "-c", BURN], text=True)
    hold = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True)
    try:
        assert hold.stdout is not None and hold.stdout.readline().strip() == "ready"
        yield burn, hold
    finally:
        for p in (burn, hold):
            p.kill()
            p.wait()


def test_webhook_health_and_log_name_the_busy_processes(
        hooks: Hooks, workload: tuple[subprocess.Popen[str], subprocess.Popen[str]],
        start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    burn, hold = workload
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("""
interval: 500ms
health:
  default_for: 0s
  rules:
    - {reading: cpu, warning: 0.001, critical: 100000}
    - {reading: memory, warning: 0.001, critical: 100000}
  notifiers:
    - {kind: webhook, url_env: HOOK_URL, cooldown: 1h}
""")
    agent = start_agent("--config", str(cfg), "--data-dir", str(tmp_path / "spool"),
                        env=agent_env(PYTHONPATH=str(ROOT), HOOK_URL=hooks.url + "/hook"))
    cpu = wait_until(lambda: _warning(hooks, "cpu"), 30, what="the cpu warning webhook")
    memory = wait_until(lambda: _warning(hooks, "memory"), 30, what="the memory warning webhook")

    # At most five suspects, busiest first; a quiet machine may have fewer that used any CPU in the window.
    suspects = cpu["context"]["processes"]
    assert cpu["context"]["by"] == "cpu" and 1 <= len(suspects) <= 5
    shares = [p["cpu_percent"] for p in suspects]
    assert shares == sorted(shares, reverse=True) and min(shares) > 0
    by_pid = {p["pid"]: p for p in suspects}
    assert by_pid[burn.pid]["name"] == "otelmon-burn" and by_pid[burn.pid]["cpu_percent"] > 10
    assert set(by_pid[burn.pid]) == {"pid", "name", "user", "cpu_percent"}
    assert memory["context"]["by"] == "memory"
    by_pid = {p["pid"]: p for p in memory["context"]["processes"]}
    assert by_pid[hold.pid]["name"] == "otelmon-hold" and by_pid[hold.pid]["rss_bytes"] >= 800 << 20

    doc = json.loads(agent.get("/health")[1])
    rules = {r["rule"]: r for r in doc["health"]["rules"]}
    assert hold.pid in [p["pid"] for p in rules["memory"]["context"]["processes"]]
    assert "processes" in rules["cpu"]["context"]
    assert agent.stop() == 0
    logged = agent.stderr()
    assert "health memory: ok -> warning" in logged and "otelmon-hold" in logged and "top by memory" in logged
