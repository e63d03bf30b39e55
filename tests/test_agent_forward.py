"""A real agent pushes over OTLP to a wire-level receiver, and nothing is lost across an outage and a kill -9."""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, AgentProcess, agent_env, wait_until
from tests.otlp_receiver import OtlpReceiver

SECRET = "Bearer header-s3cret"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    rx = OtlpReceiver(required_headers={"authorization": SECRET}).start()
    yield rx
    rx.stop()


def otlp_env(rx: OtlpReceiver, protocol: str) -> dict[str, str]:
    return agent_env(
        PYTHONPATH=str(ROOT),
        OTEL_EXPORTER_OTLP_ENDPOINT=rx.endpoint(protocol),
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        OTEL_EXPORTER_OTLP_HEADERS=f"authorization={SECRET.replace(' ', '%20')}",
        OTEL_EXPORTER_OTLP_COMPRESSION="gzip",
    )


def line_ids_from_spool(data: Path) -> list[int]:
    """Each metrics line's identity: its first data point's timestamp. A tail without its newline (a write cut by
    SIGKILL) is not a line: the agent truncates it at start-up."""
    ids = []
    for f in sorted((data / "metrics").glob("*.jsonl")):
        for line in f.read_text().split("\n")[:-1]:
            doc = json.loads(line)
            for rm in doc["resourceMetrics"]:
                metric = rm["scopeMetrics"][0]["metrics"][0]
                points = next(v["dataPoints"] for k, v in metric.items() if isinstance(v, dict) and "dataPoints" in v)
                ids.append(int(points[0]["timeUnixNano"]))
    return ids


def received_ids(rx: OtlpReceiver) -> list[int]:
    ids = []
    for req in rx.requests("metrics"):
        for rm in req.request.resource_metrics:
            metric = rm.scope_metrics[0].metrics[0]
            kind = metric.WhichOneof("data")
            ids.append(int(getattr(metric, kind).data_points[0].time_unix_nano))
    return ids


def metric_names(rx: OtlpReceiver) -> set[str]:
    return {m.name for req in rx.requests("metrics") for rm in req.request.resource_metrics
            for sm in rm.scope_metrics for m in sm.metrics}


def log_bodies(rx: OtlpReceiver) -> list[str]:
    return [r.body.string_value for req in rx.requests("logs") for rl in req.request.resource_logs
            for sl in rl.scope_logs for r in sl.log_records]


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_agent_pushes_metrics_and_logs(protocol: str, receiver: OtlpReceiver,
                                       start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    data = tmp_path / "spool"
    agent = start_agent("--interval", "200ms", "--data-dir", str(data), env=otlp_env(receiver, protocol))
    assert receiver.wait_for(lambda r: {"system.cpu.time", "system.memory.usage"} <= metric_names(r), 30)
    assert receiver.wait_for(lambda r: "starting otel-mon" in log_bodies(r), 30)
    req = receiver.requests("metrics")[0]
    assert req.protocol == ("grpc" if protocol == "grpc" else "http")
    if protocol != "grpc":  # gRPC decompresses before the servicer sees the message; HTTP shows the body
        assert req.gzip
    resource = {kv.key: kv.value.string_value for kv in req.request.resource_metrics[0].resource.attributes}
    assert resource["service.name"] == "otel-mon"

    def health() -> dict[str, Any]:
        _status, body = agent.get("/health")
        doc: dict[str, Any] = json.loads(body)
        return doc

    forward = wait_until(lambda: (h := health())["forward"]["signals"]["metrics"]["sent"] > 0 and h, 20)
    assert forward["forward"]["degraded"] is False
    assert "s3cret" not in json.dumps(forward)
    assert agent.stop() == 0
    assert "s3cret" not in agent.stderr()
    assert all("s3cret" not in p.read_text() for p in data.rglob("*.jsonl"))


def test_agent_killed_during_outage_delivers_backlog_after_restart(
        receiver: OtlpReceiver, start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    data = tmp_path / "spool"
    env = otlp_env(receiver, "grpc")
    agent = start_agent("--interval", "100ms", "--data-dir", str(data), env=env)
    assert receiver.wait_for(lambda r: len(received_ids(r)) >= 3, 30)
    receiver.down()
    seen_before_outage = set(received_ids(receiver))
    delivered = len(seen_before_outage)
    wait_until(lambda: len(line_ids_from_spool(data)) >= delivered + 20, 30, what="a backlog of 20 lines")
    agent.proc.send_signal(signal.SIGKILL)
    agent.proc.wait(10)
    written_before_kill = line_ids_from_spool(data)

    again = start_agent("--interval", "1s", "--data-dir", str(data), env=env)
    receiver.up()
    assert receiver.wait_for(lambda r: set(written_before_kill) <= set(received_ids(r)), 60), (
        f"missing {len(set(written_before_kill) - set(received_ids(receiver)))} lines")
    got = received_ids(receiver)
    dupes = {i for i, n in Counter(got).items() if n > 1}
    # At least once: only a request in flight when the receiver went down (received, never acknowledged)
    # may arrive twice; everything written during the outage arrives exactly once.
    assert dupes <= seen_before_outage
    outage = [i for i in dict.fromkeys(got) if i in set(written_before_kill) and i not in seen_before_outage]
    assert outage == sorted(outage)  # the backlog drains oldest first, in order
    assert again.stop() == 0
