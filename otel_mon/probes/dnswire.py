"""The few bytes of RFC 1035 a resolver probe needs: build one query, read the answer section of the reply.

Pure functions on bytes, tested without a network; no compression on output, pointers followed on input.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

QTYPES = {"A": 1, "AAAA": 28}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
_CLASS_IN = 1
_FLAG_QR = 0x8000
_FLAG_TC = 0x0200
_FLAG_RD = 0x0100


class NotOurs(ValueError):
    """A datagram that is not the reply to our query (another id, or not a reply): ignore and keep waiting."""


@dataclass(frozen=True)
class Reply:
    rcode: int
    truncated: bool
    addresses: tuple[str, ...]  # answers of the queried type, in order

    @property
    def rcode_name(self) -> str:
        return RCODES.get(self.rcode, f"RCODE{self.rcode}")


def encode_name(name: str) -> bytes:
    labels = name.rstrip(".").encode("idna").split(b".") if name.rstrip(".") else []
    out = bytearray()
    for label in labels:
        if not 0 < len(label) < 64:
            raise ValueError(f"bad DNS name {name!r}: labels must be 1-63 bytes")
        out += bytes([len(label)]) + label
    out += b"\x00"
    if len(out) > 255:
        raise ValueError(f"bad DNS name {name!r}: longer than 255 bytes")
    return bytes(out)


def build_query(name: str, qtype: str, query_id: int) -> bytes:
    """A standard query with recursion desired and one question."""
    header = struct.pack("!HHHHHH", query_id, _FLAG_RD, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack("!HH", QTYPES[qtype], _CLASS_IN)


def _skip_name(data: bytes, offset: int) -> int:
    """Offset just past the (possibly compressed) name at ``offset``."""
    while True:
        if offset >= len(data):
            raise ValueError("name runs past the end of the message")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        if length & 0xC0:
            raise ValueError("unsupported label type")
        offset += 1 + length
        if length == 0:
            return offset


def parse_reply(data: bytes, query_id: int, qtype: str, question: bytes | None = None) -> Reply:
    """The reply's rcode and the addresses of type ``qtype``; ValueError if it is not a reply to our query.

    ``question`` (our query's question section, ``query[12:]``) must come back as the reply's one question
    (names compared without case): a matching ID alone can be guessed or belong to another name's answer.
    """
    if len(data) < 12:
        raise ValueError("reply shorter than a DNS header")
    rid, flags, qdcount, ancount, _ns, _ar = struct.unpack_from("!HHHHHH", data)
    if rid != query_id:
        raise NotOurs(f"reply id {rid} does not match query id {query_id}")
    if not flags & _FLAG_QR:
        raise NotOurs("message is a query, not a reply")
    if question is not None and (qdcount != 1 or data[12:12 + len(question)].lower() != question.lower()):
        raise NotOurs("reply's question is not the one asked")
    offset = 12
    for _ in range(qdcount):
        offset = _skip_name(data, offset) + 4
    want = QTYPES[qtype]
    family = socket.AF_INET if qtype == "A" else socket.AF_INET6
    size = 4 if qtype == "A" else 16
    addresses: list[str] = []
    for _ in range(ancount):
        offset = _skip_name(data, offset)
        if offset + 10 > len(data):
            raise ValueError("answer record runs past the end of the message")
        rtype, rclass, _ttl, rdlength = struct.unpack_from("!HHIH", data, offset)
        offset += 10
        rdata = data[offset:offset + rdlength]
        if len(rdata) != rdlength:
            raise ValueError("answer data runs past the end of the message")
        offset += rdlength
        if rtype == want and rclass == _CLASS_IN and rdlength == size:
            addresses.append(socket.inet_ntop(family, rdata))
    return Reply(flags & 0x000F, bool(flags & _FLAG_TC), tuple(addresses))
