"""Real processes for the workload tests, each under a ``comm`` name of its own (prctl PR_SET_NAME)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_NAME = "import ctypes; ctypes.CDLL(None).prctl(15, {name!r}.encode(), 0, 0, 0)\n"
# One thread spinning in pure Python (one CPU at most: the machine is shared).
BURN = _NAME + "while True: pass\n"
# Holds ``mib`` MiB of touched memory, then sleeps.
HOLD = _NAME + "import sys, time; block = bytearray({mib} << 20); print('ready', flush=True); time.sleep(3600)\n"
# Forks short-lived children that each burn ~20 ms of CPU and exit; the parent waits for each (so their CPU
# lands in its cutime) and sleeps a little between them.
FORK = _NAME + ("import os, time\nprint('ready', flush=True)\nwhile True:\n"
                "    pid = os.fork()\n"
                "    if pid == 0:\n"
                "        end = time.process_time() + 0.02\n"
                "        while time.process_time() < end: pass\n"
                "        os._exit(0)\n"
                "    os.waitpid(pid, 0)\n"
                "    time.sleep(0.01)\n")


def spawn(code: str, name: str, **fmt: object) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", code.format(name=name, **fmt)], stdout=subprocess.PIPE,
                            text=True)
    if "ready" in code:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


@contextmanager
def running(*procs: subprocess.Popen[str]) -> Iterator[tuple[subprocess.Popen[str], ...]]:
    try:
        yield procs
    finally:
        for p in procs:
            p.kill()
            p.wait()


def stat_fields(pid: int) -> list[int]:
    """/proc/<pid>/stat's numbers after the command (index 0 is field 3, the state, as 0)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    rest = data[data.rfind(b")") + 2:].split()
    return [0] + [int(x) for x in rest[1:]]


def cpu_ticks(pid: int, children: bool = True) -> int:
    f = stat_fields(pid)
    return f[11] + f[12] + (f[13] + f[14] if children else 0)


def status_kib(pid: int, key: str) -> int:
    """The number on a line of /proc/<pid>/status (KiB for the Vm* lines, a count for Threads)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def tick() -> int:
    return os.sysconf("SC_CLK_TCK")
