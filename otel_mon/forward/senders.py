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

import enum
import gzip
import http.client
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import grpc
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import MetricsServiceStub

from otel_mon import __version__
from otel_mon.deadline import Deadline, Watchdog
from otel_mon.forward.config import Target
from otel_mon.forward.requests import request_type
from otel_mon.retry_after import parse_retry_after
from otel_mon.urls import redact_text

USER_AGENT = f"otel-mon/{__version__}"
_MAX_MESSAGE = 300


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"  # transient: try the same batch again later
    HOLD = "hold"  # the endpoint refuses every batch (auth, path): keep the data, retry at backoff
    REJECT = "reject"  # this batch is refused for good: count it and move on


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    message: str = ""
    retry_after: float | None = None
    rejected_items: int = 0  # partial success: data points / log records the server dropped


class Sender(Protocol):
    def send(self, body: bytes, timeout: float | None = None) -> Result: ...

    def close(self) -> None: ...


def make_sender(target: Target, reconnect_backoff: tuple[float, float] = (1.0, 60.0)) -> Sender:
    if target.protocol == "grpc":
        return GrpcSender(target, reconnect_backoff)
    return HttpSender(target)


def _clip(text: str) -> str:
    flat = " ".join(redact_text(text).split())  # an error may quote the endpoint, ?api_key= and all
    return flat if len(flat) <= _MAX_MESSAGE else flat[: _MAX_MESSAGE - 3] + "..."


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def _partial(response: Message) -> tuple[int, str]:
    partial = getattr(response, "partial_success", None)
    if partial is None:
        return 0, ""
    rejected = int(getattr(partial, "rejected_data_points", 0) or getattr(partial, "rejected_log_records", 0))
    return rejected, str(partial.error_message)


# --------------------------------------------------------------------------------------------------- gRPC

_GRPC_RETRY = {
    grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS,
    grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN,
}
# The only answers about the batch itself (RESOURCE_EXHAUSTED without RetryInfo: a message too large); every
# other failure says nothing against the data.
_GRPC_REJECT = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}

# INTERNAL / UNKNOWN raised by our own gRPC stack (no server reached) are held: retrying soon will not help.
_GRPC_LOCAL = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}


