"""The compose stack's Prometheus, as shipped, on the Prometheus 3 that `make stack-bin` builds (the version the
compose image pins): ``promtool check config`` (which refuses unknown keys) accepts compose/prometheus/prometheus.yml,
and a Prometheus 3 started on that very file with the compose command's flags (only the listen address and the
TSDB directory moved) is ready, logs no deprecation, loads every rule group, keeps 30 days, and takes the
agent's metrics on both receivers: remote write and OTLP, where the ``otlp:`` block makes ``host_name`` and
``service_name`` labels of every series (what the rules and dashboard select by)."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics

from otel_mon.forward import rw_wire
from otel_mon.forward.otlp_wire import encode_metrics as wire_metrics
from otel_mon.forward.rw_series import series_of_line
from tests.conftest import stack_binary, wait_until
from tests.stack.stackkit import COMPOSE, RULES_DIR, Prometheus
from tests.stack.test_stack_rw_units import RESOURCE, _collect

pytestmark = pytest.mark.integration

SHIPPED = COMPOSE / "prometheus" / "prometheus.yml"


def _compose_flags() -> tuple[str, ...]:
    """The compose prometheus service's flags, less the three a test must move (config, TSDB, listen address)."""
    compose = yaml.safe_load((COMPOSE / "docker-compose.yaml").read_text())
    command: list[str] = compose["services"]["prometheus"]["command"]
    image: str = compose["services"]["prometheus"]["image"]
    assert image.startswith("prom/prometheus:v3."), image
    moved = ("--config.file=", "--storage.tsdb.path=", "--web.listen-address=")
    return tuple(flag for flag in command if not flag.startswith(moved))


def test_compose_pins_the_prometheus_the_tests_run() -> None:
    out = subprocess.run([stack_binary("prometheus"), "--version"], capture_output=True, text=True, timeout=30)
    version = re.search(r"prometheus, version (\S+)", out.stdout + out.stderr)
    assert version, out.stdout + out.stderr
    compose = yaml.safe_load((COMPOSE / "docker-compose.yaml").read_text())
    assert compose["services"]["prometheus"]["image"] == f"prom/prometheus:v{version.group(1)}"
    assert compose["services"]["collector-init"]["image"] == compose["services"]["prometheus"]["image"]


def test_promtool_checks_the_shipped_config_and_its_rules() -> None:
    out = subprocess.run([stack_binary("promtool"), "check", "config", str(SHIPPED)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(list(RULES_DIR.glob('*.yml')))} rule files found" in out.stdout + out.stderr

def test_every_compose_flag_is_one_prometheus3_has_and_does_not_deprecate() -> None:
    """Judged by the binary's own --help: each flag exists and its help text is not marked [DEPRECATED]."""
    out = subprocess.run([stack_binary("prometheus"), "--help"], capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    entries = re.split(r"\n\s+(?=-)", text)
    described = {}
    for entry in entries:
        match = re.match(r"(?:-\w, )?--(?:\[no-\])?([\w.-]+)", entry.strip())
        if match:
            described[match.group(1)] = entry
    assert "storage.tsdb.retention.time" in described and "[DEPRECATED]" in described["storage.tsdb.retention.time"]
    compose = yaml.safe_load((COMPOSE / "docker-compose.yaml").read_text())["services"]["prometheus"]["command"]
    for flag in compose:
        name = flag[2:].split("=")[0]
        assert name in described, f"{flag}: Prometheus 3 has no such flag"
        assert "[DEPRECATED]" not in described[name], f"{flag} is deprecated in Prometheus 3"
    assert {"--web.enable-otlp-receiver", "--web.enable-remote-write-receiver"} <= set(compose)


def test_the_shipped_config_runs_on_prometheus3_and_takes_both_receivers(tmp_path: Path) -> None:
    prom = Prometheus(tmp_path / "p3", {}, flags=_compose_flags(), config_file=SHIPPED)
    prom.start()
    try:
        log = prom.log_text()
        assert "Completed loading of configuration file" in log, log[-3000:]
        assert not re.search(r"level=(WARN|ERROR)\b.*deprecat", log, re.I), log[-3000:]
        flags = prom.api("/api/v1/status/flags")
        assert flags["web.enable-otlp-receiver"] == "true" and flags["web.enable-remote-write-receiver"] == "true"
        assert prom.api("/api/v1/status/runtimeinfo")["storageRetention"].startswith("30d")
        groups = {g["name"] for g in prom.api("/api/v1/rules")["groups"]}
        shipped = {g["name"] for p in RULES_DIR.glob("*.yml") for g in yaml.safe_load(p.read_text())["groups"]}
        assert groups == shipped

        line: dict[str, Any] = json.loads(json.dumps(encode_metrics(_collect()).to_dict()))
        assert prom.otlp(wire_metrics(line)[0]) == 200
        host = str(RESOURCE.attributes["host.name"])
        otlp = wait_until(lambda: prom.query('system_memory_usage_bytes{job="otel-mon"}'), 30, interval=0.2,
                          what="the OTLP batch in Prometheus")
        labels = otlp[0]["metric"]
        assert labels["host_name"] == host and labels["service_name"] == "otel-mon", labels
        assert labels["instance"] == RESOURCE.attributes["service.instance.id"]  # Prometheus's own choice on OTLP

        # remote write into the same Prometheus: the same series name and the same host_name selector
        series = [(tuple(sorted({**dict(labels), "job": "otel-mon-rw"}.items())), value, ts)
                  for labels, value, ts in series_of_line(line)]
        request = urllib.request.Request(prom.write_url, data=rw_wire.compress(rw_wire.encode(series)),
                                         headers=rw_wire.HEADERS, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status in (200, 204)
        rw = wait_until(lambda: prom.query(f'system_memory_usage_bytes{{job="otel-mon-rw",host_name="{host}"}}'),
                        30, interval=0.2, what="the remote-written series")
        assert float(rw[0]["value"][1]) == float(otlp[0]["value"][1])
    finally:
        prom.stop()
