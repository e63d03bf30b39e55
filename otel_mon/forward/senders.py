"""Deliver one serialized export request over OTLP/gRPC or OTLP/HTTP and classify the answer.

The classification follows the OTLP specification's retry rules, with one deliberate change for a
store-and-forward agent: answers that say "this endpoint refuses *us*" (unauthenticated, forbidden, not found,
unimplemented) are not dropped-and-skipped as the specification suggests for an in-memory exporter, because
every later batch would be skipped too and the whole spool lost to a bad token; they are held and retried at
backoff, reported as errors. Server errors (5xx, INTERNAL, UNKNOWN: a proxy or an overloaded collector) are
retried too: they cost latency, not data. Only answers about *this batch* (400, 413, 422, INVALID_ARGUMENT)
reject it; the forwarder then narrows the rejection down to single lines, which it keeps in quarantine.
Headers are secrets: they are sent, never logged, and never part of an error message.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import ssl
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from otel_mon.bounded_response import BoundedResponse, read_body
from otel_mon.deadline import Deadline, SharedWatchdog
from otel_mon.forward.config import Target
from otel_mon.forward.outcome import _MAX_MESSAGE, USER_AGENT, _clip, partial_success, status_message
from otel_mon.forward.outcome import Outcome as Outcome  # re-exported: callers know them from here
from otel_mon.forward.outcome import Result as Result
from otel_mon.retry_after import parse_retry_after


class Sender(Protocol):
    def send(self, body: bytes, timeout: float | None = None) -> Result: ...

    def idle(self) -> None:
        """The forwarder caught up and waits for new data: release what costs while unused."""

    def close(self) -> None: ...


def make_sender(target: Target, reconnect_backoff: tuple[float, float] = (1.0, 60.0)) -> Sender:
    if target.protocol == "grpc":
        # grpc is imported only by a forwarder that speaks it: ~10 MiB of RSS an OTLP/HTTP agent never needs.
        from otel_mon.forward.grpc_sender import GrpcSender

        return GrpcSender(target, reconnect_backoff)
    return HttpSender(target)


def __getattr__(name: str) -> Any:
    """The gRPC sender's names, for callers that know them from here (imported on first use)."""
    if name in ("GrpcSender", "classify_grpc_error"):
        from otel_mon.forward import grpc_sender

        return getattr(grpc_sender, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------------- HTTP

_HTTP_RETRY = {408, 429}  # and every 5xx but those below
_HTTP_HOLD_5XX = {501, 505}  # the endpoint cannot serve this protocol: no batch will fare better
# The only answers about the batch itself (malformed, too large, semantically refused); any other status
# says nothing against the data and holds it.
_HTTP_REJECT = {400, 413, 422}
# An export answer is a few hundred bytes (partial_success); a larger one is a failed attempt, never buffered.
MAX_RESPONSE_BODY = 1024 * 1024
# gzip level 1, as /metrics uses: on a host's 47 KB collection line it took half the CPU of level 6 (0.21 vs
# 0.42 ms for the protobuf body, 0.25 vs 0.59 ms for the JSON one) for 8 % (protobuf) / 17 % (JSON) more bytes.
GZIP_LEVEL = 1


class HttpSender:
    """A keep-alive ``http.client`` connection: stdlib only, typed, no proxy support (not needed for a
    collector on the same network)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        parts = urlsplit(target.address)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._context: ssl.SSLContext | None = None
        if self._https:
            self._context = ssl.create_default_context(cafile=target.certificate)
            if target.client_certificate:
                self._context.load_cert_chain(target.client_certificate, target.client_key)
        self._headers = {
            "Content-Type": "application/json" if target.protocol == "http/json" else "application/x-protobuf",
            "User-Agent": USER_AGENT,
            **dict(target.headers),
        }
        if target.compression == "gzip":
            self._headers["Content-Encoding"] = "gzip"
        self._conn: http.client.HTTPConnection | None = None
        # One watchdog thread for every attempt of this sender (a timer thread each cost a start and an exit).
        self._watchdog = SharedWatchdog("otel-mon-send-watchdog")

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=timeout,
                                                         context=self._context)
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
            self._conn.response_class = BoundedResponse  # a hostile endpoint's head cannot fill memory
        self._conn.timeout = timeout
        return self._conn

    def send(self, body: bytes, timeout: float | None = None) -> Result:
        data = gzip.compress(body, compresslevel=GZIP_LEVEL) if self.target.compression == "gzip" else body
        limit = timeout or self.target.timeout
        # The socket timeout bounds each read only; a server trickling bytes would hold us far past ``limit``.
        # A watchdog shuts the socket down at the deadline of the whole attempt.
        deadline = Deadline(limit)
        # A kept-alive connection the server closed while idle fails on first use: one fresh retry.
        for attempt in (0, 1):
            remaining = deadline.left()
            if remaining <= 0:
                break
            reused = self._conn is not None
            conn = self._connection(remaining)
            # http.client opens the socket itself: the watchdog looks it up at the deadline.
            expired = self._watchdog.arm(deadline, _socket_of(conn))
            try:
                conn.request("POST", self._path, body=data, headers=self._headers)
                response = conn.getresponse()
                payload = read_body(response, MAX_RESPONSE_BODY)
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if expired.is_set():
                    break
                if reused and attempt == 0:
                    continue
                return Result(Outcome.RETRY, _clip(f"{type(exc).__name__}: {exc}"))
            finally:
                self._watchdog.disarm()
            if expired.is_set():
                # The watchdog cut the answer short (a head or body trickled past the deadline): what arrived
                # may look complete to http.client, but it is not an answer.
                self.close()
                break
            if response.will_close:
                self.close()
            return self._classify(response.status, response.reason, response.getheader("Retry-After"),
                                  response.getheader("Content-Type") or "", payload)
        return Result(Outcome.RETRY, f"timed out: no complete answer within {limit:g}s")


    def _classify(self, status: int, reason: str, retry_after: str | None, content_type: str,
                  payload: bytes) -> Result:
        if 200 <= status < 300:
            rejected, message = partial_success(payload, content_type)
            return Result(Outcome.OK, _clip(message), rejected_items=rejected)
        message = _clip(f"HTTP {status} {reason}: {_status_message(payload, content_type)}")
        if status in _HTTP_RETRY or (500 <= status < 600 and status not in _HTTP_HOLD_5XX):
            return Result(Outcome.RETRY, message, parse_retry_after(retry_after))
        if status in _HTTP_REJECT:
            return Result(Outcome.REJECT, message)
        return Result(Outcome.HOLD, message)

    def idle(self) -> None:
        """Nothing to release: an idle kept-alive connection costs no wake-up (a closed one is reopened)."""

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _socket_of(conn: http.client.HTTPConnection) -> Callable[[], socket.socket | None]:
    return lambda: conn.sock  # type: ignore[no-any-return]


def _status_message(payload: bytes, content_type: str) -> str:
    """The server's reason: a google.rpc.Status message for protobuf bodies (or its JSON form), else the text."""
    if "protobuf" in content_type:
        return status_message(payload)
    if "json" in content_type:
        try:
            message = json.loads(payload).get("message")
            if isinstance(message, str):
                return message
        except (ValueError, AttributeError):
            pass
    return payload[:_MAX_MESSAGE].decode("utf-8", "replace")
