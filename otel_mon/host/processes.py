"""Process counts and creations from /proc/stat, without walking every /proc/<pid> (as hostmetrics does)."""

from __future__ import annotations

from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_key_int

_KEYS = frozenset({"processes", "procs_running", "procs_blocked"})


class ProcessesCollector:
    name = "processes"

    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths

    def collect(self, now: float) -> Collected:
        out = Collected()
        stat = parse_key_int(read_text(self.paths.proc("stat")), _KEYS)
        out.add("system.process.count", stat.get("procs_running", 0), frozen_attrs(("process.state", "running")))
        out.add("system.process.count", stat.get("procs_blocked", 0), frozen_attrs(("process.state", "blocked")))
        if "processes" in stat:
            out.add("system.process.created", stat["processes"])
        return out
