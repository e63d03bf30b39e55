"""ICMP echo over an unprivileged datagram socket (Linux ``ping`` sockets), so the agent never needs root.

The kernel allows these sockets only to groups inside ``net.ipv4.ping_group_range`` (it also governs IPv6);
:func:`unavailable_reason` says so in one line at startup instead of failing obscurely on every run.
"""

from __future__ import annotations

import os
import secrets
import socket
import struct
import time
from pathlib import Path

from otel_mon.netutil import describe_error, resolve
from otel_mon.probes.config import ProbeConfig
from otel_mon.probes.result import Deadline, ProbeResult

_SYSCTL = Path("/proc/sys/net/ipv4/ping_group_range")
_ECHO: dict[int, tuple[int, int]] = {socket.AF_INET: (8, 0), socket.AF_INET6: (128, 129)}  # (request type, reply type)
_PROTO: dict[int, int] = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum (the kernel fills it for IPv6 but not for every IPv4 stack)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def echo_request(family: int, seq: int, payload: bytes) -> bytes:
    kind = _ECHO[family][0]
    header = struct.pack("!BBHHH", kind, 0, 0, 0, seq)
    if family == socket.AF_INET:
        header = struct.pack("!BBHHH", kind, 0, checksum(header + payload), 0, seq)
    return header + payload


def is_our_reply(family: int, data: bytes, seq: int, payload: bytes) -> bool:
    """The kernel rewrites the identifier to the socket's port and hands us only our replies; check the rest."""
    if len(data) < 8:
        return False
    kind, _code, _sum, _ident, rseq = struct.unpack_from("!BBHHH", data)
    return kind == _ECHO[family][1] and rseq == seq and data[8:] == payload


def unavailable_reason(family: int = socket.AF_INET) -> str | None:
    """None when this process may open a ping socket; otherwise why not and how to allow it, in one line."""
    try:
        socket.socket(family, socket.SOCK_DGRAM, _PROTO[family]).close()
    except PermissionError:
        try:
            current = " ".join(_SYSCTL.read_text().split())
        except OSError:
            current = "unknown"
        return (f"unprivileged ICMP sockets are not allowed for group {os.getgid()} "
                f"(net.ipv4.ping_group_range = {current}); allow it with "
                f"sysctl -w net.ipv4.ping_group_range='0 2147483647' or drop the icmp probes")
    except OSError as exc:
        return f"cannot open an ICMP datagram socket: {exc.strerror or exc}"
    return None


def run(cfg: ProbeConfig) -> ProbeResult:
    deadline = Deadline(cfg.timeout)
    at = time.time()
    start = time.perf_counter()
    try:
        (family, addr), *_ = resolve(cfg.host or "", 0, deadline)
        seq = secrets.randbelow(65536)
        payload = b"otel-mon" + secrets.token_bytes(8)
        with socket.socket(family, socket.SOCK_DGRAM, _PROTO[family]) as sock:
            sock.connect(addr)
            sent = time.perf_counter()
            sock.send(echo_request(family, seq, payload))
            while True:
                sock.settimeout(deadline.remaining())
                if is_our_reply(family, sock.recv(2048), seq, payload):
                    break
            rtt = time.perf_counter() - sent
    except Exception as exc:
        return ProbeResult(False, time.perf_counter() - start, describe_error(exc, cfg.timeout), at=at)
    return ProbeResult(True, time.perf_counter() - start, detail=f"echo reply from {addr[0]}",
                       phases={"rtt": rtt}, at=at)
