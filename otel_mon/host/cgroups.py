"""Per-service and per-container resources from the cgroup tree (v2 unified, v1 per controller, or hybrid).

Which cgroups: by default systemd services (``system.slice/*.service``) and containers' scopes (docker,
containerd, cri-o, podman), chosen on purpose (cAdvisor's lesson: every cgroup as a container is noise), with
``include``/``exclude`` globs over the path, a depth limit and a maximum count (the rest counted as dropped,
logged once). Each reading has one name whichever layout holds it (host/cgroupfs.py). No semconv metric
describes a cgroup (``container.*`` metrics assume a container runtime's view): names are ``otel_mon.cgroup.*``;
``container.id`` (semconv) and ``otel_mon.systemd.unit`` are added where the path names them. Read under
``root_path``.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.cgroupfs import (
    Layout,
    container_id,
    layout,
    parse_blkio,
    parse_flat,
    parse_io_stat,
    parse_limit,
    parse_psi_totals,
    systemd_unit,
)
from otel_mon.host.domain import Domain
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_mounts
from otel_mon.host.section import Section
from otel_mon.schema import Duration, Problem, check
from otel_mon.semconv import MetricSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

log = logging.getLogger(__name__)

PATH = "otel_mon.cgroup.path"
_C = (PATH,)
_OPT = ("otel_mon.systemd.unit", "container.id")
_DIR = (("disk.io.direction", ("read", "write")),)
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("otel_mon.cgroup.cpu.usage", "counter", "s", _C,
      "CPU time of the cgroup's tasks (v2 cpu.stat usage_usec, v1 cpuacct.usage).", "cgroups",
      optional_attributes=_OPT),
    M("otel_mon.cgroup.cpu.time", "counter", "s", ("cpu.mode", PATH),
      "CPU time of the cgroup's tasks by mode (v2 user_usec/system_usec, v1 cpuacct.stat).", "cgroups",
      optional_attributes=_OPT, values=(("cpu.mode", ("user", "system")),)),
    M("otel_mon.cgroup.cpu.throttling.periods", "counter", "{period}", _C,
      "Enforcement periods of the cgroup's CPU quota that had runnable tasks (nr_periods).", "cgroups",
      optional_attributes=_OPT),
    M("otel_mon.cgroup.cpu.throttling.throttled_periods", "counter", "{period}", _C,
      "Periods in which the cgroup used up its CPU quota (nr_throttled).", "cgroups", optional_attributes=_OPT),
    M("otel_mon.cgroup.cpu.throttling.throttled_time", "counter", "s", _C,
      "Time the cgroup's tasks were held back by its CPU quota (throttled_usec, v1 throttled_time).", "cgroups",
      optional_attributes=_OPT),
    M("otel_mon.cgroup.memory.usage", "updowncounter", "By", _C,
      "Memory charged to the cgroup (v2 memory.current, v1 memory.usage_in_bytes; page cache included).",
      "cgroups", optional_attributes=_OPT),
    M("otel_mon.cgroup.memory.limit", "updowncounter", "By", _C,
      "The cgroup's memory limit (memory.max, memory.limit_in_bytes); absent without one.", "cgroups",
      optional_attributes=_OPT),
    M("otel_mon.cgroup.memory.events", "counter", "{event}", ("otel_mon.cgroup.memory.event", PATH),
      "Memory events: oom (the limit was hit and reclaim failed; v2 only) and oom_kill (tasks the OOM killer "
      "killed in the cgroup; v1 memory.oom_control).", "cgroups", optional_attributes=_OPT,
      values=(("otel_mon.cgroup.memory.event", ("oom", "oom_kill")),)),
    M("otel_mon.cgroup.io", "counter", "By", ("disk.io.direction", PATH),
      "Bytes the cgroup read from and wrote to block devices (v2 io.stat, v1 blkio.throttle.io_service_bytes; "
      "v1 does not see buffered writes flushed later, and on current kernels counts only devices with a "
      "blkio.throttle rule).", "cgroups", optional_attributes=_OPT,
      values=_DIR),
    M("otel_mon.cgroup.io.operations", "counter", "{operation}", ("disk.io.direction", PATH),
      "Block I/O operations of the cgroup (v2 io.stat rios/wios, v1 blkio.throttle.io_serviced).", "cgroups",
      optional_attributes=_OPT, values=_DIR),
    M("otel_mon.cgroup.pressure.stall_time", "counter", "s",
      ("otel_mon.pressure.resource", "otel_mon.pressure.stall_type", PATH),
      "Time the cgroup's tasks were stalled per resource (PSI, v2 files only).", "cgroups",
      optional_attributes=_OPT, values=(("otel_mon.pressure.resource", ("cpu", "memory", "io")),
                                        ("otel_mon.pressure.stall_type", ("some", "full")))),
    M("otel_mon.cgroup.count", "updowncounter", "{cgroup}", (), "cgroups selected and read.", "cgroups"),
    M("otel_mon.cgroup.dropped", "gauge", "{cgroup}", (),
      "cgroups that matched the selection beyond cgroups.max_count, not read.", "cgroups"),
)
del M

DEFAULT_INCLUDE = (
    "system.slice/*.service",  # systemd services
    "*docker-*.scope", "docker/*",  # docker (systemd and cgroupfs drivers)
    "*cri-containerd-*.scope", "containerd/*",  # containerd / CRI
    "*crio-*.scope",  # cri-o
    "*libpod-*.scope",  # podman
)


@dataclass(frozen=True)
class CgroupsConfig:
    """``cgroups``: which cgroups, by glob over the path (no leading ``/``; ``*`` crosses ``/``)."""

    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    max_depth: int = 5  # levels below the root looked into
    max_count: int = 200
    # The tree is listed again at most this often (listing costs as much as reading 200 cgroups; services and
    # containers come and go far more slowly than collections). 0: every collection.
    rescan: Duration = Duration(30.0)

    def __post_init__(self) -> None:
        out = []
        if not 1 <= self.max_depth <= 16:
            out.append(Problem("max_depth", "expected 1 to 16", self.max_depth))
        if self.rescan < 0:
            out.append(Problem("rescan", "must not be negative", self.rescan))
        if not 1 <= self.max_count <= 10000:
            out.append(Problem("max_count", "expected 1 to 10000", self.max_count))
        out += [Problem(f"include[{i}]", "an empty glob", g) for i, g in enumerate(self.include) if not g.strip()]
        check(self, out)


_FLAGS = os.O_RDONLY | os.O_CLOEXEC
_TICK = os.sysconf("SC_CLK_TCK")
_MODES = (("user", "user_usec", "user"), ("system", "system_usec", "system"))


def _read(path: str) -> str | None:
    """A small cgroup file, or None when it is not there (a controller this cgroup does not have)."""
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        return None
    try:
        return os.read(fd, 65536).decode("ascii", "replace")
    finally:
        os.close(fd)


def list_cgroups(roots: list[str], max_depth: int) -> list[str]:
    """Relative paths (``system.slice/x.service``) of every cgroup directory in the hierarchies, to the depth."""
    seen: set[str] = set()
    for root in roots:
        stack = [("", 0)]
        while stack:
            rel, depth = stack.pop()
            if depth >= max_depth:
                continue
            try:
                entries = os.scandir(os.path.join(root, rel) if rel else root)
            except OSError:
                continue
            with entries:
                for e in entries:
                    if e.is_dir(follow_symlinks=False):
                        child = f"{rel}/{e.name}" if rel else e.name
                        seen.add(child)
                        stack.append((child, depth + 1))
    return sorted(seen)


class CgroupsCollector:
    name = "cgroups"

    def __init__(self, paths: HostPaths, cfg: CgroupsConfig = CgroupsConfig()) -> None:
        self.paths = paths
        self.cfg = cfg
        self._layout: Layout | None = None
        # (path, extra pairs) -> the shared attribute set (frozen_attrs' own cache is shared by every domain)
        self._attrs: dict[tuple[str, tuple[tuple[str, str], ...]], Mapping[str, str | int]] = {}
        self._logged = False
        self._listed: tuple[float, list[str], int] | None = None  # (when, chosen, dropped)

    def layout(self) -> Layout:
        if self._layout is None:
            mounts = parse_mounts(read_text(self.paths.mounts_file()))
            self._layout = layout(mounts, self.paths.root)
        return self._layout

    def selected(self, paths: list[str]) -> tuple[list[str], int]:
        inc, exc = self.cfg.include, self.cfg.exclude
        chosen = [p for p in paths if any(fnmatch.fnmatchcase(p, g) for g in inc)
                  and not any(fnmatch.fnmatchcase(p, g) for g in exc)]
        return chosen[:self.cfg.max_count], max(len(chosen) - self.cfg.max_count, 0)

    def collect(self, now: float) -> Collected:
        out = Collected()
        lay = self.layout()
        if self._listed is None or not 0 <= now - self._listed[0] < self.cfg.rescan:
            self._listed = (now, *self.selected(list_cgroups(lay.roots(), self.cfg.max_depth)))
        _, chosen, dropped = self._listed
        for rel in chosen:
            self._one(out, lay, rel)
        out.add("otel_mon.cgroup.count", len(chosen))
        out.add("otel_mon.cgroup.dropped", dropped)
        if dropped and not self._logged:
            self._logged = True
            log.warning("cgroups beyond cgroups.max_count are not read",
                        extra={"collector": self.name, "max_count": self.cfg.max_count, "dropped": dropped})
        return out

    def _attr(self, rel: str, *pairs: tuple[str, str]) -> Mapping[str, str | int]:
        got = self._attrs.get((rel, pairs))
        if got is not None:
            return got
        base = [(PATH, "/" + rel)]
        unit, cid = systemd_unit(rel), container_id(rel)
        if unit:
            base.append(("otel_mon.systemd.unit", unit))
        if cid:
            base.append(("container.id", cid))
        got = self._attrs[(rel, pairs)] = frozen_attrs(*pairs, *base)
        return got

    def _one(self, out: Collected, lay: Layout, rel: str) -> None:
        v2 = os.path.join(lay.unified, rel) if lay.unified is not None else None
        v2 = v2 if v2 is not None and os.path.isdir(v2) else None
        v1 = {c: os.path.join(root, rel) for c, root in lay.v1.items()}
        ctl = lay.unified_controllers
        a = self._attr(rel)
        # CPU: v2's cpu.stat always has usage (the core keeps it without the cpu controller); v1's cpuacct else.
        cpu_v2 = _read(os.path.join(v2, "cpu.stat")) if v2 is not None else None
        stat2 = parse_flat(cpu_v2) if cpu_v2 is not None else {}
        usage = _read(os.path.join(v1["cpuacct"], "cpuacct.usage")) if "cpuacct" in v1 and (
            "cpu" not in ctl or not stat2) else None
        if usage is not None and usage.strip().isdigit():
            out.add("otel_mon.cgroup.cpu.usage", int(usage) / 1e9, a)
            modes = parse_flat(_read(os.path.join(v1["cpuacct"], "cpuacct.stat")) or "")
            for mode, _key, v1key in _MODES:
                if v1key in modes:
                    out.add("otel_mon.cgroup.cpu.time", modes[v1key] / _TICK, self._attr(rel, ("cpu.mode", mode)))
        elif "usage_usec" in stat2:
            out.add("otel_mon.cgroup.cpu.usage", stat2["usage_usec"] / 1e6, a)
            for mode, key, _v1key in _MODES:
                if key in stat2:
                    out.add("otel_mon.cgroup.cpu.time", stat2[key] / 1e6, self._attr(rel, ("cpu.mode", mode)))
        # Throttling: where the cpu controller is.
        if "nr_periods" in stat2:
            self._throttling(out, a, stat2["nr_periods"], stat2["nr_throttled"], stat2.get("throttled_usec", 0) / 1e6)
        elif "cpu" in v1:
            st = parse_flat(_read(os.path.join(v1["cpu"], "cpu.stat")) or "")
            if "nr_periods" in st:
                self._throttling(out, a, st["nr_periods"], st["nr_throttled"], st.get("throttled_time", 0) / 1e9)
        # Memory.
        if v2 is not None and "memory" in ctl:
            self._memory(out, rel, a, _read(os.path.join(v2, "memory.current")), _read(os.path.join(v2, "memory.max")),
                         _read(os.path.join(v2, "memory.events")))
        elif "memory" in v1:
            self._memory(out, rel, a, _read(os.path.join(v1["memory"], "memory.usage_in_bytes")),
                         _read(os.path.join(v1["memory"], "memory.limit_in_bytes")),
                         _read(os.path.join(v1["memory"], "memory.oom_control")))
        # Block I/O.
        if v2 is not None and "io" in ctl:
            text = _read(os.path.join(v2, "io.stat"))
            if text is not None:
                rb, wb, rio, wio = parse_io_stat(text)
                self._io(out, rel, rb, wb, rio, wio)
        elif "blkio" in v1:
            nbytes = _read(os.path.join(v1["blkio"], "blkio.throttle.io_service_bytes"))
            ops = _read(os.path.join(v1["blkio"], "blkio.throttle.io_serviced"))
            if nbytes is not None and ops is not None:
                self._io(out, rel, *parse_blkio(nbytes), *parse_blkio(ops))
        # Pressure: v2 files only.
        if v2 is not None:
            for resource in ("cpu", "memory", "io"):
                text = _read(os.path.join(v2, f"{resource}.pressure"))
                for kind, total in sorted(parse_psi_totals(text or "").items()):
                    out.add("otel_mon.cgroup.pressure.stall_time", total / 1e6, self._attr(
                        rel, ("otel_mon.pressure.resource", resource), ("otel_mon.pressure.stall_type", kind)))

    def _throttling(self, out: Collected, a: Mapping[str, str | int], periods: int, throttled: int,
                    seconds: float) -> None:
        out.add("otel_mon.cgroup.cpu.throttling.periods", periods, a)
        out.add("otel_mon.cgroup.cpu.throttling.throttled_periods", throttled, a)
        out.add("otel_mon.cgroup.cpu.throttling.throttled_time", seconds, a)

    def _memory(self, out: Collected, rel: str, a: Mapping[str, str | int], current: str | None, limit: str | None,
                events: str | None) -> None:
        if current is not None and current.strip().isdigit():
            out.add("otel_mon.cgroup.memory.usage", int(current), a)
        lim = parse_limit(limit) if limit is not None else None
        if lim is not None:
            out.add("otel_mon.cgroup.memory.limit", lim, a)
        ev = parse_flat(events or "")
        for event in ("oom", "oom_kill"):
            if event in ev:
                out.add("otel_mon.cgroup.memory.events", ev[event],
                        self._attr(rel, ("otel_mon.cgroup.memory.event", event)))

    def _io(self, out: Collected, rel: str, rb: int, wb: int, rio: int, wio: int) -> None:
        for direction, nbytes, ops in (("read", rb, rio), ("write", wb, wio)):
            d = ("disk.io.direction", direction)
            out.add("otel_mon.cgroup.io", nbytes, self._attr(rel, d))
            out.add("otel_mon.cgroup.io.operations", ops, self._attr(rel, d))


def build(host: HostConfig, paths: HostPaths) -> CgroupsCollector:
    """This domain's collector, given only its options."""
    return CgroupsCollector(paths, host.section(CgroupsConfig))


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("cgroups", position=95, metrics=METRICS, section=Section("cgroups", CgroupsConfig), build=build,
                on_by_default=False)
