"""node_exporter's hwmon families from a fixture sysfs, held to a real node_exporter 1.12.1 reading the same tree.

The tree has what makes node_exporter's chip naming hard: a platform device (coretemp.0 ->
platform_coretemp_0), an NVMe device behind PCI (nvme_nvme0), a chip with no device link (named by its
``name`` file), and two hwmon nodes of one device (told apart by their ``name`` files). Labels, max, crit,
crit_alarm, min, alarm, fault and type files appear. Both sides must serve the same series with the same
values, types and help texts; and hw.temperature keeps its ids and values.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from otel_mon import config
from otel_mon.compat.node_exporter import NodeExporterView
from otel_mon.host import registry
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler
from tests.compat.peers import NodeExporter, get, stack_binary
from tests.conftest import FIXTURES

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _files(d: Path, **files: str) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text + "\n")


def _link(link: Path, target: str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def hwmon_tree(sys: Path) -> None:
    """/sys/class/hwmon as the kernel lays it out: class links into /sys/devices, ``device`` links up."""
    shutil.rmtree(sys / "class" / "hwmon", ignore_errors=True)
    nodes = {
        "hwmon0": ("devices/platform/coretemp.0", dict(
            name="coretemp", temp1_input="45000", temp1_label="Package id 0", temp1_max="84000",
            temp1_crit="100000", temp1_crit_alarm="0", temp2_input="43000", temp2_label="Core 0",
            temp2_max="84000", temp2_crit="100000", temp2_crit_alarm="0")),
        "hwmon1": ("devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0", dict(
            name="nvme", temp1_input="38850", temp1_label="Composite", temp1_max="84850", temp1_min="-273150",
            temp1_crit="84850", temp1_alarm="0", temp2_input="41850", temp2_label="Sensor 1")),
        "hwmon3": ("devices/platform/asus-nb-wmi", dict(name="asus", temp1_input="52000")),
        "hwmon4": ("devices/platform/asus-nb-wmi", dict(name="asus_wmi_sensors", temp1_input="31000",
                                                        temp1_fault="0", temp1_type="4")),
    }
    for node, (device, files) in nodes.items():
        d = sys / device / "hwmon" / node
        _files(d, **files)
        _link(d / "device", "../..")  # <device>/hwmon/hwmonN/device -> <device>
        _link(sys / "class" / "hwmon" / node, os.path.relpath(d, sys / "class" / "hwmon"))
    virtual = sys / "devices" / "virtual" / "thermal" / "thermal_zone0" / "hwmon2"  # no device link
    _files(virtual, name="acpitz", temp1_input="27800", temp1_crit="119000")
    _link(sys / "class" / "hwmon" / "hwmon2", os.path.relpath(virtual, sys / "class" / "hwmon"))


def _hwmon(body: str) -> tuple[Series, dict[str, tuple[str, str]]]:
    values: Series = {}
    meta: dict[str, tuple[str, str]] = {}
    for family in text_string_to_metric_families(body):
        if not family.name.startswith("node_hwmon_"):
            continue
        meta[family.name] = (family.type, family.documentation)
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return values, meta


def test_hwmon_families_are_node_exporters(tmp_path: Path, fake_root: Callable[[str], Path]) -> None:
    binary = stack_binary("node_exporter")
    fake_root("host1")  # restores psutil's /proc afterwards
    root = tmp_path / "host"
    shutil.copytree(FIXTURES / "host1", root, symlinks=True)
    hwmon_tree(root / "sys")
    HostPaths(str(root)).activate()
    settings = config.load(env={}, flags={"root_path": str(root)})
    paths = HostPaths(str(root))
    snap = HostSampler(registry.build(settings.host, paths)).refresh()
    ours, our_meta = _hwmon(NodeExporterView(lambda: snap, paths).render(None, None).body.decode())

    peer = NodeExporter(tmp_path, f"--path.sysfs={root / 'sys'}", f"--path.procfs={root / 'proc'}",
                        "--collector.disable-defaults", "--collector.hwmon")
    try:
        theirs, their_meta = _hwmon(get(peer.url).decode())
    finally:
        peer.stop()
    assert binary
    assert ("node_hwmon_chip_names", (("chip", "platform_coretemp_0"), ("chip_name", "coretemp"))) in theirs
    assert ("node_hwmon_chip_names", (("chip", "platform_asus_nb_wmi_asus_wmi_sensors"),
                                      ("chip_name", "asus_wmi_sensors"))) in theirs
    assert len(theirs) == 29  # 5 chip names, 6 labels, 18 values
    assert ours == theirs
    assert our_meta == their_meta


def test_hw_temperature_keeps_its_ids(tmp_path: Path, fake_root: Callable[[str], Path]) -> None:
    fake_root("host1")
    root = tmp_path / "host"
    shutil.copytree(FIXTURES / "host1", root, symlinks=True)
    hwmon_tree(root / "sys")
    HostPaths(str(root)).activate()
    settings = config.load(env={}, flags={"root_path": str(root)})
    snap = HostSampler(registry.build(settings.host, HostPaths(str(root)))).refresh()
    temps = {a["hw.id"]: v for v, a in snap.points["hw.temperature"]}
    assert temps == {"coretemp/Package id 0": 45.0, "coretemp/Core 0": 43.0, "nvme/Composite": 38.85,
                     "nvme/Sensor 1": 41.85, "acpitz/temp1": 27.8, "asus/temp1": 52.0,
                     "asus_wmi_sensors/temp1": 31.0}
