"""Process groups (``process_groups:``) and the busiest processes, from one pass over /proc per collection.

Per group the semconv ``process.*`` metrics, summed over its processes, with the group in
``otel_mon.process.group`` (semconv's process metrics describe one process: the attribute and the sums are the
documented departure), plus the number of processes and the oldest start time. Counters stay monotonic as
processes come and go (host/group_totals.py). Every pid's ``stat`` is read once (the process-state count reuses
the pass, host/proc_pass.py); ``status``, ``io`` and the ``fd`` directory only for processes in a group.
Groups beyond ``max_process_groups`` are not created: their processes are counted as dropped (logged once).
``top_processes`` (opt-in) adds the N busiest by CPU and by resident memory as their own series.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.domain import Domain
from otel_mon.host.group_match import MAX_GROUPS, Facts, GroupConfig, Matcher
from otel_mon.host.group_totals import GroupTotals, Key, Member
from otel_mon.host.paths import HostPaths
from otel_mon.host.proc_pass import (
    Stat,
    Unreadable,
    parse_cgroup_unit,
    parse_io,
    parse_passwd,
    parse_status,
    read_small,
    scan,
    shared,
)
from otel_mon.host.section import Section
from otel_mon.metric_spec import MetricSpec, ReadingSpec
from otel_mon.schema import Problem, check

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

log = logging.getLogger(__name__)

GROUP = "otel_mon.process.group"
_G = (GROUP,)
_TOP = ("process.pid", "process.executable.name", "process.owner")
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("process.cpu.time", "counter", "s", ("cpu.mode", GROUP),
      "CPU seconds of each process group: its processes' and their reaped children's (stat utime+cutime, "
      "stime+cstime), exited processes included.", "process_groups", values=(("cpu.mode", ("user", "system")),)),
    M("process.memory.usage", "updowncounter", "By", _G, "Resident memory of each process group (sum of RSS).",
      "process_groups"),
    M("process.memory.virtual", "updowncounter", "By", _G, "Virtual memory of each process group (sum).",
      "process_groups"),
    M("process.disk.io", "counter", "By", ("disk.io.direction", GROUP),
      "Bytes each process group made storage read or write (/proc/<pid>/io read_bytes, write_bytes).",
      "process_groups", values=(("disk.io.direction", ("read", "write")),)),
    M("process.thread.count", "updowncounter", "{thread}", _G, "Threads of each process group.", "process_groups"),
    M("process.unix.file_descriptor.count", "updowncounter", "{file_descriptor}", _G,
      "Open file descriptors of each process group.", "process_groups"),
    M("process.context_switches", "counter", "{context_switch}", ("process.context_switch.type", GROUP),
      "Context switches of each process group.", "process_groups",
      values=(("process.context_switch.type", ("voluntary", "involuntary")),)),
    M("process.paging.faults", "counter", "{fault}", ("system.paging.fault.type", GROUP),
      "Page faults of each process group (with its reaped children's).", "process_groups",
      values=(("system.paging.fault.type", ("minor", "major")),)),
    M("otel_mon.process.group.count", "updowncounter", "{process}", _G,
      "Processes in each process group (0 for a named group nothing matches).", "process_groups"),
    M("otel_mon.process.group.oldest_start_time", "gauge", "s", _G,
      "Start time (Unix seconds) of each process group's oldest process.", "process_groups"),
    M("otel_mon.process.group.dropped", "gauge", "{process}", (),
      "Processes that matched a group beyond max_process_groups, left out of every group.", "process_groups"),
    M("otel_mon.process.unreadable", "gauge", "{process}", ("otel_mon.process.file",),
      "Grouped processes whose io or fd file could not be read in the last pass (other users' processes "
      "without root).", "process_groups", values=(("otel_mon.process.file", ("io", "fd")),)),
    M("otel_mon.process.top.cpu.utilization", "gauge", "1", _TOP,
      "The top_processes.count busiest processes by CPU since the previous collection, over all CPUs "
      "(top_processes.enabled).", "process_groups"),
    M("otel_mon.process.top.memory.usage", "gauge", "By", _TOP,
      "The top_processes.count processes with the most resident memory (top_processes.enabled).",
      "process_groups"),
)
del M

READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("process_group.count", "", "process group name",
                "processes in the group (a rule with critical: 0 says a service is not running)", low_is_bad=True),
    ReadingSpec("process_group.cpu", "%", "process group name",
                "the group's CPU since the previous collection, in % of one CPU (as top shows it)"),
    ReadingSpec("process_group.memory", "MiB", "process group name", "the group's resident memory"),
)


@dataclass(frozen=True)
class TopProcessesConfig:
    """``top_processes``: the busiest processes as their own series (opt-in: pids churn series)."""

    enabled: bool = False
    count: int = 10

    def __post_init__(self) -> None:
        check(self, [Problem("count", "expected 1 to 20", self.count)] if not 1 <= self.count <= 20 else [])


@dataclass(frozen=True)
class ProcessGroupsConfig:
    """``process_groups`` (a list), ``max_process_groups`` and ``top_processes``: top-level keys."""

    process_groups: tuple[GroupConfig, ...] = ()
    max_process_groups: int = 100
    top_processes: TopProcessesConfig = TopProcessesConfig()

    def __post_init__(self) -> None:
        out = []
        if not 1 <= self.max_process_groups <= MAX_GROUPS:
            out.append(Problem("max_process_groups", f"expected 1 to {MAX_GROUPS}", self.max_process_groups))
        out += [Problem(f"process_groups[{i}]", "an empty entry", {}) for i, g in enumerate(self.process_groups)
                if g == GroupConfig()]
        names = [g.name for g in self.process_groups]
        out += [Problem(f"process_groups[{i}].name", "another process group has this name", n)
                for i, n in enumerate(names) if n in names[:i]]
        check(self, out)


def group_notes(host: HostConfig) -> dict[tuple[str, str], str]:
    """(reading, group) -> what the group's entry matches, for the health rules' notifications ("is it
    running" names the group and its matchers). Groups named by a template are known only when they appear."""
    cfg = host.section(ProcessGroupsConfig)
    return {(r.name, g.name): f"process group {g.name}: {g.what()}"
            for g in cfg.process_groups if g.static for r in READINGS}


_MODES = (frozen_attrs(("cpu.mode", "user")), frozen_attrs(("cpu.mode", "system")))
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class _Users:
    """uid -> name from the host's /etc/passwd (under the root path), re-read when the file changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._mtime: float | None = None
        self._names: dict[int, str] = {}

    def name(self, uid: int) -> str:
        try:
            mtime = os.stat(self.path).st_mtime
            if mtime != self._mtime:
                self._names, self._mtime = parse_passwd(read_text(self.path)), mtime
        except OSError:
            pass
        return self._names.get(uid, str(uid))


class ProcessGroupsCollector:
    name = "process_groups"

    def __init__(self, paths: HostPaths, cfg: ProcessGroupsConfig = ProcessGroupsConfig()) -> None:
        self.paths = paths
        self.proc = paths.proc()
        self.cfg = cfg
        self.matcher = Matcher(cfg.process_groups)
        self.totals = GroupTotals()
        self.users = _Users(paths.etc("passwd"))
        self._own: dict[Key, tuple[str, int | None, str]] = {}  # key -> (comm, entry index, group name)
        self.groups: dict[str, int] = {g.name: i for i, g in enumerate(cfg.process_groups) if g.static}
        self._logged: set[str] = set()
        self._prev_cpu: dict[Key, int] = {}
        self._top_at: float | None = None
        self._prev: tuple[float, dict[str, float]] | None = None
        self._btime: float | None = None
        self._ncpu = 0
        self.unreadable = Unreadable()

    # -- one process's files (OSError when it exited or is not ours to read) --
    def _file(self, pid: int, name: str) -> str:
        return read_small(f"{self.proc}/{pid}/{name}", 65536).decode("utf-8", "replace")

    def _facts(self, st: Stat) -> Facts:
        pid = st.pid
        return Facts(st.comm, lambda: os.stat(f"{self.proc}/{pid}").st_uid, self.users.name,
                     lambda: os.readlink(f"{self.proc}/{pid}/exe"),
                     lambda: self._file(pid, "cmdline").replace("\0", " ").strip(),
                     lambda: parse_cgroup_unit(self._file(pid, "cgroup")))

    def _own_group(self, st: Stat) -> tuple[int | None, str]:
        key = (st.pid, st.starttime)
        cached = self._own.get(key)
        if cached is not None and cached[0] == st.comm:  # an exec changes comm: match again
            return cached[1], cached[2]
        facts = self._facts(st)
        index = self.matcher.match(facts)
        name = self.matcher.name(index, facts) if index is not None else ""
        self._own[key] = (st.comm, index, name)
        return index, name

    def _assign(self, stats: list[Stat]) -> dict[int, str]:
        """pid -> group name; a descendant of a process in a ``children: true`` group joins that group."""
        by_pid = {st.pid: st for st in stats}
        fold = [g.children for g in self.cfg.process_groups]
        resolved: dict[int, tuple[str, bool]] = {}  # pid -> (group or "", does it fold its children)
        for st in stats:
            chain: list[int] = []
            pid = st.pid
            while pid in by_pid and pid not in resolved and len(chain) < 4096:
                chain.append(pid)
                pid = by_pid[pid].ppid
            inherited = resolved.get(pid, ("", False))
            for p in reversed(chain):
                if inherited[1]:
                    resolved[p] = inherited
                    continue
                index, name = self._own_group(by_pid[p])
                resolved[p] = inherited = (name, index is not None and fold[index]) if index is not None \
                    else ("", False)
        return {pid: g for pid, (g, _) in resolved.items() if g}

    def collect(self, now: float) -> Collected:
        out = Collected()
        top = self.cfg.top_processes.enabled
        if not self.cfg.process_groups and not top:
            return out
        stats = scan(self.proc)
        shared(self.proc).publish(now, stats)
        alive = {(st.pid, st.starttime) for st in stats}
        self._own = {k: v for k, v in self._own.items() if k in alive}
        if self.cfg.process_groups:
            self._groups(out, stats, now)
        if top:
            self._top(out, stats, now)
        return out

    def _groups(self, out: Collected, stats: list[Stat], now: float) -> None:
        assigned = self._assign(stats)
        self.unreadable = Unreadable()
        gauges: dict[str, list[float]] = {g: [0, 0, 0, 0, 0, float("inf")] for g in self.groups}
        seen: dict[Key, Member] = {}
        dropped = 0
        for st in stats:
            group = assigned.get(st.pid)
            if group is None:
                continue
            if group not in self.groups:
                if len(self.groups) >= self.cfg.max_process_groups:
                    dropped += 1
                    continue
                self.groups[group] = len(self.groups)
                gauges[group] = [0, 0, 0, 0, 0, float("inf")]
            got = self._member(st, group)
            if got is None:
                continue
            member, fds = got
            seen[(st.pid, st.starttime)] = member
            g = gauges.setdefault(group, [0, 0, 0, 0, 0, float("inf")])
            g[0] += 1
            g[1] += st.rss * _PAGE
            g[2] += st.vsize
            g[3] += st.threads
            g[4] += fds
            g[5] = min(g[5], st.starttime)
        totals = self.totals.update(seen)
        btime = self._boot_time()
        cpu_now: dict[str, float] = {}
        for group, g in gauges.items():
            a = self._attr(group)
            c = totals.get(group, [0.0] * 8)
            out.add("process.cpu.time", c[0] / _TICK, frozen_attrs(("cpu.mode", "user"), (GROUP, group)))
            out.add("process.cpu.time", c[1] / _TICK, frozen_attrs(("cpu.mode", "system"), (GROUP, group)))
            out.add("process.paging.faults", c[2], frozen_attrs(("system.paging.fault.type", "minor"), (GROUP, group)))
            out.add("process.paging.faults", c[3], frozen_attrs(("system.paging.fault.type", "major"), (GROUP, group)))
            out.add("process.disk.io", c[4], frozen_attrs(("disk.io.direction", "read"), (GROUP, group)))
            out.add("process.disk.io", c[5], frozen_attrs(("disk.io.direction", "write"), (GROUP, group)))
            out.add("process.context_switches", c[6],
                    frozen_attrs(("process.context_switch.type", "voluntary"), (GROUP, group)))
            out.add("process.context_switches", c[7],
                    frozen_attrs(("process.context_switch.type", "involuntary"), (GROUP, group)))
            out.add("otel_mon.process.group.count", g[0], a)
            out.add("process.memory.usage", g[1], a)
            out.add("process.memory.virtual", g[2], a)
            out.add("process.thread.count", g[3], a)
            out.add("process.unix.file_descriptor.count", g[4], a)
            if g[0] and btime is not None:
                out.add("otel_mon.process.group.oldest_start_time", btime + g[5] / _TICK, a)
            out.reading("process_group.count", group, g[0])
            out.reading("process_group.memory", group, g[1] / (1 << 20))
            cpu_now[group] = (c[0] + c[1]) / _TICK
        if self._prev is not None and now > self._prev[0]:
            dt = now - self._prev[0]
            for group, secs in cpu_now.items():
                before = self._prev[1].get(group)
                if before is not None:
                    out.reading("process_group.cpu", group, max(secs - before, 0.0) / dt * 100)
        self._prev = (now, cpu_now)
        out.add("otel_mon.process.group.dropped", dropped)
        if dropped:
            self._once("dropped", "processes left out of every group: max_process_groups reached",
                       max_process_groups=self.cfg.max_process_groups, dropped=dropped)
        for kind in ("io", "fd"):
            n = self.unreadable.counts.get(kind, 0)
            out.add("otel_mon.process.unreadable", n, frozen_attrs(("otel_mon.process.file", kind)))
        if self.unreadable.counts:
            self._once("unreadable", "some grouped processes' files are unreadable (other users' processes; run "
                       "as root for their I/O and file descriptors); counted in otel_mon.process.unreadable",
                       **self.unreadable.counts)

    def _member(self, st: Stat, group: str) -> tuple[Member, int] | None:
        pid = st.pid
        try:
            status = parse_status(self._file(pid, "status"))
        except OSError:
            return None  # exited since the stat line
        read = write = 0
        try:
            read, write = parse_io(self._file(pid, "io"))
        except PermissionError:
            self.unreadable.add("io")
        except OSError:
            pass
        fds = 0
        try:
            fds = len(os.listdir(f"{self.proc}/{pid}/fd"))
        except PermissionError:
            self.unreadable.add("fd")
        except OSError:
            pass
        member = Member(group, st.ppid, [float(st.utime + st.cutime), float(st.stime + st.cstime),
                                        float(st.minflt + st.cminflt), float(st.majflt + st.cmajflt),
                                        float(read), float(write), float(status.voluntary),
                                        float(status.involuntary)],
                        [float(st.cutime), float(st.cstime), float(st.cminflt), float(st.cmajflt), float(read),
                         float(write)])
        return member, fds

    def _top(self, out: Collected, stats: list[Stat], now: float) -> None:
        n = self.cfg.top_processes.count
        cpu = {(st.pid, st.starttime): st.utime + st.stime for st in stats}
        prev, self._prev_cpu = self._prev_cpu, cpu
        span = (now - self._top_at) * _TICK * self._cpus() if self._top_at is not None else 0.0
        self._top_at = now
        by_key = {(st.pid, st.starttime): st for st in stats}
        if span > 0:
            busy = sorted(((ticks - prev[k], k) for k, ticks in cpu.items() if k in prev), reverse=True)[:n]
            for delta, key in busy:
                out.add("otel_mon.process.top.cpu.utilization", max(delta, 0) / span, self._top_attrs(by_key[key]))
        for st in sorted(stats, key=lambda s: s.rss, reverse=True)[:n]:
            out.add("otel_mon.process.top.memory.usage", st.rss * _PAGE, self._top_attrs(st))

    def _top_attrs(self, st: Stat) -> dict[str, str | int]:
        try:
            user = self.users.name(os.stat(f"{self.proc}/{st.pid}").st_uid)
        except OSError:
            user = "?"
        return {"process.pid": st.pid, "process.executable.name": st.comm, "process.owner": user}

    def _attr(self, group: str) -> Mapping[str, str | int]:
        return frozen_attrs((GROUP, group))

    def _cpus(self) -> int:
        """The host's logical CPUs (``cpuN`` lines of its /proc/stat), for utilisation over all of them."""
        if not self._ncpu:
            try:
                text = read_text(self.paths.proc("stat"))
                self._ncpu = sum(1 for line in text.splitlines() if line.startswith("cpu") and line[3:4].isdigit())
            except OSError:
                pass
        return self._ncpu or 1

    def _boot_time(self) -> float | None:
        if self._btime is None:
            try:
                for line in read_text(self.paths.proc("stat")).splitlines():
                    if line.startswith("btime "):
                        self._btime = float(line.split()[1])
            except OSError:
                return None
        return self._btime

    def _once(self, what: str, message: str, **extra: object) -> None:
        if what not in self._logged:
            self._logged.add(what)
            log.warning(message, extra={"collector": self.name, **extra})


def build(host: HostConfig, paths: HostPaths) -> ProcessGroupsCollector:
    """This domain's collector, given only its options."""
    return ProcessGroupsCollector(paths, host.section(ProcessGroupsConfig))


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("process_groups", position=85, metrics=METRICS, readings=READINGS,
                section=Section("process_group_settings", ProcessGroupsConfig, inline=True), build=build)
