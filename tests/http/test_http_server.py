"""The server over real sockets on 127.0.0.1."""

from __future__ import annotations

import errno
import gzip
import http.client
import json
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from otel_mon.http import HttpServer, ListenError

if TYPE_CHECKING:  # conftest is never imported: two conftest modules share that name
    from conftest import Fetch, Probes

# test.temperature in Cel, as PrometheusMetricReader names it.
SERIES = "test_temperature_celsius"

Serve = Callable[..., HttpServer]


def test_metrics_text(serve: Serve, fetch: Fetch) -> None:
    reply = fetch(serve(), "/metrics")
    text = reply.body.decode()
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert int(reply.headers["Content-Length"]) == len(reply.body)
    assert SERIES in text and 'sensor="cpu"} 21.5' in text
    assert "python_gc_" not in text and "process_" not in text


def test_metrics_openmetrics(serve: Serve, fetch: Fetch) -> None:
    reply = fetch(serve(), "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert reply.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert reply.body.endswith(b"# EOF\n") and SERIES.encode() in reply.body


def test_metrics_gzip(serve: Serve, fetch: Fetch) -> None:
    server = serve()
    plain = fetch(server, "/metrics")
    zipped = fetch(server, "/metrics", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == plain.body


@pytest.mark.parametrize("status", [200, 503])
def test_health_passes_status_and_json_through(serve: Serve, fetch: Fetch, probes: Probes, status: int) -> None:
    doc = {"status": "ok" if status == 200 else "critical", "rules": {"cpu": {"value": 0.97}}}
    probes.health = (status, doc)
    reply = fetch(serve(), "/health")
    assert reply.status == status
    assert reply.headers["Content-Type"] == "application/json"
    assert json.loads(reply.body) == doc


def test_ready_turns_200(serve: Serve, fetch: Fetch, probes: Probes) -> None:
    server = serve()
    before = fetch(server, "/ready")
    assert (before.status, json.loads(before.body)) == (503, {"ready": False})
    probes.ready = True
    after = fetch(server, "/ready")
    assert (after.status, json.loads(after.body)) == (200, {"ready": True})


def test_index_links_the_endpoints(serve: Serve, fetch: Fetch) -> None:
    reply = fetch(serve(), "/?x=1")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/html")
    for path in ("/metrics", "/health", "/ready"):
        assert f'href="{path}"'.encode() in reply.body


def test_unknown_path_404_and_query_ignored(serve: Serve, fetch: Fetch) -> None:
    server = serve()
    assert fetch(server, "/nope").status == 404
    assert fetch(server, "/metrics?name[]=nothing").body.count(SERIES.encode()) >= 1


def test_other_methods_405_with_allow(serve: Serve, fetch: Fetch) -> None:
    server = serve()
    reply = fetch(server, "/metrics", method="POST", body=b"x" * 10_000)
    assert reply.status == 405 and reply.headers["Allow"] == "GET, HEAD"
    assert reply.headers["Connection"] == "close"  # the unread body must not be parsed as the next request
    assert fetch(server, "/ready", method="OPTIONS").status == 405


def test_head_sends_headers_only(serve: Serve, fetch: Fetch) -> None:
    server = serve()
    full = fetch(server, "/metrics")
    head = fetch(server, "/metrics", method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Type"] == full.headers["Content-Type"]
    assert int(head.headers["Content-Length"]) > 0


def test_keep_alive_serves_several_requests_on_one_connection(serve: Serve) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", serve().port, timeout=10)
    try:
        for path in ("/metrics", "/health", "/nope", "/metrics"):
            conn.request("GET", path)
            conn.getresponse().read()
        assert conn.sock is not None  # never reconnected
    finally:
        conn.close()


def test_port_in_use_is_a_clear_error(serve: Serve, make_server: Callable[..., HttpServer]) -> None:
    taken = serve().port
    with pytest.raises(ListenError) as caught:
        make_server(port=taken).start()
    assert str(caught.value) == f"http: cannot listen on 127.0.0.1:{taken}: Address already in use"
    assert caught.value.errno == errno.EADDRINUSE
    assert isinstance(caught.value, OSError)


def test_unknown_host_is_a_clear_error(make_server: Callable[..., HttpServer]) -> None:
    with pytest.raises(ListenError, match=r"^http: cannot listen on no-such-host\.invalid:0: "):
        make_server(host="no-such-host.invalid").start()


def test_lifecycle(make_server: Callable[..., HttpServer], fetch: Fetch) -> None:
    server = make_server()
    with pytest.raises(RuntimeError):
        _ = server.port
    server.stop()  # before start: nothing to do
    with server:
        port = server.port
        assert port > 0 and fetch(server, "/ready").status == 503
        with pytest.raises(RuntimeError):
            server.start()
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_access_log_goes_to_the_logger_at_debug_and_never_to_stderr(
    serve: Serve, fetch: Fetch, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    server = serve()
    with caplog.at_level(logging.DEBUG, logger="otel_mon.http"):
        fetch(server, "/metrics?secret=1")
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(b"NONSENSE\r\n\r\n")
            assert b"400 Bad Request" in raw.makefile("rb").read()  # the server closes after the error
    access = [r for r in caplog.records if '"GET /metrics"' in r.getMessage()]
    assert len(access) == 1 and access[0].levelno == logging.DEBUG and access[0].name == "otel_mon.http"
    assert "secret" not in caplog.text
    assert any("400" in r.getMessage() for r in caplog.records)
    assert capfd.readouterr().err == ""
