"""Per-group counters that never go back while processes come and go.

A group's counter is what its exited members used plus what its live members have used so far. A live
member's share is its counters *including its reaped children* (stat's cutime/cstime/cminflt/cmajflt; the
kernel folds a reaped child's I/O into the parent's /proc/<pid>/io too): so the CPU of short-lived children
that no pass ever saw still reaches the group, through the parent that waited for them. When a member exits
while its parent is a live, tracked process, the parent will absorb that member's totals when it reaps it:
they are moved to the group's base once and subtracted from the parent's share (``absorbed``), so nothing is
counted twice. A counter is also never emitted below its last value (a parent that ignores SIGCHLD absorbs
nothing, a pid may be reused): monotonic by construction, exact in the usual case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The counter columns; the first INHERITED are folded into a parent when it reaps a child.
COLUMNS = ("cpu_user", "cpu_system", "faults_minor", "faults_major", "io_read", "io_write",
           "ctx_voluntary", "ctx_involuntary")
INHERITED = 6
Key = tuple[int, int]  # (pid, start time in ticks): a reused pid is another process


@dataclass
class Member:
    group: str
    ppid: int
    totals: list[float]  # the columns, as last read (own plus reaped children)
    # The part of the first INHERITED columns that reaped children brought (cutime, cstime, cminflt, cmajflt;
    # the whole of io, which the kernel does not split): only there can a reaped member show up.
    children: list[float] = field(default_factory=lambda: [0.0] * INHERITED)
    absorbed: list[float] = field(default_factory=lambda: [0.0] * INHERITED)
    pending: list[float] = field(default_factory=lambda: [0.0] * INHERITED)  # exited members not yet seen folded in

    def share(self) -> list[float]:
        return [t - a for t, a in zip(self.totals, self.absorbed, strict=False)] + self.totals[INHERITED:]


class GroupTotals:
    def __init__(self) -> None:
        self.members: dict[Key, Member] = {}
        self.base: dict[str, list[float]] = {}  # group -> what its exited members used
        self.emitted: dict[str, list[float]] = {}  # group -> the last values handed out

    def update(self, seen: dict[Key, Member]) -> dict[str, list[float]]:
        """Replace the members with this pass's and return each known group's counters."""
        by_pid = {key[0]: key for key in seen}
        grown: dict[Key, list[float]] = {}
        gone: list[Member] = []
        for key, old in self.members.items():
            new = seen.get(key)
            if new is None:
                gone.append(old)
                continue
            new.absorbed, new.pending = old.absorbed, old.pending
            grown[key] = [max(n - o, 0.0) for n, o in zip(new.children, old.children, strict=True)]
        for old in gone:
            base = self.base.setdefault(old.group, [0.0] * len(COLUMNS))
            for i, v in enumerate(old.share()):
                base[i] += v
            parent_key = by_pid.get(old.ppid)
            parent = seen.get(parent_key) if parent_key is not None else None
            if parent is not None:  # it folds this member's totals in when it reaps it
                for i in range(INHERITED):
                    parent.pending[i] += old.totals[i]
        for key, growth in grown.items():  # what reaping brought, up to what is pending, is not counted twice
            member = seen[key]
            for i in range(INHERITED):
                take = min(member.pending[i], growth[i])
                member.absorbed[i] += take
                member.pending[i] -= take
        self.members = seen
        out = {group: list(values) for group, values in self.base.items()}
        for member in seen.values():
            acc = out.setdefault(member.group, [0.0] * len(COLUMNS))
            for i, v in enumerate(member.share()):
                acc[i] += v
        for group, values in out.items():
            last = self.emitted.get(group)
            if last is not None:
                values[:] = [max(v, prev) for v, prev in zip(values, last, strict=True)]
            self.emitted[group] = values
        for group, last in self.emitted.items():
            out.setdefault(group, last)
        return out

    def forget(self, group: str) -> None:
        self.base.pop(group, None)
        self.emitted.pop(group, None)
