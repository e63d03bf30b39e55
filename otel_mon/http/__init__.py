"""The agent's HTTP side: /metrics, /health, /ready, with optional bearer token and TLS."""

from otel_mon.http.auth import TlsError
from otel_mon.http.render import Response, render_json, render_metrics
from otel_mon.http.server import HttpServer, ListenError

__all__ = ["HttpServer", "ListenError", "Response", "TlsError", "render_json", "render_metrics"]
