"""Processes by state (one pass over /proc/<pid>/stat) and creations (/proc/stat), under the root path.

The state letter sits after the last ``)`` of each stat line (the command may itself contain ``)``). The pass
opens one small file per process, so its cost grows with the process count and can be a large share of a
collection (``benchmarks/profile_cycle.py --cprofile`` shows its share on a given host). The
counts are therefore refreshed at most every ``processes.interval`` (30 s) and reused between;
``system.process.created`` (one line of /proc/stat) is read every collection. semconv's four states take every
letter: D (uninterruptible) and I (idle kernel thread) are sleeping, t (traced) is stopped; X (dead) is not
counted. When process groups are configured, their domain (listed before this one) walks /proc every collection
anyway: the counts then come from that pass (host/proc_pass.py), fresh each collection and at no cost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.domain import Domain
from otel_mon.host.paths import HostPaths
from otel_mon.host.proc_pass import shared
from otel_mon.host.procfs import parse_key_int
from otel_mon.host.section import Section
from otel_mon.metric_spec import MetricSpec
from otel_mon.schema import Duration, Problem, check

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
_V_PROC_STATE = (("process.state", ("running", "sleeping", "stopped", "defunct")),)
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("system.process.count", "updowncounter", "{process}", ("process.state",),
      "Processes by state from /proc/<pid>/stat (R running; S, D, I sleeping; T, t stopped; Z defunct); "
      "counted at most every processes.interval (30 s).",
      "processes", values=_V_PROC_STATE),
    M("system.process.created", "counter", "{process}", (), "Processes created since boot.", "processes"),
)
del M

# All but ``processes`` only for the node_exporter view (its stat collector).
_KEYS = frozenset({"processes", "ctxt", "intr", "btime", "procs_running", "procs_blocked"})
_STATE_OF = {ord("R"): "running", ord("S"): "sleeping", ord("D"): "sleeping", ord("I"): "sleeping",
             ord("T"): "stopped", ord("t"): "stopped", ord("Z"): "defunct", ord("W"): "sleeping"}
STATES = ("running", "sleeping", "stopped", "defunct")
_ATTRS = {s: frozen_attrs(("process.state", s)) for s in STATES}
_SLACK = 0.5  # seconds: a pass due this close to a collection runs in it


def count_states(proc_dir: str) -> dict[str, int]:
    """Processes per semconv state in one pass; processes that exit during the pass are skipped.

    Raw ``os.open``/``os.read``: a Python file object per process (buffer, context manager) made the pass a
    third slower.
    """
    counts = dict.fromkeys(STATES, 0)
    flags = os.O_RDONLY | os.O_CLOEXEC
    for name in os.listdir(proc_dir):
        if not name.isdigit():
            continue
        try:
            fd = os.open(f"{proc_dir}/{name}/stat", flags)
        except OSError:
            continue
        try:
            data = os.read(fd, 512)
        except OSError:  # exited between open and read
            continue
        finally:
            os.close(fd)
        at = data.rfind(b")")
        if at < 0 or at + 2 >= len(data):
            continue
        state = _STATE_OF.get(data[at + 2])
        if state is not None:
            counts[state] += 1
    return counts


@dataclass(frozen=True)
class ProcessesConfig:
    """The ``processes`` section."""

    interval: Duration = Duration(30.0)  # at most one /proc/<pid>/stat pass per interval (0: every collection)

    def __post_init__(self) -> None:
        check(self, [Problem("interval", "must not be negative", self.interval)] if self.interval < 0 else [])


class ProcessesCollector:
    name = "processes"

    def __init__(self, paths: HostPaths, cfg: ProcessesConfig = ProcessesConfig()) -> None:
        self.paths = paths
        self.every = float(cfg.interval)
        self._at = float("-inf")
        self._counts: dict[str, int] = {}

    def collect(self, now: float) -> Collected:
        out = Collected()
        # Collection ticks jitter by milliseconds: without the slack, 30 s at a 15 s interval would mean every
        # second collection or every third, by chance.
        fresh = shared(self.paths.proc()).states_at(now)  # the process groups' pass of this collection
        if fresh is not None:
            self._counts, self._at = fresh, now
        elif now - self._at >= self.every - _SLACK or now < self._at:
            self._counts, self._at = count_states(self.paths.proc()), now
        for state, n in self._counts.items():
            out.add("system.process.count", n, _ATTRS[state])
        stat = parse_key_int(read_text(self.paths.proc("stat")), _KEYS)
        out.native["stat"] = stat
        if "processes" in stat:
            out.add("system.process.created", stat["processes"])
        return out


def build(host: HostConfig, paths: HostPaths) -> ProcessesCollector:
    """This domain's collector, given only its options."""
    return ProcessesCollector(paths, host.section(ProcessesConfig))


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("processes", position=90, metrics=METRICS, section=Section("processes", ProcessesConfig), build=build)
