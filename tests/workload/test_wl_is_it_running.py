""""Is it running": a real agent with a rule on a process group's count. The test stops the grouped process;
the rule goes critical within its ``for:`` and the webhook receives a notification naming the group and what
matched it; the process comes back and the rule clears. A CPU threshold on another group rises the same way."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, AgentProcess, agent_env, wait_until
from tests.webhooks import Hooks
from tests.workload.workers import BURN, HOLD, running, spawn


def _got(hooks: Hooks, rule: str, state: str) -> dict[str, Any] | None:
    return next((b for b in hooks.bodies("/hook") if b["rule"] == rule and b["new_state"] == state), None)


def test_a_stopped_service_goes_critical_and_clears_when_it_is_back(
        hooks: Hooks, start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("""
interval: 500ms
process_groups:
  - {name: svc, comm: "^wl-svc$"}
  - {name: burn, comm: "^wl-spin$"}
health:
  rules:
    - {name: svc-running, reading: process_group.count, instance: svc, critical: 0, for: 2s}
    - {name: burn-cpu, reading: process_group.cpu, instance: burn, warning: 20, critical: 100000, for: 0s}
  notifiers:
    - {kind: webhook, url_env: HOOK_URL, cooldown: 0s}
""")
    svc = spawn(HOLD, "wl-svc", mib=1)
    with running(spawn(BURN, "wl-spin")):
        agent = start_agent("--config", str(cfg), "--data-dir", str(tmp_path / "spool"),
                            env=agent_env(PYTHONPATH=str(ROOT), HOOK_URL=hooks.url + "/hook"))
        busy = wait_until(lambda: _got(hooks, "burn-cpu", "warning"), 60, what="the group CPU warning")
        assert busy["instance"] == "burn" and busy["value"] >= 20
        assert busy["context"]["matched"] == "process group burn: comm=~^wl-spin$"

        def count() -> float | None:
            rules = {r["rule"]: r for r in json.loads(agent.get("/health")[1])["health"]["rules"]}
            return rules["svc-running"].get("value")

        wait_until(lambda: count() == 1, 30, what="the agent to see the service")
        assert _got(hooks, "svc-running", "critical") is None
        svc.kill()
        svc.wait()
        stopped = time.monotonic()
        down = wait_until(lambda: _got(hooks, "svc-running", "critical"), 60, what="the critical notification")
        took = time.monotonic() - stopped
        assert 2.0 <= took <= 30, took  # held for its 2 s `for:`, then sent (loaded machine: generous)
        assert down["instance"] == "svc" and down["value"] == 0 and down["reading"] == "process_group.count"
        assert down["context"]["matched"] == "process group svc: comm=~^wl-svc$"
        with running(spawn(HOLD, "wl-svc", mib=1)):
            up = wait_until(lambda: _got(hooks, "svc-running", "ok"), 60, what="the rule to clear")
            assert up["recovered"] and up["value"] == 1
        assert agent.stop() == 0
    logged = agent.stderr()
    assert "svc-running" in logged and "process group svc: comm=~^wl-svc$" in logged


