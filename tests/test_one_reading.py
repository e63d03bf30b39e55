"""One definition per reading: /health, the health rules and ``report`` give the same number for one collection.

The agent's path end to end on this machine: two host reads (so CPU utilisation exists), one SDK collection
encoded as the spool encodes it, then /health's document from the snapshot and ``report`` from the batch.
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_mon import config, readings
from otel_mon.host import registry
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler
from otel_mon.host.table import METRICS
from otel_mon.instruments import Instruments
from otel_mon.report.analysis import build_report
from otel_mon.spool.summary import render_metrics
from otel_mon.status_document import status_document


def one_collection() -> tuple[Any, dict[str, Any]]:
    settings = config.load(env={})
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instruments = Instruments(provider.get_meter("t"), settings.metric_enabled, table=METRICS)
    sampler = HostSampler(registry.build(settings.host, HostPaths("/")))
    sampler.register_metrics(instruments)
    sampler.refresh()
    snap = sampler.refresh()
    for _ in range(50):  # two reads within one clock tick have no utilisation yet: read again (bounded)
        if "cpu" in snap.readings:
            break
        snap = sampler.refresh()
    data = reader.get_metrics_data()
    provider.shutdown()
    sampler.close()
    assert data is not None
    return snap, encode_metrics(data).to_dict()


def test_health_report_and_tail_agree_on_memory_cpu_and_filesystems() -> None:
    snap, batch = one_collection()
    _code, doc = status_document(snap, interval=10.0, started=snap.time, parts={}, now=snap.time)
    host = doc["host"]
    report = {s.label: s for s in build_report([batch]).metrics}
    assert report["memory"].samples == 1
    assert report["memory"].avg == pytest.approx(host["memory_percent"], abs=1e-3)
    assert report["cpu"].avg == pytest.approx(host["cpu_percent"], abs=1e-3)
    for mount, percent in host["filesystems_percent"].items():
        assert report[f"filesystem {mount}"].avg == pytest.approx(percent, abs=0.01)
    # The health rules read the snapshot's readings: the same values /health shows.
    assert snap.readings["memory"][""] == pytest.approx(host["memory_percent"], abs=1e-3)
    # tail's one line per batch, from the same functions.
    assert f"mem {host['memory_percent']:.1f}%" in render_metrics(batch)


def test_readings_are_the_documented_formulas() -> None:
    points: dict[str, list[tuple[float, dict[str, Any]]]] = {
        "system.memory.usage": [(3.0, {"system.memory.state": "used"}), (2.0, {"system.memory.state": "free"})],
        "system.memory.limit": [(8.0, {})],
        "system.cpu.utilization": [(0.6, {"cpu.mode": "idle"}), (0.1, {"cpu.mode": "iowait"}),
                                   (0.3, {"cpu.mode": "user"})],
        "system.filesystem.usage": [(v, {"system.filesystem.mountpoint": "/", "system.filesystem.state": s})
                                    for s, v in (("used", 30.0), ("free", 60.0), ("reserved", 10.0))],
    }
    assert readings.memory_percent(points) == pytest.approx(37.5)  # (MemTotal - MemAvailable) / MemTotal
    assert readings.cpu_percent(points) == pytest.approx(30.0)  # iowait is not busy
    assert readings.filesystem_percent(points) == {"/": pytest.approx(100 * 30 / 90)}  # df: reserved left out
