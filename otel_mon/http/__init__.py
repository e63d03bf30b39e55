"""The agent's HTTP side: /metrics, /health, /ready, with optional bearer token and TLS."""

from typing import TYPE_CHECKING

from otel_mon import lazy

if TYPE_CHECKING:
    from otel_mon.http.auth import TlsError
    from otel_mon.http.render import Response, render_json, render_metrics
    from otel_mon.http.server import HttpServer, ListenError

__getattr__ = lazy.exports(__name__, {
    "TlsError": "auth",
    "Response": "render",
    "render_json": "render",
    "render_metrics": "render",
    "HttpServer": "server",
    "ListenError": "server",
})

__all__ = ["HttpServer", "ListenError", "Response", "TlsError", "render_json", "render_metrics"]
