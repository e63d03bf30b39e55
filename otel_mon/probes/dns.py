"""DNS probe: resolve a name through the system resolver, or ask one server directly over UDP.

Without ``server`` the probe measures what applications see (getaddrinfo: /etc/hosts, nsswitch, caches);
with it, one UDP query to that server and the wire reply, so NXDOMAIN or SERVFAIL are reported as such.
"""

from __future__ import annotations

import secrets
import socket
import time

from otel_mon.netutil import describe_error, resolve
from otel_mon.probes import dnswire
from otel_mon.probes.config import DNS_PORT, ProbeConfig, split_host_port
from otel_mon.probes.result import Deadline, ProbeResult


def run(cfg: ProbeConfig) -> ProbeResult:
    deadline = Deadline(cfg.timeout)
    at = time.time()
    start = time.perf_counter()
    try:
        if cfg.server:
            ok, reason, detail = _ask_server(cfg, deadline)
        else:
            ok, reason, detail = _system(cfg, deadline)
    except Exception as exc:
        return ProbeResult(False, time.perf_counter() - start, describe_error(exc, cfg.timeout), at=at)
    return ProbeResult(ok, time.perf_counter() - start, reason, detail, at=at)


def _system(cfg: ProbeConfig, deadline: Deadline) -> tuple[bool, str, str]:
    family = socket.AF_INET if cfg.query_type == "A" else socket.AF_INET6
    addrs = resolve(cfg.target or "", 0, deadline, family)
    found = ", ".join(sorted({str(addr[0]) for _fam, addr in addrs}))
    return (True, "", found) if found else (False, f"no {cfg.query_type} address", "")


def _ask_server(cfg: ProbeConfig, deadline: Deadline) -> tuple[bool, str, str]:
    host, port = split_host_port(cfg.server or "", DNS_PORT)
    (family, addr), *_ = resolve(host, port, deadline)
    query_id = secrets.randbelow(65536)
    query = dnswire.build_query(cfg.target or "", cfg.query_type, query_id)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect(addr)  # a connected UDP socket drops datagrams from anyone else
        sock.settimeout(deadline.remaining())
        sock.send(query)
        while True:
            sock.settimeout(deadline.remaining())
            data = sock.recv(4096)
            try:
                reply = dnswire.parse_reply(data, query_id, cfg.query_type, query[12:])
            except dnswire.NotOurs:
                continue  # a stray datagram: keep waiting for ours until the deadline
            except ValueError as exc:
                return False, f"malformed reply: {exc}", ""
            break
    if reply.rcode != 0:
        return False, f"server answered {reply.rcode_name}", reply.rcode_name
    if not reply.addresses:
        suffix = " (truncated reply; TCP fallback is not supported)" if reply.truncated else ""
        return False, f"no {cfg.query_type} record{suffix}", "NOERROR"
    return True, "", ", ".join(reply.addresses)
