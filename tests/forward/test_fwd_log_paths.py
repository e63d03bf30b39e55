"""The logs path is one-way, in process: the agent's own logs bridge (``telemetry.build_logs``) writing into a
real spool while real forwarders fail against a closed port. What the logs forwarder says about its failing
sends never reaches the logs spool it sends (it would come back down the road that just failed); what the
metrics forwarder says does (tests/test_agent_log_paths.py holds the same for rejections, with the agent)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fwdkit import RESOURCE, FakeSpool, fast_config, logs_line, metrics_line, poll

from otel_mon import schema
from otel_mon.forward import Forwarder
from otel_mon.forward.config import thread_name
from otel_mon.logsetup import LOGS_FORWARDER_THREAD
from otel_mon.spool.config import SpoolConfig
from otel_mon.spool.exporters import SpoolLogExporter
from otel_mon.spool.writer import SpoolWriter
from otel_mon.telemetry import build_logs
from tests.conftest import free_port


def _spooled_bodies(logs_dir: Path) -> list[str]:
    bodies = []
    for path in sorted(logs_dir.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            for rl in json.loads(line).get("resourceLogs", []):
                for sl in rl.get("scopeLogs", []):
                    bodies += [r.get("body", {}).get("stringValue", "") for r in sl.get("logRecords", [])]
    return bodies


def test_the_filter_knows_the_logs_forwarders_thread_by_the_forwarders_own_name() -> None:
    assert LOGS_FORWARDER_THREAD == thread_name("logs") != thread_name("metrics")


def test_a_logs_forwarder_failure_never_lands_in_the_logs_spool_a_metrics_one_does(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="otel_mon.forward")
    FakeSpool(tmp_path, "metrics").write([metrics_line(1)])
    FakeSpool(tmp_path, "logs").write([logs_line(1)])
    spool = SpoolWriter(schema.build(SpoolConfig, {"dir": str(tmp_path)}))
    provider, bridge = build_logs(RESOURCE, [SpoolLogExporter(spool)])
    root = logging.getLogger()
    root.addHandler(bridge)
    forwarder = Forwarder(fast_config(f"http://127.0.0.1:{free_port()}"), tmp_path)  # nobody listens there
    try:
        forwarder.start()
        poll(lambda: all(s.counters.retries >= 2 for s in forwarder.signals.values()), 20, "both failing")
    finally:
        forwarder.stop(timeout=2.0)
        root.removeHandler(bridge)
        provider.force_flush()
        provider.shutdown()
        spool.close()
    told = {r.threadName for r in caplog.records if "export to" in r.getMessage() and "failed" in r.getMessage()}
    assert told == {thread_name("metrics"), thread_name("logs")}  # both said it, on the console's path
    spooled = _spooled_bodies(tmp_path / "logs")
    assert [b for b in spooled if b.startswith("forwarder metrics: export to")], spooled
    assert [b for b in spooled if b.startswith("forwarder logs:")] == []
