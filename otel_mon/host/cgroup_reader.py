"""Reading the selected cgroups: the tree listed with the hierarchies that hold each cgroup, a read plan per
cgroup decided when the tree is listed, and the files read into points on every collection.

Why a plan: 200 cgroups times a dozen small files is thousands of opens per collection, so everything that
does not change between listings is decided once (which hierarchy holds each reading, the full paths, the
attribute sets) and a collection only reads and parses. A file that is not there (a kernel without PSI) is
dropped from the plan until the next listing.

Why files are kept open: cgroup files are generated on each read from offset 0 (kernfs seq_file), so one
``pread`` returns the current figures; open, read and close cost about six times as much on this kernel. The
descriptors are bounded (``cgroups.open_files``, at most a quarter of RLIMIT_NOFILE); beyond the bound a file
is opened and closed each time. A cgroup that is removed answers ENODEV and is closed; the next listing
closes the files of cgroups no longer chosen.
"""

from __future__ import annotations

import errno
import os
import resource
from collections.abc import Callable, Mapping

from otel_mon.host.base import Collected
from otel_mon.host.cgroupfs import Layout, parse_blkio, parse_flat, parse_io_stat, parse_limit, parse_psi_totals

Attrs = Mapping[str, str | int]
AttrsFor = Callable[..., Attrs]  # (rel, *pairs) -> the shared attribute set
_FLAGS = os.O_RDONLY | os.O_CLOEXEC
_TICK = os.sysconf("SC_CLK_TCK")
_CHUNK = 8192


def _read_fd(fd: int) -> bytes:
    data = os.pread(fd, _CHUNK, 0)
    if len(data) == _CHUNK:  # io.stat of a host with many devices
        parts = [data]
        while chunk := os.pread(fd, _CHUNK, sum(map(len, parts))):
            parts.append(chunk)
        data = b"".join(parts)
    return data


def descriptor_budget(wanted: int) -> int:
    """``wanted`` descriptors, but at most a quarter of the soft RLIMIT_NOFILE (the rest is for sockets)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(0, min(wanted, soft // 4)) if soft != resource.RLIM_INFINITY else wanted


class OpenFiles:
    """cgroup files by path, read with one ``pread`` each; at most ``limit`` of them stay open."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._fds: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._fds)

    def read(self, path: str) -> str | None:
        """The file's text now, or None when it is not there (a controller this cgroup does not have)."""
        fd = self._fds.get(path)
        if fd is not None:
            try:
                return _read_fd(fd).decode("ascii", "replace")
            except OSError as exc:
                if exc.errno != errno.ENODEV:  # ENODEV: the cgroup was removed; open it again (or find it gone)
                    raise
                del self._fds[path]
                os.close(fd)
        try:
            fd = os.open(path, _FLAGS)
        except FileNotFoundError:
            return None
        try:
            text = _read_fd(fd).decode("ascii", "replace")
        except BaseException:
            os.close(fd)
            raise
        if len(self._fds) < self.limit:
            self._fds[path] = fd
        else:
            os.close(fd)
        return text

    def keep(self, prefixes: set[str]) -> None:
        """Close every file not under one of these cgroup directories (``<root>/<rel>/``)."""
        for path in [p for p in self._fds if p.rsplit("/", 1)[0] not in prefixes]:
            os.close(self._fds.pop(path))

    def close(self) -> None:
        fds, self._fds = self._fds, {}
        for fd in fds.values():
            os.close(fd)


def list_tree(roots: list[str], max_depth: int) -> dict[str, set[str]]:
    """Relative path (``system.slice/x.service``) of every cgroup directory to the depth -> the roots holding it."""
    seen: dict[str, set[str]] = {}
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
                        seen.setdefault(child, set()).add(root)
                        stack.append((child, depth + 1))
    return seen


