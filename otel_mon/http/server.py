"""Serve /metrics, /health, /ready and an index from a daemon thread; responses come from ``render``."""

from __future__ import annotations

import ipaddress
import logging
import socket
import socketserver
import ssl
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry

from otel_mon import __version__
from otel_mon.http.auth import authorized, tls_context, unauthorized
from otel_mon.http.config import HttpConfig
from otel_mon.http.render import MetricsCache, Response, render_index, render_json, render_metrics, render_text

log = logging.getLogger("otel_mon.http")

_ALLOW = "GET, HEAD"
# How often the serve loop checks for stop(): bounds stop()'s wait; an idle wake-up costs one select().
_POLL_INTERVAL = 0.1
# A connection idle this long (TLS handshake included) is dropped, so stalled clients cannot pin threads.
_IDLE_TIMEOUT = 30.0


class ListenError(OSError):
    """The address cannot be bound; ``str()`` is one line naming host:port, ``errno`` is kept."""

    def __str__(self) -> str:
        return str(self.strerror)


Route = Callable[[str | None, str | None], Response]


class HttpServer:
    """The agent's HTTP endpoints. ``respond`` decides every answer; the socket side only moves bytes.

    ``health`` returns (status code, JSON document) and is served as is; ``ready`` gates /ready (503 until true).
    """

    def __init__(
        self,
        cfg: HttpConfig,
        registry: CollectorRegistry,
        health: Callable[[], tuple[int, dict[str, Any]]],
        ready: Callable[[], bool],
        version: Callable[[], object] | None = None,
        pages: Mapping[str, Route] | None = None,
        public: Iterable[str] = (),
    ) -> None:
        """``version``, when given, names the data behind ``registry``: bodies are cached until it changes.

        ``pages`` adds routes (the status page's, which replace the index at ``/``); paths in ``public`` are
        served without the token (static files that hold no host data, see ``otel_mon.web``).
        """
        self._cfg = cfg
        self._registry = registry
        cache = MetricsCache(registry, version) if version is not None else None
        self._health = health
        self._ready = ready
        self._routes: dict[str, Route] = {
            "/": lambda accept, encoding: render_index(["/metrics", "/health", "/ready"]),
            "/metrics": cache.render if cache is not None else (
                lambda accept, encoding: render_metrics(self._registry, accept, encoding)),
            "/health": lambda accept, encoding: render_json(*self._health()),
            "/ready": lambda accept, encoding: self._render_ready(),
            **(pages or {}),
        }
        self._public = frozenset(public)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def respond(
        self,
        method: str,
        target: str,
        *,
        authorization: str | None = None,
        accept: str | None = None,
        accept_encoding: str | None = None,
    ) -> Response:
        """The response to one request; auth comes before routing, so unknown paths reveal nothing either."""
        path = urlsplit(target).path
        if path not in self._public and not authorized(self._cfg.token, authorization):
            return unauthorized(authorization)
        route = self._routes.get(path)
        if route is None:
            return render_text(404, "not found\n")
        if method not in ("GET", "HEAD"):
            return render_text(405, "method not allowed\n", [("Allow", _ALLOW)])
        try:
            return route(accept, accept_encoding)
        except Exception:
            log.exception("http: %s %s failed", method, path)
            return render_text(500, "internal error\n")

    def _render_ready(self) -> Response:
        ready = bool(self._ready())
        return render_json(200 if ready else 503, {"ready": ready})

    @property
    def port(self) -> int:
        """The bound port (differs from ``cfg.port`` when that is 0)."""
        if self._server is None:
            raise RuntimeError("http server is not started")
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind, then serve from a daemon thread; raise ``ListenError`` / ``TlsError`` (both ``OSError``)."""
        if self._server is not None:
            raise RuntimeError("http server is already started")
        cfg = self._cfg
        context = tls_context(cfg.tls_cert, cfg.tls_key) if cfg.tls_cert and cfg.tls_key else None
        where = f"[{cfg.host}]:{cfg.port}" if ":" in cfg.host else f"{cfg.host}:{cfg.port}"
        try:
            family, _, _, _, address = socket.getaddrinfo(
                cfg.host or None, cfg.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
            server = _Server(address, family, self)
        except OSError as exc:
            raise ListenError(exc.errno, f"http: cannot listen on {where}: {exc.strerror or exc}") from exc
        if context is not None:
            # The handshake is left to the connection's own thread (see _Handler.setup), not the accept loop.
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": _POLL_INTERVAL}, name="otel-mon-http", daemon=True
        )
        self._server = server
        self._thread.start()
        if cfg.token and not context and not _is_loopback(str(address[0])):
            log.warning("http: a token is set without TLS on %s: it travels in clear text", where)

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice or before ``start``."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        thread.join()

    def __enter__(self) -> HttpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: Any, family: socket.AddressFamily, app: HttpServer) -> None:
        self.address_family = family
        self.app = app
        self._open: set[socket.socket] = set()  # accepted connections, so stop() can end kept-alive ones
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open connection: a kept-alive scraper must not be answered by a stopped server."""
        with self._open_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call getfqdn(), a reverse DNS lookup that can stall start-up.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The base class prints a traceback to stderr; a dropped or non-TLS client is routine, not an error.
        log.debug("http: connection from %s failed: %r", client_address[0], sys.exc_info()[1])


class _Handler(BaseHTTPRequestHandler):
    server_version = f"otel-mon/{__version__}"
    sys_version = ""
    protocol_version = "HTTP/1.1"  # keep-alive: Prometheus reuses its connection between scrapes
    timeout = _IDLE_TIMEOUT
    # Headers and body go out in two writes; with Nagle on, keep-alive clients would wait for a delayed ACK.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def _serve(self) -> None:
        app = self.server.app if isinstance(self.server, _Server) else None
        if app is None:
            raise RuntimeError("handler attached to a foreign server")
        method = self.command
        # A request body is never read, so after one the stream cannot be reused.
        has_body = self.headers.get("Content-Length", "0") != "0" or "Transfer-Encoding" in self.headers
        response = app.respond(
            method,
            self.path,
            authorization=self.headers.get("Authorization"),
            accept=self.headers.get("Accept"),
            accept_encoding=self.headers.get("Accept-Encoding"),
        )
        # Logged before sending, so the line exists once the client has its answer. Path only: the query string
        # is ignored and may hold what should not be logged; headers are never logged.
        log.debug(
            '%s "%s %s" %d %d',
            self.address_string(),
            method,
            urlsplit(self.path).path,
            response.status,
            len(response.body),
        )
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if has_body or self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = _serve

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _serve writes the access line itself, with the body size

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: %s %s", self.address_string(), format % args)
