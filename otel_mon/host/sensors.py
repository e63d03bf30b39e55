"""Temperatures psutil reports (hwmon / thermal zones); nothing at all where it reports none."""

from __future__ import annotations

import psutil

from otel_mon.host.base import Collected


class SensorsCollector:
    name = "sensors"

    def collect(self, now: float) -> Collected:
        out = Collected()
        seen: dict[str, int] = {}
        for chip, entries in (psutil.sensors_temperatures() or {}).items():
            for i, entry in enumerate(entries):
                label = entry.label or f"temp{i + 1}"
                hw_id = f"{chip}/{label}"
                # psutil merges chips of one name (both sockets' coretemp, several nvme): keep ids unique.
                seen[hw_id] = seen.get(hw_id, 0) + 1
                if seen[hw_id] > 1:
                    hw_id = f"{hw_id}#{seen[hw_id]}"
                out.add("hw.temperature", entry.current, {"hw.id": hw_id, "hw.type": "temperature", "hw.name": label})
                out.reading("temperature", hw_id, entry.current)
        return out
