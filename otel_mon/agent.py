"""The running agent: wires sampler, telemetry, HTTP and the optional parts, and runs the collection loop.

Data flows one way: every ``interval`` the loop refreshes the host snapshot, hands its readings to health
evaluation, and collects the push reader once (spool). Scrapes of /metrics read the same snapshot.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

# The OTel logs API and SDK exist only as ``_logs`` modules in the pinned release set (no public module yet).
from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.metrics.export import MetricExporter

from otel_mon import __version__
from otel_mon.config import Settings
from otel_mon.health.monitor import HealthMonitor
from otel_mon.host import registry
from otel_mon.host.paths import HostPaths
from otel_mon.host.process_groups import group_notes  # what each group matches, for its rules' notices
from otel_mon.host.sampler import HostSampler
from otel_mon.logsetup import REPEATS
from otel_mon.preaggregated import PreaggregatedHistograms
from otel_mon.probes.runner import PROBE_DURATION_BUCKETS, ProbeRunner
from otel_mon.resource import build_resource
from otel_mon.schema import redacted
from otel_mon.spool.writer import SpoolWriter
from otel_mon.status_document import status_document
from otel_mon.telemetry import Telemetry, build_logs
from otel_mon.where_to_look import where_to_look

if TYPE_CHECKING:
    from otel_mon.compat.node_exporter import NodeExporterView
    from otel_mon.forward.forwarder import Forwarder
    from otel_mon.web import History

log = logging.getLogger("otel_mon.agent")
# How long a stop waits for probes in flight (they end by their own timeout; nothing of theirs is lost).
_PROBE_STOP_WAIT = 1.0


class Agent:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started = time.time()
        self._started_mono = time.monotonic()  # uptime must not follow wall clock steps
        self.paths = HostPaths(settings.root_path)
        self.paths.activate()
        self.resource = build_resource(settings.resource, self.paths)
        self.sampler = HostSampler(registry.build(settings.host, self.paths, settings.metric_enabled))
        self.status_parts: dict[str, Callable[[], dict[str, Any]]] = {}
        self.spool: SpoolWriter | None = None
        metric_exporters: list[MetricExporter] = []
        log_exporters: list[LogRecordExporter] = []
        if settings.spool.enabled:
            from otel_mon.spool.exporters import SpoolLogExporter, SpoolMetricExporter

            self.spool = SpoolWriter(settings.spool)  # takes the directory lock: one agent per spool
            metric_exporters.append(SpoolMetricExporter(self.spool))
            log_exporters.append(SpoolLogExporter(self.spool))
            self.status_parts["spool"] = self.spool.status
        self.telemetry = Telemetry(self.resource, settings.metric_enabled, metric_exporters,
                                   buckets={"otel_mon.probe.duration": PROBE_DURATION_BUCKETS})
        self.sampler.register_metrics(self.telemetry.instruments)
        # A textfile's histograms arrive aggregated: joined to each batch (the SDK has no observable histogram).
        histograms = PreaggregatedHistograms(lambda: getattr(self.sampler.snapshot, "native", None))
        self.telemetry.reader.extra.append(histograms.metrics)
        if self.spool is not None:
            self.spool.register_metrics(self.telemetry.instruments)
        self.logger_provider, self.log_handler = build_logs(self.resource, log_exporters)
        self.forwarder: Forwarder | None = None
        self.remote_write: Forwarder | None = None
        if self.spool is not None and settings.otlp.enabled:
            # Imported only when forwarding: its senders bring grpc and protobuf (~10 MiB of RSS).
            from otel_mon.forward.forwarder import Forwarder

            self.forwarder = Forwarder(settings.otlp, settings.spool.dir)
            self.forwarder.listen(self.spool.add_listener)  # wake the sender as soon as a batch is on disk
            self.status_parts["forward"] = self.forwarder.status
        if self.spool is not None and settings.remote_write.enabled:
            from otel_mon.forward.rw_forwarder import RemoteWriteForwarder  # loads protobuf schema + snappy

            self.remote_write = RemoteWriteForwarder(settings.remote_write, settings.spool.dir)
            self.remote_write.listen(self.spool.add_listener)
            self.status_parts["remote_write"] = self.remote_write.status
        if self.forwarders:
            from otel_mon.forward.forwarder import register_metrics as register_forward_metrics

            register_forward_metrics(self.telemetry.instruments, self.forwarders)
        self.probes = ProbeRunner(settings.probes)
        self.probes.register_metrics(self.telemetry.instruments)
        self.monitor = self._build_monitor(settings, self.probes)
        self.monitor.register_metrics(self.telemetry.instruments)
        self.status_parts["health"] = self.monitor.status
        if settings.probes:
            self.status_parts["probes"] = self.probes.status
        self._stop = threading.Event()
        self._swap = threading.Lock()
        self._retiring: list[threading.Thread] = []  # reloads' old parts, stopping in the background
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False  # past the bind: only then does a stop say "otel-mon stopped"
        self.http: Any = None
        self.node_exporter: NodeExporterView | None = None  # /metrics/node_exporter, with compat.node_exporter
        self.history: History | None = None
        if settings.http.enabled:
            from otel_mon.http.server import HttpServer
            from otel_mon.web import PUBLIC, History, StatusPage

            self.history = History(settings.interval)
            attrs = self.resource.attributes
            about = {"host": str(attrs.get("host.name", "")), "os": str(attrs.get("os.description", "")),
                     "arch": str(attrs.get("host.arch", "")), "version": __version__,
                     "service": str(attrs.get("service.name", ""))}
            page = StatusPage(about, self.status, self.history, lambda: self.monitor.recent(),
                              bool(settings.http.token))
            routes = dict(page.routes())
            if settings.compat.node_exporter:
                from otel_mon.compat.node_exporter import NodeExporterView

                self.node_exporter = NodeExporterView(lambda: self.sampler.snapshot, self.paths)
                view = self.node_exporter
                routes["/metrics/node_exporter"] = lambda request: view.render(request.accept, request.accept_encoding)
            self.http = HttpServer(settings.http, self.telemetry.registry, self.status, self._ready.is_set,
                                   version=lambda: self.telemetry.batches.generation, pages=routes,
                                   public=PUBLIC)
            self.http.register_metrics(self.telemetry.instruments)
            self.status_parts["http"] = self.http.status

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.http is not None:
            # Bind first: a busy port or a bad certificate fails the start before anything reaches the spool.
            self.http.start()
        self._started = True
        self.log_handler.addFilter(REPEATS)  # the same error a thousand times is one line and a count
        logging.getLogger().addHandler(self.log_handler)
        ours = logging.getLogger("otel_mon")
        if ours.getEffectiveLevel() > logging.INFO:
            ours.setLevel(logging.INFO)  # our info records reach the logs spool whatever the root level
        log.info("starting otel-mon", extra={"version": __version__, "interval": f"{self.settings.interval:g}s",
                                             "root_path": self.settings.root_path})
        # The whole effective configuration is one long line: for debugging, not for every start.
        log.debug("effective configuration",
                  extra={"config": json.dumps(redacted(self.settings), separators=(",", ":"), default=str)})
        for line, extra in where_to_look(self.settings, self.http.port if self.http is not None else None):
            log.info(line, extra=extra)
        self.monitor.start()
        self.probes.start()
        for forwarder in self.forwarders:
            forwarder.start()
        self.collect_once()
        # Each collection allocates tens of thousands of short-lived objects, freed by reference counting;
        # the cyclic GC scanning them (and every long-lived start-up object) was ~13 % of the agent's CPU.
        # Freeze what start-up built and let the young generation grow before a scan.
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)
        self._thread = threading.Thread(target=self._loop, name="otel-mon-collect", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        # A probe in flight has nothing to save: waiting out its timeout (up to a minute) would only delay the
        # exit past systemd's patience. Notifiers get longer: they send what is queued.
        self.probes.stop(min(timeout / 2, _PROBE_STOP_WAIT))
        self.monitor.stop(timeout / 2)
        deadline = time.monotonic() + _PROBE_STOP_WAIT
        for thread in self._retiring:  # a reload's old parts: no longer than the probes' own wait
            thread.join(max(deadline - time.monotonic(), 0.0))
        if self._ready.is_set():  # a start that failed before the first collection leaves the spool alone
            try:
                self.telemetry.export()  # one last batch so the spool holds the final state
            except Exception:
                log.exception("final export failed")
        if self.http is not None:
            self.http.stop()
        if self._started:  # a start refused at the bind has said its one line already
            spool = self.spool.stats() if self.spool is not None else {}
            log.info("otel-mon stopped", extra={"uptime_seconds": round(self.uptime(), 3),
                                                "spool_records": spool.get("records"),
                                                "spool_bytes": spool.get("written")})
        logging.getLogger().removeHandler(self.log_handler)
        self.logger_provider.shutdown()  # flushes the last log batch into the spool
        self.telemetry.shutdown()
        self.sampler.close()
        for forwarder in self.forwarders:
            forwarder.stop(timeout=5.0)  # sends what it can; the rest waits in the spool for next time
        if self.spool is not None:
            self.spool.close()

    def reload(self, loaded: Settings) -> list[str]:
        """Apply a new configuration without a restart; the changed keys that keep their running value.

        Probes and the health monitor (rules, notifiers, actions) are rebuilt and swapped in between two
        collections; the host sampler only when its filters changed (its first collection after that emits CPU
        time but no utilisation, as at start-up). The HTTP server, the spool and the forwarder keep running.
        """
        from otel_mon.reloadable import merge

        settings, kept = merge(self.settings, loaded)
        probes = ProbeRunner(settings.probes)
        monitor = self._build_monitor(settings, probes)
        sampler = None
        if settings.host != self.settings.host:
            sampler = HostSampler(registry.build(settings.host, self.paths, settings.metric_enabled))
        with self._swap:
            old_probes, old_monitor, old_sampler = self.probes, self.monitor, self.sampler
            if sampler is not None:
                sampler.register_metrics(self.telemetry.instruments)  # the callbacks now read the new one
                self.sampler = sampler
            probes.register_metrics(self.telemetry.instruments)
            monitor.register_metrics(self.telemetry.instruments)
            self.probes, self.monitor, self.settings = probes, monitor, settings
            # A new dict, swapped in whole: HTTP threads may be iterating the old one (/health, the page).
            parts = dict(self.status_parts)
            parts["health"] = monitor.status
            if settings.probes:
                parts["probes"] = probes.status
            else:
                parts.pop("probes", None)
            self.status_parts = parts
            monitor.start()
            probes.start()
        # The old parts stop in the background (a probe in flight may take its whole timeout): a SIGTERM
        # arriving meanwhile is read at once instead of waiting behind them.
        def retire() -> None:
            old_probes.stop(2.0)
            old_monitor.stop(2.0)
            if sampler is not None:
                old_sampler.close()

        thread = threading.Thread(target=retire, name="otel-mon-retire", daemon=True)
        self._retiring = [t for t in self._retiring if t.is_alive()] + [thread]
        thread.start()
        return kept

    def retired(self) -> bool:
        """True when every reload's old parts have stopped (a next reload waits for it, ``commands.run``)."""
        return not any(thread.is_alive() for thread in self._retiring)

    def _build_monitor(self, settings: Settings, probes: ProbeRunner) -> HealthMonitor:
        return HealthMonitor(settings.health, sources=[probes.readings, self._agent_readings],
                             host=str(self.resource.attributes.get("host.name", "")) or None,
                             credentials=settings.credentials, rootfs=self.paths.rootfs, reasons=probes.reasons,
                             notes=group_notes(settings.host))

    def wait(self) -> None:
        self._stop.wait()

    def request_stop(self) -> None:
        self._stop.set()

    # --- the loop --------------------------------------------------------------------------------------
    def collect_once(self) -> None:
        with self._swap:  # a reload swaps components between two collections, never during one
            self._collect()

    def _collect(self) -> None:
        snap = self.sampler.refresh()
        if self.history is not None:
            self.history.record(snap)
        for forwarder in self.forwarders:
            forwarder.check()  # degraded on our own schedule, whether or not anyone polls /health
        # The collection's own times: durations (``for:``) are measured between collections, not between
        # evaluations that a slow collection delays.
        self.monitor.update(snap.readings, now=snap.monotonic, wall=snap.time)
        self.telemetry.export()
        self.logger_provider.force_flush()  # the interval's log records, if any, as one spool line
        self._ready.set()

    def _agent_readings(self) -> dict[str, dict[str, float]]:
        """Readings about the agent itself for the health rules: spool losses (and forwarder lag)."""
        out: dict[str, dict[str, float]] = {}
        if self.spool is not None:
            dropped = self.spool.stats()["dropped"]
            out["spool.dropped"] = {"": float(sum(dropped.values()))}
        if self.forwarders:
            out["forward.lag"] = {"": max(f.lag() for f in self.forwarders)}
        return out

    @property
    def forwarders(self) -> list[Forwarder]:
        return [f for f in (self.forwarder, self.remote_write) if f is not None]

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

    # --- /health ---------------------------------------------------------------------------------------
    def uptime(self) -> float:
        return time.monotonic() - self._started_mono

    def status(self) -> tuple[int, dict[str, Any]]:
        return status_document(self.sampler.snapshot, self.settings.interval, self.started, self.status_parts,
                               uptime=self.uptime())
