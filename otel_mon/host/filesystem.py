"""Filesystem space per real mount, stated with a deadline under the root path.

Mounts come from the mount table (PID 1's under a root path, as hostmetrics does); each is stated at its
translated path but reported with the mountpoint the host sees. Hung mounts are skipped, counted and logged
once per episode.

Local block filesystems answer statfs from the in-memory superblock and are stated inline; everything else
(NFS, CIFS, FUSE, Ceph, unknown types) goes through the deadline pool. The hand-off to the pool's thread
costs ~0.2 ms a collection, most of the sampler's overhead over bare psutil, so it is spent only where a
hang is possible.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otel_mon import readings
from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.domain import Domain
from otel_mon.host.filters import Filter, allowed
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import Mount, parse_mounts
from otel_mon.host.section import Section
from otel_mon.host.statfs import StatFn, StatPool
from otel_mon.metric_spec import MetricSpec, ReadingSpec
from otel_mon.schema import Duration, Problem, check

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
_FS = (
    "system.device",
    "system.filesystem.state",
    "system.filesystem.type",
    "system.filesystem.mode",
    "system.filesystem.mountpoint",
)
_FS_NOSTATE = tuple(a for a in _FS if a != "system.filesystem.state")
_V_FS = (("system.filesystem.state", ("used", "free", "reserved")), ("system.filesystem.mode", ("rw", "ro")))
_V_FS_MODE = (("system.filesystem.mode", ("rw", "ro")),)
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("system.filesystem.usage", "updowncounter", "By", _FS,
      "Filesystem space used, free (to unprivileged users) and reserved (for root).", "filesystem", values=_V_FS),
    M("system.filesystem.utilization", "gauge", "1", _FS,
      "Share of the filesystem's space in use as df counts it: used / (used + free to unprivileged users); "
      "state used only.", "filesystem",
      values=(("system.filesystem.state", ("used",)), *_V_FS_MODE)),
    M("system.filesystem.inodes.usage", "updowncounter", "{inodes}", _FS,
      "Inodes used and free per filesystem (statvfs f_files - f_ffree, f_ffree); hostmetrics' name and unit, "
      "with semconv's attribute keys.", "filesystem",
      values=(("system.filesystem.state", ("used", "free")), *_V_FS_MODE)),
    M("system.filesystem.limit", "updowncounter", "By", _FS_NOSTATE, "Total size of the filesystem.",
      "filesystem", values=_V_FS_MODE),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("filesystem", "%", "mountpoint", "space in use, percent (as df shows it)", context="filesystem"),
    ReadingSpec("inodes", "%", "mountpoint", "inodes in use, percent", context="filesystem"),
)

# Virtual filesystems node_exporter skips by default (its --collector.filesystem.fs-types-exclude), plus a few
# more that only ever hold kernel state.
DEFAULT_FS_TYPES_EXCLUDE = (
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs", "fusectl",
    "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay", "proc", "procfs", "pstore", "rpc_pipefs",
    "securityfs", "selinuxfs", "squashfs", "sysfs", "tracefs", "ramfs", "efivarfs", "fuse.lxcfs",
    "fuse.gvfsd-fuse", "fuse.portal", "nfsd", "tmpfs",
)
# node_exporter's --collector.filesystem.mount-points-exclude default.
DEFAULT_MOUNTPOINTS_EXCLUDE = ("/dev", "/dev/*", "/proc", "/proc/*", "/sys", "/sys/*", "/run/credentials/*",
                               "/var/lib/docker/*", "/var/lib/containers/storage/*", "/run/containerd/*")


@dataclass(frozen=True)
class FilesystemConfig:
    """The ``filesystem`` section: which mounts are reported, and how long a stat may take."""

    devices: Filter = Filter()
    mountpoints: Filter = Filter(exclude=DEFAULT_MOUNTPOINTS_EXCLUDE)
    types: Filter = Filter(exclude=DEFAULT_FS_TYPES_EXCLUDE)
    timeout: Duration = Duration(1.0)

    def __post_init__(self) -> None:
        check(self, [Problem("timeout", "must be above 0", self.timeout)] if self.timeout <= 0 else [])


log = logging.getLogger(__name__)

LOCAL_TYPES = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "exfat", "f2fs", "jfs", "reiserfs",
                         "ntfs3", "tmpfs", "ramfs", "hfsplus"})


def select_mounts(mounts: list[Mount], cfg: FilesystemConfig) -> list[Mount]:
    """The visible (last) mount of each mountpoint, when it passes the filters.

    Visibility first: a tmpfs mounted over an ext4 /data hides it, and statfs of /data answers for the tmpfs,
    so the ext4 entry must not be reported with the tmpfs's figures.
    """
    visible: dict[str, Mount] = {}
    for m in mounts:
        visible.pop(m.mountpoint, None)
        visible[m.mountpoint] = m
    return [m for m in visible.values() if allowed(m.fstype, cfg.types)
            and allowed(m.mountpoint, cfg.mountpoints) and allowed(m.device, cfg.devices)]


class FilesystemCollector:
    name = "filesystem"

    def __init__(self, paths: HostPaths, cfg: FilesystemConfig, stat: StatFn = os.statvfs) -> None:
        self.paths = paths
        self.cfg = cfg
        self._stat = stat
        self.pool = StatPool(cfg.timeout, stat)
        self._reported_stuck: set[str] = set()
        self._table: tuple[str, dict[str, Mount]] = ("", {})  # mount table text -> selected mounts by path

    def close(self) -> None:
        self.pool.close()

    def collect(self, now: float) -> Collected:
        out = Collected()
        text = read_text(self.paths.mounts_file())
        if text != self._table[0]:  # mounts rarely change: parse and filter only when the table does
            mounts = select_mounts(parse_mounts(text), self.cfg)
            self._table = (text, {self.paths.rootfs(m.mountpoint): m for m in mounts})
        by_path = self._table[1]
        remote = [p for p, m in by_path.items() if m.fstype not in LOCAL_TYPES]
        results, stuck = self.pool.stat_all(remote) if remote else ({}, [])
        for path, m in by_path.items():
            if m.fstype in LOCAL_TYPES:
                try:
                    results[path] = self._stat(path)
                except OSError as exc:
                    results[path] = exc
        for path in stuck:
            mp = by_path[path].mountpoint
            out.errors.append(("timeout", f"statfs {mp} timed out after {self.cfg.timeout:g}s"))
            if mp not in self._reported_stuck:
                self._reported_stuck.add(mp)
                log.warning("filesystem stat timed out; skipping the mount until it answers",
                            extra={"mountpoint": mp, "timeout_s": self.cfg.timeout})
        for mp in list(self._reported_stuck):
            if not any(by_path[p].mountpoint == mp for p in stuck):
                self._reported_stuck.discard(mp)
                log.info("filesystem answers again", extra={"mountpoint": mp})
        for path, st in results.items():
            m = by_path[path]
            if isinstance(st, OSError):
                out.errors.append((type(st).__name__, f"statfs {m.mountpoint}: {st.strerror}"))
                continue
            self._emit(out, m, st.f_frsize, st.f_blocks, st.f_bfree, st.f_bavail)
            if st.f_files:  # filesystems without inodes (btrfs reports 0, vfat none) have no inode figures
                pairs = self._pairs(m)
                for state, value in (("used", st.f_files - st.f_ffree), ("free", st.f_ffree)):
                    out.add("system.filesystem.inodes.usage", value,
                            frozen_attrs(*pairs, ("system.filesystem.state", state)))
        for mountpoint, percent in readings.filesystem_percent(out.points).items():
            out.reading("filesystem", mountpoint, percent)
        for mountpoint, percent in readings.inodes_percent(out.points).items():
            out.reading("inodes", mountpoint, percent)
        return out

    @staticmethod
    def _pairs(m: Mount) -> tuple[tuple[str, str | int], ...]:
        return (
            ("system.device", m.device),
            ("system.filesystem.type", m.fstype),
            ("system.filesystem.mode", "ro" if "ro" in m.options else "rw"),
            ("system.filesystem.mountpoint", m.mountpoint),
        )

    @classmethod
    def _emit(cls, out: Collected, m: Mount, frsize: int, blocks: int, bfree: int, bavail: int) -> None:
        pairs = cls._pairs(m)
        base = frozen_attrs(*pairs)
        used = (blocks - bfree) * frsize
        free = bavail * frsize
        reserved = (bfree - bavail) * frsize
        for state, value in (("used", used), ("free", free), ("reserved", reserved)):
            out.add("system.filesystem.usage", value, frozen_attrs(*pairs, ("system.filesystem.state", state)))
        out.add("system.filesystem.limit", blocks * frsize, base)
        if used + free > 0:  # df's Use%: reserved blocks count as neither
            out.add("system.filesystem.utilization", used / (used + free),
                    frozen_attrs(*pairs, ("system.filesystem.state", "used")))


def build(host: HostConfig, paths: HostPaths) -> FilesystemCollector:
    """This domain's collector, given only its options."""
    return FilesystemCollector(paths, host.section(FilesystemConfig))


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("filesystem", position=60, metrics=METRICS,
                readings=READINGS, section=Section("filesystem", FilesystemConfig), build=build)
