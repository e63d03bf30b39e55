"""The shipped alert rules and Prometheus config, held by Debian's promtool: every file checks, every alert
carries severity/summary/description/runbook, and a promtool unit test fires *and clears* every alert from
synthetic series (``promtool test rules``; the case table below is the test file, generated so each alert's
expected labels are written once)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import stack_binary
from tests.stack.stackkit import COMPOSE, RULES_DIR

pytestmark = pytest.mark.integration

BASE = {"job": "otel-mon", "instance": "i1", "host_name": "h1"}
FS = {"system_device": "sda1", "system_filesystem_mountpoint": "/", "system_filesystem_type": "ext4",
      "system_filesystem_mode": "rw"}
NET = {"network_interface_name": "eth0", "network_io_direction": "receive"}
PROBE = {"otel_mon_probe_name": "web", "otel_mon_probe_kind": "http", "server_address": "example.test",
         "server_port": "443"}


def sel(name: str, **labels: str) -> str:
    body = ",".join(f'{k}="{v}"' for k, v in {**BASE, **labels}.items())
    return f"{name}{{{body}}}"


# alert -> (input series, eval time when firing, eval time when cleared, expected labels besides severity)
CASES: dict[str, tuple[list[tuple[str, str]], str, str, dict[str, str]]] = {
    "HostHighCpu": ([(sel("system_cpu_time_seconds_total", cpu_mode="idle"), "0+3x30 90+60x30"),
                     (sel("system_cpu_time_seconds_total", cpu_mode="user"), "0+57x30 1710+0x30")],
                    "25m", "55m", BASE),
    "HostMemoryLow": ([(sel("system_memory_linux_available_bytes"), "8x20 50x20"),
                       (sel("system_memory_limit_bytes"), "100x40")], "10m", "30m", BASE),
    "HostMemoryCritical": ([(sel("system_memory_linux_available_bytes"), "3x20 50x20"),
                            (sel("system_memory_limit_bytes"), "100x40")], "10m", "30m", BASE),
    "HostOomKill": ([(sel("otel_mon_host_oom_kills_total"), "0x10 1x30")], "15m", "35m", BASE),
    "HostFilesystemAlmostFull": (
        [(sel("system_filesystem_usage_bytes", system_filesystem_state="used", **FS), "95x20 50x20"),
         (sel("system_filesystem_usage_bytes", system_filesystem_state="free", **FS), "5x20 50x20"),
         (sel("system_filesystem_usage_bytes", system_filesystem_state="reserved", **FS), "10x40")],
        "10m", "30m", {**BASE, **FS}),
    "HostFilesystemFillingUp": (
        [(sel("system_filesystem_usage_bytes", system_filesystem_state="free", **FS), "20000-20x180 16400+0x600")],
        "2h", "10h", {**BASE, **FS, "system_filesystem_state": "free"}),
    "HostInodesAlmostExhausted": (
        [(sel("system_filesystem_inodes_usage", system_filesystem_state="free", **FS), "3x20 50x20"),
         (sel("system_filesystem_inodes_usage", system_filesystem_state="used", **FS), "97x20 50x20")],
        "10m", "30m", {**BASE, **FS}),
    "HostDiskSaturated": ([(sel("system_disk_io_time_seconds_total", system_device="sda"), "0+60x30 1800+0x30")],
                          "25m", "50m", {**BASE, "system_device": "sda"}),
    "HostNetworkErrors": ([(sel("system_network_errors_total", **NET), "0+120x30 3600+0x30")], "25m", "50m",
                          {**BASE, **NET}),
    "HostNetworkDrops": ([(sel("system_network_packet_dropped_total", **NET), "0+1200x30 36000+0x30")],
                         "25m", "50m", {**BASE, **NET}),
    "HostRebooted": ([(sel("system_uptime_seconds"), "1000+60x10 0+60x30")], "15m", "40m", BASE),
    "HostClockNotSynchronized": ([(sel("otel_mon_host_clock_synchronized"), "0x20 1x20")], "15m", "30m", BASE),
    "HostClockSkew": ([(sel("otel_mon_host_clock_offset_seconds"), "0.8x20 0.01x20")], "15m", "30m", BASE),
    "OtelMonScrapeDown": ([('up{job="otel-mon",instance="h1:9464"}', "0x10 1x10")], "5m", "15m",
                          {"job": "otel-mon", "instance": "h1:9464"}),
    "OtelMonStoppedReporting": ([(sel("system_uptime_seconds"), "1+60x10 _x10 1500+60x20")], "15m", "25m", BASE),
    "OtelMonCollectorFailing": ([(sel("otel_mon_collector_success", otel_mon_collector="disk"), "0x30 1x20")],
                                "15m", "40m", {**BASE, "otel_mon_collector": "disk"}),
    "OtelMonSpoolDropping": (
        [(sel("otel_mon_spool_dropped_total", otel_mon_signal="metrics", otel_mon_reason="retention"), "0x10 3x30")],
        "15m", "35m", {**BASE, "otel_mon_signal": "metrics", "otel_mon_reason": "retention"}),
    "OtelMonForwardBacklogGrowing": (
        [(sel("otel_mon_forward_backlog_records", otel_mon_signal="metrics"), "0+5x40 200-5x39")],
        "25m", "60m", {**BASE, "otel_mon_signal": "metrics"}),
    "OtelMonForwardLagging": ([(sel("otel_mon_forward_lag_seconds", otel_mon_signal="metrics"), "1000x20 0x20")],
                              "10m", "30m", {**BASE, "otel_mon_signal": "metrics"}),
    "OtelMonForwardRejected": (
        [(sel("otel_mon_forward_failed_total", otel_mon_signal="metrics", otel_mon_reason="rejected",
              otel_mon_destination="remote_write"), "0x10 2x30")],
        "15m", "35m", {**BASE, "otel_mon_signal": "metrics", "otel_mon_reason": "rejected",
                       "otel_mon_destination": "remote_write"}),
    "OtelMonAgentRestarted": ([(sel("process_uptime_seconds"), "100+60x10 5+60x30")], "15m", "40m", BASE),
    "ProbeFailing": ([(sel("otel_mon_probe_success", **PROBE), "0x10 1x10")], "5m", "15m", {**BASE, **PROBE}),
    "ProbeSlow": (
        [(sel("otel_mon_probe_duration_seconds_bucket", le="0.1", **PROBE), "0x30 60+60x29"),
         (sel("otel_mon_probe_duration_seconds_bucket", le="1", **PROBE), "0+60x30 1860+60x29"),
         (sel("otel_mon_probe_duration_seconds_bucket", le="+Inf", **PROBE), "0+60x30 1860+60x29")],
        "25m", "55m", {**BASE, **{k: v for k, v in PROBE.items() if k != "server_port"}}),
}


def shipped_rules() -> dict[str, dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert rule["alert"] not in rules, f"duplicate alert {rule['alert']}"
                    rules[rule["alert"]] = rule
    return rules


def test_promtool_checks_rules_and_config() -> None:
    promtool = stack_binary("promtool")
    files = sorted(str(p) for p in RULES_DIR.glob("*.yml"))
    assert files
    out = subprocess.run([promtool, "check", "rules", *files], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run([promtool, "check", "config", str(COMPOSE / "prometheus" / "prometheus.yml")],
                         capture_output=True, text=True, timeout=60, cwd=COMPOSE / "prometheus")
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    for name, rule in shipped_rules().items():
        assert rule["labels"]["severity"] in ("info", "warning", "critical"), name
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), name


def test_every_alert_fires_and_clears_in_promtool_unit_tests(tmp_path: Path) -> None:
    promtool = stack_binary("promtool")
    rules = shipped_rules()
    assert set(CASES) == set(rules), f"untested: {set(rules) - set(CASES)}; unknown: {set(CASES) - set(rules)}"
    # The unit test checks expressions, `for:` and labels; annotations are rendered by the real Prometheus in
    # test_stack_alerting, so this copy leaves them out (promtool would otherwise compare every rendered text).
    stripped = {"groups": [{"name": "all", "rules": [
        {k: v for k, v in rule.items() if k != "annotations"} for rule in rules.values()]}]}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(stripped, sort_keys=False))
    tests = []
    for name, (series, fire, clear, labels) in CASES.items():
        tests.append({
            "interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in series],
            "alert_rule_test": [
                {"eval_time": fire, "alertname": name,
                 "exp_alerts": [{"exp_labels": {**labels, "severity": rules[name]["labels"]["severity"]}}]},
                {"eval_time": clear, "alertname": name, "exp_alerts": []},
            ],
        })
    (tmp_path / "rules.test.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "tests": tests},
                                                            sort_keys=False))
    out = subprocess.run([promtool, "test", "rules", "rules.test.yml"], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
