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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from otel_mon.host.base import Collected
from otel_mon.host.cgroupfs import Layout, flat, parse_blkio, parse_io_stat, parse_limit, parse_psi_totals

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

    def read(self, path: str) -> bytes | None:
        """The file's text now (as read), or None when it is not there (a controller this cgroup lacks)."""
        fd = self._fds.get(path)
        if fd is not None:
            try:
                return _read_fd(fd)
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
            data = _read_fd(fd)
        except BaseException:
            os.close(fd)
            raise
        if len(self._fds) < self.limit:
            self._fds[path] = fd
        else:
            os.close(fd)
        return data

    def keep(self, paths: set[str]) -> None:
        """Close every file but these (the files of the new read plan)."""
        for path in [p for p in self._fds if p not in paths]:
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


# Emitters: one per kind of file, from its text (bytes, as read) to the points of its enabled metrics.
# ``out`` holds one point list per metric the kind feeds (None: the metric is disabled); ``e`` is the entry,
# (path, attribute sets...). A malformed figure (ValueError, KeyError) gives no point for that file.
Points = list[Any]
Out = Sequence[Any]  # a Points list or None (disabled) per metric of the kind
Entry = Sequence[Any]  # (path, attribute sets...): the emitter of its kind knows how many


def _cpu_v2(data: bytes, e: Entry, out: Out) -> None:
    usage, time, *throttling = out  # throttling: only where the unified tree has the cpu controller
    s = flat(data)
    if usage is not None and b"usage_usec" in s:
        usage.append((int(s[b"usage_usec"]) / 1e6, e[1]))
    if time is not None and b"user_usec" in s:
        time.append((int(s[b"user_usec"]) / 1e6, e[2]))
        time.append((int(s[b"system_usec"]) / 1e6, e[3]))
    if throttling and b"nr_periods" in s:
        _throttling(e[1], throttling, int(s[b"nr_periods"]), int(s[b"nr_throttled"]),
                    int(s.get(b"throttled_usec", 0)) / 1e6)


def _cpu_v1(data: bytes, e: Entry, out: Out) -> None:
    s = flat(data)
    if b"nr_periods" in s:
        _throttling(e[1], out, int(s[b"nr_periods"]), int(s[b"nr_throttled"]),
                    int(s.get(b"throttled_time", 0)) / 1e9)


def _throttling(a: Attrs, out: Out, n: int, nt: int, seconds: float) -> None:
    periods, throttled, throttled_time = out
    if periods is not None:
        periods.append((n, a))
    if throttled is not None:
        throttled.append((nt, a))
    if throttled_time is not None:
        throttled_time.append((seconds, a))


def _cpuacct_usage(data: bytes, e: Entry, out: Out) -> None:
    out[0].append((int(data) / 1e9, e[1]))  # a kind is read only when enabled


def _cpuacct_stat(data: bytes, e: Entry, out: Out) -> None:
    s = flat(data)
    out[0].append((int(s[b"user"]) / _TICK, e[1]))
    out[0].append((int(s[b"system"]) / _TICK, e[2]))


def _number(data: bytes, e: Entry, out: Out) -> None:
    out[0].append((int(data), e[1]))


def _limit(data: bytes, e: Entry, out: Out) -> None:
    limit = parse_limit(data)
    if limit is not None:
        out[0].append((limit, e[1]))


def _events(data: bytes, e: Entry, out: Out) -> None:
    s = flat(data)
    if b"oom" in s:  # v2 only
        out[0].append((int(s[b"oom"]), e[1]))
    if b"oom_kill" in s:
        out[0].append((int(s[b"oom_kill"]), e[2]))


def _io_v2(data: bytes, e: Entry, out: Out) -> None:
    rb, wb, rio, wio = parse_io_stat(data)
    nbytes, ops = out
    if nbytes is not None:
        nbytes.append((rb, e[1]))
        nbytes.append((wb, e[2]))
    if ops is not None:
        ops.append((rio, e[1]))
        ops.append((wio, e[2]))


def _blkio(data: bytes, e: Entry, out: Out) -> None:
    read, write = parse_blkio(data)
    out[0].append((read, e[1]))
    out[0].append((write, e[2]))


def _psi(data: bytes, e: Entry, out: Out) -> None:
    some, full = parse_psi_totals(data)
    if some is not None:
        out[0].append((some / 1e6, e[1]))
    if full is not None:
        out[0].append((full / 1e6, e[2]))


Emit = Callable[[bytes, Entry, Out], None]


class Kind:
    """One kind of file (``memory.current``...): the metrics it feeds and the cgroups it is read from."""

    __slots__ = ("emit", "entries", "metrics")

    def __init__(self, emit: Emit, metrics: tuple[str | None, ...]) -> None:
        self.emit = emit
        self.metrics = metrics  # None: that metric is disabled
        self.entries: list[Entry] = []


CPU = "otel_mon.cgroup.cpu."
THROTTLING = tuple(f"{CPU}throttling.{m}" for m in ("periods", "throttled_periods", "throttled_time"))
MEMORY = "otel_mon.cgroup.memory."
IO = ("otel_mon.cgroup.io", "otel_mon.cgroup.io.operations")
STALL = "otel_mon.cgroup.pressure.stall_time"


