"""One read of the host per interval, shared by every instrument callback of every reader.

``refresh()`` runs each enabled domain once and swaps in a new immutable snapshot; callbacks and /health
only ever read the latest snapshot, so a burst of scrapes costs no extra psutil calls. A domain that fails
degrades alone: its error is counted, logged once per episode, and the other domains still report.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from otel_mon.host.base import Collector, Readings
from otel_mon.host.row_check import RowCheck
from otel_mon.instruments import Instruments, Point

log = logging.getLogger(__name__)

_EMPTY: tuple[Point, ...] = ()
_NO_ERRORS: Mapping[str, int] = {}


@dataclass(frozen=True)
class DomainStatus:
    ok: bool
    duration: float
    errors_total: Mapping[str, int]
    last_error: str | None = None
    failing_for: int = 0  # consecutive collections this domain has failed (0 when the last one worked)


@dataclass(frozen=True)
class Snapshot:
    time: float  # wall clock, seconds
    monotonic: float
    points: Mapping[str, list[Point]]
    readings: Readings
    domains: Mapping[str, DomainStatus] = field(default_factory=dict)
    sequence: int = 0
    native: Mapping[str, object] = field(default_factory=dict)  # the domains' parsed sources (Collected.native)


class HostSampler:
    def __init__(self, collectors: Iterable[Collector], row_check: RowCheck | None = None) -> None:
        self.collectors = list(collectors)
        self.row_check = row_check or RowCheck()
        self._broken: set[str] = set()  # row problems already logged
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()  # one refresh at a time
        self._errors: dict[str, dict[str, int]] = {c.name: {} for c in self.collectors}
        self._failing: set[str] = set()
        self._streak: dict[str, int] = {}
        self._seq = 0
        self._instruments: Instruments | None = None
        self._declared: set[str] = set()

    @property
    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    def refresh(self) -> Snapshot:
        with self._lock:
            now, mono = time.time(), time.monotonic()
            points: dict[str, list[Point]] = {}
            readings: Readings = {}
            native: dict[str, object] = {}
            domains: dict[str, DomainStatus] = {}
            for collector in self.collectors:
                status = self._run(collector, now, points, readings, native)
                streak = 0 if status.ok else self._streak.get(collector.name, 0) + 1
                self._streak[collector.name] = streak
                domains[collector.name] = dataclasses.replace(status, failing_for=streak) if streak else status
            self._seq += 1
            snap = Snapshot(now, mono, points, readings, domains, self._seq, native)
            self._snapshot = snap
            self._declare_dynamic(snap)
            return snap

    def _run(
        self, collector: Collector, now: float, points: dict[str, list[Point]], readings: Readings,
        native: dict[str, object],
    ) -> DomainStatus:
        name = collector.name
        errors = self._errors[name]
        started = time.perf_counter()
        last_error = None
        try:
            got = collector.collect(now)
        except Exception as exc:  # psutil raises many kinds; one domain must never stop the others
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            last_error = f"{type(exc).__name__}: {exc}"
            if name not in self._failing:
                self._failing.add(name)
                log.error("collector failed; its metrics are skipped until it recovers",
                          extra={"collector": name, "error": last_error})
            return DomainStatus(False, time.perf_counter() - started, dict(errors), last_error)
        finished = time.perf_counter()
        if name in self._failing:
            self._failing.discard(name)
            log.info("collector recovered", extra={"collector": name})
        for kind, message in got.errors:
            errors[kind] = errors.get(kind, 0) + 1
            last_error = message
        broken = errors.get("contract", 0)
        for metric, pts in got.points.items():
            pts = self._checked(name, metric, pts, errors)
            if not pts:  # every point broke the table (a misspelt name): the name does not reach readers either
                continue
            if metric in points:
                points[metric].extend(pts)
            else:
                points[metric] = pts
        for reading, values in got.readings.items():
            readings.setdefault(reading, {}).update(values)
        native.update(got.native)
        if errors.get("contract", 0) != broken:
            last_error = "a point broke the metric table (see the log)"
        ok = not got.errors and errors.get("contract", 0) == broken
        return DomainStatus(ok, finished - started, dict(errors) if errors else _NO_ERRORS, last_error)

    def _checked(self, domain: str, metric: str, pts: list[Point], errors: dict[str, int]) -> list[Point]:
        """The points that keep their row; the others are dropped, counted as ``contract`` errors, logged once."""
        check = self.row_check.check
        if all(check(domain, metric, attrs) is None for _, attrs in pts):
            return pts
        kept = []
        for value, attrs in pts:
            why = check(domain, metric, attrs)
            if why is None:
                kept.append((value, attrs))
                continue
            errors["contract"] = errors.get("contract", 0) + 1
            if why not in self._broken:
                self._broken.add(why)
                log.error("point dropped: it breaks the metric table", extra={"collector": domain, "problem": why})
        return kept

    def points(self, name: str) -> Iterable[Point]:
        snap = self._snapshot
        return snap.points.get(name, _EMPTY) if snap is not None else _EMPTY

    def self_points(self, name: str) -> list[Point]:
        """``otel_mon.collector.*``: node_exporter's scrape_collector_* in OTel form."""
        snap = self._snapshot
        if snap is None:
            return []
        out: list[Point] = []
        for domain, status in snap.domains.items():
            attrs = {"otel_mon.collector": domain}
            if name == "otel_mon.collector.duration":
                out.append((status.duration, attrs))
            elif name == "otel_mon.collector.success":
                out.append((1.0 if status.ok else 0.0, attrs))
            elif name == "otel_mon.collector.errors":
                out.extend((float(n), {**attrs, "error.type": kind}) for kind, n in status.errors_total.items())
        return out

    def _declare_dynamic(self, snap: Snapshot) -> None:
        """Metrics named by data (``native["dynamic:<domain>"]``: name -> (instrument, description, points)) get
        an instrument on first sight, fed from the newest snapshot; a name the snapshot drops yields nothing."""
        if self._instruments is None:
            return
        for key, metrics in snap.native.items():
            if not key.startswith("dynamic:") or not isinstance(metrics, dict):
                continue
            for name, (instrument, description, _) in metrics.items():
                if name in self._declared:
                    continue
                self._declared.add(name)
                self._instruments.declare(name, instrument, description,
                                          lambda k=key, n=name: self._dynamic_points(k, n))  # type: ignore[misc]

    def _dynamic_points(self, key: str, name: str) -> Iterable[Point]:
        snap = self._snapshot
        metrics = snap.native.get(key) if snap is not None else None
        entry = metrics.get(name) if isinstance(metrics, dict) else None
        return entry[2] if entry is not None else _EMPTY

    def register_metrics(self, instruments: Instruments) -> None:
        from otel_mon.host.table import HOST_DOMAINS

        self._instruments = instruments

        for name, spec in instruments.specs.items():
            if spec.domain in HOST_DOMAINS:
                instruments.provide(name, lambda n=name: self.points(n))  # type: ignore[misc]
            elif spec.domain == "collector":
                instruments.provide(name, lambda n=name: self.self_points(n))  # type: ignore[misc]

    def close(self) -> None:
        for collector in self.collectors:
            close = getattr(collector, "close", None)
            if close is not None:
                close()
