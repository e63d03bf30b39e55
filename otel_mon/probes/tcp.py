"""TCP probe: the time to resolve the host and complete a connection (blackbox_exporter's ``tcp`` without TLS)."""

from __future__ import annotations

import time

from otel_mon.netutil import connect, describe_error, resolve
from otel_mon.probes.config import ProbeConfig
from otel_mon.probes.result import Deadline, ProbeResult


def run(cfg: ProbeConfig) -> ProbeResult:
    deadline = Deadline(cfg.timeout)
    at = time.time()
    start = time.perf_counter()
    phases: dict[str, float] = {}
    try:
        addrs = resolve(cfg.host or "", cfg.port or 0, deadline)
        phases["resolve"] = time.perf_counter() - start
        sock = connect(addrs, deadline)
        phases["connect"] = time.perf_counter() - start - phases["resolve"]
        peer = sock.getpeername()[0]
        sock.close()
    except Exception as exc:
        return ProbeResult(False, time.perf_counter() - start, describe_error(exc, cfg.timeout), phases=phases, at=at)
    return ProbeResult(True, time.perf_counter() - start, detail=f"connected to {peer}", phases=phases, at=at)
