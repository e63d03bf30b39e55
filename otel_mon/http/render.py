"""Build HTTP responses as plain values: no sockets here, so every byte the server sends is testable alone."""

from __future__ import annotations

import gzip
import html
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from otel_mon.exposition import BatchRegistry

Headers = tuple[tuple[str, str], ...]

# Scrapes and probes must always see fresh state, never a proxy's cached copy.
_NO_STORE = ("Cache-Control", "no-store")


@dataclass(frozen=True)
class Request:
    """What a route may read of a request: the negotiation headers and the query string (auth is done)."""

    accept: str | None = None
    accept_encoding: str | None = None
    query: str = ""


@dataclass(frozen=True)
class Response:
    """What the server writes: a status, header pairs in order (Content-Length is the server's job), a body."""

    status: int
    headers: Headers
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


# Every route is this one shape, so the server has no per-path branch: it hands each route the request.
Route = Callable[[Request], Response]


OPENMETRICS = "openmetrics"
TEXT = "text"
# The one Accept value each format is rendered for: whatever the client sent, prometheus_client only ever
# sees these, so a malformed version cannot raise and a made-up one cannot become a new cache entry.
_CANONICAL_ACCEPT = {OPENMETRICS: "application/openmetrics-text; version=1.0.0", TEXT: ""}


def metrics_format(accept: str | None) -> str:
    """``OPENMETRICS`` when Accept names OpenMetrics 1.x (or no version) before Prometheus text, else ``TEXT``.

    Anything else (unknown types, bad versions or q-values, garbage) falls through to the default text format.
    """
    for item in (accept or "")[:4096].split(","):
        media, *params = (part.strip() for part in item.split(";"))
        options = dict(p.partition("=")[::2] for p in params)
        if options.get("q", "1").strip() in ("0", "0.0", "0.00", "0.000"):
            continue
        media = media.lower()
        if media == "application/openmetrics-text":
            version = options.get("version", "1.0.0").strip()
            if version.split(".")[0] == "1":
                return OPENMETRICS
        elif media == "text/plain":
            return TEXT
    return TEXT


def render_metrics(registry: CollectorRegistry, accept: str | None, accept_encoding: str | None) -> Response:
    """Expose ``registry`` in the format the scraper asked for: Prometheus text unless Accept names OpenMetrics."""
    fmt = metrics_format(accept)
    encoder, content_type = choose_encoder(_CANONICAL_ACCEPT[fmt])
    # The agent's registry renders straight from the collection batch (same bytes, a fraction of the CPU).
    body = registry.render(fmt == OPENMETRICS) if isinstance(registry, BatchRegistry) else encoder(registry)
    headers = [("Content-Type", content_type), ("Vary", "Accept, Accept-Encoding"), _NO_STORE]
    if gzip_allowed(accept_encoding):
        # Level 1: far less CPU than the default for a slightly larger body (the README's /metrics gzip rows).
        body = gzip.compress(body, compresslevel=1)
        headers.append(("Content-Encoding", "gzip"))
    return Response(200, tuple(headers), body)


class MetricsCache:
    """Rendered /metrics bodies per (format, gzip), kept until the data behind them changes.

    ``version`` names the data (the agent's collection count): every scrape of one interval, from one
    Prometheus or an HA pair, gets the same bytes, so only the first pays for rendering and compressing.
    """

    def __init__(self, registry: CollectorRegistry, version: Callable[[], object]) -> None:
        self.registry = registry
        self.version = version
        self._lock = threading.Lock()
        self._at: object = object()
        self._bodies: dict[tuple[str, bool], Response] = {}

    def render(self, accept: str | None, accept_encoding: str | None) -> Response:
        key = (metrics_format(accept), gzip_allowed(accept_encoding))
        version = self.version()
        with self._lock:
            if version != self._at:
                self._at, self._bodies = version, {}
            cached = self._bodies.get(key)
            if cached is None:
                cached = self._bodies[key] = render_metrics(self.registry, accept, accept_encoding)
            return cached


def gzip_allowed(accept_encoding: str | None) -> bool:
    """True when Accept-Encoding lists gzip (or ``*``) with a non-zero q-value.

    prometheus_client's own check ignores q-values, so ``gzip;q=0`` would still get gzip; this one does not.
    """
    weights: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding.lower()] = weight
    return weights.get("gzip", weights.get("*", 0.0)) > 0


def render_json(status: int, doc: Mapping[str, Any]) -> Response:
    """A JSON document with ``status``: /health passes its evaluator's verdict through unchanged."""
    body = (json.dumps(doc, sort_keys=True) + "\n").encode()
    return Response(status, (("Content-Type", "application/json"), _NO_STORE), body)


def render_health(status: int, doc: Mapping[str, Any], query: str = "") -> Response:
    """/health: 200 while the agent collects (503 starting or stale) whatever the host's state, so a monitor of
    the agent does not flap with the host. ``?strict`` also answers 503 when the host state is critical (for
    load balancers and uptime checks); ``?pretty`` indents the JSON for people."""
    flags = {part.split("=", 1)[0] for part in query.split("&") if part}
    health = doc.get("health")
    if "strict" in flags and isinstance(health, Mapping) and health.get("status") == "critical":
        status = 503
    indent = 2 if "pretty" in flags else None
    body = (json.dumps(doc, sort_keys=True, indent=indent) + "\n").encode()
    return Response(status, (("Content-Type", "application/json"), _NO_STORE), body)


def render_text(status: int, text: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """A short plain-text answer for errors (404, 405, 401, 500), with any extra headers."""
    return Response(status, (("Content-Type", "text/plain; charset=utf-8"), *headers), text.encode())


def render_index(paths: Iterable[str]) -> Response:
    """A tiny HTML page linking ``paths``, so a person opening the port in a browser finds the endpoints."""
    links = "".join(f'<li><a href="{html.escape(p)}">{html.escape(p)}</a></li>' for p in paths)
    page = f"<!doctype html>\n<html><head><title>otel-mon</title></head><body><h1>otel-mon</h1><ul>{links}</ul>"
    return Response(200, (("Content-Type", "text/html; charset=utf-8"),), (page + "</body></html>\n").encode())