class Plan:
    """One cgroup's files (None: not read) and attribute sets, decided when the tree is listed."""

    __slots__ = ("attrs", "blkio", "cpu_modes", "cpu_v1", "cpu_v2", "cpuacct", "io_dirs", "io_v2", "memory",
                 "memory_events", "psi", "v2_first")

    def __init__(self, rel: str, holders: set[str], lay: Layout, attrs: AttrsFor) -> None:
        ctl = lay.unified_controllers
        v2 = f"{lay.unified}/{rel}" if lay.unified is not None and lay.unified in holders else None
        v1 = {c: f"{root}/{rel}" for c, root in lay.v1.items() if root in holders}
        self.attrs = attrs(rel)
        self.cpu_modes = tuple((mode, attrs(rel, ("cpu.mode", mode))) for mode in ("user", "system"))
        self.memory_events = tuple((e, attrs(rel, ("otel_mon.cgroup.memory.event", e))) for e in ("oom", "oom_kill"))
        self.io_dirs = tuple(attrs(rel, ("disk.io.direction", d)) for d in ("read", "write"))
        # CPU: v2's cpu.stat always has usage (the core keeps it without the cpu controller); where the cpu
        # controller is a v1 one, cpuacct is read first and v2's cpu.stat only when cpuacct has no figure.
        self.cpu_v2 = f"{v2}/cpu.stat" if v2 is not None else None
        cpuacct = v1.get("cpuacct")
        self.cpuacct = (f"{cpuacct}/cpuacct.usage", f"{cpuacct}/cpuacct.stat") if cpuacct is not None else None
        self.v2_first = "cpu" in ctl or self.cpuacct is None
        self.cpu_v1 = f"{v1['cpu']}/cpu.stat" if "cpu" in v1 else None  # throttling without v2's cpu controller
        self.memory: tuple[str, str, str] | None = None
        if v2 is not None and "memory" in ctl:
            self.memory = (f"{v2}/memory.current", f"{v2}/memory.max", f"{v2}/memory.events")
        elif "memory" in lay.v1:
            m = v1.get("memory")
            self.memory = None if m is None else (
                f"{m}/memory.usage_in_bytes", f"{m}/memory.limit_in_bytes", f"{m}/memory.oom_control")
        self.io_v2: str | None = None
        self.blkio: tuple[str, str] | None = None
        if v2 is not None and "io" in ctl:
            self.io_v2 = f"{v2}/io.stat"
        elif "blkio" in v1:
            b = v1["blkio"]
            self.blkio = (f"{b}/blkio.throttle.io_service_bytes", f"{b}/blkio.throttle.io_serviced")
        # Pressure: v2 files only; a kernel without PSI has none, dropped after the first try.
        self.psi: list[tuple[str, str, tuple[Attrs, Attrs]]] = [] if v2 is None else [
            (f"{v2}/{r}.pressure", r, (attrs(rel, *_psi(r, "some")), attrs(rel, *_psi(r, "full"))))
            for r in ("cpu", "memory", "io")]

    def dirs(self) -> set[str]:
        """The directories this plan reads files from."""
        files = [self.cpu_v2, self.cpu_v1, self.io_v2, *(self.cpuacct or ()), *(self.memory or ()),
                 *(self.blkio or ()), *(p for p, _r, _a in self.psi)]
        return {f.rsplit("/", 1)[0] for f in files if f is not None}

    def read(self, out: Collected, files: OpenFiles) -> None:
        """The cgroup's points, in the order of its files."""
        read_small = files.read
        a = self.attrs
        add = out.add
        stat2: dict[str, int] = {}
        if self.cpu_v2 is not None and self.v2_first:
            stat2 = _flat(read_small(self.cpu_v2))
        usage = None
        if self.cpuacct is not None and not stat2:
            usage = read_small(self.cpuacct[0])
            if usage is None or not usage.strip().isdigit():
                usage = None
                if self.cpu_v2 is not None and not self.v2_first:
                    stat2 = _flat(read_small(self.cpu_v2))
        if usage is not None and self.cpuacct is not None:
            add("otel_mon.cgroup.cpu.usage", int(usage) / 1e9, a)
            modes = _flat(read_small(self.cpuacct[1]))
            for mode, attrs in self.cpu_modes:
                if mode in modes:
                    add("otel_mon.cgroup.cpu.time", modes[mode] / _TICK, attrs)
        elif "usage_usec" in stat2:
            add("otel_mon.cgroup.cpu.usage", stat2["usage_usec"] / 1e6, a)
            for mode, attrs in self.cpu_modes:
                key = f"{mode}_usec"
                if key in stat2:
                    add("otel_mon.cgroup.cpu.time", stat2[key] / 1e6, attrs)
        if "nr_periods" in stat2:
            self._throttling(out, stat2["nr_periods"], stat2["nr_throttled"], stat2.get("throttled_usec", 0) / 1e6)
        elif self.cpu_v1 is not None:
            st = _flat(read_small(self.cpu_v1))
            if "nr_periods" in st:
                self._throttling(out, st["nr_periods"], st["nr_throttled"], st.get("throttled_time", 0) / 1e9)
        if self.memory is not None:
            self._memory(out, *(read_small(f) for f in self.memory))
        if self.io_v2 is not None:
            text = read_small(self.io_v2)
            if text is not None:
                self._io(out, *parse_io_stat(text))
        elif self.blkio is not None:
            nbytes, ops = read_small(self.blkio[0]), read_small(self.blkio[1])
            if nbytes is not None and ops is not None:
                self._io(out, *parse_blkio(nbytes), *parse_blkio(ops))
        for entry in list(self.psi):
            text = read_small(entry[0])
            if text is None:
                self.psi.remove(entry)
                continue
            totals = parse_psi_totals(text)
            for kind, attrs in (("full", entry[2][1]), ("some", entry[2][0])):
                if kind in totals:
                    add("otel_mon.cgroup.pressure.stall_time", totals[kind] / 1e6, attrs)

    def _throttling(self, out: Collected, periods: int, throttled: int, seconds: float) -> None:
        out.add("otel_mon.cgroup.cpu.throttling.periods", periods, self.attrs)
        out.add("otel_mon.cgroup.cpu.throttling.throttled_periods", throttled, self.attrs)
        out.add("otel_mon.cgroup.cpu.throttling.throttled_time", seconds, self.attrs)

    def _memory(self, out: Collected, current: str | None, limit: str | None, events: str | None) -> None:
        if current is not None and current.strip().isdigit():
            out.add("otel_mon.cgroup.memory.usage", int(current), self.attrs)
        lim = parse_limit(limit) if limit is not None else None
        if lim is not None:
            out.add("otel_mon.cgroup.memory.limit", lim, self.attrs)
        ev = _flat(events)
        for event, attrs in self.memory_events:
            if event in ev:
                out.add("otel_mon.cgroup.memory.events", ev[event], attrs)

    def _io(self, out: Collected, rb: int, wb: int, rio: int, wio: int) -> None:
        for attrs, nbytes, ops in ((self.io_dirs[0], rb, rio), (self.io_dirs[1], wb, wio)):
            out.add("otel_mon.cgroup.io", nbytes, attrs)
            out.add("otel_mon.cgroup.io.operations", ops, attrs)


def _psi(resource: str, kind: str) -> tuple[tuple[str, str], tuple[str, str]]:
    return ("otel_mon.pressure.resource", resource), ("otel_mon.pressure.stall_type", kind)


def _flat(text: str | None) -> dict[str, int]:
    return parse_flat(text) if text is not None else {}
