"""Rendering and routing without sockets."""

from __future__ import annotations

import gzip
import json
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from otel_mon.http import HttpServer, Response, render_json, render_metrics
from otel_mon.http.config import HttpConfig
from otel_mon.http.render import gzip_allowed, render_index

# test.temperature in Cel, as PrometheusMetricReader names it.
SERIES = "test_temperature_celsius"

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def test_metrics_default_is_prometheus_text_without_client_default_collectors(registry: CollectorRegistry) -> None:
    response = render_metrics(registry, None, None)
    text = response.body.decode()
    assert response.status == 200
    assert response.header("content-type") == "text/plain; version=0.0.4; charset=utf-8"
    assert response.header("Content-Encoding") is None
    assert f'{SERIES}{{otel_scope_name="tests.http"' in text and 'sensor="cpu"} 21.5' in text
    assert "python_gc_" not in text and "process_" not in text and "python_info" not in text
    assert "# EOF" not in text


def test_metrics_openmetrics_when_accepted(registry: CollectorRegistry) -> None:
    response = render_metrics(registry, f"{OPENMETRICS}, text/plain;q=0.5", None)
    assert (response.header("Content-Type") or "").startswith("application/openmetrics-text; version=1.0.0")
    assert response.body.endswith(b"# EOF\n")
    assert SERIES.encode() in response.body


def test_metrics_gzip_decompresses_to_the_plain_text(registry: CollectorRegistry) -> None:
    plain = render_metrics(registry, None, None)
    zipped = render_metrics(registry, None, "gzip, deflate")
    assert zipped.header("Content-Encoding") == "gzip"
    assert zipped.header("Vary") == "Accept, Accept-Encoding"
    assert gzip.decompress(zipped.body) == plain.body


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ("identity", False),
        ("gzip", True),
        ("GZIP;q=0.5", True),
        ("gzip;q=0", False),
        ("*", True),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("br, gzip ; q=1.0", True),
        ("gzip;q=x", False),
    ],
)
def test_gzip_allowed_honours_q_values(header: str | None, expected: bool) -> None:
    assert gzip_allowed(header) is expected


def test_render_json_passes_status_and_document() -> None:
    response = render_json(503, {"status": "critical", "rules": [{"name": "cpu", "state": "critical"}]})
    assert response.status == 503
    assert response.header("Content-Type") == "application/json"
    assert json.loads(response.body) == {"status": "critical", "rules": [{"name": "cpu", "state": "critical"}]}


def test_response_is_frozen() -> None:
    response = Response(200, (("X-A", "1"),), b"")
    with pytest.raises(AttributeError):
        response.status = 500  # type: ignore[misc]


def test_index_links_escaped_paths() -> None:
    body = render_index(["/metrics", "/<x>"]).body.decode()
    assert '<a href="/metrics">' in body and "&lt;x&gt;" in body


@pytest.fixture
def app(registry: CollectorRegistry) -> HttpServer:
    return HttpServer(HttpConfig(port=0), registry, lambda: (503, {"status": "warning"}), lambda: False)


def test_routing(app: HttpServer) -> None:
    assert app.respond("GET", "/metrics?name[]=x&debug=1").status == 200
    assert app.respond("GET", "/health").status == 503
    assert json.loads(app.respond("GET", "/ready").body) == {"ready": False}
    assert app.respond("GET", "/nope").status == 404
    assert app.respond("GET", "/metrics/").status == 404
    refused = app.respond("DELETE", "/health")
    assert refused.status == 405 and refused.header("Allow") == "GET, HEAD"
    assert app.respond("POST", "/nope").status == 404


def test_a_failing_callable_is_a_logged_500(registry: CollectorRegistry, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> tuple[int, dict[str, Any]]:
        raise RuntimeError("evaluator exploded")

    app = HttpServer(HttpConfig(port=0), registry, broken, lambda: True)
    with caplog.at_level(logging.ERROR, logger="otel_mon.http"):
        assert app.respond("GET", "/health").status == 500
    assert "evaluator exploded" in caplog.text


def test_auth_precedes_routing(registry: CollectorRegistry) -> None:
    app = HttpServer(HttpConfig(port=0, token="s3cret"), registry, lambda: (200, {}), lambda: True)
    assert app.respond("GET", "/nope").status == 401
    assert app.respond("POST", "/metrics").status == 401
    assert app.respond("GET", "/nope", authorization="Bearer s3cret").status == 404


def test_every_path_is_served_by_its_registered_route_with_the_request(app: HttpServer) -> None:
    """One way in: /health is a route like the others (no branch in the server bypasses the table)."""
    from otel_mon.http.render import Request

    seen: list[Request] = []

    def echo(request: Request) -> Response:
        seen.append(request)
        return render_json(200, {"query": request.query})

    app.add_route("/health", echo)
    reply = app.respond("GET", "/health?strict&pretty", accept="application/json", accept_encoding="gzip")
    assert json.loads(reply.body) == {"query": "strict&pretty"}
    assert seen == [Request("application/json", "gzip", "strict&pretty")]


def test_health_reads_strict_and_pretty_from_its_request(registry: CollectorRegistry) -> None:
    doc = {"status": "critical", "health": {"status": "critical"}}
    app = HttpServer(HttpConfig(port=0), registry, lambda: (200, doc), lambda: True)
    assert app.respond("GET", "/health").status == 200
    assert app.respond("GET", "/health?strict").status == 503
    assert app.respond("GET", "/health?pretty").body.startswith(b'{\n  "health"')
