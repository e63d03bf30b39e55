"""Process groups over real processes the test starts: a CPU burner, a memory holder and a fork loop of
short-lived children, held to the sums of their own /proc files.

Tolerances: CPU is bracketed by /proc/<pid>/stat read just before and just after the collection (exact, in
clock ticks), plus, for the fork loop, one child's life (the live child is counted from its own stat line):
40 ticks or 10 %. Memory: RSS against /proc/<pid>/status VmRSS of an idle holder, within 1 %.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from otel_mon.host.group_match import GroupConfig
from otel_mon.host.paths import HostPaths
from otel_mon.host.process_groups import ProcessGroupsCollector, ProcessGroupsConfig
from tests.conftest import wait_until
from tests.workload.workers import BURN, FORK, HOLD, cpu_ticks, running, spawn, status_kib, tick


def group(collected: Any, name: str, metric: str, **match: str) -> float:
    return sum(v for v, a in collected.points.get(metric, [])
               if a.get("otel_mon.process.group") == name and all(a.get(k) == w for k, w in match.items()))


def cpu(collected: Any, name: str) -> int:
    """The group's CPU (user + system) in clock ticks, as /proc counts it."""
    return round(group(collected, name, "process.cpu.time") * tick())


def collector() -> ProcessGroupsCollector:
    return ProcessGroupsCollector(HostPaths("/"), ProcessGroupsConfig(process_groups=(
        GroupConfig(name="burn", comm="^wl-burn$"),
        GroupConfig(name="hold", comm="^wl-hold$"),
        GroupConfig(name="fork", comm="^wl-fork$"),
    )))


def test_burner_and_holder_match_their_proc_files() -> None:
    with running(spawn(BURN, "wl-burn"), spawn(HOLD, "wl-hold", mib=96)) as (burn, hold):
        c = collector()
        wait_until(lambda: cpu_ticks(burn.pid) > 20, 60, what="the burner to use CPU")
        before = cpu_ticks(burn.pid)
        got = c.collect(time.time())
        after = cpu_ticks(burn.pid)
        assert before <= cpu(got, "burn") <= after
        assert group(got, "burn", "otel_mon.process.group.count") == 1
        assert group(got, "hold", "otel_mon.process.group.count") == 1
        rss = group(got, "hold", "process.memory.usage")
        assert rss >= 96 << 20
        assert abs(rss - status_kib(hold.pid, "VmRSS") * 1024) <= 0.01 * rss
        assert group(got, "hold", "process.memory.virtual") >= status_kib(hold.pid, "VmSize") * 1024 * 0.99
        assert group(got, "hold", "process.thread.count") == status_kib(hold.pid, "Threads")
        fds = len(list(Path(f"/proc/{hold.pid}/fd").iterdir()))
        assert group(got, "hold", "process.unix.file_descriptor.count") == fds
        start = group(got, "burn", "otel_mon.process.group.oldest_start_time")
        assert abs(start - burn_started(burn.pid)) < 1.0
    gone = c.collect(time.time())
    assert group(gone, "burn", "otel_mon.process.group.count") == 0
    # What it used stays after it exited: at least what the last collection saw (it may run a tick more after
    # `after` was read, and the kernel's last figure dies with it).
    assert cpu(gone, "burn") >= cpu(got, "burn")


def burn_started(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).create_time())


def test_fork_loop_childrens_cpu_stays_in_the_group_after_they_exit() -> None:
    with running(spawn(FORK, "wl-fork")) as (fork,):
        c = collector()
        first = c.collect(time.time())
        parent0 = cpu_ticks(fork.pid)
        values = [cpu(first, "fork")]
        wait_until(lambda: cpu_ticks(fork.pid) - parent0 >= 60, 90, what="the children to use 0.6 s of CPU")
        while True:  # a collection every 0.2 s for a while: the counter never goes back
            values.append(cpu(c.collect(time.time()), "fork"))
            if len(values) > 10:
                break
            time.sleep(0.2)
        before = cpu_ticks(fork.pid)
        last = c.collect(time.time())
        after = cpu_ticks(fork.pid)
        own = cpu_ticks(fork.pid, children=False)
        values.append(cpu(last, "fork"))
    assert values == sorted(values)
    grew = values[-1] - values[0]
    low, high = before - parent0, after - parent0
    slack = max(40, 0.1 * high)
    assert low - slack <= grew <= high + slack, (low, grew, high)
    assert grew > 5 * own  # the parent mostly waits: the children's CPU is what the group shows
