"""ICMP echo over a ping socket where the kernel allows it; a one-line reason at startup where it does not."""

from __future__ import annotations

import logging
import socket

import pytest

from otel_mon.probes import icmp
from otel_mon.probes.config import ProbeConfig
from otel_mon.probes.runner import ProbeRunner

REASON = icmp.unavailable_reason(socket.AF_INET)


def test_checksum_known_vector() -> None:
    # RFC 1071's worked example: the words 0001 f203 f4f5 f6f7 sum (with carries) to ddf2; the checksum is ~ddf2
    assert icmp.checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_echo_request_checksum_verifies() -> None:
    packet = icmp.echo_request(socket.AF_INET, 42, b"payload!")
    assert icmp.checksum(packet) == 0
    reply = bytes([0, 0]) + packet[2:]
    assert icmp.is_our_reply(socket.AF_INET, reply, 42, b"payload!")
    assert not icmp.is_our_reply(socket.AF_INET, reply, 43, b"payload!")


@pytest.mark.skipif(REASON is not None, reason=f"ping sockets not allowed here: {REASON}")
def test_ping_loopback() -> None:
    result = icmp.run(ProbeConfig(name="lo", kind="icmp", host="127.0.0.1", timeout=1.0))
    assert result.ok, result.reason
    assert 0 < result.phases["rtt"] <= result.duration < 0.5


@pytest.mark.skipif(REASON is None, reason="ping sockets are allowed here: the refusal path cannot be shown")
def test_unavailable_icmp_is_one_clear_line_at_start(caplog: pytest.LogCaptureFixture) -> None:
    assert REASON is not None and "net.ipv4.ping_group_range" in REASON and "\n" not in REASON
    runner = ProbeRunner([ProbeConfig(name="gw", kind="icmp", host="127.0.0.1", timeout=1.0)])
    with caplog.at_level(logging.WARNING, logger="otel_mon.probes"):
        runner.start()
    try:
        warnings = [r for r in caplog.records if r.name == "otel_mon.probes"]
        assert len(warnings) == 1
        assert "icmp probes gw disabled" in warnings[0].getMessage()
        result = runner.results()["gw"]
        assert not result.ok and result.reason.startswith("icmp unavailable: ")
        assert runner.readings()["probe.failure"] == {"gw": 1.0}
    finally:
        runner.stop(1.0)
