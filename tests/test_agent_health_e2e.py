"""A real agent with a deliberately low threshold notifies stand-ins for Discord, Slack and a generic webhook."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT, AgentProcess, agent_env, wait_until
from tests.webhooks import Hooks

CONFIG = """
interval: 200ms
health:
  default_for: 0s
  rules:
    - {reading: memory, warning: 0.001, critical: 100000}
  notifiers:
    - {kind: discord, url_env: DISCORD_URL, cooldown: 1h}
    - {kind: slack, url_env: SLACK_URL, cooldown: 1h}
    - {kind: webhook, name: pager, url_env: HOOK_URL, token_env: HOOK_TOKEN, cooldown: 1h}
"""


def test_one_message_per_transition_and_health_metrics_agree(
        hooks: Hooks, start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(CONFIG)
    env = agent_env(PYTHONPATH=str(ROOT), DISCORD_URL=hooks.url + "/discord", SLACK_URL=hooks.url + "/slack",
                    HOOK_URL=hooks.url + "/hook", HOOK_TOKEN="hook-t0ken")
    agent = start_agent("--config", str(cfg), "--data-dir", str(tmp_path / "spool"), env=env)
    with hooks.cond:
        assert hooks.cond.wait_for(lambda: all(hooks.posts.get(p) for p in ("/discord", "/slack", "/hook")), 30)

    def health() -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(agent.get("/health")[1])
        return doc

    # Several more collections with the rule still in warning: no further message (one transition, one message).
    start = health()["agent_uptime_seconds"]
    wait_until(lambda: health()["agent_uptime_seconds"] > start + 1.5, 20, what="7 more collections")
    assert (hooks.count("/discord"), hooks.count("/slack"), hooks.count("/hook")) == (1, 1, 1)

    _, discord = hooks.posts["/discord"][0]
    assert discord["content"].startswith("WARNING: memory")
    assert discord["embeds"][0]["title"].startswith("WARNING: memory")
    assert discord["allowed_mentions"] == {"parse": []}
    _, slack = hooks.posts["/slack"][0]
    assert slack["text"].startswith("WARNING: memory") and slack["blocks"][0]["type"] == "header"
    headers, generic = hooks.posts["/hook"][0]
    assert headers["Authorization"] == "Bearer hook-t0ken"
    assert generic["version"] == 1 and generic["event"] == "health.transition"
    assert (generic["rule"], generic["old_state"], generic["new_state"]) == ("memory", "ok", "warning")
    assert generic["threshold"] == 0.001 and generic["value"] > 0.001

    doc = health()
    assert doc["status"] == "warning"
    (rule,) = [r for r in doc["health"]["rules"] if r["rule"] == "memory"]
    assert rule["state"] == "warning"
    text = agent.get("/metrics")[1].decode()
    states = {s.labels["otel_mon_rule"]: s.value for fam in text_string_to_metric_families(text)
              for s in fam.samples if s.name == "otel_mon_health_state"}
    assert states == {"memory": 1.0}
    sent = {s.labels["otel_mon_notifier"]: s.value for fam in text_string_to_metric_families(text)
            for s in fam.samples if s.name == "otel_mon_notify_sent_total"}
    assert sent == {"discord": 1.0, "slack": 1.0, "pager": 1.0}
    assert agent.stop() == 0
    secrets = ("hook-t0ken", "/discord", "/slack", "/hook")
    logged = agent.stderr() + "".join(p.read_text() for p in (tmp_path / "spool").rglob("*.jsonl"))
    assert not [s for s in secrets if s in logged]  # webhook URLs and tokens never logged nor spooled
    assert "health memory: ok -> warning" in logged
