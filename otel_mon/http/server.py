"""Serve /metrics, /health, /ready and an index; responses come from ``render``, bytes from ``wire``.

The connection loop is ``listener``'s: one thread reads heads and writes answers for every connection, a few
workers call ``answer``. Hostile clients are held to limits applied before anything else: a cap on open
connections (fds are kept free for collection, ``open_connections``), a whole-head deadline and byte limit
(``listener``, ``wire``), and a pause instead of a busy loop when accept fails for want of file descriptors.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry

from otel_mon.http import wire
from otel_mon.http.auth import authorized, tls_context, unauthorized
from otel_mon.http.config import HttpConfig
from otel_mon.http.hosts import allowed_names, host_allowed
from otel_mon.http.listener import Listener
from otel_mon.http.open_connections import connection_cap
from otel_mon.http.render import (
    MetricsCache,
    Request,
    Response,
    Route,
    render_health,
    render_index,
    render_json,
    render_metrics,
    render_text,
)

log = logging.getLogger("otel_mon.http")


class MetricSink(Protocol):
    """What :meth:`HttpServer.register_metrics` needs: ``otel_mon.instruments.Instruments`` fits."""

    def provide(self, name: str, provider: Callable[[], Any]) -> None: ...

_ALLOW = "GET, HEAD"
# Connections waiting for a slot (or for the accept thread to run) queue here; the kernel caps it at somaxconn.
_BACKLOG = 1024


class ListenError(OSError):
    """The address cannot be bound; ``str()`` is one line naming host:port, ``errno`` is kept."""

    def __str__(self) -> str:
        return str(self.strerror)


class HttpServer:
    """The agent's HTTP endpoints. ``respond`` decides every answer; the socket side only moves bytes.

    ``status`` returns (status code, the status document), served at /health as is; ``ready`` gates /ready
    (503 until true).
    Routes are a table: ``add_route`` plugs in more pages (the status page) without touching the server.
    """

    def __init__(
        self,
        cfg: HttpConfig,
        registry: CollectorRegistry,
        status: Callable[[], tuple[int, dict[str, Any]]],
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
        self._status = status
        self._ready = ready
        self._routes: dict[str, Route] = {}
        self.add_route("/", lambda request: render_index(["/metrics", "/health", "/ready"]))
        self.add_route("/metrics", (lambda r: cache.render(r.accept, r.accept_encoding)) if cache is not None else (
            lambda r: render_metrics(self._registry, r.accept, r.accept_encoding)))
        self.add_route("/health", lambda r: render_health(*self._status(), r.query))  # ?strict, ?pretty
        self.add_route("/ready", lambda request: self._render_ready())
        for path, page in (pages or {}).items():
            self.add_route(path, page)
        self._public = frozenset(public)
        self._listener: Listener | None = None
        self._closed = {"evicted": 0, "refused": 0}  # the counts of a stopped listener
        self._hosts = allowed_names(cfg.host, cfg.allowed_hosts)

    def add_route(self, path: str, route: Route) -> None:
        """Serve ``route`` at ``path`` (replacing what was there), behind the same auth and limits."""
        self._routes[path] = route

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
        parts = urlsplit(target)
        path = parts.path
        if path not in self._public and not authorized(self._cfg.token, authorization):
            return unauthorized(authorization)
        route = self._routes.get(path)
        if route is None:
            return render_text(404, "not found\n")
        if method not in ("GET", "HEAD"):
            return render_text(405, "method not allowed\n", [("Allow", _ALLOW)])
        try:
            return route(Request(accept, accept_encoding, parts.query))
        except Exception:
            log.exception("http: %s %s failed", method, path)
            return render_text(500, "internal error\n")

    def _render_ready(self) -> Response:
        ready = bool(self._ready())
        return render_json(200 if ready else 503, {"ready": ready})

    @property
    def port(self) -> int:
        """The bound port (differs from ``cfg.port`` when that is 0)."""
        if self._listener is None:
            raise RuntimeError("http server is not started")
        return int(self._listener.sock.getsockname()[1])

    @property
    def open_connections(self) -> int:
        return len(self._listener.connections) if self._listener is not None else 0

    def connection_counts(self) -> dict[str, int]:
        """Open connections now; evicted and refused since start (the connection cap at work)."""
        conns = self._listener.connections if self._listener is not None else None
        if conns is None:
            return {"open": 0, "evicted": self._closed["evicted"], "refused": self._closed["refused"]}
        return {"open": len(conns), "evicted": conns.evicted, "refused": conns.refused}

    def status(self) -> dict[str, Any]:
        """The ``http`` part of /health: connection counts, so a lockout attempt shows where it is read."""
        return {"connections": self.connection_counts()}

    def register_metrics(self, instruments: MetricSink) -> None:
        """Provide ``otel_mon.http.connections.closed`` (agent_metrics.py): connections closed early, by reason."""

        def closed() -> list[tuple[float, dict[str, str]]]:
            counts = self.connection_counts()
            return [(float(counts[r]), {"otel_mon.reason": r}) for r in ("evicted", "refused")]

        instruments.provide("otel_mon.http.connections.closed", closed)

    def start(self) -> None:
        """Bind, then serve from a daemon thread; raise ``ListenError`` / ``TlsError`` (both ``OSError``)."""
        if self._listener is not None:
            raise RuntimeError("http server is already started")
        cfg = self._cfg
        context = tls_context(cfg.tls_cert, cfg.tls_key) if cfg.tls_cert and cfg.tls_key else None
        where = f"[{cfg.host}]:{cfg.port}" if ":" in cfg.host else f"{cfg.host}:{cfg.port}"
        try:
            family, _, _, _, address = socket.getaddrinfo(
                cfg.host or None, cfg.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(address)
                sock.listen(_BACKLOG)
            except BaseException:
                sock.close()
                raise
        except OSError as exc:
            raise ListenError(exc.errno, f"http: cannot listen on {where}: {exc.strerror or exc}") from exc
        cap = connection_cap(cfg.max_connections)
        self._listener = Listener(self, sock, context, cap, min(cfg.max_connections_per_client, cap))
        self._listener.start()
        if cfg.token and not context and not _is_loopback(str(address[0])):
            log.warning("http: a token is set without TLS on %s: it travels in clear text", where)

    def stop(self) -> None:
        """Stop serving, close the socket and every open connection; safe to call twice or before ``start``."""
        listener, self._listener = self._listener, None
        if listener is not None:
            self._closed = {"evicted": listener.connections.evicted, "refused": listener.connections.refused}
            listener.stop()

    def __enter__(self) -> HttpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one connection ------------------------------------------------------------------------------------

    @property
    def header_timeout(self) -> float:
        return float(self._cfg.header_timeout)

    def answer(self, head: bytes, peer: str) -> tuple[bytes, bool]:
        """The bytes answering one complete request head, and whether the connection closes after them.

        A worker thread of ``listener`` calls it; the listener marks the connection busy meanwhile, idle after.
        """
        try:
            request = wire.parse_head(head)
        except wire.BadRequest as bad:
            if bad.host_missing and not self._cfg.token:
                return self._misdirected(peer, None), True
            return self.refuse(bad, peer), True
        if not self._cfg.token and not host_allowed(request.header("host"), self._hosts):
            return self._misdirected(peer, request.header("host")), True
        response = self.respond(
            request.method,
            request.target,
            authorization=request.header("authorization"),
            accept=request.header("accept"),
            accept_encoding=request.header("accept-encoding"),
        )
        # A request body is never read, so after one the stream cannot be reused. After a 4xx the client
        # reconnects: a client without the token must not hold a slot by asking again and again.
        close = request.has_body or not request.keep_alive or 400 <= response.status < 500
        # Path only: the query string may hold what should not be logged; headers are never logged.
        log.debug('%s "%s %s" %d %d', peer, request.method, urlsplit(request.target).path, response.status,
                  len(response.body))
        data = wire.response_head(response, close=close)
        if request.method != "HEAD":
            data += response.body
        return data, close

    def refuse(self, bad: wire.BadRequest, peer: str) -> bytes:
        """The answer to a head that cannot be served (malformed, too large, too slow); the connection closes."""
        log.debug("http: %s bad request: %d %s", peer, bad.status, bad)
        response = render_text(bad.status, f"{bad}\n")
        return wire.response_head(response, close=True) + response.body

    def _misdirected(self, peer: str, host: str | None) -> bytes:
        """421 for a Host that is not ours (or none) without a token: DNS rebinding (``otel_mon.http.hosts``)."""
        log.debug("http: %s refused: Host %r is not ours and no token is set", peer, host)
        response = render_text(421, "misdirected request: this Host is not served without a token "
                               "(http.allowed_hosts)\n")
        return wire.response_head(response, close=True) + response.body


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
