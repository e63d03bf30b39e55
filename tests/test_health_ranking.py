"""/health's top-level status ranks the agent's own failures, not only the health rules (issue 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

from otel_mon.host.base import Collected
from otel_mon.host.sampler import HostSampler
from otel_mon.spool.writer import SpoolWriter
from otel_mon.status_document import COLLECTOR_FAILING_INTERVALS, status_document
from tests.spool.spoolkit import config


class Broken:
    name = "disk"

    def collect(self, now: float) -> Collected:
        raise OSError(5, "Input/output error")


class Fine:
    name = "memory"

    def collect(self, now: float) -> Collected:
        return Collected()


def test_a_spool_that_cannot_write_is_critical(tmp_path: Path) -> None:
    writer = SpoolWriter(config(tmp_path / "data"))
    try:
        sampler = HostSampler([Fine()])
        snap = sampler.refresh()
        assert writer.append("metrics", [b'{"a":1}\n'])
        assert status_document(snap, 10.0, 0.0, {"spool": writer.status}, now=snap.time)[1]["status"] == "ok"
        shutil.rmtree(tmp_path / "data" / "metrics")
        (tmp_path / "data" / "metrics").write_text("a file where the directory was")
        assert not writer.append("metrics", [b'{"a":2}\n'])
        code, doc = status_document(snap, 10.0, 0.0, {"spool": writer.status}, now=snap.time)
        assert code == 200 and doc["status"] == "critical"
        assert any(p.startswith("spool: metrics: write failed") for p in doc["problems"]), doc["problems"]
        assert writer.stats()["dropped"]["metrics/write_error"] == 1
    finally:
        writer.close()


def test_a_collector_failing_for_n_intervals_degrades() -> None:
    sampler = HostSampler([Fine(), Broken()])
    for n in range(1, COLLECTOR_FAILING_INTERVALS + 1):
        snap = sampler.refresh()
        assert snap.domains["disk"].failing_for == n and snap.domains["memory"].failing_for == 0
        status = status_document(snap, 10.0, 0.0, {}, now=snap.time)[1]["status"]
        assert status == ("degraded" if n >= COLLECTOR_FAILING_INTERVALS else "ok")
    doc = status_document(snap, 10.0, 0.0, {}, now=snap.time)[1]
    assert doc["problems"] == [f"collector disk failed the last {COLLECTOR_FAILING_INTERVALS} collections (degraded)"]


def test_a_wedged_forwarder_is_critical_and_outranks_degraded() -> None:
    sections = {"forward": lambda: {"degraded": True, "wedged": True},
                "health": lambda: {"status": "warning"}}
    code, doc = status_document(None, 10.0, 0.0, sections, now=1.0)
    assert code == 503  # starting: no collection yet; the status code says so first
    from otel_mon.host.sampler import Snapshot
    snap = Snapshot(1.0, 0.0, {}, {}, {}, 1)
    code, doc = status_document(snap, 10.0, 0.0, sections, now=1.0)
    assert code == 200 and doc["status"] == "critical" and "forward: wedged (critical)" in doc["problems"]


def test_a_degraded_forwarder_names_the_signal_its_lag_and_backlog() -> None:
    from otel_mon.host.sampler import Snapshot
    snap = Snapshot(1.0, 0.0, {}, {}, {}, 1)
    signals = {"metrics": {"degraded": True, "wedged": False, "lag_seconds": 187.4, "backlog_records": 1204},
               "logs": {"degraded": False, "wedged": False, "lag_seconds": 2.0, "backlog_records": 3}}
    part = {"degraded": True, "wedged": False, "signals": signals}
    code, doc = status_document(snap, 10.0, 0.0, {"forward": lambda: part}, now=1.0)
    assert code == 200 and doc["status"] == "degraded"
    assert doc["problems"] == ["forward: metrics 3m07s behind, 1204 lines not yet sent (degraded)"]
    signals["metrics"]["wedged"] = True
    part["wedged"] = True
    doc = status_document(snap, 10.0, 0.0, {"forward": lambda: part}, now=1.0)[1]
    assert doc["problems"] == [
        "forward: metrics 3m07s behind, 1204 lines not yet sent (its thread has stopped moving) (critical)"]
