"""The status page's routes without a browser: public shell, guarded data, CSP, JSON that browsers parse."""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

from prometheus_client import CollectorRegistry

from otel_mon.config import HttpConfig
from otel_mon.http import HttpServer
from otel_mon.web import PUBLIC, History, StatusPage


def health() -> tuple[int, dict[str, Any]]:
    return 200, {"status": "ok", "host": {"cpu_percent": 12.5, "temperatures_celsius": {"x": math.nan}}}


def app(token: str | None = None) -> HttpServer:
    history = History(10.0)
    history.add(1.0, {"cpu": 12.5})
    page = StatusPage({"host": "box"}, health, history, lambda: [{"rule": "cpu"}], token_required=bool(token))
    return HttpServer(HttpConfig(port=0, token=token), CollectorRegistry(), health, lambda: True,
                      pages=page.routes(), public=PUBLIC)


def test_shell_is_public_and_data_needs_the_token() -> None:
    server = app("s3cret")
    for path in ("/", "/static/app.js", "/static/app.css"):
        assert server.respond("GET", path).status == 200
    for path in ("/api/status", "/health", "/metrics", "/static/other.js"):
        assert server.respond("GET", path).status == 401
    assert server.respond("GET", "/api/status", authorization="Bearer s3cret").status == 200
    assert b'data-auth="bearer"' in server.respond("GET", "/").body
    assert b'data-auth="none"' in app().respond("GET", "/").body


def test_csp_allows_only_the_agent_and_no_inline_code() -> None:
    shell = app().respond("GET", "/")
    csp = shell.header("Content-Security-Policy") or ""
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "connect-src 'self'" in csp
    body = shell.body.decode()
    assert "<script>" not in body and "<style" not in body and " style=" not in body and "://" not in body
    js = app().respond("GET", "/static/app.js")
    assert js.header("Content-Type") == "text/javascript; charset=utf-8" and b"innerHTML" not in js.body


def test_status_document_is_strict_json() -> None:
    reply = app().respond("GET", "/api/status", accept_encoding="gzip")
    assert reply.header("Content-Encoding") == "gzip" and reply.header("Cache-Control") == "no-store"
    doc = json.loads(gzip.decompress(reply.body), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert doc["about"] == {"host": "box"} and doc["health"]["host"]["temperatures_celsius"] == {"x": None}
    assert doc["history"]["series"]["cpu"] == [12.5] and doc["transitions"] == [{"rule": "cpu"}]
    assert doc["agent"] == {"cpu_percent": None, "rss_bytes": None}

