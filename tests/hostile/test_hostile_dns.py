"""The DNS probe and a reply for another name under our query's ID (issue 23): not accepted. A server that
sends such a reply first and then the true one gets the true one taken; one that sends only the forged reply
fails the probe at its deadline."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest

from otel_mon.probes import dns
from otel_mon.probes.config import ProbeConfig
from tests.udp_responder import udp_responder


def _answer(qid: int, name: bytes, address: bytes) -> bytes:
    question = name + struct.pack("!HH", 1, 1)
    return (struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question
            + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + address)


@pytest.fixture(params=[True, False], ids=["forged-then-true", "forged-only"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[int, bool]]:
    honest = bool(request.param)

    def answer(data: bytes) -> list[bytes]:
        qid = struct.unpack_from("!H", data)[0]
        name = data[12:data.index(b"\x00", 12) + 1]
        forged = _answer(qid, b"\x08attacker\x04test\x00", bytes([6, 6, 6, 6]))
        return [forged, _answer(qid, name, bytes([10, 1, 2, 3]))] if honest else [forged]

    with udp_responder(answer) as port:
        yield port, honest


def test_a_reply_for_another_name_is_not_taken(server: tuple[int, bool]) -> None:
    port, honest = server
    result = dns.run(ProbeConfig(name="d", kind="dns", target="Host.Test", server=f"127.0.0.1:{port}",
                                 timeout=1.0))
    assert "6.6.6.6" not in (result.detail or "")
    if honest:
        assert result.ok and result.detail == "10.1.2.3", result.reason
    else:
        assert not result.ok, result
