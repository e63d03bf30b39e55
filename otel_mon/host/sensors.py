"""Temperatures from hwmon (``/sys/class/hwmon``, else thermal zones), read under the root path.

Read through ``HostPaths`` rather than psutil, which always reads the live /sys: with ``root_path`` the host's
sysfs is the one reported (node_exporter's ``--path.sysfs``). Nothing at all where the kernel exposes none.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, frozen_attrs
from otel_mon.host.domain import Domain
from otel_mon.host.hwmon import Chip, read_chips
from otel_mon.host.paths import HostPaths
from otel_mon.host.sysfs import read_value as _read
from otel_mon.metric_spec import MetricSpec, ReadingSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("hw.temperature", "gauge", "Cel", ("hw.id",),
      "Temperature of each hwmon sensor under /sys/class/hwmon; absent where there is none.", "sensors",
      optional_attributes=("hw.name", "hw.parent", "hw.sensor_location")),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("temperature", "°C", "sensor id", "temperature of each sensor"),
)


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _number(sensor: str) -> int:
    return int(sensor[4:]) if sensor[4:].isdigit() else 0


def hwmon_temperatures(chips: list[Chip]) -> list[tuple[str, str | None, float]]:
    """(chip, label or None, degrees Celsius) per hwmon sensor with an input, in chip and sensor order."""
    out: list[tuple[str, str | None, float]] = []
    for c in chips:
        if c.own is None:
            continue
        chip, sensors = c.own
        for sensor in sorted(sensors, key=_number):
            raw = sensors[sensor].get("input", "").strip()
            if not raw.lstrip("-").isdigit():
                continue
            label = sensors[sensor].get("label", "").strip() or None
            out.append((chip, label, int(raw) / 1000.0))
    return out


def read_temperatures(paths: HostPaths, chips: list[Chip] | None = None) -> list[tuple[str, str | None, float]]:
    """(chip, label or None, degrees Celsius) per sensor, hwmon first, thermal zones when hwmon has none."""
    out = hwmon_temperatures((read_chips(paths) or []) if chips is None else chips)
    if out:
        return out
    base = paths.sys("class", "thermal")
    for zone in _listdir(base):
        if not zone.startswith("thermal_zone"):
            continue
        kind, raw = _read(os.path.join(base, zone, "type")), _read(os.path.join(base, zone, "temp"))
        if kind and raw and raw.lstrip("-").isdigit():
            out.append((kind, None, int(raw) / 1000.0))
    return out


class SensorsCollector:
    name = "sensors"

    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths

    def collect(self, now: float) -> Collected:
        out = Collected()
        found = read_chips(self.paths)
        out.native["hwmon"] = found  # node_exporter's hwmon families, from this same read (None: no hwmon)
        chips = found or []
        seen: dict[str, int] = {}
        per_chip: dict[str, int] = {}
        for chip, label, celsius in read_temperatures(self.paths, chips):
            per_chip[chip] = per_chip.get(chip, 0) + 1
            shown = label or f"temp{per_chip[chip]}"
            hw_id = f"{chip}/{shown}"
            # Several chips of one name (both sockets' coretemp, several nvme): keep ids unique.
            seen[hw_id] = seen.get(hw_id, 0) + 1
            if seen[hw_id] > 1:
                hw_id = f"{hw_id}#{seen[hw_id]}"
            pairs: list[tuple[str, str | int]] = [("hw.id", hw_id), ("hw.name", f"{chip} {shown}"),
                                                  ("hw.parent", chip)]
            if label:  # the kernel's label says where on the chip the sensor sits ("Core 0", "Composite")
                pairs.append(("hw.sensor_location", label))
            out.add("hw.temperature", celsius, frozen_attrs(*pairs))
            out.reading("temperature", hw_id, celsius)
        return out


def build(host: HostConfig, paths: HostPaths) -> SensorsCollector:
    """This domain's collector, given only its options."""
    return SensorsCollector(paths)


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("sensors", position=110, metrics=METRICS, readings=READINGS, build=build)
