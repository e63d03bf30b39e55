"""Per-service and per-container resources from the cgroup tree (v2 unified, v1 per controller, or hybrid).

Which cgroups: by default systemd services (``system.slice/*.service``) and containers' scopes (docker,
containerd, cri-o, podman), chosen on purpose (cAdvisor's lesson: every cgroup as a container is noise), with
``include``/``exclude`` globs over the path, a depth limit and a maximum count (the rest counted as dropped,
logged once). Each reading has one name whichever layout holds it (host/cgroupfs.py). No semconv metric
describes a cgroup (``container.*`` metrics assume a container runtime's view): names are ``otel_mon.cgroup.*``;
``container.id`` (semconv) and ``otel_mon.systemd.unit`` are added where the path names them. Read under
``root_path``. The files each cgroup's readings come from are decided when the tree is listed
(host/cgroup_reader.py), so a collection only opens, reads and parses them.
"""

from __future__ import annotations

import fnmatch
import logging
import weakref
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.cgroup_reader import OpenFiles, Plan, descriptor_budget, list_tree
from otel_mon.host.cgroupfs import Layout, container_id, layout, systemd_unit
from otel_mon.host.domain import Domain
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_mounts
from otel_mon.host.section import Section
from otel_mon.metric_spec import MetricSpec
from otel_mon.schema import Duration, Problem, check

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
    # cgroup files kept open between collections and read again with one pread (at most a quarter of
    # RLIMIT_NOFILE); 0: open and close each file every collection.
    open_files: int = 4096

    def __post_init__(self) -> None:
        out = []
        if not 1 <= self.max_depth <= 16:
            out.append(Problem("max_depth", "expected 1 to 16", self.max_depth))
        if self.rescan < 0:
            out.append(Problem("rescan", "must not be negative", self.rescan))
        if not 0 <= self.open_files <= 65536:
            out.append(Problem("open_files", "expected 0 to 65536", self.open_files))
        if not 1 <= self.max_count <= 10000:
            out.append(Problem("max_count", "expected 1 to 10000", self.max_count))
        out += [Problem(f"include[{i}]", "an empty glob", g) for i, g in enumerate(self.include) if not g.strip()]
        check(self, out)


class CgroupsCollector:
    name = "cgroups"

    def __init__(self, paths: HostPaths, cfg: CgroupsConfig = CgroupsConfig(),
                 enabled: Collection[str] | None = None) -> None:
        self.paths = paths
        self.cfg = cfg
        # The metrics that are on (``metrics:``); a file that feeds only disabled ones is never opened.
        self._enabled = frozenset(m.name for m in METRICS) if enabled is None else frozenset(enabled)
        self._layout: Layout | None = None
        # (path, extra pairs) -> the shared attribute set (frozen_attrs' own cache is shared by every domain)
        self._attrs: dict[tuple[str, tuple[tuple[str, str], ...]], Mapping[str, str | int]] = {}
        self._logged = False
        self._listed: tuple[float, Plan, int, int] | None = None  # (when, the read plan, cgroups, dropped)
        self._files = OpenFiles(descriptor_budget(cfg.open_files))
        weakref.finalize(self, self._files.close)

    def layout(self) -> Layout:
        if self._layout is None:
            mounts = parse_mounts(read_text(self.paths.mounts_file()))
            self._layout = layout(mounts, self.paths.root)
        return self._layout

    def close(self) -> None:
        """Close the kept cgroup files (the sampler closes its collectors on stop and reload)."""
        self._files.close()

    @property
    def files_open(self) -> int:
        """cgroup files held open between collections (bounded by ``open_files``)."""
        return len(self._files)

    def select(self, enabled: Collection[str]) -> None:
        """Read only the files these metrics need (registry.build passes the enabled ones, before any
        collection; a later call takes effect at once)."""
        self._enabled = frozenset(enabled)
        self._listed = None

    @property
    def plan(self) -> Plan | None:
        """The read plan of the last listing (which files a collection reads)."""
        return None if self._listed is None else self._listed[1]

    def selected(self, paths: list[str]) -> tuple[list[str], int]:
        inc, exc = self.cfg.include, self.cfg.exclude
        chosen = [p for p in paths if any(fnmatch.fnmatchcase(p, g) for g in inc)
                  and not any(fnmatch.fnmatchcase(p, g) for g in exc)]
        return chosen[:self.cfg.max_count], max(len(chosen) - self.cfg.max_count, 0)

    def collect(self, now: float) -> Collected:
        out = Collected()
        lay = self.layout()
        if self._listed is None or not 0 <= now - self._listed[0] < self.cfg.rescan:
            tree = list_tree(lay.roots(), self.cfg.max_depth)
            chosen, dropped = self.selected(sorted(tree))
            plan = Plan([(rel, tree[rel]) for rel in chosen], lay, self._attr, self._enabled.__contains__)
            self._listed = (now, plan, len(chosen), dropped)
            keep = set(chosen)  # cgroups that went away take their attribute sets and open files with them
            self._attrs = {k: v for k, v in self._attrs.items() if k[0] in keep}
            self._files.keep(set(plan.files()))
        _, plan, count, dropped = self._listed
        plan.read(out, self._files)
        out.add("otel_mon.cgroup.count", count)
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


def build(host: HostConfig, paths: HostPaths) -> CgroupsCollector:
    """This domain's collector, given only its options."""
    return CgroupsCollector(paths, host.section(CgroupsConfig))


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("cgroups", position=95, metrics=METRICS, section=Section("cgroups", CgroupsConfig), build=build,
                on_by_default=False)
