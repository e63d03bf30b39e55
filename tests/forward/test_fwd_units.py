"""The forwarder's pure parts: cursor files, segment reading, OTLP-JSON parsing, backoff, classification."""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path
from typing import Any

import grpc
import pytest
from fwdkit import FakeSpool, logs_line, metrics_line
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from otel_mon.forward.backlog import LineCounter, SegmentReader, iter_lines
from otel_mon.forward.backoff import Backoff, RateLimiter
from otel_mon.forward.config import Target
from otel_mon.forward.cursor import cursor_path
from otel_mon.forward.requests import MalformedLine, parse_line
from otel_mon.forward.senders import HttpSender, Outcome, classify_grpc_error, parse_retry_after
from otel_mon.spool.cursor_files import Cursor, load_cursor, save_cursor
from otel_mon.spool.segments import list_segments

# ------------------------------------------------------------------------------------------------ cursor


def test_cursor_round_trip_leaves_no_temp_file(tmp_path: Path) -> None:
    path = cursor_path(tmp_path)
    assert load_cursor(path) is None
    saved = save_cursor(path, Cursor("metrics-20261125T031643123456Z", 42))
    assert load_cursor(path) == saved and saved.updated > 0
    assert json.loads(path.read_text())["line"] == 42
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cursor-forward.json"]


def test_a_crash_before_the_rename_keeps_the_old_cursor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = cursor_path(tmp_path)
    save_cursor(path, Cursor("metrics-20261125T031643123456Z", 1))

    def crash(*_args: Any) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_cursor(path, Cursor("metrics-20261125T031643123456Z", 2))
    monkeypatch.undo()
    loaded = load_cursor(path)
    assert loaded is not None and loaded.line == 1  # the half-written .tmp is never read


def test_readers_never_see_a_torn_cursor(tmp_path: Path) -> None:
    path = cursor_path(tmp_path)
    save_cursor(path, Cursor("metrics-20261125T031643123456Z", 0))
    done = threading.Event()
    seen: list[Cursor | None] = []

    def read() -> None:
        while not done.is_set():
            seen.append(load_cursor(path))

    reader = threading.Thread(target=read)
    reader.start()
    for line in range(1, 300):
        save_cursor(path, Cursor("metrics-20261125T031643123456Z", line))
    done.set()
    reader.join()
    assert seen and all(c is not None for c in seen)
    lines = [c.line for c in seen if c is not None]
    assert lines == sorted(lines)


@pytest.mark.parametrize("text", ["", "{", "[]", '{"segment": 1, "line": 2}', '{"segment": "s", "line": -1}'])
def test_an_invalid_cursor_restarts_from_the_oldest(tmp_path: Path, text: str) -> None:
    path = cursor_path(tmp_path)
    path.write_text(text)
    assert load_cursor(path) is None


# ------------------------------------------------------------------------------------------------ segments


def test_reader_returns_whole_lines_only_and_resumes(tmp_path: Path) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    spool.write(["a", "b"], raw_tail=b"c-partial")
    segment = list_segments(spool.dir, "metrics")[0]
    reader = SegmentReader(segment, start_line=1)
    assert reader.read_line() == b"b\n"
    assert reader.read_line() is None and reader.read_line() is None
    with open(segment.path, "ab") as handle:
        handle.write(b"-done\nd\n")
    assert reader.read_line() == b"c-partial-done\n"
    assert (reader.read_line(), reader.line) == (b"d\n", 4)
    reader.close()


def test_gz_segments_ignore_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "metrics-20261125T031643123456Z.jsonl.gz"
    path.write_bytes(gzip.compress(b"one\ntwo\nthr"))
    assert list(iter_lines(path)) == [b"one\n", b"two\n"]


def test_oversized_lines_are_skipped_keeping_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "metrics-20261125T031643123456Z.jsonl"
    path.write_bytes(b"first\n" + b"x" * (1024 * 1024 + 10) + b"\nlast\n")
    assert list(iter_lines(path)) == [b"first\n", b"\n", b"last\n"]


