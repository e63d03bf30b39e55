"""Structural checks of the compose stack (no Docker here): every image pinned, every mounted file present,
every variable documented in .env.example. The Collector configs themselves are judged by the real binary
(tests/stack/test_stack_collector_real.py), no longer by a key list."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, agent_env
from tests.stack.stackkit import COMPOSE

COLLECTOR_DIR = ROOT / "collector-config"


def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((COMPOSE / "docker-compose.yaml").read_text())
    return doc


def test_every_image_is_pinned_to_a_version() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        image = service.get("image", "")
        if "build" in service:
            continue
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", image), f"{name}: {image!r} is not pinned to a version"
    collector = services["collector"]["image"]
    release = yaml.safe_load((COLLECTOR_DIR / "builder-config.yaml").read_text())["dist"]["version"]
    assert collector.endswith(f":{release}"), "compose runs the contrib image of our distribution's release"


def test_every_mounted_file_exists_and_every_service_has_limits_and_healthchecks() -> None:
    compose = _compose()
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE / source).resolve().exists(), f"{name}: {source} missing"
        assert service.get("mem_limit"), f"{name}: no memory limit"
        if name != "agent":  # the agent image's HEALTHCHECK is in the Dockerfile
            assert service.get("healthcheck"), f"{name}: no healthcheck"
        if service["healthcheck"].get("disable") if name != "agent" else False:
            # collector-init runs once; Loki's distroless image has nothing that could probe it
            assert name in ("collector-init", "loki"), f"{name}: healthcheck disabled"
    assert compose["services"]["collector"]["user"].split(":")[0] not in ("0", "root")
    prometheus = compose["services"]["prometheus"]["command"]
    assert "--web.enable-remote-write-receiver" in prometheus and "--web.enable-otlp-receiver" in prometheus
    config = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())
    assert config["storage"]["tsdb"]["out_of_order_time_window"]
    assert config["rule_files"] == ["rules/*.yml"] and list((COMPOSE / "prometheus" / "rules").glob("*.yml"))


def test_every_variable_is_documented_and_no_secret_is_committed() -> None:
    text = (COMPOSE / "docker-compose.yaml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))
    secrets = _compose()["secrets"]
    used |= {s["environment"] for s in secrets.values()}  # secrets made from .env variables
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (COMPOSE / ".env.example").read_text(), re.M))
    assert used <= documented, f"undocumented: {used - documented}"
    assert documented <= used, f"documented but unused: {documented - used}"
    for line in (COMPOSE / ".env.example").read_text().splitlines():
        if re.match(r"^[A-Z0-9_]+=", line):
            assert line.endswith("="), f"a value is committed: {line.split('=')[0]}"
    am = (COMPOSE / "alertmanager" / "alertmanager.yml").read_text()
    assert "discord.com/api/webhooks" not in am and "hooks.slack.com" not in am


def test_secrets_reach_their_services_as_files_and_nothing_is_rendered_at_start() -> None:
    """Alertmanager loads the shipped file as is: each receiver names a secret file compose grants the
    service; Grafana's admin password is a __FILE setting; no service runs a shell to template a config."""
    compose = _compose()
    services, secrets = compose["services"], compose["secrets"]
    am = yaml.safe_load((COMPOSE / "alertmanager" / "alertmanager.yml").read_text())
    assert "${" not in (COMPOSE / "alertmanager" / "alertmanager.yml").read_text()
    files = [c[key] for r in am["receivers"] for kind, configs in r.items() if kind.endswith("_configs")
             for c in configs for key in c if key.endswith("_file")]
    inline = [key for r in am["receivers"] for kind, configs in r.items() if kind.endswith("_configs")
              for c in configs for key in ("url", "webhook_url") if key in c]
    assert files and not inline, (files, inline)
    granted = services["alertmanager"]["secrets"]
    assert sorted(f"/run/secrets/{name}" for name in granted) == sorted(files)
    assert set(granted) <= set(secrets)
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/" + \
        services["grafana"]["secrets"][0]
    secret_variables = {s["environment"] for s in secrets.values()}
    for name, service in services.items():
        assert "entrypoint" not in service or name == "collector-init", f"{name} overrides its entrypoint"
        values = " ".join(str(v) for v in (service.get("environment") or {}).values())
        assert not {v for v in secret_variables if "${" + v in values}, f"{name}: a secret in its environment"


