"""The running agent: wires sampler, telemetry, HTTP and the optional parts, and runs the collection loop.

Data flows one way: every ``interval`` the loop refreshes the host snapshot, hands its readings to health
evaluation, and collects the push reader once (spool). Scrapes of /metrics read the same snapshot.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from otel_mon import __version__
from otel_mon.config import Settings
from otel_mon.host import registry
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler
from otel_mon.resource import build_resource
from otel_mon.schema import redacted
from otel_mon.status import health_document
from otel_mon.telemetry import Telemetry

log = logging.getLogger("otel_mon.agent")


class Agent:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started = time.time()
        self.paths = HostPaths(settings.root_path)
        self.paths.activate()
        self.resource = build_resource(settings, self.paths)
        self.sampler = HostSampler(registry.build(settings, self.paths))
        self.telemetry = Telemetry(settings, self.resource, cache_key=self._snapshot_key)
        self.sampler.register_metrics(self.telemetry.instruments)
        self.sections: dict[str, Callable[[], dict[str, Any]]] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.http: Any = None
        if settings.http.enabled:
            from otel_mon.http.server import HttpServer

            self.http = HttpServer(settings.http, self.telemetry.registry, self.health, self._ready.is_set)

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        log.info("starting otel-mon", extra={"version": __version__, "config": redacted(self.settings)})
        if self.http is not None:
            self.http.start()
            log.info("serving /metrics, /health and /ready",
                     extra={"address": f"{self.settings.http.host}:{self.http.port}",
                            "tls": bool(self.settings.http.tls_cert), "auth": bool(self.settings.http.token)})
        self.collect_once()
        self._thread = threading.Thread(target=self._loop, name="otel-mon-collect", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            self.telemetry.export()  # one last batch so the spool holds the final state
        except Exception:
            log.exception("final export failed")
        if self.http is not None:
            self.http.stop()
        self.telemetry.shutdown()
        self.sampler.close()
        log.info("otel-mon stopped", extra={"uptime_seconds": round(time.time() - self.started, 3)})

    def wait(self) -> None:
        self._stop.wait()

    def request_stop(self) -> None:
        self._stop.set()

    # --- the loop --------------------------------------------------------------------------------------
    def collect_once(self) -> None:
        self.sampler.refresh()
        self.telemetry.export()
        self._ready.set()

    def _loop(self) -> None:
        interval = self.settings.interval
        next_at = time.monotonic() + interval
        while not self._stop.wait(max(next_at - time.monotonic(), 0.0)):
            try:
                self.collect_once()
            except Exception:  # keep collecting: one bad cycle must not end monitoring
                log.exception("collection cycle failed")
            next_at += interval
            now = time.monotonic()
            if next_at < now:  # fell behind (suspend, overload): skip the missed ticks
                next_at = now + interval - ((now - next_at) % interval)

    def _snapshot_key(self) -> object:
        snap = self.sampler.snapshot
        return None if snap is None else snap.sequence

    # --- /health ---------------------------------------------------------------------------------------
    def health(self) -> tuple[int, dict[str, Any]]:
        return health_document(self.sampler.snapshot, self.settings.interval, self.started, self.sections)
