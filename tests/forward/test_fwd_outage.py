"""Outages: the collector down, answering UNAVAILABLE / 503, rejecting one batch; drain rate; stop; gaps."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fwdkit import PROTOCOLS, FakeSpool, fast_config, has_seq, logs_line, metrics_line, poll, sequences, start
from otlp_receiver import OtlpReceiver

from otel_mon.forward import Forwarder
from otel_mon.forward.cursor import cursor_path
from otel_mon.spool.cursor_files import Cursor, save_cursor


def _wait_retries(forwarder: Forwarder, count: int, timeout: float = 10.0) -> None:
    signal = forwarder.signals["metrics"]
    poll(lambda: signal.counters.retries >= count, timeout, f"{count} retries")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_outage_then_unavailable_then_one_rejected_batch(tmp_path: Path, forwarders: list[Forwarder],
                                                          caplog: pytest.LogCaptureFixture, protocol: str) -> None:
    caplog.set_level(logging.INFO, logger="otel_mon.forward")
    spool = FakeSpool(tmp_path, "metrics")
    with OtlpReceiver() as receiver:
        config = fast_config(receiver.endpoint(protocol), protocol, max_batch_records=5)
        forwarder = start(forwarders, config, tmp_path)
        seq = 0

        def interval(lines: int = 4) -> None:  # one export interval of the agent: write, rotate now and then
            nonlocal seq
            spool.write([metrics_line(seq + i) for i in range(lines)])
            seq += lines
            forwarder.notify()

        interval()
        assert receiver.wait_for(lambda r: len(sequences(r)) == 4)
        poll(lambda: forwarder.signals["metrics"].counters.sent == 4)  # acked: going down now cannot cause a resend

        # 1. The collector is down for several intervals.
        receiver.down()
        checks = []
        for n in range(4):
            interval()
            if n == 1:
                spool.rotate()
            _wait_retries(forwarder, forwarder.signals["metrics"].counters.retries + 1)
            checks.append(forwarder.status()["signals"]["metrics"])  # type: ignore[index]
        assert [c["backlog_records"] for c in checks] == [4, 8, 12, 16]
        assert checks[-1]["degraded"] is True
        assert checks[-1]["lag_seconds"] > 0
        assert checks[-1]["last_error"] is not None
        receiver.up()
        assert receiver.wait_for(lambda r: len(sequences(r)) == 20, timeout=15)

        # 2. The collector answers UNAVAILABLE / 503 for a while.
        receiver.fail_next(6)
        for _ in range(3):
            interval()
        assert receiver.wait_for(lambda r: len(sequences(r)) == 32, timeout=15)
        assert receiver.failures_answered == 6

        # 3. One batch is refused for good (INVALID_ARGUMENT / 400): counted, skipped, the rest flows.
        receiver.reject_when(lambda request: has_seq(request, 34), "point 34 is bad")
        for _ in range(3):
            interval()
        assert receiver.wait_for(lambda r: len(sequences(r)) == 43, timeout=15)
        # The receiver stays up until the forwarder has its last ack (else it resends: at-least-once).
        poll(lambda: forwarder.signals["metrics"].counters.sent == 43)

    expected = [n for n in range(44) if n != 34]
    assert sequences(receiver) == expected  # every other record exactly once, in order
    signal = forwarder.signals["metrics"]
    assert signal.failed["rejected"] == 1
    assert signal.counters.retries >= 4 + 6
    assert "point 34 is bad" in caplog.text
    assert forwarder.stop(2.0)
    assert forwarder.status()["signals"]["metrics"]["backlog_records"] == 0  # type: ignore[index]


def test_retry_info_and_retry_after_are_honoured(tmp_path: Path, receiver: OtlpReceiver) -> None:
    from otel_mon.forward.config import resolve
    from otel_mon.forward.senders import Outcome, make_sender
    payload = _payload()
    for protocol, retry_after in (("grpc", 0.3), ("http/protobuf", 2.0)):
        target = resolve(fast_config(receiver.endpoint(protocol), protocol), "metrics")
        assert target is not None
        sender = make_sender(target)
        try:
            receiver.fail_next(1, retry_after=retry_after, kind="throttle")
            result = sender.send(payload)
            assert result.outcome is Outcome.RETRY and result.retry_after == pytest.approx(retry_after)
            receiver.fail_next(1, kind="throttle")  # RESOURCE_EXHAUSTED without RetryInfo: not retryable
            result = sender.send(payload)
            expected = Outcome.REJECT if protocol == "grpc" else Outcome.RETRY  # HTTP 429 always retries
            assert result.outcome is expected
            assert sender.send(payload).outcome is Outcome.OK
        finally:
            sender.close()


def _payload() -> bytes:
    from otel_mon.forward.requests import parse_line

    return parse_line("metrics", metrics_line(1).encode()).payload


def test_backlog_drains_at_the_configured_rate(tmp_path: Path, receiver: OtlpReceiver,
                                              forwarders: list[Forwarder]) -> None:
    FakeSpool(tmp_path, "metrics").write([metrics_line(i) for i in range(60)])
    began = time.monotonic()
    start(forwarders, fast_config(receiver.http_endpoint, drain_rate=100, max_batch_records=10), tmp_path)
    assert receiver.wait_for(lambda r: len(sequences(r)) == 60)
    # A burst of 10 lines, then 50 more at 100 lines/s: at least half a second.
    assert time.monotonic() - began >= 0.45
    assert sequences(receiver) == list(range(60))


def test_stop_flushes_what_it_can(tmp_path: Path, receiver: OtlpReceiver) -> None:
    FakeSpool(tmp_path, "metrics").write([metrics_line(i) for i in range(30)])
    forwarder = Forwarder(fast_config(receiver.grpc_endpoint, "grpc", max_batch_records=4), tmp_path)
    forwarder.start()
    assert forwarder.stop(5.0)
    assert sequences(receiver) == list(range(30))


def test_stop_during_an_outage_is_prompt(tmp_path: Path, receiver: OtlpReceiver) -> None:
    FakeSpool(tmp_path, "metrics").write([metrics_line(i) for i in range(3)])
    receiver.down()
    forwarder = Forwarder(fast_config(receiver.http_endpoint, backoff_initial="20s", backoff_max="60s"), tmp_path)
    forwarder.start()
    _wait_retries(forwarder, 1)
    began = time.monotonic()
    assert forwarder.stop(3.0)
    assert time.monotonic() - began < 1.0


def test_a_cursor_segment_deleted_by_retention_is_a_counted_gap(tmp_path: Path, receiver: OtlpReceiver,
                                                                forwarders: list[Forwarder]) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    old, _new = spool.segments(5, 4)
    save_cursor(cursor_path(spool.dir), Cursor(old.name.removesuffix(".jsonl"), 2))
    old.unlink()  # retention's byte limit took the segment the cursor points into
    forwarder = start(forwarders, fast_config(receiver.http_endpoint), tmp_path)
    assert receiver.wait_for(lambda r: len(sequences(r)) == 4)
    assert sequences(receiver) == [5, 6, 7, 8]
    assert forwarder.status()["signals"]["metrics"]["gaps"] == 1  # type: ignore[index]


def test_resumes_from_the_cursor(tmp_path: Path, receiver: OtlpReceiver, forwarders: list[Forwarder]) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    spool.write([metrics_line(i) for i in range(6)])
    assert spool.active is not None
    save_cursor(cursor_path(spool.dir), Cursor(spool.active.name.removesuffix(".jsonl"), 4))
    start(forwarders, fast_config(receiver.http_endpoint), tmp_path)
    assert receiver.wait_for(lambda r: len(sequences(r)) == 2)
    assert sequences(receiver) == [4, 5]


def test_lag_over_the_threshold_is_degraded(tmp_path: Path, forwarders: list[Forwarder]) -> None:
    receiver = OtlpReceiver().start()
    receiver.down()
    FakeSpool(tmp_path, "logs").write([logs_line(1)])
    forwarder = start(forwarders, fast_config(receiver.http_endpoint, lag_threshold="1ms"), tmp_path)
    poll(lambda: forwarder.signals["logs"].counters.retries >= 1)
    health = forwarder.status()
    logs = health["signals"]["logs"]  # type: ignore[index]
    assert logs["backlog_records"] == 1 and logs["lag_seconds"] > 0.001
    assert logs["degraded"] is True and health["degraded"] is True  # on the first check: lag alone
