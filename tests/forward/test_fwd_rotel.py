"""Interop with an independent OTLP implementation: rotel (a Rust collector shipped as a PyPI wheel).

The forwarder sends to rotel's OTLP receiver over gRPC and HTTP/protobuf; rotel exports over OTLP/gRPC to our
test receiver, which checks every line arrived. Rotel parsing what we send is the point: our receiver shares
its protobuf code with the forwarder, rotel does not. Skipped when the ``rotel`` wheel is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fwdkit import FakeSpool, fast_config, logs_line, metrics_line, poll, sequences, start
from otlp_receiver import OtlpReceiver

from otel_mon.forward import Forwarder


def _rotel_binary() -> str | None:
    explicit = os.environ.get("ROTEL_AGENT_BIN") or shutil.which("rotel-agent")
    if explicit:
        return explicit
    spec = importlib.util.find_spec("rotel")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).with_name("rotel-agent")
    return str(binary) if binary.exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def rotel(receiver: OtlpReceiver) -> Iterator[tuple[int, int]]:
    binary = _rotel_binary()
    if binary is None:
        pytest.skip("rotel is not installed (pip install rotel: its wheel ships the rotel-agent binary)")
    grpc_port, http_port = _free_port(), _free_port()
    proc = subprocess.Popen(
        [binary, "start", "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
         "--otlp-http-endpoint", f"127.0.0.1:{http_port}", "--exporter", "otlp",
         "--otlp-exporter-endpoint", receiver.grpc_endpoint, "--otlp-exporter-protocol", "grpc",
         "--batch-timeout", "50ms"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        poll(lambda: proc.poll() is not None or (_listening(grpc_port) and _listening(http_port)), 10, "rotel")
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        yield grpc_port, http_port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_rotel_accepts_what_we_send(tmp_path: Path, rotel: tuple[int, int], receiver: OtlpReceiver,
                                    forwarders: list[Forwarder], protocol: str) -> None:
    port = rotel[0] if protocol == "grpc" else rotel[1]
    FakeSpool(tmp_path, "metrics").write([metrics_line(i, points=2) for i in range(12)])
    FakeSpool(tmp_path, "logs").write([logs_line(i) for i in range(6)])
    forwarder = start(forwarders, fast_config(f"http://127.0.0.1:{port}", protocol, max_batch_records=5), tmp_path)
    assert receiver.wait_for(lambda r: len(sequences(r)) >= 12 and len(sequences(r, "logs")) >= 6, timeout=15)
    assert sorted(sequences(receiver)) == list(range(12))  # rotel re-batches: order across its batches may move
    assert sorted(sequences(receiver, "logs")) == list(range(6))
    log = receiver.requests("logs")[0].request.resource_logs[0].scope_logs[0].log_records[0]
    assert log.trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    poll(lambda: forwarder.signals["metrics"].counters.sent == 12 and forwarder.signals["logs"].counters.sent == 6)