def test_line_counter_counts_growing_and_compressed_files(tmp_path: Path) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    spool.write(["a", "b"], raw_tail=b"par")
    counter = LineCounter()
    segment = list_segments(spool.dir, "metrics")[0]
    assert counter.count(segment)[0] == 2
    spool.write(["tial", "c"])
    assert counter.count(segment)[0] == 4
    assert spool.active is not None
    spool.compress(spool.active)
    assert counter.count(list_segments(spool.dir, "metrics")[0])[0] == 4


# ------------------------------------------------------------------------------------------------ OTLP-JSON


def test_metrics_lines_parse_into_export_requests() -> None:
    record = parse_line("metrics", metrics_line(7, points=3).encode())
    request = ExportMetricsServiceRequest.FromString(record.payload)
    points = request.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points
    assert [p.as_int for p in points] == [7, 7, 7] and record.points == 3
    assert record.timestamp is not None and record.timestamp > 1e9


def test_log_ids_are_hex_in_json_and_bytes_in_protobuf() -> None:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    record = parse_line("logs", logs_line(1, trace_id=0x0102030405060708090A0B0C0D0E0F10, span_id=0xAABB).encode())
    log = ExportLogsServiceRequest.FromString(record.payload).resource_logs[0].scope_logs[0].log_records[0]
    assert log.trace_id.hex() == "0102030405060708090a0b0c0d0e0f10"
    assert log.span_id.hex() == "000000000000aabb"


def test_concatenated_payloads_are_one_merged_request() -> None:
    body = b"".join(parse_line("metrics", metrics_line(i).encode()).payload for i in range(3))
    assert len(ExportMetricsServiceRequest.FromString(body).resource_metrics) == 3


def test_unknown_fields_are_ignored() -> None:
    line = json.loads(metrics_line(1))
    line["resourceMetrics"][0]["futureField"] = {"x": 1}
    assert parse_line("metrics", json.dumps(line).encode()).points == 1


@pytest.mark.parametrize("line", [b"{bad", b"[1]", b'{"resourceLogs": []}', b'{"resourceMetrics": [{"x": 1}]}x',
                                  b"\xff\xfe", b'{"resourceMetrics": "no"}'])
def test_malformed_lines(line: bytes) -> None:
    with pytest.raises(MalformedLine):
        parse_line("metrics", line)


# ------------------------------------------------------------------------------------------------ pacing


