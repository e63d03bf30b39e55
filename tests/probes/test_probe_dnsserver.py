"""The DNS probe against a real UDP server, and the wire format it reads, checked on bytes."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest

from otel_mon.probes import dns, dnswire
from otel_mon.probes.config import ProbeConfig
from tests.udp_responder import udp_responder


def test_query_layout() -> None:
    q = dnswire.build_query("www.example.org", "A", 0x1234)
    assert q[:12] == struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    assert q[12:] == b"\x03www\x07example\x03org\x00" + b"\x00\x01\x00\x01"


def _reply(qid: int, rcode: int, answers: list[tuple[int, bytes]], flags: int = 0x8180) -> bytes:
    """A reply written out by hand (RFC 1035 4.1), answers pointing back at the question name (0xC00C)."""
    question = b"\x04host\x04test\x00" + struct.pack("!HH", 1, 1)
    out = struct.pack("!HHHHHH", qid, flags | rcode, 1, len(answers), 0, 0) + question
    for rtype, rdata in answers:
        out += b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata
    return out


def test_parse_reply_follows_pointers_and_keeps_the_queried_type() -> None:
    cname = (5, b"\x05alias\xc0\x0c")
    reply = dnswire.parse_reply(_reply(7, 0, [cname, (1, bytes([10, 0, 0, 1])), (1, bytes([10, 0, 0, 2]))]), 7, "A")
    assert reply.rcode == 0 and not reply.truncated
    assert reply.addresses == ("10.0.0.1", "10.0.0.2")


def test_parse_reply_reports_rcode_and_rejects_strangers() -> None:
    assert dnswire.parse_reply(_reply(9, 3, []), 9, "A").rcode_name == "NXDOMAIN"
    with pytest.raises(dnswire.NotOurs):
        dnswire.parse_reply(_reply(9, 0, []), 10, "A")
    with pytest.raises(ValueError, match="past the end"):
        dnswire.parse_reply(_reply(9, 0, [(1, b"\x0a\x00\x00\x01")])[:-2], 9, "A")


@pytest.fixture
def dnspython_server() -> Iterator[int]:
    """A tiny authoritative responder built with dnspython: host.test A 10.1.2.3, anything else NXDOMAIN."""
    message = pytest.importorskip("dns.message", reason="dnspython is not installed: the DNS server case is "
                                                        "skipped (wire parsing is covered on bytes above)")
    rrset = pytest.importorskip("dns.rrset")
    rcode = pytest.importorskip("dns.rcode")

    def answer(data: bytes) -> list[bytes]:
        query = message.from_wire(data)
        response = message.make_response(query)
        if query.question[0].name.to_text() == "host.test.":
            response.answer.append(rrset.from_text("host.test.", 60, "IN", "A", "10.1.2.3"))
        else:
            response.set_rcode(rcode.NXDOMAIN)
        return [response.to_wire()]

    with udp_responder(answer) as port:
        yield port


def test_dns_probe_against_a_server(dnspython_server: int) -> None:
    server = f"127.0.0.1:{dnspython_server}"
    ok = dns.run(ProbeConfig(name="d", kind="dns", target="host.test", server=server, timeout=1.0))
    assert ok.ok and ok.detail == "10.1.2.3", ok.reason
    missing = dns.run(ProbeConfig(name="d", kind="dns", target="nope.test", server=server, timeout=1.0))
    assert not missing.ok and missing.reason == "server answered NXDOMAIN"
