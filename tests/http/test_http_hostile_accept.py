"""Accept headers from hostile or broken clients (issue 11): never a 500, never a new cache entry."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, Counter

from otel_mon.http.render import OPENMETRICS, TEXT, MetricsCache, metrics_format
from otel_mon.logsetup import RepeatFilter


@pytest.mark.parametrize(("accept", "expected"), [
    ("application/openmetrics-text; version=abc", TEXT),
    ("application/openmetrics-text; version=", TEXT),
    ("application/openmetrics-text; version=1.0.0", OPENMETRICS),
    ("application/openmetrics-text; version=1.7.3", OPENMETRICS),
    ("application/openmetrics-text", OPENMETRICS),
    ("application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4", TEXT),
    ("application/openmetrics-text;version=1.0.0;q=0,text/plain", TEXT),
    ("text/plain;version=1.0.0;escaping=allow-utf-8", TEXT),
    ("*/*", TEXT), ("", TEXT), (None, TEXT), (";;;,,,=;=", TEXT), ("\x00\xff" * 3000, TEXT),
])
def test_accept_is_normalised(accept: str | None, expected: str) -> None:
    assert metrics_format(accept) == expected


def test_cache_busting_accept_versions_share_one_entry() -> None:
    registry = CollectorRegistry()
    Counter("requests", "x", registry=registry).inc()
    cache = MetricsCache(registry, lambda: 1)
    bodies = {cache.render(f"application/openmetrics-text; version=1.0.{n}", None).body for n in range(200)}
    bodies |= {cache.render(f"application/openmetrics-text; version=x{n}", None).body for n in range(200)}
    assert len(bodies) == 2  # OpenMetrics and text: nothing else
    assert len(cache._bodies) == 2


def test_identical_errors_are_held_back_and_counted() -> None:
    now = [0.0]
    repeats = RepeatFilter(window=60.0, clock=lambda: now[0])
    logger = logging.getLogger("otel_mon.test.repeats")

    def record(msg: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logger.makeRecord(logger.name, level, __file__, 1, msg, (), None)

    assert repeats.filter(record("boom"))
    assert sum(repeats.filter(record("boom")) for _ in range(1000)) == 0
    assert repeats.filter(record("other"))
    assert repeats.filter(record("fine", logging.INFO)) and repeats.filter(record("fine", logging.INFO))
    now[0] = 61.0
    again = record("boom")
    assert repeats.filter(again) and "1000 identical messages held back" in again.getMessage()
    assert repeats.filter(again)  # a second handler sees the same verdict for the same record
