"""Fixtures for the HTTP tests: a real OTel registry, servers on port 0, a raw client, throwaway certificates."""

from __future__ import annotations

import http.client
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry

from otel_mon.http import HttpServer
from otel_mon.http.config import HttpConfig


@pytest.fixture
def registry() -> Iterator[CollectorRegistry]:
    """A registry fed by a real MeterProvider through PrometheusMetricReader, holding one observable gauge."""
    reg = CollectorRegistry()
    provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=reg)])

    def observe(options: CallbackOptions) -> list[Observation]:
        return [Observation(21.5, {"sensor": "cpu"})]

    provider.get_meter("tests.http").create_observable_gauge("test.temperature", callbacks=[observe], unit="Cel")
    yield reg
    provider.shutdown()


@dataclass
class Probes:
    """What the server's health and ready callables return; tests change it between requests."""

    health: tuple[int, dict[str, Any]] = (200, {"status": "ok"})
    ready: bool = False
    calls: list[str] = field(default_factory=list)


@pytest.fixture
def probes() -> Probes:
    return Probes()


@pytest.fixture
def make_server(registry: CollectorRegistry, probes: Probes) -> Iterator[Callable[..., HttpServer]]:
    """Build (not start) servers on 127.0.0.1 port 0 with config overrides; all are stopped afterwards."""
    made: list[HttpServer] = []

    def make(**cfg: Any) -> HttpServer:
        server = HttpServer(
            HttpConfig(**{"host": "127.0.0.1", "port": 0, **cfg}),
            registry,
            lambda: probes.health,
            lambda: probes.ready,
        )
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def serve(make_server: Callable[..., HttpServer]) -> Callable[..., HttpServer]:
    """A started server with config overrides."""

    def start(**cfg: Any) -> HttpServer:
        server = make_server(**cfg)
        server.start()
        return server

    return start


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


Fetch = Callable[..., Reply]


@pytest.fixture
def fetch() -> Fetch:
    """One request over a fresh connection; http.client adds no Accept or Accept-Encoding of its own."""

    def request(
        server: HttpServer,
        path: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        context: ssl.SSLContext | None = None,
        body: bytes | None = None,
    ) -> Reply:
        conn: http.client.HTTPConnection
        if context is None:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        else:
            conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=context)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            conn.close()

    return request


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


def _self_signed(directory: Path) -> CertPair:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    directory.mkdir()
    pair = CertPair(directory / "cert.pem", directory / "key.pem")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(pair.key),
            "-out",
            str(pair.cert),
        ],
        check=True,
        capture_output=True,
    )
    return pair


@pytest.fixture(scope="session")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> CertPair:
    return _self_signed(tmp_path_factory.mktemp("tls") / "a")


@pytest.fixture(scope="session")
def other_tls_pair(tmp_path_factory: pytest.TempPathFactory) -> CertPair:
    return _self_signed(tmp_path_factory.mktemp("tls") / "b")


@pytest.fixture
def client_context(tls_pair: CertPair) -> ssl.SSLContext:
    """A client that trusts only the test certificate and checks the host name."""
    return ssl.create_default_context(cafile=str(tls_pair.cert))
