"""hwmon chips read once per collection, named as node_exporter 1.12.1 names them, for their temperature sensors.

node_exporter's chip label comes from the device path, which stays put across boots while ``hwmonN``
numbering follows module load order: ``<parent dir>_<device dir>`` of the resolved ``device`` link
(``/sys/devices/platform/coretemp.0`` -> ``platform_coretemp_0``), else the ``name`` file, else ``hwmonN``;
lower-cased, ``[^a-z0-9:_]`` -> ``_``, ``_`` trimmed. Two chips with one label (two hwmon nodes of one
device) get the ``name`` file, or when that is shared too ``hwmonN``, appended. A chip's sensor files are
those of its directory and of ``device/`` (the latter wins), as node_exporter merges them. Only ``temp*``
files: temperature is what the agent reads (``hw.temperature``); fans, voltages and power are not read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from otel_mon.host.paths import HostPaths

_INVALID = re.compile(r"[^a-z0-9:_]")
_SENSOR_FILE = re.compile(r"^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$")
_MAX_READ = 128  # node_exporter reads at most this much of a sensor file (some drivers misbehave on more)

Sensors = dict[str, dict[str, str]]  # "temp1" -> {"input": "45000", "label": "Core 0", "max": "84000"}


def clean_name(text: str) -> str:
    """node_exporter's label cleaning of a chip or device name."""
    return _INVALID.sub("_", text.lower()).strip("_")


@dataclass(frozen=True)
class Chip:
    """One hwmon node: node_exporter's ``chip`` label, its ``chip_name`` (the ``name`` file) and the readings."""

    node: str  # hwmonN
    chip: str
    chip_name: str | None
    sensors: Sensors = field(default_factory=dict)  # the directory and device/ merged (node_exporter's view)
    # The sensors of the first of the directory and device/ that has a ``name`` file, with that name: what
    # ``hw.temperature`` has always been read from (very old kernels keep the files under device/ only).
    own: tuple[str, Sensors] | None = None


def _read(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a broken driver must not block
    except OSError:
        return None
    try:
        return os.read(fd, _MAX_READ).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def _temp_files(directory: str) -> Sensors:
    out: Sensors = {}
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return out
    for name in names:
        m = _SENSOR_FILE.match(name)
        if m is None or m.group("type") != "temp":
            continue
        number = int(m.group("id")) if m.group("id") else 0
        value = _read(os.path.join(directory, name))
        if value is not None:
            out.setdefault(f"temp{number}", {})[m.group("property") or ""] = value.strip("\n")
    return out


def _base_name(directory: str) -> str | None:
    device = os.path.join(directory, "device")
    if os.path.exists(device):
        prefix, dev_name = os.path.split(os.path.realpath(device))
        dev_type = os.path.basename(prefix.rstrip("/"))
        clean_dev, clean_type = clean_name(dev_name), clean_name(dev_type)
        if clean_type and clean_dev:
            return f"{clean_type}_{clean_dev}"
        if clean_dev:
            return clean_dev
    raw = _read(os.path.join(directory, "name"))
    if raw and clean_name(raw):
        return clean_name(raw)
    return clean_name(os.path.basename(os.path.realpath(directory))) or None


def read_chips(paths: HostPaths) -> list[Chip] | None:
    """Every hwmon node under /sys/class/hwmon (in name order), with node_exporter's unique chip labels; None
    when the host has no /sys/class/hwmon (node_exporter then reports its hwmon collector as failed: no data)."""
    base = paths.sys("class", "hwmon")
    try:
        nodes = sorted(os.listdir(base))
    except OSError:
        return None
    found: list[tuple[str, str, str, str | None, Sensors, tuple[str, Sensors] | None]] = []
    for node in nodes:
        directory = os.path.join(base, node)
        if not os.path.isdir(directory):
            continue
        name = _read(os.path.join(directory, "name"))
        base_name = _base_name(directory)
        if base_name is None:
            continue
        own_sensors = _temp_files(directory)
        device = os.path.join(directory, "device")
        dev_sensors = _temp_files(device) if os.path.exists(device) else {}
        merged: Sensors = {s: dict(props) for s, props in own_sensors.items()}
        for sensor, props in dev_sensors.items():
            merged.setdefault(sensor, {}).update(props)
        own: tuple[str, Sensors] | None = None
        if name is not None:
            own = (name.strip(), own_sensors)
        else:
            dev_name = _read(os.path.join(device, "name"))
            if dev_name is not None:
                own = (dev_name.strip(), dev_sensors)
        found.append((node, base_name, (name or "").strip(), name, merged, own))
    chips: dict[str, int] = {}
    names: dict[tuple[str, str], int] = {}
    for _node, base_name, name_text, _name, _m, _o in found:
        chips[base_name] = chips.get(base_name, 0) + 1
        names[(base_name, name_text)] = names.get((base_name, name_text), 0) + 1
    out = []
    for node, base_name, name_text, name, merged, own in found:
        label = base_name
        if chips[base_name] > 1:
            suffix = clean_name(name_text)
            if not suffix or names[(base_name, name_text)] > 1:
                suffix = clean_name(node)
            label = f"{base_name}_{suffix}"
        chip_name = clean_name(name) if name else None
        out.append(Chip(node, label, chip_name or None, merged, own))
    return out
