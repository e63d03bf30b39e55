"""The cgroup file system: where each controller is mounted (v2 unified, v1 per controller, or both) and pure
parsers of its files, so one reading has one name whichever layout the host uses.

v2 (``cgroup2``): ``cpu.stat`` (usage/user/system_usec, nr_periods, nr_throttled, throttled_usec),
``memory.current``, ``memory.max``, ``memory.events``, ``io.stat``, ``{cpu,memory,io}.pressure``.
v1: ``cpuacct.usage`` (ns) and ``cpuacct.stat`` (ticks), ``cpu.stat`` (throttled_time in ns),
``memory.usage_in_bytes``, ``memory.limit_in_bytes``, ``memory.oom_control`` (oom_kill),
``blkio.throttle.io_service_bytes`` / ``io_serviced``. A controller enabled in the unified hierarchy is read
there; otherwise from its v1 mount (hybrid hosts). PSI exists only in v2 files (also in a hybrid host's
unified tree).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from otel_mon.host.procfs import Mount

V1_UNLIMITED = 1 << 62  # memory.limit_in_bytes without a limit: PAGE_COUNTER_MAX pages, ~2^63 rounded down
_CONTAINER_ID = re.compile(r"(?:^|[-/])([0-9a-f]{64})(?:\.scope)?$")


@dataclass(frozen=True)
class Layout:
    """The mountpoints (as this process sees them) of the unified tree and of each v1 controller."""

    unified: str | None = None
    unified_controllers: frozenset[str] = frozenset()
    v1: dict[str, str] = field(default_factory=dict)  # controller -> mountpoint

    def source(self, v2_controller: str, v1_controller: str) -> tuple[str, str] | None:
        """("v2", root) when the unified tree has the controller, ("v1", root) from its own mount, else None."""
        if self.unified is not None and v2_controller in self.unified_controllers:
            return "v2", self.unified
        if v1_controller in self.v1:
            return "v1", self.v1[v1_controller]
        return None

    def roots(self) -> list[str]:
        """Every hierarchy the cgroups are listed from (the union of their directories)."""
        out = [self.unified] if self.unified is not None else []
        out += [root for c, root in sorted(self.v1.items()) if c in ("cpu", "cpuacct", "memory", "blkio")]
        return list(dict.fromkeys(out))


def layout(mounts: list[Mount], rootfs: str = "/", controllers_text: str | None = None) -> Layout:
    """The layout from a mount table (``rootfs`` is prefixed to mountpoints, as HostPaths.rootfs does)."""
    def under(mountpoint: str) -> str:
        return mountpoint if rootfs in ("", "/") else os.path.join(rootfs, mountpoint.lstrip("/"))

    unified = None
    v1: dict[str, str] = {}
    for m in mounts:
        if m.fstype == "cgroup2" and unified is None:
            unified = under(m.mountpoint)
        elif m.fstype == "cgroup":
            for opt in m.options:
                if opt in ("cpu", "cpuacct", "memory", "blkio"):
                    v1.setdefault(opt, under(m.mountpoint))
    ctl: frozenset[str] = frozenset()
    if unified is not None:
        text = controllers_text
        if text is None:
            try:
                with open(os.path.join(unified, "cgroup.controllers")) as f:
                    text = f.read()
            except OSError:
                text = ""
        ctl = frozenset(text.split())
    return Layout(unified, ctl, v1)


def parse_flat(text: str) -> dict[str, int]:
    """``key value`` lines (cpu.stat, memory.events, cpuacct.stat, memory.oom_control)."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        value = value.strip()
        if value.lstrip("-").isdigit():
            out[key] = int(value)
    return out


def flat(data: bytes) -> dict[bytes, bytes]:
    """``key value`` lines as read (the reader converts only the values it uses)."""
    words = iter(data.split())
    return dict(zip(words, words, strict=False))


def parse_limit(data: bytes) -> int | None:
    """memory.max ("max": none) or memory.limit_in_bytes (a huge number: none)."""
    data = data.strip()
    if not data.isdigit():
        return None
    value = int(data)
    return None if value >= V1_UNLIMITED else value


_IO_STAT = re.compile(rb"rbytes=(\d+) wbytes=(\d+) rios=(\d+) wios=(\d+)")  # the kernel's fixed order


def parse_io_stat(data: bytes) -> tuple[int, int, int, int]:
    """v2 io.stat summed over devices: (read bytes, write bytes, read ops, write ops)."""
    rb = wb = rio = wio = 0
    for r, w, ri, wi in _IO_STAT.findall(data):
        rb += int(r)
        wb += int(w)
        rio += int(ri)
        wio += int(wi)
    return rb, wb, rio, wio


def parse_blkio(data: bytes) -> tuple[int, int]:
    """v1 blkio.throttle.io_service_bytes / io_serviced summed over devices: (read, write)."""
    read = write = 0
    for line in data.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2].isdigit():
            if fields[1] == b"Read":
                read += int(fields[2])
            elif fields[1] == b"Write":
                write += int(fields[2])
    return read, write


def parse_psi_totals(data: bytes) -> tuple[int | None, int | None]:
    """(some, full) total stall microseconds of a cgroup's *.pressure file (None: the line is not there)."""
    some = full = None
    for line in data.splitlines():
        total = line.rpartition(b" total=")[2]
        if total.isdigit():
            if line.startswith(b"some"):
                some = int(total)
            elif line.startswith(b"full"):
                full = int(total)
    return some, full


def container_id(path: str) -> str:
    """The container id a cgroup path names (docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope,
    libpod-<id>.scope, docker/<id>), or ""."""
    m = _CONTAINER_ID.search(path.rstrip("/"))
    return m.group(1) if m else ""


def systemd_unit(path: str) -> str:
    """The unit a cgroup path ends in (``system.slice/nginx.service`` -> nginx.service), or ""."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return last if last.endswith((".service", ".scope", ".slice", ".socket", ".mount")) else ""
