"""The running agent writes its metrics and logs to the spool, and the spool agrees with /metrics."""

from __future__ import annotations

import json
import signal
import urllib.request
from collections.abc import Callable
from pathlib import Path

from google.protobuf import json_format
from opentelemetry.proto.logs.v1.logs_pb2 import LogsData
from opentelemetry.proto.metrics.v1.metrics_pb2 import MetricsData
from prometheus_client.parser import text_string_to_metric_families

from otel_mon import config
from otel_mon.agent import Agent
from tests.conftest import AgentProcess, wait_until


def spool_lines(root: Path, signal_name: str) -> list[str]:
    lines: list[str] = []
    for f in sorted((root / signal_name).glob("*.jsonl")):
        lines.extend(f.read_text().splitlines())
    return lines


def point_value(data: MetricsData, name: str, **attrs: str) -> float:
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name != name:
                    continue
                points = m.sum.data_points if m.HasField("sum") else m.gauge.data_points
                for p in points:
                    got = {kv.key: kv.value.string_value for kv in p.attributes}
                    if all(got.get(k.replace("__", ".")) == v for k, v in attrs.items()):
                        return p.as_double if p.HasField("as_double") else float(p.as_int)
    raise KeyError(name)


def test_spool_line_matches_metrics_endpoint_and_logs_are_bridged(tmp_path: Path) -> None:
    settings = config.load(env={"OTEL_MON_HTTP__TOKEN": "tok-s3cret"}, flags={
        "http.port": "0", "interval": "1h", "spool.dir": str(tmp_path)})
    agent = Agent(settings)
    agent.start()
    try:
        req = urllib.request.Request(f"http://127.0.0.1:{agent.http.port}/metrics",
                                     headers={"Authorization": "Bearer tok-s3cret"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            text = resp.read().decode()
    finally:
        agent.stop()
    resource_labels = {"host_name", "service_name"}
    prom = {(s.name, tuple(sorted((k, v) for k, v in s.labels.items()
                                  if not k.startswith("otel_scope_") and k not in resource_labels))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}
    memory = next(s for fam in text_string_to_metric_families(text) for s in fam.samples
                  if s.name == "system_memory_limit_bytes")
    assert memory.labels["service_name"] == "otel-mon" and memory.labels["host_name"]
    lines = spool_lines(tmp_path, "metrics")
    assert len(lines) >= 1
    first = json_format.Parse(lines[0], MetricsData())  # the start-up collection, the one /metrics served
    assert point_value(first, "system.memory.limit") == prom[("system_memory_limit_bytes", ())]
    user = point_value(first, "system.cpu.time", cpu__mode="user")
    # /metrics prints 15 significant digits (exposition.sample_value: 309.91, not 309.90999999999997)
    assert float(f"{user:.15g}") == prom[("system_cpu_time_seconds_total", (("cpu_mode", "user"),))]
    used = point_value(first, "system.filesystem.usage", system__filesystem__mountpoint="/",
                       system__filesystem__state="used")
    assert used == next(v for (n, labels), v in prom.items() if n == "system_filesystem_usage_bytes"
                        and ("system_filesystem_state", "used") in labels
                        and ("system_filesystem_mountpoint", "/") in labels)
    resource = {kv.key: kv.value.string_value for kv in first.resource_metrics[0].resource.attributes}
    assert resource["service.name"] == "otel-mon" and resource["host.name"]

    logs = [json_format.Parse(line, LogsData()) for line in spool_lines(tmp_path, "logs")]
    records = [r for d in logs for rl in d.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    bodies = [r.body.string_value for r in records]
    assert "starting otel-mon" in bodies and "otel-mon stopped" in bodies
    start = records[bodies.index("starting otel-mon")]
    assert start.severity_text == "INFO"
    attrs = {kv.key: kv.value for kv in start.attributes}
    assert attrs["version"].string_value
    everything = "".join(p.read_text() for p in tmp_path.rglob("*.jsonl"))
    assert "tok-s3cret" not in everything  # the token is redacted in the logged configuration


def test_kill_9_then_restart_leaves_only_whole_lines(start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    data = tmp_path / "spool"
    agent = start_agent("--interval", "100ms", "--data-dir", str(data))
    wait_until(lambda: len(spool_lines(data, "metrics")) >= 15, 30, what="15 metric lines")
    agent.proc.send_signal(signal.SIGKILL)
    agent.proc.wait(10)
    assert agent.proc.returncode == -signal.SIGKILL
    before = len(spool_lines(data, "metrics"))
    again = start_agent("--interval", "100ms", "--data-dir", str(data))  # the lock of the dead one is free
    wait_until(lambda: len(spool_lines(data, "metrics")) >= before + 5, 30, what="5 more lines after restart")
    assert again.stop() == 0
    for sig in ("metrics", "logs"):
        for f in (data / sig).glob("*.jsonl"):
            raw = f.read_bytes()
            assert raw.endswith(b"\n") or raw == b"", f
            for line in raw.splitlines():
                json.loads(line)  # every line whole


def test_second_agent_on_the_same_spool_refuses_to_start(start_agent: Callable[..., AgentProcess],
                                                         tmp_path: Path) -> None:
    data = tmp_path / "spool"
    start_agent("--interval", "1s", "--data-dir", str(data))
    second = start_agent("--interval", "1s", "--data-dir", str(data), ready=False)
    assert second.proc.wait(30) == 1
    assert "cannot start" in second.stderr() and "in use by another otel-mon process" in second.stderr()
