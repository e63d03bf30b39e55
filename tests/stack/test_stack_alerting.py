"""Alerting end to end with the real tools (Prometheus 3.16 and Alertmanager 0.35 from `make stack-bin`): the
shipped Alertmanager config passes ``amtool check-config`` as is; a real agent with a failing probe remote-writes
to a real Prometheus evaluating the shipped rules (``for:`` shortened for the test), which sends to a real
Alertmanager running the shipped config, whose receivers read their URLs from secret files (only the files'
directory is moved from /run/secrets/ to the test's) pointing at local HTTP stand-ins of Discord and a webhook:
each gets exactly ONE ProbeFailing notification, and still one after three more group intervals."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, AgentProcess, agent_env, free_port, stack_binary, wait_until
from tests.stack.stackkit import ALERTMANAGER_CONFIG, RULES_DIR, Alertmanager, Prometheus

pytestmark = pytest.mark.integration


SECRETS = "/run/secrets/"  # where compose puts the receivers' URL files (docker-compose.yaml `secrets:`)
GROUP_INTERVAL = 2.0  # seconds, in the test's copy


def shipped_alertmanager(secret_dir: Path, urls: dict[str, str], fast: bool = False) -> str:
    """The shipped file with its secret files' directory moved to ``secret_dir``, where each named file is written
    with its URL; ``fast`` shortens the waits. Nothing else changes: no ${...} rendering (the file has none)."""
    text = ALERTMANAGER_CONFIG.read_text()
    assert "${" not in text, "alertmanager.yml is loaded as is: no template variables"
    doc = yaml.safe_load(text)
    secret_dir.mkdir(parents=True, exist_ok=True)
    seen = set()
    for receiver in doc["receivers"]:
        for kind, configs in receiver.items():
            for config in configs if kind.endswith("_configs") else []:
                for key in [k for k in config if k.endswith("_file")]:
                    assert config[key].startswith(SECRETS), (receiver["name"], key, config[key])
                    name = config[key][len(SECRETS):]
                    seen.add(name)
                    config[key] = str(secret_dir / name)
    assert seen == set(urls), f"secret files in alertmanager.yml: {seen}"
    for name, url in urls.items():
        (secret_dir / name).write_text(url + "\n")  # compose secrets end as files; Alertmanager trims the newline
        (secret_dir / name).chmod(0o600)
    if fast:
        doc["route"].update(group_wait="1s", group_interval=f"{GROUP_INTERVAL:g}s", repeat_interval="1h")
    return yaml.safe_dump(doc, sort_keys=False)


def test_amtool_accepts_the_shipped_config_as_is() -> None:
    out = subprocess.run([stack_binary("amtool"), "check-config", str(ALERTMANAGER_CONFIG)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 receivers" in out.stdout and "2 inhibit rules" in out.stdout


class _Receiver:
    """Collects JSON POSTs on a local port (a Discord or webhook stand-in)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.bodies.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[tuple[_Receiver, _Receiver]]:
    discord, webhook = _Receiver(), _Receiver()
    yield discord, webhook
    discord.close()
    webhook.close()


def _fast_rules(target: Path) -> None:
    """The shipped rules with every ``for:`` at 1s, so the test does not wait minutes."""
    for path in RULES_DIR.glob("*.yml"):
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            group["interval"] = "1s"
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "1s"
        (target / path.name).write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_failing_probe_reaches_discord_and_the_webhook(start_agent: Callable[..., AgentProcess], tmp_path: Path,
                                                         receivers: tuple[_Receiver, _Receiver]) -> None:
    discord, webhook = receivers
    am_config = tmp_path / "alertmanager.yml"
    am_config.write_text(shipped_alertmanager(tmp_path / "secrets", {"discord_webhook_url": discord.url,
                                                                      "alert_webhook_url": webhook.url}, fast=True))
    am = Alertmanager(tmp_path / "am", am_config)
    rules = tmp_path / "rules"
    rules.mkdir()
    _fast_rules(rules)
    prom = Prometheus(tmp_path / "prom", {
        "global": {"scrape_interval": "15s", "evaluation_interval": "1s"},
        "rule_files": [str(rules / "*.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am.port}"]}]}]},
    })
    closed = free_port()  # nothing listens there: the probe fails
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({"probes": [
        {"name": "closed-port", "kind": "tcp", "host": "127.0.0.1", "port": closed, "interval": "1s",
         "timeout": "500ms"}]}))
    try:
        prom.start()
        env = agent_env(PYTHONPATH=str(ROOT), OTEL_MON_REMOTE_WRITE__URL=prom.write_url)
        start_agent("--interval", "1s", "--config", str(config), "--data-dir", str(tmp_path / "data"), env=env)

        def probe_alerts(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [a for b in bodies for a in b.get("alerts", []) if a["labels"].get("alertname") == "ProbeFailing"]

        wait_until(lambda: probe_alerts(webhook.bodies), 90, interval=0.2, what="ProbeFailing at the webhook")
        wait_until(lambda: any("ProbeFailing" in json.dumps(b) for b in discord.bodies), 30, interval=0.2,
                   what="ProbeFailing at the Discord stand-in")

        # Hold three group intervals (Prometheus re-sends the firing alert meanwhile): still one notification
        # each, for the one failing probe, not one per evaluation or per flush.
        held_until = time.monotonic() + 3 * GROUP_INTERVAL + 1
        while time.monotonic() < held_until:
            assert len(probe_alerts(webhook.bodies)) == 1, webhook.bodies
            time.sleep(0.2)  # observing that nothing more arrives, not waiting for something
        alerts = probe_alerts(webhook.bodies)
        assert len(alerts) == 1, alerts
        alert = alerts[0]
        assert alert["status"] == "firing"
        labels = alert["labels"]
        assert labels["severity"] == "critical"
        assert labels["job"] == "otel-mon" and labels["otel_mon_probe_name"] == "closed-port"
        assert labels["server_address"] == "127.0.0.1" and labels["server_port"] == str(closed)
        host = labels["host_name"]
        assert alert["annotations"]["summary"] == f"Probe closed-port fails from {host}"
        assert "tcp probe of 127.0.0.1:" in alert["annotations"]["description"]
        assert alert["annotations"]["runbook"]
        group = next(b for b in webhook.bodies if probe_alerts([b]))
        assert group["receiver"] == "webhook" and group["groupLabels"]["alertname"] == "ProbeFailing"

        discord_body = next(b for b in discord.bodies if "ProbeFailing" in json.dumps(b))
        embed = discord_body["embeds"][0]  # Discord's webhook shape: an embed with title and description
        assert "ProbeFailing" in embed["title"] and "FIRING" in embed["title"]
        assert sum("ProbeFailing" in json.dumps(b) for b in discord.bodies) == 1
    finally:
        prom.stop()
        am.stop()
