"""OTLP/gRPC sender: one long-lived channel per signal; status codes mapped to the forwarder's outcomes.

Apart from the HTTP sender so that grpc is only imported by an agent forwarding over gRPC. The request is
the bytes ``otlp_wire`` wrote and the answer is read by ``outcome``: the call carries bytes both ways (no
serializer), so neither generated stubs nor the protobuf runtime are loaded.
"""

from __future__ import annotations

from typing import Any

import grpc

from otel_mon.forward.config import Target
from otel_mon.forward.outcome import USER_AGENT, Outcome, Result, _clip, _read, partial_success, retry_delay

# The services' method paths (opentelemetry/proto/collector/*/v1/*_service.proto).
METHODS = {"metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
           "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export"}

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
    """One channel while there is something to send; its own reconnect backoff is tied to ours so recovery is
    noticed promptly. ``idle`` closes it: an open channel keeps grpc's poller threads waking ~20 times a second
    (measured: ~1,300 wake-ups a minute, more CPU an hour than the sends), and reopening it costs ~2 ms."""

    def __init__(self, target: Target, reconnect_backoff: tuple[float, float] = (1.0, 60.0)) -> None:
        self.target = target
        low, high = (int(v * 1000) for v in reconnect_backoff)
        self._options: list[tuple[str, Any]] = [
            ("grpc.primary_user_agent", USER_AGENT),
            ("grpc.initial_reconnect_backoff_ms", max(low, 50)),
            ("grpc.min_reconnect_backoff_ms", max(low, 50)),
            ("grpc.max_reconnect_backoff_ms", max(high, low, 50)),
        ]
        self._compression = grpc.Compression.Gzip if target.compression == "gzip" else grpc.Compression.NoCompression
        self._credentials: grpc.ChannelCredentials | None = None
        if target.secure:
            self._credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(target.certificate),
                private_key=_read(target.client_key),
                certificate_chain=_read(target.client_certificate),
            )
        self._metadata = tuple((key.lower(), value) for key, value in target.headers.items())
        self._channel: grpc.Channel | None = None
        self._export: Any = None

    def _open(self) -> Any:
        if self._channel is None:
            if self._credentials is not None:
                self._channel = grpc.secure_channel(self.target.address, self._credentials, self._options,
                                                    self._compression)
            else:
                self._channel = grpc.insecure_channel(self.target.address, self._options, self._compression)
            self._export = self._channel.unary_unary(METHODS[self.target.signal])  # bytes in, bytes out
        return self._export

    def send(self, body: bytes, timeout: float | None = None) -> Result:
        export = self._open()
        try:
            response = export(body, timeout=timeout or self.target.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            return classify_grpc_error(err)
        rejected, message = partial_success(response if isinstance(response, bytes) else b"")
        return Result(Outcome.OK, _clip(message), rejected_items=rejected)

    def idle(self) -> None:
        """Caught up: close the channel (and let grpc's threads end) until the next send."""
        self.close()

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
            self._export = None


def classify_grpc_error(err: grpc.RpcError) -> Result:
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else ""
    message = _clip(f"{code.name}: {details or ''}")
    retry_after = _retry_info(err)
    if code in _GRPC_LOCAL and _raised_locally(err):
        return Result(Outcome.HOLD, message)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "CLIENT: Received message larger than max" in (details or ""):
        # Our own receive limit refused the answer (larger than 4 MiB): nothing said against the batch, which
        # must not be quarantined; the attempt failed and is retried.
        return Result(Outcome.RETRY, message)
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
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            return retry_delay(value)
    return None
