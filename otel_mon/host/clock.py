"""Clock synchronisation as the kernel sees it, from ``adjtimex(2)`` in read-only mode (modes = 0).

The kernel keeps NTP state for whichever daemon disciplines the clock (chrony, ntpd, systemd-timesyncd):
``STA_UNSYNC`` clear means synchronised; ``offset`` and ``maxerror`` are its last estimates. The call reads the
running kernel, the same one under a root path, and needs no privileges. semconv v1.44 has no clock metrics,
hence the ``otel_mon.`` names (node_exporter's timex collector).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import TYPE_CHECKING, Any, NamedTuple

from otel_mon.host.base import Collected
from otel_mon.host.domain import Domain
from otel_mon.metric_spec import MetricSpec, ReadingSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig
    from otel_mon.host.paths import HostPaths

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("otel_mon.host.clock.synchronized", "gauge", "{state}", (),
      "1 when the kernel's clock is synchronised (adjtimex: STA_UNSYNC clear), else 0.", "clock"),
    M("otel_mon.host.clock.offset", "gauge", "s", (), "The kernel's last estimate of the clock's offset (adjtimex).",
      "clock"),
    M("otel_mon.host.clock.max_error", "gauge", "s", (), "The kernel's maximum error bound of the clock (adjtimex).",
      "clock"),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("clock.unsynchronized", "", "", "1 when the kernel clock is not synchronised, else 0"),
    ReadingSpec("clock.offset", "s", "", "absolute clock offset the kernel estimates"),
    ReadingSpec("clock.max_error", "s", "", "the kernel's maximum error bound of the clock: milliseconds while "
                "NTP disciplines it, growing to 16 s once it is unsynchronised (a warning above 1 s by default)"),
)

STA_UNSYNC = 0x0040
STA_NANO = 0x2000
TIME_ERROR = 5


class _Timex(ctypes.Structure):
    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


class ClockState(NamedTuple):
    synchronized: bool
    offset: float  # seconds
    max_error: float  # seconds


def interpret(state: int, status: int, offset: int, maxerror: int) -> ClockState:
    """The kernel's answer in seconds: offset is ns with STA_NANO, else us; maxerror is always us."""
    synced = state != TIME_ERROR and not status & STA_UNSYNC
    return ClockState(synced, offset / (1e9 if status & STA_NANO else 1e6), maxerror / 1e6)


@functools.lru_cache(maxsize=1)
def _adjtimex() -> Any:
    """libc's adjtimex, looked up once; None where there is none (not Linux)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    return getattr(libc, "adjtimex", None)


def read_clock() -> ClockState | None:
    """None where libc has no adjtimex (not Linux)."""
    adjtimex = _adjtimex()
    if adjtimex is None:
        return None
    tx = _Timex()  # modes = 0: read only
    state = adjtimex(ctypes.byref(tx))
    if state < 0:
        raise OSError(ctypes.get_errno(), "adjtimex failed")
    return interpret(state, tx.status, tx.offset, tx.maxerror)


class ClockCollector:
    name = "clock"

    def collect(self, now: float) -> Collected:
        out = Collected()
        clock = read_clock()
        if clock is None:
            return out
        out.add("otel_mon.host.clock.synchronized", 1 if clock.synchronized else 0)
        out.add("otel_mon.host.clock.offset", clock.offset)
        out.add("otel_mon.host.clock.max_error", clock.max_error)
        out.reading("clock.unsynchronized", "", 0.0 if clock.synchronized else 1.0)
        out.reading("clock.offset", "", abs(clock.offset))
        out.reading("clock.max_error", "", clock.max_error)
        return out


def build(host: HostConfig, paths: HostPaths) -> ClockCollector:
    """This domain's collector, given only its options."""
    return ClockCollector()


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("clock", position=150, metrics=METRICS, readings=READINGS, build=build)