def test_backoff_doubles_with_jitter_caps_and_honours_the_server() -> None:
    low = Backoff(1.0, 8.0, rng=lambda: 0.0)
    assert [low.next() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    high = Backoff(1.0, 8.0, rng=lambda: 1.0)
    assert [high.next() for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    high.reset()
    assert high.next(server_delay=5.0) == 5.0 and high.next(server_delay=1e9) == 3600.0


def test_rate_limiter_is_a_token_bucket() -> None:
    now = [0.0]
    limiter = RateLimiter(10.0, 5, clock=lambda: now[0])
    assert limiter.delay(5) == 0.0
    limiter.take(5)
    assert limiter.delay(5) == pytest.approx(0.5)
    now[0] = 0.2
    assert limiter.delay(2) == 0.0 and limiter.delay(3) == pytest.approx(0.1)
    assert RateLimiter(0, 5).delay(10**6) == 0.0


def test_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None


# ------------------------------------------------------------------------------------------------ classification


class _RpcError(grpc.RpcError):  # type: ignore[misc]
    def __init__(self, code: grpc.StatusCode, retry: float | None = None) -> None:
        self._code = code
        self._trailers: tuple[tuple[str, bytes], ...] = ()
        if retry is not None:
            status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED)
            info = error_details_pb2.RetryInfo()
            info.retry_delay.FromNanoseconds(int(retry * 1e9))
            status.details.add().Pack(info)
            self._trailers = (("grpc-status-details-bin", status.SerializeToString()),)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "why"

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return self._trailers


@pytest.mark.parametrize(
    ("code", "retry", "outcome"),
    [
        (grpc.StatusCode.UNAVAILABLE, None, Outcome.RETRY),
        (grpc.StatusCode.DEADLINE_EXCEEDED, None, Outcome.RETRY),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 1.5, Outcome.RETRY),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, None, Outcome.REJECT),
        (grpc.StatusCode.INVALID_ARGUMENT, None, Outcome.REJECT),
        (grpc.StatusCode.INTERNAL, None, Outcome.RETRY),  # server errors cost latency, not data (issue 11)
        (grpc.StatusCode.UNKNOWN, None, Outcome.RETRY),
        (grpc.StatusCode.FAILED_PRECONDITION, None, Outcome.HOLD),
        (grpc.StatusCode.UNAUTHENTICATED, None, Outcome.HOLD),
        (grpc.StatusCode.UNIMPLEMENTED, None, Outcome.HOLD),
    ],
)
def test_grpc_classification(code: grpc.StatusCode, retry: float | None, outcome: Outcome) -> None:
    result = classify_grpc_error(_RpcError(code, retry))
    assert result.outcome is outcome and result.message.startswith(code.name)
    assert result.retry_after == retry


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, Outcome.OK), (429, Outcome.RETRY), (502, Outcome.RETRY), (503, Outcome.RETRY), (504, Outcome.RETRY),
     (400, Outcome.REJECT), (413, Outcome.REJECT), (500, Outcome.RETRY), (507, Outcome.RETRY),
     (501, Outcome.HOLD), (409, Outcome.HOLD), (401, Outcome.HOLD), (404, Outcome.HOLD), (301, Outcome.HOLD)],
)
def test_http_classification(status: int, outcome: Outcome) -> None:
    target = Target("metrics", "http/protobuf", "http://127.0.0.1:1/v1/metrics", False, {}, "none", 1.0)
    body = status_pb2.Status(message="server says no").SerializeToString()
    result = HttpSender(target)._classify(status, "Reason", "3", "application/x-protobuf", body)
    assert result.outcome is outcome
    if status != 200:
        assert "server says no" in result.message and str(status) in result.message
    if outcome is Outcome.RETRY:
        assert result.retry_after == 3.0


def test_grpc_metadata_refused_locally_is_held_not_rejected() -> None:
    """gRPC refuses an illegal metadata value before any server is reached (INTERNAL "Invalid metadata"): that
    says nothing about the batch, so it must be held and retried, never reject (skip) spool lines."""
    from otlp_receiver import OtlpReceiver

    from otel_mon.forward.senders import GrpcSender

    body = ExportMetricsServiceRequest().SerializeToString()
    with OtlpReceiver() as rx:
        address = rx.grpc_endpoint.split("//", 1)[-1]
        target = Target(signal="metrics", protocol="grpc", address=address, secure=False,
                        headers={"x-api-key": "tok\tsuffix"}, compression="none", timeout=5.0)
        sender = GrpcSender(target)
        try:
            result = sender.send(body)
        finally:
            sender.close()
        assert result.outcome is Outcome.HOLD, result
        assert "tok" not in result.message and rx.requests() == []


def test_http_timeout_bounds_the_whole_attempt_not_each_read() -> None:
    """A server that trickles its answer a byte at a time never trips a per-read timeout; the attempt's
    deadline must still end it."""
    import socket
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    done = threading.Event()

    def trickle() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                if done.wait(0.1):  # pacing of the trickle, not synchronisation
                    return
                try:
                    conn.send(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    target = Target(signal="metrics", protocol="http/protobuf", address=f"http://127.0.0.1:{port}/v1/metrics",
                    secure=False, headers={}, compression="none", timeout=0.5)
    sender = HttpSender(target)
    try:
        began = time.monotonic()
        result = sender.send(b"", 0.5)
        took = time.monotonic() - began
    finally:
        sender.close()
        done.set()
        thread.join(5)
        server.close()
    assert result.outcome is Outcome.RETRY and "timed out" in result.message, result
    assert took < 1.5, took  # the whole answer would take ~3.7 s