class GrpcSender:
    """One long-lived channel; its own reconnect backoff is tied to ours so recovery is noticed promptly."""

    def __init__(self, target: Target, reconnect_backoff: tuple[float, float] = (1.0, 60.0)) -> None:
        self.target = target
        low, high = (int(v * 1000) for v in reconnect_backoff)
        options: list[tuple[str, Any]] = [
            ("grpc.primary_user_agent", USER_AGENT),
            ("grpc.initial_reconnect_backoff_ms", max(low, 50)),
            ("grpc.min_reconnect_backoff_ms", max(low, 50)),
            ("grpc.max_reconnect_backoff_ms", max(high, low, 50)),
        ]
        compression = grpc.Compression.Gzip if target.compression == "gzip" else grpc.Compression.NoCompression
        if target.secure:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(target.certificate),
                private_key=_read(target.client_key),
                certificate_chain=_read(target.client_certificate),
            )
            self._channel = grpc.secure_channel(target.address, credentials, options, compression)
        else:
            self._channel = grpc.insecure_channel(target.address, options, compression)
        stub_type: Any = MetricsServiceStub if target.signal == "metrics" else LogsServiceStub
        stub = stub_type(self._channel)
        self._export = stub.Export
        self._request_type = request_type(target.signal)
        self._metadata = tuple((key.lower(), value) for key, value in target.headers.items())

    def send(self, body: bytes, timeout: float | None = None) -> Result:
        request = self._request_type.FromString(body)
        try:
            response = self._export(request, timeout=timeout or self.target.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            return classify_grpc_error(err)
        rejected, message = _partial(response)
        return Result(Outcome.OK, _clip(message), rejected_items=rejected)

    def close(self) -> None:
        self._channel.close()


def classify_grpc_error(err: grpc.RpcError) -> Result:
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else ""
    message = _clip(f"{code.name}: {details or ''}")
    retry_after = _retry_info(err)
    if code in _GRPC_LOCAL and _raised_locally(err):
        return Result(Outcome.HOLD, message)
    if code in _GRPC_RETRY or (code == grpc.StatusCode.RESOURCE_EXHAUSTED and retry_after is not None):
        return Result(Outcome.RETRY, message, retry_after)
    if code in _GRPC_REJECT:
        return Result(Outcome.REJECT, message)
    return Result(Outcome.HOLD, message)


def _raised_locally(err: grpc.RpcError) -> bool:
    """True when the error never reached a server (e.g. gRPC refusing our own metadata): it says nothing about
    the batch, so it must not reject it. A server's answer carries "received from peer" in its debug string."""
    if not hasattr(err, "debug_error_string"):
        return False
    return "from peer" not in (err.debug_error_string() or "")


def _retry_info(err: grpc.RpcError) -> float | None:
    """The RetryInfo delay from the ``grpc-status-details-bin`` trailer (a google.rpc.Status), if any."""
    trailers = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
    for key, value in trailers or ():
        if key != "grpc-status-details-bin" or not isinstance(value, bytes):
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except DecodeError:
            return None
        for detail in status.details:
            info = error_details_pb2.RetryInfo()
            if detail.Unpack(info):
                return float(info.retry_delay.seconds + info.retry_delay.nanos / 1e9)
    return None


# --------------------------------------------------------------------------------------------------- HTTP

_HTTP_RETRY = {408, 429}  # and every 5xx but those below
_HTTP_HOLD_5XX = {501, 505}  # the endpoint cannot serve this protocol: no batch will fare better
# The only answers about the batch itself (malformed, too large, semantically refused); any other status
# says nothing against the data and holds it.
_HTTP_REJECT = {400, 413, 422}


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
            "Content-Type": "application/x-protobuf",
            "User-Agent": USER_AGENT,
            **dict(target.headers),
        }
        if target.compression == "gzip":
            self._headers["Content-Encoding"] = "gzip"
        self._conn: http.client.HTTPConnection | None = None
        self._response_type = ExportMetricsServiceResponse if target.signal == "metrics" else ExportLogsServiceResponse

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=timeout,
                                                         context=self._context)
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        self._conn.timeout = timeout
        return self._conn

    def send(self, body: bytes, timeout: float | None = None) -> Result:
        data = gzip.compress(body, compresslevel=6) if self.target.compression == "gzip" else body
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
            watchdog = Watchdog(deadline)
            expired = watchdog.fired
            watchdog.watch(_socket_of(conn))  # http.client opens the socket itself: look it up at the deadline
            try:
                conn.request("POST", self._path, body=data, headers=self._headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if expired.is_set():
                    break
                if reused and attempt == 0:
                    continue
                return Result(Outcome.RETRY, _clip(f"{type(exc).__name__}: {exc}"))
            finally:
                watchdog.cancel()
            if response.will_close or expired.is_set():
                self.close()
            return self._classify(response.status, response.reason, response.getheader("Retry-After"),
                                  response.getheader("Content-Type") or "", payload)
        return Result(Outcome.RETRY, f"timed out: no complete answer within {limit:g}s")


    def _classify(self, status: int, reason: str, retry_after: str | None, content_type: str,
                  payload: bytes) -> Result:
        if 200 <= status < 300:
            response = self._response_type()
            try:
                if payload and "protobuf" in content_type:
                    response.ParseFromString(payload)
            except DecodeError:
                pass
            rejected, message = _partial(response)
            return Result(Outcome.OK, _clip(message), rejected_items=rejected)
        message = _clip(f"HTTP {status} {reason}: {_status_message(payload, content_type)}")
        if status in _HTTP_RETRY or (500 <= status < 600 and status not in _HTTP_HOLD_5XX):
            return Result(Outcome.RETRY, message, parse_retry_after(retry_after))
        if status in _HTTP_REJECT:
            return Result(Outcome.REJECT, message)
        return Result(Outcome.HOLD, message)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _socket_of(conn: http.client.HTTPConnection) -> Callable[[], socket.socket | None]:
    return lambda: conn.sock  # type: ignore[no-any-return]


def _status_message(payload: bytes, content_type: str) -> str:
    """The server's reason: a google.rpc.Status message for protobuf bodies, else the text itself."""
    if "protobuf" in content_type:
        try:
            return str(status_pb2.Status.FromString(payload).message)
        except DecodeError:
            return ""
    return payload[:_MAX_MESSAGE].decode("utf-8", "replace")
