"""/health as data: stale and starting answers, headline numbers in human units."""

from __future__ import annotations

from otel_mon.host.sampler import DomainStatus, Snapshot
from otel_mon.status_document import status_document


def snap(at: float) -> Snapshot:
    readings = {"cpu": {"": 12.3456}, "memory": {"": 45.0}, "memory.available": {"": 55.0},
                "filesystem": {"/": 71.234, "/data": 5.0}, "inodes": {"/": 3.14159},
                "network.receive": {"eth0": 1234.56}, "network.transmit": {"eth0": 78.9},
                "load.1m": {"": 0.5}, "load.5m": {"": 0.25}, "load.15m": {"": 0.125}, "uptime": {"": 3600.0}}
    return Snapshot(at, 0.0, {}, readings, {"cpu": DomainStatus(True, 0.0012, {})}, 1)


def test_fresh_snapshot_is_200_with_headline_numbers() -> None:
    code, doc = status_document(snap(1000.0), 10.0, 900.0, {}, now=1005.0)
    assert code == 200 and doc["status"] == "ok"
    assert doc["snapshot_age_seconds"] == 5.0 and doc["agent_uptime_seconds"] == 105.0
    host = doc["host"]
    assert host["cpu_percent"] == 12.346 and host["memory_percent"] == 45.0
    # One rounding for every number in /health: 3 decimals (issue 24 item 9).
    assert host["filesystems_percent"] == {"/": 71.234, "/data": 5.0}
    assert host["memory_available_percent"] == 55.0 and host["inodes_percent"] == {"/": 3.142}
    assert host["network"] == {"eth0": {"receive_bytes_per_s": 1234.56, "transmit_bytes_per_s": 78.9}}
    assert host["load"] == [0.5, 0.25, 0.125] and host["uptime_seconds"] == 3600.0
    assert doc["collectors"]["cpu"] == {"ok": True, "duration_ms": 1.2, "errors": 0}


def test_stale_after_three_intervals_and_starting_before_the_first() -> None:
    assert status_document(snap(1000.0), 10.0, 900.0, {}, now=1030.0)[0] == 200
    code, doc = status_document(snap(1000.0), 10.0, 900.0, {}, now=1030.5)
    assert (code, doc["status"]) == (503, "stale")
    code, doc = status_document(None, 10.0, 900.0, {}, now=901.0)
    assert (code, doc["status"], doc["snapshot_age_seconds"]) == (503, "starting", None)


def test_sections_raise_the_status_but_not_the_code() -> None:
    sections = {"health": lambda: {"status": "critical", "rules": []}, "forward": lambda: {"degraded": True}}
    code, doc = status_document(snap(1000.0), 10.0, 900.0, sections, now=1001.0)
    assert code == 200 and doc["status"] == "critical"
    code, doc = status_document(snap(1000.0), 10.0, 900.0, {"forward": lambda: {"degraded": True}}, now=1001.0)
    assert doc["status"] == "degraded"
