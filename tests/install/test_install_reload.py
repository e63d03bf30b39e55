"""SIGHUP reloads a running agent (a real process, real signals): live settings change, the HTTP port and the
spool stay, what needs a restart is named in one log line, and a bad file is refused while the old config runs."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

from otel_mon.reloadable import merge
from tests.conftest import AgentProcess, free_port, wait_until


def _rules(agent: AgentProcess) -> dict[str, object]:
    _status, body = agent.get("/health")
    doc = json.loads(body)
    return {row["rule"]: row for row in doc["health"]["rules"]}


def _metric_lines(spool: Path) -> int:
    return sum(len(f.read_bytes().splitlines()) for f in (spool / "metrics").glob("*.jsonl"))


def test_sighup_reloads_live_settings_and_keeps_port_and_spool(
    start_agent: Callable[..., AgentProcess], tmp_path: Path,
) -> None:
    spool = tmp_path / "spool"
    cfg = tmp_path / "config.yaml"
    cfg.write_text("interval: 1s\nhealth:\n  rules:\n    - {reading: cpu, warning: 75, critical: 90}\n",
                   encoding="utf-8")
    agent = start_agent("--config", str(cfg), "--data-dir", str(spool))
    pid = agent.proc.pid
    assert set(_rules(agent)) == {"cpu"}
    lines_before = wait_until(lambda: _metric_lines(spool), what="a spool line")

    # Live: rules and a probe. Fixed (kept, and said so): the interval, the HTTP server, the spool.
    probe_port = free_port()
    cfg.write_text("interval: 2s\nhttp: {max_connections: 10}\nspool: {max_files: 100}\n"
                   "health:\n  rules:\n    - {reading: memory, warning: 99, critical: 100}\n"
                   f"probes:\n  - {{name: closed, kind: tcp, host: 127.0.0.1, port: {probe_port}, interval: 1s, "
                   "timeout: 500ms}\n", encoding="utf-8")
    agent.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: set(_rules(agent)) >= {"memory"} and "cpu" not in _rules(agent), what="new rules live")
    wait_until(lambda: '"closed"' in agent.get("/health")[1].decode(), what="the new probe on /health")
    kept = wait_until(lambda: [ln for ln in agent.stderr().splitlines() if "keep their running values" in ln],
                      what="the kept-settings line")
    assert len(kept) == 1 and kept[0].endswith("interval, http.max_connections, spool.max_files"), kept
    assert agent.proc.poll() is None and agent.proc.pid == pid
    wait_until(lambda: _metric_lines(spool) > lines_before + 1, what="collection going on into the same spool")
    assert agent.get("/metrics")[0] == 200  # the same port, never closed

    # A bad file is refused with its one-line problem; the running config stays.
    cfg.write_text("interval: 1s\nhealth:\n  rules:\n    - {reading: memory, warning: fast}\n", encoding="utf-8")
    agent.proc.send_signal(signal.SIGHUP)
    refused = wait_until(lambda: [ln for ln in agent.stderr().splitlines() if "reload refused" in ln],
                         what="the refusal")
    assert "health.rules[0].warning: invalid value 'fast'" in refused[0]
    assert agent.proc.poll() is None and set(_rules(agent)) >= {"memory"}
    assert agent.get("/ready")[0] == 200
    assert agent.stop() == 0


def test_merge_names_each_fixed_key_and_keeps_its_value() -> None:
    from otel_mon import config
    from otel_mon.host.disk import DisksConfig

    running = config.load(env={})
    loaded = config.load(env={}, flags={"http.port": "9100", "interval": "5s", "collectors.connections": "true",
                                        "disks.exclude": "loop*", "health.default_for": "1m"})
    settings, kept = merge(running, loaded)
    assert sorted(kept) == ["collectors.connections", "http.port", "interval"]
    assert settings.http.port == running.http.port and settings.interval == running.interval
    assert settings.host.collectors == running.host.collectors
    assert settings.host.section(DisksConfig).exclude == ("loop*",) and settings.health.default_for == 60  # live