class Plan:
    """The files of every chosen cgroup (by kind of file, read kind after kind) and their attribute sets,
    decided when the tree is listed. Only files that feed an enabled metric are in it."""

    def __init__(self, chosen: list[tuple[str, set[str]]], lay: Layout, attrs: AttrsFor,
                 enabled: Callable[[str], bool]) -> None:
        def kind(emit: Emit, *metrics: str) -> Kind | None:
            on = tuple(m if enabled(m) else None for m in metrics)
            return Kind(emit, on) if any(on) else None

        k = {
            "cpu_v2": kind(_cpu_v2, f"{CPU}usage", f"{CPU}time", *THROTTLING),
            "cpu_v2_usage": kind(_cpu_v2, f"{CPU}usage", f"{CPU}time"),  # without the cpu controller
            "cpuacct.usage": kind(_cpuacct_usage, f"{CPU}usage"),
            "cpuacct.stat": kind(_cpuacct_stat, f"{CPU}time"),
            "cpu_v1": kind(_cpu_v1, *THROTTLING),
            "usage": kind(_number, f"{MEMORY}usage"),
            "limit": kind(_limit, f"{MEMORY}limit"),
            "events": kind(_events, f"{MEMORY}events"),
            "io.stat": kind(_io_v2, *IO),
            "blkio_bytes": kind(_blkio, IO[0]),
            "blkio_ops": kind(_blkio, IO[1]),
            "psi": kind(_psi, STALL),
        }
        ctl = lay.unified_controllers
        for rel, holders in chosen:
            self._add(k, rel, holders, lay, ctl, attrs)
        self.kinds = [x for x in k.values() if x is not None and x.entries]

    @staticmethod
    def _add(k: dict[str, Kind | None], rel: str, holders: set[str], lay: Layout, ctl: frozenset[str],
             attrs: AttrsFor) -> None:
        def put(name: str, path: str, *sets: Attrs) -> None:
            got = k[name]
            if got is not None:
                got.entries.append((path, *sets))

        a = attrs(rel)
        v2 = f"{lay.unified}/{rel}" if lay.unified is not None and lay.unified in holders else None
        v1 = {c: f"{root}/{rel}" for c, root in lay.v1.items() if root in holders}
        modes = [attrs(rel, ("cpu.mode", m)) for m in ("user", "system")]
        # CPU: v2's cpu.stat always has usage (the core keeps it without the cpu controller), throttling only
        # with it; where the cpu controller is a v1 one, cpuacct answers (v2's cpu.stat only without it).
        if v2 is not None and "cpu" in ctl:
            put("cpu_v2", f"{v2}/cpu.stat", a, *modes)
        else:
            if "cpuacct" in v1:
                put("cpuacct.usage", f"{v1['cpuacct']}/cpuacct.usage", a)
                put("cpuacct.stat", f"{v1['cpuacct']}/cpuacct.stat", *modes)
            elif v2 is not None:
                put("cpu_v2_usage", f"{v2}/cpu.stat", a, *modes)
            if "cpu" in v1:
                put("cpu_v1", f"{v1['cpu']}/cpu.stat", a)
        events = [attrs(rel, ("otel_mon.cgroup.memory.event", e)) for e in ("oom", "oom_kill")]
        if v2 is not None and "memory" in ctl:
            put("usage", f"{v2}/memory.current", a)
            put("limit", f"{v2}/memory.max", a)
            put("events", f"{v2}/memory.events", *events)
        elif "memory" in v1:
            m = v1["memory"]
            put("usage", f"{m}/memory.usage_in_bytes", a)
            put("limit", f"{m}/memory.limit_in_bytes", a)
            put("events", f"{m}/memory.oom_control", *events)
        dirs = [attrs(rel, ("disk.io.direction", d)) for d in ("read", "write")]
        if v2 is not None and "io" in ctl:
            put("io.stat", f"{v2}/io.stat", *dirs)
        elif "blkio" in v1:
            put("blkio_bytes", f"{v1['blkio']}/blkio.throttle.io_service_bytes", *dirs)
            put("blkio_ops", f"{v1['blkio']}/blkio.throttle.io_serviced", *dirs)
        if v2 is not None:  # pressure: v2 files only (also a hybrid host's unified tree)
            for r in ("cpu", "memory", "io"):
                put("psi", f"{v2}/{r}.pressure", *(attrs(rel, ("otel_mon.pressure.resource", r),
                                                          ("otel_mon.pressure.stall_type", t))
                                                    for t in ("some", "full")))

    def files(self) -> list[str]:
        """Every file a collection reads, in reading order."""
        return [e[0] for kind in self.kinds for e in kind.entries]

    def read(self, out: Collected, files: OpenFiles) -> None:
        """Each kind of file in turn, over every cgroup (the same kernel code one file after another). A file
        that is not there (a kernel without PSI, a cgroup gone) leaves the plan until the next listing."""
        read = files.read
        points = out.points
        for kind in self.kinds:
            lists = tuple(None if m is None else points.setdefault(m, []) for m in kind.metrics)
            emit = kind.emit
            gone: list[Entry] = []
            for entry in kind.entries:
                data = read(entry[0])
                if data is None:
                    gone.append(entry)
                    continue
                try:
                    emit(data, entry, lists)
                except (ValueError, KeyError):
                    continue
            if gone:
                kind.entries = [e for e in kind.entries if e not in gone]
        for name in [n for n, pts in points.items() if not pts]:
            del points[name]
