"""One pass over /proc per interval: every process's stat line, and more files for the processes that count.

The process groups (host/process_groups.py) read ``stat`` for every pid, and ``status``, ``io`` and the ``fd``
directory only for the processes that joined a group; the process-state count (host/processes.py) reuses the
same pass when one ran in the same collection (``shared(proc_dir).states_at(now)``), so the host's process
table is walked once. Parsers are pure functions of the file's bytes, tested on strings.

Files of other users' processes (``io``, ``fd``, ``exe``) are unreadable without CAP_SYS_PTRACE: the pass
counts them per file kind (``Unreadable``) and the caller logs that once, never per pid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import NamedTuple

_FLAGS = os.O_RDONLY | os.O_CLOEXEC
_STATE_OF = {ord("R"): "running", ord("S"): "sleeping", ord("D"): "sleeping", ord("I"): "sleeping",
             ord("T"): "stopped", ord("t"): "stopped", ord("Z"): "defunct", ord("W"): "sleeping"}
STATES = ("running", "sleeping", "stopped", "defunct")


class Stat(NamedTuple):
    """The fields of /proc/<pid>/stat the agent uses (times in clock ticks, rss in pages)."""

    pid: int
    comm: str
    state: str  # semconv process.state ("" for X, dead)
    ppid: int
    minflt: int
    cminflt: int
    majflt: int
    cmajflt: int
    utime: int
    stime: int
    cutime: int
    cstime: int
    threads: int
    starttime: int  # ticks after boot
    vsize: int  # bytes
    rss: int  # pages


def parse_stat(data: bytes) -> Stat | None:
    """One stat line; None when it is cut short. The command sits between the first ``(`` and the *last* ``)``
    (it may itself hold parentheses and spaces)."""
    open_at, close_at = data.find(b"("), data.rfind(b")")
    if open_at < 0 or close_at < open_at:
        return None
    f = data[close_at + 2:].split()
    if len(f) < 22:
        return None
    try:
        return Stat(int(data[:open_at]), data[open_at + 1:close_at].decode("utf-8", "replace"),
                    _STATE_OF.get(f[0][0], ""), int(f[1]), int(f[7]), int(f[8]), int(f[9]), int(f[10]),
                    int(f[11]), int(f[12]), int(f[13]), int(f[14]), int(f[17]), int(f[19]), int(f[20]), int(f[21]))
    except ValueError:
        return None


class Status(NamedTuple):
    uid: int  # real uid
    voluntary: int
    involuntary: int


def parse_status(text: str) -> Status:
    """Uid and context switches from /proc/<pid>/status (a missing line reads as 0)."""
    uid = vol = invol = 0
    for line in text.splitlines():
        if line.startswith("Uid:"):
            uid = int(line.split()[1])
        elif line.startswith("voluntary_ctxt_switches:"):
            vol = int(line.split()[1])
        elif line.startswith("nonvoluntary_ctxt_switches:"):
            invol = int(line.split()[1])
    return Status(uid, vol, invol)


def parse_io(text: str) -> tuple[int, int]:
    """(read_bytes, write_bytes) of /proc/<pid>/io: bytes the process (and its reaped children) made storage
    move, not rchar/wchar (which count reads served from the page cache)."""
    read = write = 0
    for line in text.splitlines():
        if line.startswith("read_bytes:"):
            read = int(line.split()[1])
        elif line.startswith("write_bytes:"):
            write = int(line.split()[1])
    return read, write


_UNIT_SUFFIXES = (".service", ".scope")


def parse_cgroup_unit(text: str) -> str:
    """The systemd unit a process runs in, from /proc/<pid>/cgroup (v2 ``0::`` line or v1 ``name=systemd``):
    the deepest path component that is a service or a scope; "" when there is none."""
    path = ""
    for line in text.splitlines():
        _, _, rest = line.partition(":")
        controllers, _, cg = rest.partition(":")
        if controllers in ("", "name=systemd"):
            path = cg
            if controllers == "name=systemd":
                break
    for part in reversed(path.split("/")):
        if part.endswith(_UNIT_SUFFIXES):
            return part
    return ""


def parse_passwd(text: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for line in text.splitlines():
        f = line.split(":")
        if len(f) >= 3 and f[2].isdigit():
            out.setdefault(int(f[2]), f[0])
    return out


def read_small(path: str, size: int = 4096) -> bytes:
    """One open and one read (a Python file object per process made a pass a third slower)."""
    fd = os.open(path, _FLAGS)
    try:
        return os.read(fd, size)
    finally:
        os.close(fd)


@dataclass
class Unreadable:
    """Processes whose file of a kind could not be read in the last pass (permission, mostly)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1


def scan(proc_dir: str) -> list[Stat]:
    """Every process's stat line; processes that exit during the pass are skipped."""
    out = []
    for name in os.listdir(proc_dir):
        if not name.isdigit():
            continue
        try:
            data = read_small(f"{proc_dir}/{name}/stat", 1024)
        except OSError:  # exited since the listing
            continue
        st = parse_stat(data)
        if st is not None:
            out.append(st)
    return out


def count(stats: list[Stat]) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    for st in stats:
        if st.state:
            counts[st.state] += 1
    return counts


class SharedPass:
    """The states counted by the last full pass, for the process-state domain of the same collection."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.states: dict[str, int] = {}

    def publish(self, now: float, stats: list[Stat]) -> None:
        self.at, self.states = now, count(stats)

    def states_at(self, now: float) -> dict[str, int] | None:
        return self.states if self.at == now else None


_SHARED: dict[str, SharedPass] = {}


def shared(proc_dir: str) -> SharedPass:
    """The one pass record per /proc tree (a root path reads another tree: its own record)."""
    return _SHARED.setdefault(proc_dir, SharedPass())
