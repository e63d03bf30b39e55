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
        out[int(tid)] = TaskSample((int(fields[11]) + int(fields[12])) / TICK, vol, invol)
    return out


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
