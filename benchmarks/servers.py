"""What the benchmarks start and how they scrape it, written once: ports, readiness, the contrib baseline."""

from __future__ import annotations

import shutil
import socket
import time
import urllib.request

# What Prometheus 2.x sends: OpenMetrics preferred, gzip accepted, one kept-alive connection per target.
SCRAPE_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
              "text/plain;version=0.0.4;q=0.3,*/*;q=0.1",
    "Accept-Encoding": "gzip",
}

# The baseline: opentelemetry-instrumentation-system-metrics behind the Prometheus reader (`python -c`, port arg).
CONTRIB_SERVER = """
import sys, time
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.system_metrics import SystemMetricsInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import start_http_server
reader = PrometheusMetricReader()
SystemMetricsInstrumentor().instrument(meter_provider=MeterProvider(metric_readers=[reader]))
start_http_server(int(sys.argv[1]), addr="127.0.0.1")
while True:
    time.sleep(3600)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_exporter_binary() -> str | None:
    return shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")


def wait_http(url: str, timeout: float = 60) -> None:
    """Until ``url`` answers 200 (a server's start-up), polled every 0.2 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:g}s")
