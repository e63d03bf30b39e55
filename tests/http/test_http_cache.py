"""/metrics bodies are rendered once per collection and per format, whatever the number of scrapes."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from otel_mon.http.render import MetricsCache


class Counting:
    def __init__(self) -> None:
        self.calls = 0
        self.value = 1.0

    def collect(self) -> Iterator[Metric]:
        self.calls += 1
        yield GaugeMetricFamily("demo_value", "a value", value=self.value)


def test_one_render_per_version_and_format() -> None:
    registry = CollectorRegistry(auto_describe=False)
    source = Counting()
    registry.register(source)  # type: ignore[arg-type]
    version = [1]
    cache = MetricsCache(registry, lambda: version[0])
    first = cache.render(None, None)
    assert b"demo_value 1.0" in first.body
    for _ in range(10):
        assert cache.render(None, None) is first
    assert source.calls == 1
    zipped = cache.render(None, "gzip")
    assert gzip.decompress(zipped.body) == first.body and source.calls == 2
    openmetrics = cache.render("application/openmetrics-text; version=1.0.0", None)
    assert openmetrics.body.endswith(b"# EOF\n") and source.calls == 3
    assert cache.render(None, "gzip") is zipped and source.calls == 3

    source.value = 2.0
    version[0] = 2  # a new collection: every format renders anew
    assert b"demo_value 2.0" in cache.render(None, None).body
    assert source.calls == 4


def test_stop_ends_kept_alive_connections(make_server) -> None:  # type: ignore[no-untyped-def]
    """A scraper holding its connection open must not be answered by a stopped server."""
    import http.client

    server = make_server()
    server.start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/ready")
    assert conn.getresponse().read() is not None
    server.stop()
    try:
        conn.request("GET", "/ready")
        status = conn.getresponse().status
    except (ConnectionError, http.client.HTTPException, OSError):
        status = None
    assert status is None  # the connection was closed by stop(), no answer after it
