"""Small readers of /sys under the root path (``HostPaths.sys``): CPU topology, frequency, online CPUs.

Every sysfs read of the host domains goes through here or through ``HostPaths``, so ``root_path`` covers
sysfs as node_exporter's ``--path.sysfs`` does (psutil always reads the live /sys).
"""

from __future__ import annotations

import os
import re

from otel_mon.host.paths import HostPaths

_CPU_DIR = re.compile(r"cpu(\d+)$")


def read_value(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def cpu_numbers(paths: HostPaths) -> list[int]:
    """The logical CPUs sysfs knows, in order."""
    try:
        names = os.listdir(paths.sys("devices", "system", "cpu"))
    except OSError:
        return []
    return sorted(int(m.group(1)) for m in map(_CPU_DIR.match, names) if m)


def physical_cores(paths: HostPaths) -> int | None:
    """Distinct (package, core) pairs of the CPU topology; None when sysfs has no topology."""
    cores = set()
    for cpu in cpu_numbers(paths):
        base = paths.sys("devices", "system", "cpu", f"cpu{cpu}", "topology")
        package, core = read_value(os.path.join(base, "physical_package_id")), read_value(os.path.join(base, "core_id"))
        if package is not None and core is not None:
            cores.add((package, core))
    return len(cores) or None


def frequencies(paths: HostPaths) -> dict[int, float]:
    """Current frequency of each logical CPU in Hz (cpufreq's scaling_cur_freq is kHz); empty without cpufreq."""
    out = {}
    for cpu in cpu_numbers(paths):
        raw = read_value(paths.sys("devices", "system", "cpu", f"cpu{cpu}", "cpufreq", "scaling_cur_freq"))
        if raw and raw.isdigit():
            out[cpu] = int(raw) * 1000.0
    return out


def online_cpus(paths: HostPaths) -> int | None:
    """How many CPUs /sys/devices/system/cpu/online lists ("0-3,6"); None when the file is absent."""
    text = read_value(paths.sys("devices", "system", "cpu", "online"))
    if not text:
        return None
    count = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        if lo.isdigit():
            count += int(hi) - int(lo) + 1 if hi.isdigit() else 1
    return count or None
