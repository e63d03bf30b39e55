"""/metrics rendered from the batch is byte for byte what the exporter's translator + prometheus_client give."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry.exporter.prometheus import _CustomCollector
from opentelemetry.sdk.metrics.export import (
    MetricsData,
)
from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.openmetrics import exposition as om_format

from otel_mon.exposition import BatchRegistry, Exposition
from otel_mon.telemetry import LABELLED_RESOURCE_ATTRIBUTES
from tests.batches import agent_batches, odd_batch, point


def oracle(data: MetricsData) -> tuple[bytes, bytes]:
    """(text, OpenMetrics) from opentelemetry-exporter-prometheus' translator and prometheus_client's encoders."""
    translator = _CustomCollector(resource_attribute_filter=LABELLED_RESOURCE_ATTRIBUTES.__contains__)
    translator.add_metrics_data(data)
    families = list(translator.collect())

    class Fixed:
        def collect(self) -> list[object]:
            return families

    reg = CollectorRegistry(auto_describe=False)
    reg.register(Fixed())  # type: ignore[arg-type]
    return text_format.generate_latest(reg), om_format.generate_latest(reg)


def ours(data: MetricsData, exposition: Exposition | None = None) -> tuple[bytes, bytes]:
    exposition = exposition or Exposition(LABELLED_RESOURCE_ATTRIBUTES.__contains__)
    return exposition.render(data, False), exposition.render(data, True)


def test_edge_cases_render_like_the_translator() -> None:
    data = odd_batch()
    assert ours(data) == oracle(data)


def test_caches_follow_new_values_and_new_series() -> None:
    exposition = Exposition(LABELLED_RESOURCE_ATTRIBUTES.__contains__)
    for v in (1.0, 2.0, 2.0):
        data = odd_batch(v)
        assert ours(data, exposition) == oracle(data)
    # A new series appears beside known ones: the label set of the metric grows, old series are backfilled.
    data = odd_batch(3.0)
    data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points.append(  # type: ignore[union-attr]
        point(1.0, {"cpu.mode": "idle", "cpu.logical_number": 0, "extra": "e"}))
    assert ours(data, exposition) == oracle(data)


def test_series_text_follows_the_attribute_objects_of_the_points() -> None:
    # The SDK hands each collection of a series the same attributes object; the label text is reused while a
    # metric's points carry the same objects in the same order, and rebuilt when they do not.
    from opentelemetry.sdk.metrics.export import AggregationTemporality, Metric, ResourceMetrics, ScopeMetrics, Sum
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    user, system, idle = {"cpu.mode": "user"}, {"cpu.mode": "system"}, {"cpu.mode": "idle", "extra": "e"}

    def batch(*points: tuple[float, dict[str, object]]) -> MetricsData:
        cpu = Metric("system.cpu.time", "CPU time", "s", Sum([point(v, a) for v, a in points],
                                                              AggregationTemporality.CUMULATIVE, True))
        return MetricsData([ResourceMetrics(Resource({"host.name": "h1"}), [
            ScopeMetrics(InstrumentationScope("otel_mon", "0.1"), [cpu], "")], "")])

    exposition = Exposition(LABELLED_RESOURCE_ATTRIBUTES.__contains__)
    for points in ([(1, user), (2, system)], [(3, user), (4, system)], [(5, system), (6, user)], [(7, user)],
                   [(8, user), (9, system), (10, idle)], [(11, user), (12, system)], [(13, user), (14, dict(user))]):
        data = batch(*points)
        assert ours(data, exposition) == oracle(data)


def test_no_batch_yet() -> None:
    exposition = Exposition(LABELLED_RESOURCE_ATTRIBUTES.__contains__)
    assert exposition.render(None, False) == b""
    assert exposition.render(None, True) == b"# EOF\n"


def test_the_agents_own_batch(fake_root: Callable[[str], Path]) -> None:
    for telemetry, batch in agent_batches(fake_root("host1")):
        assert isinstance(telemetry.registry, BatchRegistry)
        text, om = telemetry.registry.render(False), telemetry.registry.render(True)
        assert (text, om) == oracle(batch)
        assert text.count(b"\n") > 100


@pytest.mark.parametrize("openmetrics", [False, True])
def test_render_metrics_takes_the_fast_path(openmetrics: bool) -> None:
    from otel_mon.http.render import render_metrics

    data = odd_batch()
    reg = BatchRegistry(lambda: data, LABELLED_RESOURCE_ATTRIBUTES.__contains__)
    accept = "application/openmetrics-text; version=1.0.0" if openmetrics else "text/plain"
    body = render_metrics(reg, accept, None).body
    assert body == oracle(data)[1 if openmetrics else 0]
