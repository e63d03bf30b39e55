"""The /health document: agent liveness, snapshot age and the host's headline numbers in human units.

One format throughout (docs/health.md, "Formats"): times are ISO 8601 UTC strings (``since``, ``at``,
``last_success``), durations are ``*_seconds`` numbers, and every number is rounded to 3 decimals (the clock's
offset and max error to 6: microseconds, as the kernel gives them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from otel_mon import __version__
from otel_mon.host.sampler import Snapshot
from otel_mon.timefmt import short_duration

STALE_INTERVALS = 3  # /health answers 503 when the last collection is older than this many intervals

# The top-level status is the worst of: the health rules (warning / critical), and the agent's own parts: a
# collector domain failing this many collections in a row (degraded), a lagging forwarder (degraded), a wedged
# forwarder or a spool that cannot write (critical). ``problems`` says which.
COLLECTOR_FAILING_INTERVALS = 3
_ORDER = {"ok": 0, "degraded": 1, "warning": 2, "critical": 3}


def headline(snap: Snapshot) -> dict[str, Any]:
    r = snap.readings

    def one(name: str) -> float | None:
        values = r.get(name)
        return round(values[""], 3) if values and "" in values else None

    net: dict[str, dict[str, float]] = {}
    for direction in ("receive", "transmit"):
        for nic, value in r.get(f"network.{direction}", {}).items():
            net.setdefault(nic, {})[f"{direction}_bytes_per_s"] = round(value, 3)
    clock = None
    if "clock.max_error" in r:
        offset, max_error = r.get("clock.offset", {}).get(""), r["clock.max_error"].get("")
        clock = {"synchronized": one("clock.unsynchronized") == 0.0,  # to the microsecond, as adjtimex gives it
                 "offset_seconds": None if offset is None else round(offset, 6),
                 "max_error_seconds": None if max_error is None else round(max_error, 6)}
    return {
        "cpu_percent": one("cpu"),
        "cpu_iowait_percent": one("cpu.iowait"),
        "memory_percent": one("memory"),
        "memory_available_percent": one("memory.available"),
        "swap_percent": one("paging"),
        "filesystems_percent": {mp: round(v, 3) for mp, v in sorted(r.get("filesystem", {}).items())},
        "inodes_percent": {mp: round(v, 3) for mp, v in sorted(r.get("inodes", {}).items())},
        "network": net,
        "load": [one("load.1m"), one("load.5m"), one("load.15m")],
        "uptime_seconds": one("uptime"),
        "temperatures_celsius": {k: round(v, 3) for k, v in sorted(r.get("temperature", {}).items())},
        # PSI avg60 per resource.kind (cpu.some, memory.full, io.some, ...), where the kernel gives it.
        "pressure_percent": {k: round(v, 3) for k, v in sorted(r.get("pressure", {}).items())},
        "clock": clock,  # None with the clock collector off (or not Linux)
        # The units in the failed state (collectors.systemd on); [] when none failed, absent when it is off.
        **({"failed_units": sorted(r.get("systemd.failed", {}))} if "systemd.failed" in r or _systemd(snap) else {}),
    }


def _systemd(snap: Snapshot) -> bool:
    return "systemd" in snap.domains


def _behind(signal: str, part: Mapping[str, Any]) -> str:
    lag, backlog = part.get("lag_seconds"), part.get("backlog_records")
    said = [f"{short_duration(lag)} behind" if isinstance(lag, (int, float)) else "",
            f"{backlog} lines not yet sent" if isinstance(backlog, int) else ""]
    return f"{signal} {', '.join(s for s in said if s) or 'behind'}".strip()


def _which(part: Mapping[str, Any], flag: str) -> str:
    """The signals of a forwarder part that raise ``flag``, each with its lag and backlog, as one phrase.

    ``forward: degraded (degraded)`` told the reader nothing the state had not: this says which signal is
    behind and by how much, in the figures the part already holds.
    """
    signals = part.get("signals")
    found: list[tuple[str, Mapping[str, Any]]] = [
        (name, sig) for name, sig in (signals.items() if isinstance(signals, dict) else ())
        if isinstance(sig, dict) and sig.get(flag)]
    if not found and any(k in part for k in ("lag_seconds", "backlog_records")):
        found = [("", part)]
    words = [_behind(name, sig) for name, sig in found]
    if flag == "wedged":
        words = [f"{w} (its thread has stopped moving)" for w in words]
    return "; ".join(words)


def status_document(
    snap: Snapshot | None,
    interval: float,
    started: float,
    parts: Mapping[str, Callable[[], dict[str, Any]]],
    now: float | None = None,
    uptime: float | None = None,
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, document). 503 before the first collection or when collection has stalled.

    ``uptime`` (from a monotonic clock) is preferred over ``now - started``, which a wall clock step distorts.
    """
    now = time.time() if now is None else now
    doc: dict[str, Any] = {
        "status": "ok",
        "version": __version__,
        "agent_uptime_seconds": round(now - started if uptime is None else uptime, 3),
        "interval_seconds": interval,
    }
    code = 200
    if snap is None:
        doc["status"] = "starting"
        doc["snapshot_age_seconds"] = None
        code = 503
    else:
        age = max(now - snap.time, 0.0)
        doc["snapshot_age_seconds"] = round(age, 3)
        doc["host"] = headline(snap)
        doc["collectors"] = {
            name: {"ok": s.ok, "duration_ms": round(s.duration * 1000, 3), "errors": sum(s.errors_total.values()),
                   **({"last_error": s.last_error} if s.last_error else {})}
            for name, s in snap.domains.items()
        }
        if age > STALE_INTERVALS * interval:
            doc["status"] = "stale"
            code = 503
    problems: list[str] = []

    def rank(state: str, why: str) -> None:
        problems.append(f"{why} ({state})")
        if code == 200 and _ORDER.get(state, 0) > _ORDER.get(doc["status"], 0):
            doc["status"] = state

    if snap is not None:
        for name, s in snap.domains.items():
            if s.failing_for >= COLLECTOR_FAILING_INTERVALS:
                rank("degraded", f"collector {name} failed the last {s.failing_for} collections")
    for name, make_part in parts.items():
        part = make_part()
        doc[name] = part
        if not isinstance(part, dict):
            continue
        state = part.get("status")
        if state == "failing":
            error = part.get("last_error")
            rank("critical", f"{name}: {error.get('message') if isinstance(error, dict) else 'failing'}")
        elif isinstance(state, str) and _ORDER.get(state, 0) > 0:
            rank(state, f"{name}: {state}")
        if part.get("wedged"):
            rank("critical", f"{name}: {_which(part, 'wedged') or 'wedged'}")
        elif part.get("degraded"):
            rank("degraded", f"{name}: {_which(part, 'degraded') or 'behind'}")
    if problems:
        doc["problems"] = problems
    return code, doc
