"""systemd unit states over D-Bus (opt-in, as in node_exporter): each unit's active state, its restart count and
the manager's system state, read with jeepney (a small pure-Python D-Bus client), never a systemctl process.

A slow or hung D-Bus must never delay a collection (node_exporter #1535, #2513): the read runs on its own
thread, one at a time, each call under ``timeout``; ``collect()`` only takes the newest finished read. A read
still running after ``timeout`` is reported as a timeout error and its units keep their last known states
until one finishes. Units are chosen by globs (default: services) and bounded by ``max_units``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, frozen_attrs
from otel_mon.host.domain import Domain
from otel_mon.host.filters import Filter, allowed
from otel_mon.host.section import Section
from otel_mon.metric_spec import MetricSpec, ReadingSpec
from otel_mon.schema import Duration, Problem, check

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig
    from otel_mon.host.paths import HostPaths

log = logging.getLogger(__name__)

# systemd's ActiveState values (org.freedesktop.systemd1.Unit), as node_exporter's node_systemd_unit_state.
ACTIVE_STATES = ("active", "activating", "deactivating", "inactive", "failed")
_UNIT = "otel_mon.systemd.unit"
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("otel_mon.systemd.unit.state", "gauge", "{state}", (_UNIT, "otel_mon.systemd.unit.state"),
      "1 for the unit's ActiveState, 0 for the others (node_exporter's node_systemd_unit_state).", "systemd",
      values=(("otel_mon.systemd.unit.state", ACTIVE_STATES),)),
    M("otel_mon.systemd.unit.restarts", "counter", "{restart}", (_UNIT,),
      "Automatic restarts of a service (NRestarts; node_systemd_service_restart_total).", "systemd"),
    M("otel_mon.systemd.system.state", "gauge", "{state}", ("otel_mon.systemd.system.state",),
      "1 for the manager's SystemState (running, degraded, starting, ...), by state.", "systemd"),
)
del M

READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("systemd.failed", "", "unit", "1 for each unit in the failed state (a warning by default)"),
)

_DEST = "org.freedesktop.systemd1"
_PATH = "/org/freedesktop/systemd1"
_MANAGER = "org.freedesktop.systemd1.Manager"


@dataclass(frozen=True)
class SystemdConfig:
    """The ``systemd`` section (with ``collectors.systemd: true``)."""

    address: str = "unix:path=/run/dbus/system_bus_socket"  # the system bus (PID 1's systemd answers there)
    units: Filter = Filter(include=("*.service",))
    timeout: Duration = Duration(2.0)  # per D-Bus call; the collection never waits for it
    max_units: int = 1000  # units beyond this (sorted by name) are left out and counted

    def __post_init__(self) -> None:
        problems = []
        if self.timeout <= 0:
            problems.append(Problem("timeout", "must be above 0", self.timeout))
        if self.max_units <= 0:
            problems.append(Problem("max_units", "must be above 0", self.max_units))
        check(self, problems)


@dataclass(frozen=True)
class Units:
    """One finished read: (unit, ActiveState, NRestarts or None) per unit, the SystemState, units left out."""

    units: tuple[tuple[str, str, int | None], ...]
    system_state: str
    dropped: int
    at: float


def read_units(address: str, cfg: SystemdConfig) -> Units:
    """ListUnits, then NRestarts of each selected service, then SystemState; each call under cfg.timeout."""
    from jeepney import DBusAddress, Properties, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import unwrap_msg

    timeout = float(cfg.timeout)
    manager = DBusAddress(_PATH, bus_name=_DEST, interface=_MANAGER)
    with open_dbus_connection(address, auth_timeout=timeout) as conn:
        listed = unwrap_msg(conn.send_and_get_reply(new_method_call(manager, "ListUnits"), timeout=timeout))[0]
        chosen = sorted((u[0], u[3], u[6]) for u in listed if allowed(u[0], cfg.units))
        dropped = max(len(chosen) - cfg.max_units, 0)
        out = []
        for name, state, path in chosen[: cfg.max_units]:
            restarts = None
            if name.endswith(".service"):
                service = DBusAddress(path, bus_name=_DEST, interface="org.freedesktop.systemd1.Service")
                reply = conn.send_and_get_reply(Properties(service).get("NRestarts"), timeout=timeout)
                try:
                    restarts = int(unwrap_msg(reply)[0][1])
                except Exception:  # an old systemd without NRestarts: the state still counts
                    restarts = None
            out.append((name, state, restarts))
        system = unwrap_msg(conn.send_and_get_reply(Properties(manager).get("SystemState"), timeout=timeout))
        return Units(tuple(out), str(system[0][1]), dropped, time.time())


class SystemdCollector:
    name = "systemd"

    def __init__(self, cfg: SystemdConfig) -> None:
        self.cfg = cfg
        self._latest: Units | None = None
        self._error: str | None = None
        self._lock = threading.Lock()
        self._running_since: float | None = None
        self._failing = False
        self._closed = threading.Event()

    def _read(self) -> None:
        try:
            got, error = read_units(self.cfg.address, self.cfg), None
        except Exception as exc:  # jeepney raises OSError, TimeoutError, DBusErrorResponse, ...
            got, error = None, f"{type(exc).__name__}: {exc}"
        with self._lock:
            if got is not None:
                self._latest = got
            self._error = error
            self._running_since = None

    def collect(self, now: float) -> Collected:
        out = Collected()
        mono = time.monotonic()
        with self._lock:
            started = self._running_since
            if started is None and not self._closed.is_set():  # one read at a time, off the collection path
                self._running_since = mono
                threading.Thread(target=self._read, name="otel-mon-systemd", daemon=True).start()
            latest, error = self._latest, self._error
        if started is not None and mono - started > float(self.cfg.timeout):
            error = f"D-Bus read running for {mono - started:.1f}s (timeout {float(self.cfg.timeout):g}s)"
        if error is not None:
            out.errors.append(("timeout" if "timeout" in error.lower() else "dbus", error))
            if not self._failing:
                self._failing = True
                log.warning("systemd read failed; unit states are the last known until it answers",
                            extra={"error": error, "address": self.cfg.address})
        elif self._failing and latest is not None:
            self._failing = False
            log.info("systemd read works again", extra={"address": self.cfg.address})
        if latest is None:
            return out
        for name, state, restarts in latest.units:
            for s in ACTIVE_STATES:
                out.add("otel_mon.systemd.unit.state", 1 if s == state else 0,
                        frozen_attrs((_UNIT, name), ("otel_mon.systemd.unit.state", s)))
            if restarts is not None:
                out.add("otel_mon.systemd.unit.restarts", restarts, frozen_attrs((_UNIT, name)))
            if state == "failed":
                out.reading("systemd.failed", name, 1.0)
        out.add("otel_mon.systemd.system.state", 1, frozen_attrs(("otel_mon.systemd.system.state",
                                                                   latest.system_state)))
        if latest.dropped:
            out.errors.append(("max_units", f"{latest.dropped} units over systemd.max_units left out"))
        out.native["systemd"] = latest
        return out

    def close(self) -> None:
        self._closed.set()


def build(host: HostConfig, paths: HostPaths) -> SystemdCollector:
    """This domain's registration: its collector, given only its options (the bus is not under root_path)."""
    return SystemdCollector(host.section(SystemdConfig))




DOMAIN = Domain("systemd", position=180, metrics=METRICS, readings=READINGS,
                section=Section("systemd", SystemdConfig), build=build, on_by_default=False)
