"""/metrics rendered from the batch is byte for byte what the official exporter + prometheus_client give (with
the two deliberate differences tests/promoracle.py applies)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics.export import (
    MetricsData,
)

from otel_mon.exposition import BatchRegistry, Exposition
from otel_mon.exposition_text import sample_value
from otel_mon.telemetry import LABELLED_RESOURCE_ATTRIBUTES
from tests.batches import agent_batches, odd_batch, point
from tests.promoracle import oracle


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


def test_values_print_as_node_exporter_prints_them() -> None:
    # 309.9 + 0.01 is 309.90999999999997 in binary; a double holds 15 significant digits exactly, so the value
    # prints as the number it stands for (Go's strconv, which node_exporter uses, prints 309.91 for 309.91).
    assert sample_value(309.9 + 0.01) == "309.91"
    assert sample_value(0.1 + 0.2) == "0.3"
    assert sample_value(1e21) == "1e+21" and sample_value(123456789.0) == "1.23456789e+08"
    assert sample_value(-2.0) == "-2.0" and sample_value(7) == "7.0"
    assert [sample_value(v) for v in (float("nan"), float("inf"), -float("inf"))] == ["NaN", "+Inf", "-Inf"]
    for value in (1 / 3, 2**53 + 1.0, 5e-324, 1.7976931348623157e308, 0.1 + 0.7):
        assert float(sample_value(value)) == pytest.approx(value, rel=1e-15, abs=0)


def test_empty_scope_version_and_schema_url_are_no_labels() -> None:
    text = Exposition(LABELLED_RESOURCE_ATTRIBUTES.__contains__).render(odd_batch(), False).decode()
    other = [line for line in text.splitlines() if line.startswith("other_thing")]
    assert other and all('otel_scope_name="other"' in line for line in other)
    assert not any("otel_scope_version" in line or "otel_scope_schema_url" in line for line in other)
    assert 'otel_scope_version="0.1"' in text
    assert 'otel_scope_schema_url="https://opentelemetry.io/schemas/1.44.0"' in text