def test_every_variable_the_collector_config_reads_is_set_by_compose() -> None:
    # with or without a default (${env:NAME:-default}): compose's network names differ from any default
    used = set(re.findall(r"\$\{env:([A-Z0-9_]+)(?::-[^}]*)?\}", (COLLECTOR_DIR / "otelcol.yaml").read_text()))
    assert {"PROMETHEUS_REMOTE_WRITE_URL", "LOKI_OTLP_URL"} <= used
    assert used <= set(_compose()["services"]["collector"]["environment"]), used


def test_collector_values_the_pinned_release_documents() -> None:
    """Values, not only keys: routing keys each signal supports, the DNS resolver's port as the string
    its schema declares, a batch sizer the queue accepts, and every directory the Collector writes (queue, replay
    offsets, remote-write WAL) on the collector-state volume that collector-init hands to the non-root user."""
    compose = _compose()["services"]
    state = next(v.split(":")[1] for v in compose["collector"]["volumes"] if v.startswith("collector-state:"))
    init = compose["collector-init"]
    assert compose["collector"]["depends_on"]["collector-init"]["condition"] == "service_completed_successfully"
    assert "chown -R 10001:10001 " + state in init["command"][0]
    for file in ("otelcol.yaml", "gateway.yaml"):
        config = yaml.safe_load((COLLECTOR_DIR / file).read_text())
        directories = []
        for name, ext in config["extensions"].items():
            if name.startswith("file_storage"):
                directories.append(ext["directory"])
        for name, exp in config["exporters"].items():
            if name.startswith("prometheus_remote_write"):
                directories.append(exp["wal"]["directory"])
            if name.startswith("load_balancing"):
                pipelines = [p for p, v in config["service"]["pipelines"].items() if name in v["exporters"]]
                allowed = {"metrics": {"service", "resource", "metric", "streamID"},
                           "logs": {"service", "traceID", "resource"}}
                for pipeline in pipelines:
                    assert exp["routing_key"] in allowed[pipeline.split("/")[0]], (file, name)
                assert isinstance(exp["resolver"]["dns"]["port"], str)
                assert exp["sending_queue"]["storage"] in config["extensions"]
                assert exp["protocol"]["otlp"]["sending_queue"]["enabled"] is False
            batch = (exp.get("sending_queue") or {}).get("batch")
            if batch:
                assert batch.get("sizer", "items") in ("items", "bytes")
                assert batch["min_size"] <= batch["max_size"]
        for directory in directories:
            assert directory.startswith(state + "/"), (file, directory)
            if file == "otelcol.yaml":
                assert directory in init["command"][0], f"collector-init does not create {directory}"


def test_sizing_note_exists() -> None:
    assert "points per host" in (ROOT / "docs" / "sizing.md").read_text()




def test_compose_agent_notifiers_are_off_until_their_variable_is_set() -> None:
    """The compose agent mounts agent/health.yaml: with every AGENT_* variable empty it starts with no notifier
    (not a config error); a variable that is set turns exactly its notifier on; both pass check-config."""
    from otel_mon import config

    path = COMPOSE / "agent" / "health.yaml"
    mounted = [v for v in _compose()["services"]["agent"]["volumes"] if v.startswith("./agent/health.yaml:")]
    target = mounted[0].split(":")[1]
    assert target in _compose()["services"]["agent"]["command"]
    variables = {"AGENT_DISCORD_WEBHOOK_URL": "discord", "AGENT_SLACK_WEBHOOK_URL": "slack",
                 "AGENT_WEBHOOK_URL": "webhook"}
    unset = config.resolve(config.load(path, env={}), {name: "" for name in variables})
    assert dict(unset.credentials) == {}
    for name, kind in variables.items():
        env = {name: "https://hooks.example.test/otel-mon"}
        on = config.resolve(config.load(path, env={}), env)
        assert list(on.credentials) == [kind]
    for env in ({}, {"AGENT_WEBHOOK_URL": "https://hooks.example.test/otel-mon"}):
        out = subprocess.run([sys.executable, "-m", "otel_mon", "check-config", str(path)], capture_output=True,
                             text=True, timeout=60, env=agent_env(PYTHONPATH=str(ROOT), **env))
        assert out.returncode == 0, out.stderr


def test_an_optional_notifier_needs_url_env() -> None:
    from otel_mon import config
    from otel_mon.config import ConfigError

    with pytest.raises(ConfigError) as err:
        config.load(None, env={}, flags={"health.notifiers": [{"kind": "discord", "url_file": "/x",
                                                                   "optional": True}]})
    assert any("optional" in line for line in err.value.problems), err.value.problems
