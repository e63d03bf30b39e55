"""A gRPC collector answering over the client's receive limit (issue 23): RESOURCE_EXHAUSTED raised by our own
stack is a failed attempt, retried, never a rejection of the batch (before the fix every line went to
quarantine and the collector got duplicates)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from otel_mon import schema
from otel_mon.forward.config import OtlpConfig, resolve
from otel_mon.forward.grpc_sender import METHODS, GrpcSender
from otel_mon.forward.outcome import Outcome


class _Huge(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Answers every Export with 5 MiB: over the 4 MiB a gRPC client takes by default."""

    def __init__(self) -> None:
        self.calls = 0

    def service(self, details: Any) -> Any:
        if details.method != METHODS["metrics"]:
            return None

        def export(request: bytes, context: Any) -> bytes:
            self.calls += 1
            return b"\x0a" + b"\xff" * (5 << 20)

        return grpc.unary_unary_rpc_method_handler(export)


@pytest.fixture
def huge() -> Iterator[tuple[str, _Huge]]:
    handler = _Huge()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"http://127.0.0.1:{port}", handler
    server.stop(None)


def test_an_answer_over_the_receive_limit_is_retried_not_rejected(huge: tuple[str, _Huge]) -> None:
    endpoint, handler = huge
    target = resolve(schema.build(OtlpConfig, {"endpoint": endpoint, "protocol": "grpc", "timeout": "5s"}),
                     "metrics")
    assert target is not None
    sender = GrpcSender(target)
    try:
        result = sender.send(b"")
    finally:
        sender.close()
    assert handler.calls == 1  # the collector was reached: the limit is ours
    assert result.outcome is Outcome.RETRY, result
    assert "RESOURCE_EXHAUSTED" in result.message
