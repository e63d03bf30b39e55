"""Temperatures psutil reports (hwmon / thermal zones); nothing at all where it reports none."""

from __future__ import annotations

import psutil

from otel_mon.host.base import Collected


class SensorsCollector:
    name = "sensors"

    def collect(self, now: float) -> Collected:
        out = Collected()
        for chip, entries in (psutil.sensors_temperatures() or {}).items():
            for i, entry in enumerate(entries):
                label = entry.label or f"temp{i + 1}"
                hw_id = f"{chip}/{label}"
                out.add("hw.temperature", entry.current, {"hw.id": hw_id, "hw.type": "temperature", "hw.name": label})
                out.reading("temperature", hw_id, entry.current)
        return out
