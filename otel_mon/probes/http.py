"""HTTP probe: one GET or HEAD, no redirects followed, with connect, TLS, first-byte and total times.

The request is written on a socket we connect ourselves, so each phase is timed and bounded by the run's
deadline; a watchdog shuts the socket down at the deadline, which also bounds a server that trickles bytes.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from urllib.parse import urlsplit

from otel_mon import __version__
from otel_mon.bounded_response import BoundedResponse
from otel_mon.deadline import Deadline, Watchdog
from otel_mon.netutil import connect, describe_error, resolve
from otel_mon.probes.config import ProbeConfig
from otel_mon.probes.result import ProbeResult

BODY_LIMIT = 1024 * 1024  # bytes read for body_regex; the rest is not downloaded
_CHUNK = 64 * 1024


def _tls_context(verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _request(cfg: ProbeConfig, host: str, port: int, default_port: int) -> bytes:
    parts = urlsplit(cfg.url or "")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    host_header = f"[{host}]" if ":" in host else host
    if port != default_port:
        host_header += f":{port}"
    lines = [f"{cfg.method} {target} HTTP/1.1", f"Host: {host_header}", f"User-Agent: otel-mon/{__version__}",
             "Accept: */*", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1", "strict")


def _status_ok(cfg: ProbeConfig, status: int) -> bool:
    return status in cfg.expect_status if cfg.expect_status else 200 <= status < 300


def run(cfg: ProbeConfig) -> ProbeResult:
    deadline = Deadline(cfg.timeout)
    parts = urlsplit(cfg.url or "")
    https = parts.scheme == "https"
    host = parts.hostname or ""
    default_port = 443 if https else 80
    port = parts.port or default_port
    at = time.time()
    start = time.perf_counter()
    phases: dict[str, float] = {}
    watchdog = Watchdog(deadline)
    sock: socket.socket | None = None

    def mark(name: str) -> None:
        phases[name] = time.perf_counter() - start

    def fail(exc: BaseException) -> ProbeResult:
        reason = describe_error(TimeoutError() if watchdog.fired.is_set() else exc, cfg.timeout)
        return ProbeResult(False, time.perf_counter() - start, reason, phases=phases, at=at)

    try:
        addrs = resolve(host, port, deadline)
        mark("resolve")
        sock = connect(addrs, deadline)
        mark("connect")
        watchdog.watch(sock)
        if https:
            sock.settimeout(deadline.remaining())
            sock = _tls_context(cfg.verify_tls).wrap_socket(sock, server_hostname=host)
            watchdog.watch(sock)
            mark("tls")
        sock.settimeout(deadline.remaining())
        sock.sendall(_request(cfg, host, port, default_port))
        response = BoundedResponse(sock, method=cfg.method)  # a head over 64 KiB fails the probe
        response.begin()
        mark("first_byte")
        body = bytearray()
        while len(body) < BODY_LIMIT:
            sock.settimeout(deadline.remaining())
            chunk = response.read(min(_CHUNK, BODY_LIMIT - len(body)))
            if not chunk:
                break
            body += chunk
        mark("total")
    except Exception as exc:
        return fail(exc)
    finally:
        watchdog.cancel()
        if sock is not None:
            sock.close()
    detail = f"HTTP {response.status}"
    duration = time.perf_counter() - start
    if not _status_ok(cfg, response.status):
        wanted = ", ".join(map(str, cfg.expect_status)) if cfg.expect_status else "2xx"
        return ProbeResult(False, duration, f"status {response.status}, expected {wanted}", detail, phases, at)
    if cfg.body_regex is not None:
        charset = response.headers.get_content_charset() or "utf-8"
        try:
            text = bytes(body).decode(charset, "replace")
        except LookupError:  # an unknown charset in the header
            text = bytes(body).decode("utf-8", "replace")
        if re.search(cfg.body_regex, text) is None:
            return ProbeResult(False, duration, "body does not match body_regex", detail, phases, at)
    return ProbeResult(True, duration, detail=detail, phases=phases, at=at)
