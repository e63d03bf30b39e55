"""Server errors cost latency, never data; only a line the collector refuses itself leaves the order, and it is
kept in quarantine (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fwdkit import PROTOCOLS, FakeSpool, fast_config, has_seq, metrics_line, poll, sequences, start
from otlp_receiver import OtlpReceiver

from otel_mon.forward import Forwarder
from otel_mon.forward.quarantine import FILE_NAME


@pytest.mark.parametrize("kind", ["internal", "unknown"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_500_then_200_loses_nothing(tmp_path: Path, forwarders: list[Forwarder], protocol: str, kind: str) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    spool.write([metrics_line(n) for n in range(12)])
    with OtlpReceiver() as receiver:
        receiver.fail_next(5, kind=kind)  # 500 / INTERNAL (or 502 / UNKNOWN) five times, then 200
        forwarder = start(forwarders, fast_config(receiver.endpoint(protocol), protocol, max_batch_records=4),
                          tmp_path)
        assert receiver.wait_for(lambda r: len(sequences(r)) == 12, timeout=15)
        poll(lambda: forwarder.signals["metrics"].counters.sent == 12)
    assert receiver.failures_answered == 5
    assert sequences(receiver) == list(range(12))
    signal = forwarder.signals["metrics"]
    assert signal.failed == {"rejected": 0, "malformed": 0}
    assert signal.counters.retries >= 5
    assert not (tmp_path / "metrics" / FILE_NAME).exists()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_line_refused_itself_goes_to_quarantine(tmp_path: Path, forwarders: list[Forwarder], protocol: str) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    lines = [metrics_line(n) for n in range(8)]
    spool.write(lines)
    with OtlpReceiver() as receiver:
        receiver.reject_when(lambda request: has_seq(request, 5), "point 5 is bad")
        forwarder = start(forwarders, fast_config(receiver.endpoint(protocol), protocol, max_batch_records=4),
                          tmp_path)
        assert receiver.wait_for(lambda r: len(sequences(r)) == 7, timeout=15)
        poll(lambda: forwarder.signals["metrics"].counters.sent == 7)
    assert sequences(receiver) == [0, 1, 2, 3, 4, 6, 7]
    quarantined = (tmp_path / "metrics" / FILE_NAME).read_text().splitlines()
    assert quarantined == [lines[5]]  # the line itself, unchanged: replayable as it is
    assert json.loads(quarantined[0])["resourceMetrics"]
    assert (tmp_path / "metrics" / FILE_NAME).stat().st_mode & 0o777 == 0o640
    signal = forwarder.signals["metrics"]
    assert signal.failed["rejected"] == 1
    assert forwarder.status()["signals"]["metrics"]["quarantined"] == 1  # type: ignore[index]


def test_degraded_is_decided_on_the_agents_schedule(tmp_path: Path, forwarders: list[Forwarder]) -> None:
    """Three scheduled checks with a growing backlog make it degraded; /health only reads that state."""
    spool = FakeSpool(tmp_path, "metrics")
    forwarder = start(forwarders, fast_config("http://127.0.0.1:9/v1/metrics", lag_threshold="1h"), tmp_path)
    signal = forwarder.signals["metrics"]
    for n in range(3):
        spool.write([metrics_line(n)])
        forwarder.check()
    health = forwarder.status()
    assert health["degraded"] is True and health["wedged"] is False
    for _ in range(5):  # polling /health does not move the state: only the schedule does
        assert forwarder.status()["degraded"] is True
    forwarder.check()  # the backlog stopped growing
    assert forwarder.status()["degraded"] is False
    assert signal.wedged() is False


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_partial_success_keeps_only_what_it_can_name(tmp_path: Path, forwarders: list[Forwarder],
                                                       protocol: str) -> None:
    """The answer counts the refused items but does not name them: a batch of two lines is noted (where, how
    many), not copied; a batch of one line is that line, so it is quarantined."""
    spool = FakeSpool(tmp_path, "metrics")
    lines = [metrics_line(n) for n in range(2)]
    spool.write(lines)
    with OtlpReceiver() as receiver:
        receiver.partial_next(1)
        forwarder = start(forwarders, fast_config(receiver.endpoint(protocol), protocol, max_batch_records=2),
                          tmp_path)
        poll(lambda: forwarder.signals["metrics"].counters.sent == 2)
        assert sequences(receiver) == [0, 1]  # accepted (partially): never resent
        assert not (tmp_path / "metrics" / FILE_NAME).exists()  # accepted data is not copied
        notes = [json.loads(line) for line in (tmp_path / "metrics" / "partial.jsonl").read_text().splitlines()]
        assert [(n["first_line"], n["end_line"], n["refused_items"]) for n in notes] == [(0, 2, 1)]
        status = forwarder.status()["signals"]["metrics"]  # type: ignore[index]
        assert status["refused_items"] == 1 and status["partial_noted"] == 1
        assert status["rejection_rate"] == 0.5 and status["degraded"] is True  # 1 of 2 points in the minute
        receiver.partial_next(1)
        spool.write([metrics_line(2)])
        poll(lambda: forwarder.signals["metrics"].counters.sent == 3)
    assert (tmp_path / "metrics" / FILE_NAME).read_text().splitlines() == [metrics_line(2)]
