"""Property test over raw HTTP requests to a real server (issue 11): every request gets a well-formed answer
that is never a 500, the server keeps serving, logs no error and its memory stays bounded."""

from __future__ import annotations

import logging
import resource
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter

from otel_mon.http import HttpServer
from otel_mon.http.config import HttpConfig

METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS", "G\x00T", "", "get", "CONNECT", "X" * 300])
TARGETS = st.one_of(st.sampled_from(["/", "/metrics", "/health", "/ready", "/nope", "*", "http://h/metrics",
                                      "/metrics?x=%zz", "//", "/" + "a" * 9000, "/\x7f", "/%00"]),
                    st.text(max_size=40))
VERSIONS = st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9", "FOO", "", "HTTP/1.1 extra"])
HEADER_NAMES = st.sampled_from(["Accept", "Accept-Encoding", "Authorization", "Connection", "Content-Length",
                                "Transfer-Encoding", "Host", "X-A", "Bad Name", "", "\x00", "A" * 100])
HEADER_VALUES = st.one_of(st.text(max_size=60), st.sampled_from([
    "application/openmetrics-text; version=abc", "gzip;q=abc", "Bearer x", "close", "keep-alive", "-1",
    "99999999999999999999", "chunked", "x" * 5000, "application/openmetrics-text; version=1.0.0"]))
ENDINGS = st.sampled_from(["\r\n", "\n", "\r"])


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.binary(max_size=300)) + b"\r\n\r\n"
    eol = draw(ENDINGS)
    line = f"{draw(METHODS)} {draw(TARGETS)} {draw(VERSIONS)}"
    headers = [f"{draw(HEADER_NAMES)}: {draw(HEADER_VALUES)}" for _ in range(draw(st.integers(0, 6)))]
    text = eol.join([line, *headers]) + "\r\n\r\n"
    return text.encode("utf-8", "surrogateescape")


@pytest.fixture(scope="module")
def server() -> Iterator[HttpServer]:
    registry = CollectorRegistry()
    Counter("fuzz_requests", "x", registry=registry).inc()
    srv = HttpServer(HttpConfig(host="127.0.0.1", port=0, token="tok", header_timeout=1.0), registry,
                     lambda: (200, {"status": "ok"}), lambda: True, version=lambda: 1)
    srv.start()
    yield srv
    srv.stop()


def _exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer (431) and close while we still send
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=raw_requests())
def test_raw_requests_never_500(server: HttpServer, caplog: pytest.LogCaptureFixture, data: bytes) -> None:
    with caplog.at_level(logging.WARNING, logger="otel_mon.http"):
        reply = _exchange(server.port, data)
    if reply:  # a reset before any answer is allowed only when the head was cut off for size
        status = reply.split(b"\r\n", 1)[0]
        assert status.startswith(b"HTTP/1.1 "), reply[:80]
        code = int(status.split()[1])
        assert code != 500 and (code < 500 or code == 505), status
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_server_survives_the_fuzzing_with_bounded_memory(server: HttpServer) -> None:
    before = _maxrss_mib()
    for n in range(300):
        _exchange(server.port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer tok\r\nAccept: "
                  + f"application/openmetrics-text; version=1.{n}".encode() + b"\r\n" + b"X: y\r\n" * 60 + b"\r\n")
    assert _maxrss_mib() - before < 20
    reply = _exchange(server.port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer tok\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200") and b"fuzz_requests_total 1.0" in reply
