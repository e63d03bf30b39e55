"""deploy/systemd: the unit passes `systemd-analyze verify` (no running systemd needed) and is hardened."""

from __future__ import annotations

import configparser
import os
import subprocess
from pathlib import Path

from tests.conftest import ROOT, need_binary

UNIT = ROOT / "deploy" / "systemd" / "otel-mon.service"
ENV_FILE = ROOT / "deploy" / "systemd" / "otel-mon.env"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = need_binary("systemd-analyze")
    # verify insists that ExecStart's binary exists: point it at a stand-in in a temporary directory.
    binary = tmp_path / "otel-mon"
    binary.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    binary.chmod(0o755)
    text = UNIT.read_text(encoding="utf-8")
    assert "ExecStart=/opt/otel-mon/bin/otel-mon run" in text
    unit = tmp_path / "otel-mon.service"
    unit.write_text(text.replace("/opt/otel-mon/bin/otel-mon", str(binary)), encoding="utf-8")
    env = {**os.environ, "SYSTEMD_LOG_LEVEL": "notice"}
    out = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    # Warnings (an unknown key, a typo in a value) still exit 0: hold the unit to no output at all.
    assert out.stderr.strip() == "" and out.stdout.strip() == "", out.stderr + out.stdout


def test_unit_is_hardened_as_documented() -> None:
    service = _unit()["Service"]
    assert service["DynamicUser"] == "yes"
    assert service["StateDirectory"] == "otel-mon"
    assert service["ConfigurationDirectory"] == "otel-mon"
    assert service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] in ("yes", "read-only", "tmpfs")
    assert service["NoNewPrivileges"] == "yes"
    assert service["CapabilityBoundingSet"] == ""  # the icmp probe uses unprivileged ping sockets
    assert service["Restart"] == "on-failure"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    # The spool goes to the state directory, never to ./data relative to whatever the cwd is.
    assert service["Environment"] == "OTEL_MON_SPOOL__DIR=%S/otel-mon"
    assert service["EnvironmentFile"] == "-/etc/default/otel-mon"
    assert service["RestartPreventExitStatus"] == "2"  # a config error: restarting cannot fix it


def test_env_file_only_names_known_settings() -> None:
    """Every variable the env file mentions (commented out) is one the agent accepts."""
    from otel_mon import config

    names = {}
    for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
        body = line.lstrip("#").strip()
        if "=" in body and body.split("=", 1)[0].isupper():
            key, _, value = body.partition("=")
            names[key] = value
    assert "OTEL_MON_HTTP__TOKEN" in names and "OTEL_EXPORTER_OTLP_ENDPOINT" in names
    ours = {k: v or "x" for k, v in names.items() if k.startswith(("OTEL_MON_", "OTEL_EXPORTER_"))}
    config.load(None, env=ours)  # raises ConfigError naming an unknown or bad variable
