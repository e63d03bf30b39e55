"""Runs every configured probe on its own schedule and keeps the last result of each.

One thread per probe: a slow or hanging target delays only itself, never another probe and never host
collection, which only reads the stored results (:meth:`ProbeRunner.readings`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from otel_mon.instruments import AttrValue, Instruments, Point
from otel_mon.probes import dns, http, icmp, tcp
from otel_mon.probes.config import ProbeConfig
from otel_mon.probes.result import ProbeResult
from otel_mon.timefmt import iso

log = logging.getLogger("otel_mon.probes")

RUNNERS: dict[str, Callable[[ProbeConfig], ProbeResult]] = {"tcp": tcp.run, "http": http.run, "dns": dns.run,
                                                            "icmp": icmp.run}

# Explicit bucket boundaries (seconds) for otel_mon.probe.duration: dense from 0.5 ms on a LAN to 100-250 ms
# across continents, then a coarse tail up to the longest sensible timeout. The SDK default (0, 5, 10, ... 10000)
# is meant for milliseconds and would put every probe in its first bucket.
PROBE_DURATION_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
)
PROBE_DURATION = "otel_mon.probe.duration"
PROBE_SUCCESS = "otel_mon.probe.success"


def attributes(cfg: ProbeConfig) -> dict[str, AttrValue]:
    return {"otel_mon.probe.name": cfg.name, "otel_mon.probe.kind": cfg.kind,
            "server.address": cfg.server_address(), "server.port": cfg.server_port()}




class ProbeRunner:
    """Schedules the probes; results are read from other threads under one lock."""

    def __init__(self, probes: Sequence[ProbeConfig]) -> None:
        self.probes = {p.name: p for p in probes}
        self._attrs = {p.name: attributes(p) for p in probes}
        self._results: dict[str, ProbeResult] = {}
        self._failures: dict[str, ProbeResult] = {}  # the last failed run of each probe, kept after recovery
        self._runs: dict[str, int] = dict.fromkeys(self.probes, 0)
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._unavailable: dict[str, str] = {}  # probe name -> why it cannot run on this host
        self._instruments: Instruments | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------
    def register_metrics(self, instruments: Instruments) -> None:
        self._instruments = instruments
        instruments.provide(PROBE_SUCCESS, self._success_points)

    def start(self) -> None:
        self._check_icmp()
        for name in self.probes:
            if name in self._unavailable:
                continue
            thread = threading.Thread(target=self._loop, args=(name,), name=f"otel-mon-probe-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.probes:
            log.info("probes started", extra={"otel_mon.probes": ", ".join(sorted(self.probes))})

    def stop(self, timeout: float) -> None:
        """Stop scheduling; a probe in flight ends by its own timeout and is not waited for past ``timeout``."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        self._threads.clear()

    def _check_icmp(self) -> None:
        icmp_probes = sorted(n for n, p in self.probes.items() if p.kind == "icmp")
        if not icmp_probes:
            return
        reason = icmp.unavailable_reason(socket.AF_INET)
        if reason is None:
            return
        log.warning("icmp probes %s disabled: %s", ", ".join(icmp_probes), reason)
        for name in icmp_probes:
            self._unavailable[name] = reason
            self._store(name, ProbeResult(False, 0.0, f"icmp unavailable: {reason}", at=time.time()))

    def _loop(self, name: str) -> None:
        interval = self.probes[name].interval
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.run_once(name)
            next_at += interval
            now = time.monotonic()
            if next_at < now:  # the probe overran (or the host was suspended): skip the missed slots
                next_at = now + interval
            self._stop.wait(next_at - now)

    # --- one run -------------------------------------------------------------------------------------------
    def run_once(self, name: str) -> ProbeResult:
        """Run one probe now, store its result and record its duration."""
        cfg = self.probes[name]
        try:
            result = RUNNERS[cfg.kind](cfg)
        except Exception as exc:  # a probe bug must not end the probe's thread
            log.exception("probe %s crashed", name)
            result = ProbeResult(False, 0.0, f"internal error: {exc.__class__.__name__}", at=time.time())
        if self._instruments is not None:
            self._instruments.record(PROBE_DURATION, result.duration, self._attrs[name])
        previous = self._results.get(name)
        if previous is not None and previous.ok != result.ok:
            if result.ok:
                log.info("probe %s recovered", name, extra={"otel_mon.probe.name": name})
            else:
                log.warning("probe %s failed: %s", name, result.reason,
                            extra={"otel_mon.probe.name": name, "otel_mon.reason": result.reason})
        self._store(name, result)
        return result

    def _store(self, name: str, result: ProbeResult) -> None:
        with self._changed:
            self._results[name] = result
            if not result.ok:
                self._failures[name] = result
            self._runs[name] += 1
            self._changed.notify_all()

    def runs(self) -> dict[str, int]:
        """How many times each probe has run (or been marked unavailable)."""
        with self._changed:
            return dict(self._runs)

    def wait_runs(self, count: int, timeout: float) -> bool:
        """Block until every probe has a result from at least ``count`` runs (for `snapshot` and tests)."""
        with self._changed:
            return self._changed.wait_for(lambda: all(n >= count for n in self._runs.values()), timeout)

    # --- what others read ----------------------------------------------------------------------------------
    def results(self) -> dict[str, ProbeResult]:
        with self._changed:
            return dict(self._results)

    def reasons(self) -> dict[tuple[str, str], str]:
        """What each probe's ``probe.failure`` rule says next to its value, keyed like the health readings: for a
        failing probe its target and why (``127.0.0.1:5432: connection refused``, ``GET https://x/: status
        503, ...``), for one that answers its target (``127.0.0.1:5432 answers again``, said on recovery).
        An on-call engineer reads which target failed, not only the probe's name."""
        with self._changed:
            results = dict(self._results)
        out: dict[tuple[str, str], str] = {}
        for name, r in results.items():
            cfg = self.probes.get(name)
            target = cfg.describe() if cfg is not None else name
            if not r.ok:
                out[("probe.failure", name)] = f"{target}: {r.reason}" if r.reason else f"{target} failed"
            else:
                out[("probe.failure", name)] = f"{target} answers again"
        return out

    def readings(self) -> dict[str, dict[str, float]]:
        """``probe.latency`` (ms, successful runs only) and ``probe.failure`` (1/0) for the health rules."""
        latency: dict[str, float] = {}
        failure: dict[str, float] = {}
        for name, result in self.results().items():
            failure[name] = 0.0 if result.ok else 1.0
            if result.ok:
                latency[name] = result.duration * 1000.0
        return {"probe.latency": latency, "probe.failure": failure}

    def _success_points(self) -> Iterable[Point]:
        return [(1.0 if r.ok else 0.0, self._attrs[name]) for name, r in self.results().items()]

    def status(self) -> dict[str, Any]:
        """The ``probes`` part of /health: the last result of each probe (``null`` before its first run)."""
        results = self.results()
        with self._changed:
            failures = dict(self._failures)
        doc: dict[str, Any] = {}
        for name, cfg in self.probes.items():
            r = results.get(name)
            doc[name] = None if r is None else {
                "kind": cfg.kind,
                "target": cfg.describe(),
                "ok": r.ok,
                "duration_ms": round(r.duration * 1000.0, 3),
                "phases_ms": {k: round(v * 1000.0, 3) for k, v in r.phases.items()},
                "detail": r.detail,
                "reason": r.reason,
                "at": iso(r.at),
                "last_failure": None if name not in failures else {
                    "reason": failures[name].reason, "at": iso(failures[name].at)},
            }
        failing = sorted(n for n, r in results.items() if not r.ok)
        return {"count": len(self.probes), "failing": failing, "results": doc}
