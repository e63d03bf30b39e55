"""Each log path is one-way: what the logs forwarder says about its own sending stays out of the logs spool it
sends (a rejected line would otherwise come back as a new record down the same failing road), while the
metrics forwarder's records still reach the logs spool and the collector."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, AgentProcess, agent_env, wait_until
from tests.otlp_receiver import OtlpReceiver


def _bodies_in(request: Any) -> list[str]:
    return [r.body.string_value for rl in getattr(request, "resource_logs", ()) for sl in rl.scope_logs
            for r in sl.log_records]


def _spooled_bodies(data: Path) -> list[str]:
    out = []
    for path in sorted((data / "logs").glob("*.jsonl*")):
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for line in raw.decode().splitlines():
            for rl in json.loads(line).get("resourceLogs", []):
                for sl in rl.get("scopeLogs", []):
                    out += [r.get("body", {}).get("stringValue", "") for r in sl.get("logRecords", [])]
    return out


def test_the_logs_forwarders_own_records_stay_out_of_the_logs_spool(
        start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    data = tmp_path / "spool"
    with OtlpReceiver() as rx:
        # Refuse the log line that says the agent started, and every metrics request.
        rx.reject_when(lambda req: any("starting otel-mon" in b for b in _bodies_in(req))
                       or hasattr(req, "resource_metrics"), "refused by the test")
        agent = start_agent("--interval", "300ms", "--data-dir", str(data), env=agent_env(
            PYTHONPATH=str(ROOT), OTEL_EXPORTER_OTLP_ENDPOINT=rx.endpoint("http/protobuf"),
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf"))
        wait_until(lambda: "forwarder logs:" in agent.stderr() and "forwarder metrics:" in agent.stderr(), 60,
                   what="both forwarders reporting a rejected line on the console")
        # The metrics forwarder's report takes the logs path to the collector (another path: one-way).
        assert rx.wait_for(lambda r: any(b.startswith("forwarder metrics:") for q in r.requests("logs")
                                         for b in _bodies_in(q.request)), 60)
        assert agent.stop() == 0
    spooled = _spooled_bodies(data)
    assert any(b.startswith("forwarder metrics:") and "rejected" in b for b in spooled), spooled
    assert not [b for b in spooled if b.startswith("forwarder logs:")]
    assert any("forwarder logs:" in line and "rejected" in line for line in agent.stderr().splitlines())
