"""What a process costs, read from /proc by its PID: CPU, RSS, wake-ups, per-thread CPU (benchmarks only)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(path: str) -> list[str]:
    with open(path) as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (live and exited threads), in seconds (1/CLK_TCK resolution)."""
    fields = _stat_fields(f"/proc/{pid}/stat")
    return (int(fields[11]) + int(fields[12])) / TICK


def status_value(path: str, key: str) -> int:
    with open(path) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rss_mib(pid: int) -> float:
    return status_value(f"/proc/{pid}/status", "VmRSS") / 1024


@dataclass(frozen=True)
class TaskSample:
    cpu: float  # seconds
    voluntary: int  # voluntary context switches: the thread went to sleep, i.e. one wake-up each
    involuntary: int
    runtime_ns: int = -1  # time on CPU from /proc/PID/task/TID/schedstat, nanoseconds (-1: unavailable)


def tasks(pid: int) -> dict[int, TaskSample]:
    """Per-thread CPU and context switches (/proc/PID/status counts the main thread only)."""
    out: dict[int, TaskSample] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        try:
            fields = _stat_fields(base + "/stat")
            vol = status_value(base + "/status", "voluntary_ctxt_switches")
            invol = status_value(base + "/status", "nonvoluntary_ctxt_switches")
        except OSError:  # the thread ended meanwhile
            continue
        try:
            with open(base + "/schedstat") as f:
                runtime = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            runtime = -1
        out[int(tid)] = TaskSample((int(fields[11]) + int(fields[12])) / TICK, vol, invol, runtime)
    return out


def precise_cpu(before: dict[int, TaskSample], after: dict[int, TaskSample]) -> float | None:
    """CPU seconds between two ``tasks`` samples from the threads' nanosecond run times, or None when a thread
    of ``before`` has exited since (its time is then only in the process's tick counts) or a run time is
    missing. Threads born in between count from zero."""
    if not after or any(t not in after for t in before):
        return None
    if any(s.runtime_ns < 0 for s in (*before.values(), *after.values())):
        return None
    return sum(s.runtime_ns - (before[t].runtime_ns if t in before else 0) for t, s in after.items()) / 1e9


def wakeups(before: dict[int, TaskSample], after: dict[int, TaskSample]) -> int:
    """Voluntary switches of the threads alive at both ends, plus those of threads born in between."""
    return sum(s.voluntary - (before[t].voluntary if t in before else 0) for t, s in after.items())


def thread_names(pid: int) -> dict[int, str]:
    """OS thread id -> Python thread name, from ``py-spy dump`` when it is installed (else the comm name)."""
    names: dict[int, str] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                names[int(tid)] = f.read().strip()
        except OSError:
            pass
    spy = shutil.which("py-spy") or _venv_tool("py-spy")
    if spy:
        try:
            out = subprocess.run([spy, "dump", "--json", "--pid", str(pid)], capture_output=True, text=True,
                                 timeout=30, check=False).stdout
            for thread in json.loads(out or "[]"):
                if thread.get("os_thread_id"):
                    names[int(thread["os_thread_id"])] = str(thread.get("thread_name") or names.get(0, "?"))
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
    return names


def _venv_tool(name: str) -> str | None:
    import sys

    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.access(candidate, os.X_OK) else None


Mark = tuple[float, dict[int, TaskSample]]


def mark(pid: int) -> Mark:
    """The process's tick-count CPU and its threads, to be compared with a later mark by ``cpu_between``."""
    return cpu_seconds(pid), tasks(pid)


def cpu_between(before: Mark, after: Mark) -> tuple[float, bool]:
    """CPU seconds between two marks, and whether they are precise (the threads' nanosecond run times).

    Ticks (the process's utime+stime, which count every thread that ever ran) are used instead when a thread
    of ``before`` has exited, or when the two disagree by more than the ticks' own error (two ticks and a
    half): a thread born and gone between the marks (a thread per request) is in neither thread list.
    """
    ticks = after[0] - before[0]
    precise = precise_cpu(before[1], after[1])
    if precise is None or abs(ticks - precise) > 2.5 / TICK:
        return ticks, False
    return precise, True
