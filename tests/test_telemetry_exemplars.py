"""Telemetry switches exemplars off (they cost CPU per point and the agent records in no span): the batches it
produces are the ones the SDK's defaults produce, point for point."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics import MeterProvider, SimpleFixedSizeExemplarReservoir

from otel_mon import config, telemetry
from otel_mon.host import registry as host_registry
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler
from otel_mon.probes.runner import PROBE_DURATION_BUCKETS
from otel_mon.resource import build_resource
from otel_mon.telemetry import NoExemplars, Telemetry

BUCKETS = {"otel_mon.probe.duration": PROBE_DURATION_BUCKETS}


def _shape(value: Any) -> Any:
    """The batch without timestamps and with live number points as their type only (the agent's own process
    and the real filesystems move between two runs); histogram counts and sums are kept."""
    if isinstance(value, dict):
        return {k: (type(v).__name__ if k in ("asInt", "asDouble") else _shape(v))
                for k, v in value.items() if not k.endswith("UnixNano")}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return value


def _batches(root: Path) -> list[dict[str, Any]]:
    settings = config.load(env={}, flags={"root_path": str(root), "collectors.sensors": "false",
                                          "cpu.per_logical": "true"})
    paths = HostPaths(str(root))
    tel = Telemetry(build_resource(settings.resource, paths), lambda spec: True, buckets=BUCKETS)
    sampler = HostSampler(host_registry.build(settings.host, paths))
    sampler.register_metrics(tel.instruments)
    out = []
    for value in (0.02, 0.3):
        tel.instruments.record("otel_mon.probe.duration", value, {"otel_mon.probe.name": "web"})
        sampler.refresh()
        tel.export()
        assert tel.batches.latest is not None
        out.append(_shape(encode_metrics(tel.batches.latest).to_dict()))
    tel.shutdown()
    return out


def test_batches_equal_the_sdk_defaults(fake_root: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root = fake_root("host1")
    ours = _batches(root)

    def defaults(**kwargs: Any) -> MeterProvider:
        kwargs.pop("exemplar_filter")
        kwargs["views"] = [v for v in kwargs["views"] if v._exemplar_reservoir_factory(object) is not NoExemplars]
        return MeterProvider(**kwargs)

    monkeypatch.setattr(telemetry, "MeterProvider", defaults)
    reference = _batches(root)
    assert ours == reference
    points = str(ours[1])
    assert "system.cpu.time" in points and "otel_mon.probe.duration" in points and "exemplars" not in points


def test_observable_instruments_get_the_empty_reservoir() -> None:
    views = telemetry.no_exemplar_views()
    assert len(views) == 3
    assert all(v._exemplar_reservoir_factory(object) is NoExemplars for v in views)
    reservoir = NoExemplars()
    reservoir.offer(1.0, 1, {"a": "b"}, None)  # type: ignore[arg-type]
    assert reservoir.collect({"a": "b"}) == []
    assert SimpleFixedSizeExemplarReservoir().collect({}) == []  # what the SDK's default returns without spans
