"""One HTTP POST of a JSON body, and what to do about its answer. The URL never appears in what it returns.

Retry on connection errors, timeouts, 408, 429 and 5xx; honour Retry-After (seconds or an HTTP date, or
Discord's ``retry_after`` in the JSON body); give up at once on other 4xx, which retrying cannot fix.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from otel_mon import __version__
from otel_mon.bounded_response import BoundedResponse
from otel_mon.deadline import Deadline, Watchdog
from otel_mon.netutil import connect, resolve
from otel_mon.retry_after import parse_retry_after

_RESPONSE_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Delivery:
    ok: bool
    retry: bool  # worth another attempt
    reason: str  # one line, no URL
    retry_after: float | None = None  # seconds the server asked us to wait


def post_json(url: str, body: bytes, timeout: float, token: str | None = None) -> Delivery:
    """One attempt, bounded as a whole by ``timeout``: resolve, connect, TLS, request and answer together.

    Socket timeouts alone bound each read, so a server trickling a byte at a time could hold the attempt
    indefinitely; the shared watchdog shuts the socket down at the deadline instead.
    """
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or ""
    https = parts.scheme == "https"
    deadline = Deadline(timeout)
    watchdog = Watchdog(deadline)
    conn: http.client.HTTPConnection
    if https:
        conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    conn.response_class = BoundedResponse  # the head is capped too; the body read below stops at its limit
    headers = {"Content-Type": "application/json", "User-Agent": f"otel-mon/{__version__}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    raw: socket.socket | None = None
    try:
        raw = connect(resolve(host, conn.port, deadline), deadline)
        watchdog.watch(raw)
        sock = raw
        if https:
            sock.settimeout(deadline.remaining())
            sock = ssl.create_default_context().wrap_socket(raw, server_hostname=host)
            watchdog.watch(sock)
        sock.settimeout(deadline.remaining())
        conn.sock = sock  # http.client uses it instead of connecting on its own
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read(_RESPONSE_LIMIT)
        if watchdog.fired.is_set():  # cut short at the deadline: the answer may be incomplete
            raise TimeoutError
    except Exception as exc:
        if watchdog.fired.is_set() or isinstance(exc, TimeoutError):
            return Delivery(False, True, f"timeout after {timeout:g}s")
        if isinstance(exc, ssl.SSLError):
            return Delivery(False, True, f"TLS error: {exc.reason or exc.__class__.__name__}")
        if isinstance(exc, OSError):
            return Delivery(False, True, exc.strerror or exc.__class__.__name__)
        if isinstance(exc, http.client.HTTPException):
            return Delivery(False, True, f"bad HTTP response ({exc.__class__.__name__})")
        raise
    finally:
        watchdog.cancel()
        conn.close()
        if raw is not None:
            raw.close()
    status = response.status
    if 200 <= status < 300:
        return Delivery(True, False, f"HTTP {status}")
    retry = status in (408, 429) or status >= 500
    wait = retry_after(response.getheader("Retry-After"), payload) if retry else None
    return Delivery(False, retry, f"HTTP {status}", wait)


def retry_after(header: str | None, payload: bytes, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta or HTTP date) or a JSON ``retry_after`` field."""
    seconds = parse_retry_after(header, now)
    if seconds is not None:
        return seconds
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    value = doc.get("retry_after") if isinstance(doc, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return max(float(value), 0.0)
    return None
