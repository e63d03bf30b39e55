"""CPU time, utilisation from our own deltas, counts and frequency.

Utilisation is computed from successive ``cpu_times`` reads, never from ``psutil.cpu_percent``: that keeps
per-caller state, so a second reader (a scrape thread) would see zeros. The first collection emits time only.
"""

from __future__ import annotations

import operator

import psutil

from otel_mon.config import Settings
from otel_mon.host.base import Collected

# psutil field -> cpu.mode value. guest/guest_nice are already inside user/nice on Linux, so they are skipped.
MODES = {
    "user": "user", "nice": "nice", "system": "system", "idle": "idle", "iowait": "iowait",
    "irq": "interrupt", "softirq": "softirq", "steal": "steal",
}
_IDLE = ("idle", "iowait")
_MODE_NAMES = tuple(MODES.values())
_pick = operator.attrgetter(*MODES)
_PHYSICAL_EVERY = 60.0


class CpuCollector:
    name = "cpu"

    def __init__(self, settings: Settings) -> None:
        self.per_cpu = settings.cpu_per_logical
        self._prev: list[dict[str, float]] | None = None
        self._physical: int | None = None
        self._physical_at = float("-inf")

    def collect(self, now: float) -> Collected:
        out = Collected()
        # Per-CPU lines even without per-CPU attributes: their count is the logical CPUs of the host read
        # under root_path (os.cpu_count would be the container's view).
        per_cpu = [dict(zip(_MODE_NAMES, _pick(t), strict=True)) for t in psutil.cpu_times(percpu=True)]
        self._times(out, per_cpu)
        self._utilization(out, per_cpu)
        self._prev = per_cpu
        out.add("system.cpu.logical.count", len(per_cpu))
        if now - self._physical_at >= _PHYSICAL_EVERY:
            self._physical = psutil.cpu_count(logical=False)
            self._physical_at = now
        if self._physical:
            out.add("system.cpu.physical.count", self._physical)
        try:
            freqs = psutil.cpu_freq(percpu=True)
        except (OSError, NotImplementedError):  # no cpufreq in many VMs and containers
            freqs = []
        for i, f in enumerate(freqs or []):
            if f.current:
                out.add("system.cpu.frequency", f.current * 1e6, {"cpu.logical_number": i})
        return out

    def _times(self, out: Collected, per_cpu: list[dict[str, float]]) -> None:
        if self.per_cpu:
            for i, times in enumerate(per_cpu):
                for mode, value in times.items():
                    out.add("system.cpu.time", value, {"cpu.mode": mode, "cpu.logical_number": i})
            return
        for mode in MODES.values():
            out.add("system.cpu.time", sum(t[mode] for t in per_cpu), {"cpu.mode": mode})

    def _utilization(self, out: Collected, per_cpu: list[dict[str, float]]) -> None:
        prev = self._prev
        if prev is None or len(prev) != len(per_cpu):
            return
        deltas = [{m: max(cur[m] - old[m], 0.0) for m in cur} for cur, old in zip(per_cpu, prev, strict=True)]
        total = {m: sum(d[m] for d in deltas) for m in MODES.values()}
        elapsed = sum(total.values())
        if elapsed <= 0:
            return
        if self.per_cpu:
            for i, d in enumerate(deltas):
                cpu_total = sum(d.values())
                if cpu_total > 0:
                    for mode, value in d.items():
                        attrs: dict[str, str | int] = {"cpu.mode": mode, "cpu.logical_number": i}
                        out.add("system.cpu.utilization", value / cpu_total, attrs)
        else:
            for mode, value in total.items():
                out.add("system.cpu.utilization", value / elapsed, {"cpu.mode": mode})
        busy = 1.0 - sum(total[m] for m in _IDLE) / elapsed
        out.reading("cpu", "", round(100.0 * busy, 3))
