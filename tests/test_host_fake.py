"""Every domain read from a fake host tree through root_path, compared with values computed by hand."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from otel_mon import config
from otel_mon.host import registry
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler, Snapshot
from otel_mon.resource import build_resource

KB = 1024


def points(snap: Snapshot, name: str) -> dict[frozenset[tuple[str, object]], float]:
    return {frozenset(attrs.items()): value for value, attrs in snap.points.get(name, [])}


def one(snap: Snapshot, name: str, **attrs: object) -> float:
    want = {k.replace("__", "."): v for k, v in attrs.items()}
    found = [v for v, a in snap.points[name] if all(a.get(k) == v2 for k, v2 in want.items())]
    assert len(found) == 1, (name, want, snap.points.get(name))
    return found[0]


@pytest.fixture
def host1(fake_root: Callable[[str], Path]) -> tuple[HostSampler, Path]:
    root = fake_root("host1")
    settings = config.load(env={}, flags={"root_path": str(root), "collectors.sensors": "false"})
    return HostSampler(registry.build(settings.host, HostPaths(str(root)))), root


def test_cpu_times_per_mode_summed_over_cpus(host1: tuple[HostSampler, Path]) -> None:
    snap = host1[0].refresh()
    # /proc/stat counts USER_HZ (100/s); the two per-CPU lines sum to user 1000, system 300, idle 5000 ...
    assert one(snap, "system.cpu.time", cpu__mode="user") == pytest.approx(10.0)
    assert one(snap, "system.cpu.time", cpu__mode="system") == pytest.approx(3.0)
    assert one(snap, "system.cpu.time", cpu__mode="idle") == pytest.approx(50.0)
    # softirq is not a semconv mode: hard (10) and soft (5) interrupts are both interrupt.
    assert one(snap, "system.cpu.time", cpu__mode="interrupt") == pytest.approx(0.15)
    assert {a["cpu.mode"] for _, a in snap.points["system.cpu.time"]} == {
        "user", "nice", "system", "idle", "iowait", "interrupt", "steal"}
    assert one(snap, "system.cpu.time", cpu__mode="steal") == pytest.approx(0.07)
    assert one(snap, "system.cpu.logical.count") == 2
    # First collection: time only, never a bogus 0% utilisation.
    assert "system.cpu.utilization" not in snap.points
    assert "cpu" not in snap.readings
    # Same counters again: no elapsed CPU time, still no utilisation rather than a division by zero.
    assert "system.cpu.utilization" not in host1[0].refresh().points


def test_memory_used_is_total_minus_available(host1: tuple[HostSampler, Path]) -> None:
    snap = host1[0].refresh()
    total = 8000000 * KB
    cached = (1500000 + 100000) * KB  # psutil counts SReclaimable as cache
    assert one(snap, "system.memory.limit") == total
    assert one(snap, "system.memory.usage", system__memory__state="free") == 2000000 * KB
    assert one(snap, "system.memory.usage", system__memory__state="buffers") == 100000 * KB
    assert one(snap, "system.memory.usage", system__memory__state="cached") == cached
    used = (8000000 - 5000000) * KB  # semconv v1.44 on Linux: MemTotal - MemAvailable
    assert one(snap, "system.memory.usage", system__memory__state="used") == used
    for state in ("used", "free", "buffers", "cached"):
        assert one(snap, "system.memory.utilization", system__memory__state=state) == pytest.approx(
            one(snap, "system.memory.usage", system__memory__state=state) / total)
    assert snap.readings["memory"][""] == pytest.approx(100 * used / total)


def test_memory_available_percent_is_memavailable_over_memtotal(host1: tuple[HostSampler, Path]) -> None:
    """The rule reading, against the fixture's own /proc/meminfo; it and ``memory`` come from one read."""
    sampler, root = host1
    meminfo = {line.split(":")[0]: int(line.split()[1])
               for line in (root / "proc" / "meminfo").read_text().splitlines() if line.strip()}
    snap = sampler.refresh()
    expected = 100 * meminfo["MemAvailable"] / meminfo["MemTotal"]
    assert expected == pytest.approx(62.5)
    assert snap.readings["memory.available"][""] == pytest.approx(expected)
    assert one(snap, "system.memory.linux.available") == meminfo["MemAvailable"] * KB
    assert snap.readings["memory.available"][""] + snap.readings["memory"][""] == pytest.approx(100)


def test_paging_per_swap_device_operations_and_faults(host1: tuple[HostSampler, Path]) -> None:
    snap = host1[0].refresh()
    # /proc/swaps, KiB: a partition (600000, 150000 used) and a file whose name has an escaped space.
    assert one(snap, "system.paging.usage", system__device="/dev/sdz3", system__paging__state="used") == 150000 * KB
    assert one(snap, "system.paging.usage", system__device="/dev/sdz3", system__paging__state="free") == 450000 * KB
    assert one(snap, "system.paging.usage", system__device="/swap file", system__paging__state="used") == 100000 * KB
    assert one(snap, "system.paging.utilization", system__device="/dev/sdz3",
               system__paging__state="used") == pytest.approx(0.25)
    assert one(snap, "system.paging.operations", system__paging__direction="in",
               system__paging__fault__type="major") == 111
    assert one(snap, "system.paging.operations", system__paging__direction="out",
               system__paging__fault__type="major") == 222
    assert one(snap, "system.paging.faults", system__paging__fault__type="major") == 400
    assert one(snap, "system.paging.faults", system__paging__fault__type="minor") == 10000 - 400
    assert snap.readings["paging"][""] == pytest.approx(100 * 250000 / 1000000)


def test_disks_filtered_and_converted(host1: tuple[HostSampler, Path]) -> None:
    snap = host1[0].refresh()
    devices = {a["system.device"] for _, a in snap.points["system.disk.io"]}
    assert devices == {"sdz"}  # partitions and loop devices are excluded by default, like node_exporter
    assert one(snap, "system.disk.io", system__device="sdz", disk__io__direction="read") == 20000 * 512
    assert one(snap, "system.disk.io", system__device="sdz", disk__io__direction="write") == 40000 * 512
    assert one(snap, "system.disk.operations", system__device="sdz", disk__io__direction="read") == 1000
    assert one(snap, "system.disk.merged", system__device="sdz", disk__io__direction="write") == 60
    assert one(snap, "system.disk.operation_time", system__device="sdz", disk__io__direction="read") == 3.0
    assert one(snap, "system.disk.io_time", system__device="sdz") == 7.0


def test_network_counters_and_default_interface_filter(host1: tuple[HostSampler, Path]) -> None:
    snap = host1[0].refresh()
    nics = {a["network.interface.name"] for _, a in snap.points["system.network.io"]}
    assert nics == {"lo", "eth0"}  # veth* excluded by default
    assert one(snap, "system.network.io", network__interface__name="eth0", network__io__direction="receive") == 500000
    assert one(snap, "system.network.io", network__interface__name="eth0", network__io__direction="transmit") == 250000
    assert one(snap, "system.network.packet.count", system__device="eth0",
               network__io__direction="receive") == 4000
    assert one(snap, "system.network.errors", network__interface__name="eth0", network__io__direction="receive") == 3
    assert one(snap, "system.network.packet.dropped", network__interface__name="eth0",
               network__io__direction="transmit") == 5
    assert "network.receive" not in snap.readings  # a rate needs two reads


def test_load_uptime_processes(host1: tuple[HostSampler, Path]) -> None:
    snap = host1[0].refresh()
    assert one(snap, "system.cpu.load_average.1m") == 0.5
    assert one(snap, "system.cpu.load_average.15m") == 1.0
    assert one(snap, "system.uptime") == 12345.67
    # One pass over /proc/<pid>/stat: R running; S, D, I sleeping; T, t stopped; Z defunct. A ")" inside the
    # command name (pid 100) does not fool the parser.
    counts = {a["process.state"]: v for v, a in snap.points["system.process.count"]}
    assert counts == {"running": 2, "sleeping": 5, "stopped": 2, "defunct": 1}
    assert one(snap, "system.process.created") == 54321


def test_filesystems_from_pid1_mounts_stat_under_root(host1: tuple[HostSampler, Path]) -> None:
    sampler, root = host1
    snap = sampler.refresh()
    mountpoints = {a["system.filesystem.mountpoint"] for _, a in snap.points["system.filesystem.limit"]}
    assert mountpoints == {"/", "/data dir"}  # proc and tmpfs are virtual: excluded by default
    st = os.statvfs(root / "data dir")
    assert one(snap, "system.filesystem.limit", system__filesystem__mountpoint="/data dir") == st.f_blocks * st.f_frsize
    assert one(snap, "system.filesystem.usage", system__filesystem__mountpoint="/data dir",
               system__filesystem__state="free") == pytest.approx(st.f_bavail * st.f_frsize, rel=0.01)
    limits = snap.points["system.filesystem.limit"]
    modes = {a["system.filesystem.mountpoint"]: a["system.filesystem.mode"] for _, a in limits}
    assert modes == {"/": "rw", "/data dir": "ro"}
    devices = {a["system.device"] for _, a in snap.points["system.filesystem.limit"]}
    assert devices == {"/dev/sdz1", "/dev/sdz2"}
    states = {a["system.filesystem.state"] for _, a in snap.points["system.filesystem.usage"]}
    assert states == {"used", "free", "reserved"}
    util = one(snap, "system.filesystem.utilization", system__filesystem__mountpoint="/",
               system__filesystem__state="used")
    assert 0 < util < 1
    assert snap.readings["filesystem"]["/"] == pytest.approx(100 * util, abs=0.01)


def test_filters_from_config(fake_root: Callable[[str], Path]) -> None:
    root = fake_root("host1")
    settings = config.load(env={}, flags={
        "root_path": str(root), "interfaces.include": "eth*", "interfaces.exclude": "", "disks.exclude": "loop*",
        "filesystem.mountpoints.exclude": "/data*",
    })
    snap = HostSampler(registry.build(settings.host, HostPaths(str(root)))).refresh()
    assert {a["network.interface.name"] for _, a in snap.points["system.network.io"]} == {"eth0"}
    assert {a["system.device"] for _, a in snap.points["system.disk.io"]} == {"sdz", "sdz1"}
    assert {a["system.filesystem.mountpoint"] for _, a in snap.points["system.filesystem.limit"]} == {"/"}


def test_resource_reads_the_host_tree(fake_root: Callable[[str], Path]) -> None:
    root = fake_root("host1")
    settings = config.load(env={"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=lab,host.name=override"},
                           flags={"root_path": str(root)})
    attrs = build_resource(settings.resource, HostPaths(str(root))).attributes
    assert attrs["host.id"] == "0123456789abcdef0123456789abcdef"
    assert attrs["host.name"] == "override"
    assert attrs["os.description"] == "Fake Linux 1.0 (Linux 6.1.0-fake)"
    assert attrs["os.type"] == "linux"
    assert (attrs["os.name"], attrs["os.version"], attrs["os.build_id"]) == ("Fake Linux", "1.0", "6.1.0-fake")
    assert attrs["process.pid"] == os.getpid()
    assert str(attrs["process.creation.time"]).endswith("Z")
    assert attrs["service.name"] == "otel-mon"
    assert attrs["deployment.environment.name"] == "lab"
    assert attrs["service.instance.id"]


def test_broken_host_degrades_per_domain(fake_root: Callable[[str], Path], caplog: pytest.LogCaptureFixture) -> None:
    root = fake_root("broken")
    settings = config.load(env={}, flags={"root_path": str(root), "collectors.sensors": "false"})
    sampler = HostSampler(registry.build(settings.host, HostPaths(str(root))))
    snap = sampler.refresh()
    # cpu and load have their files; memory (no meminfo), uptime (garbage) and network (garbage) fail alone.
    assert snap.domains["cpu"].ok and snap.domains["load"].ok
    for failed in ("memory", "uptime"):
        assert not snap.domains[failed].ok
        assert sum(snap.domains[failed].errors_total.values()) == 1
    assert "system.cpu.time" in snap.points and "system.memory.usage" not in snap.points
    failures = [r for r in caplog.records if r.getMessage().startswith("collector failed")]
    snap2 = sampler.refresh()
    assert sum(snap2.domains["memory"].errors_total.values()) == 2  # counted every time ...
    again = [r for r in caplog.records if r.getMessage().startswith("collector failed")]
    assert len(again) == len(failures) > 0  # ... but logged once per episode
    errors = sampler.self_points("otel_mon.collector.errors")
    assert (2.0, {"otel_mon.collector": "memory", "error.type": "FileNotFoundError"}) in errors
    success = dict((a["otel_mon.collector"], v) for v, a in sampler.self_points("otel_mon.collector.success"))
    assert success["memory"] == 0.0 and success["cpu"] == 1.0


def test_a_mount_hidden_by_a_later_one_is_not_reported() -> None:
    """tmpfs over an ext4 /data: statfs answers for the tmpfs, so the ext4 entry must not be reported."""
    from otel_mon.host.filesystem import FilesystemConfig, select_mounts
    from otel_mon.host.procfs import parse_mounts

    cfg = config.load(env={}).host.section(FilesystemConfig)
    table = "/dev/sda1 / ext4 rw 0 0\n/dev/sda2 /data ext4 rw 0 0\ntmpfs /data tmpfs rw 0 0\n"
    assert [m.mountpoint for m in select_mounts(parse_mounts(table), cfg)] == ["/"]
    remounted = table + "/dev/sdb1 /data xfs rw 0 0\n"
    assert [(m.mountpoint, m.device) for m in select_mounts(parse_mounts(remounted), cfg)] == [
        ("/", "/dev/sda1"), ("/data", "/dev/sdb1")]


def test_temperatures_from_sysfs_under_root(fake_root: Callable[[str], Path]) -> None:
    root = fake_root("host1")
    settings = config.load(env={}, flags={"root_path": str(root)})
    snap = HostSampler(registry.build(settings.host, HostPaths(str(root)))).refresh()
    temps = {a["hw.id"]: (v, dict(a)) for v, a in snap.points["hw.temperature"]}
    assert set(temps) == {"coretemp/Package id 0", "coretemp/Core 0", "nvme/Composite", "acpitz/temp1"}
    value, attrs = temps["nvme/Composite"]
    assert value == pytest.approx(38.85)
    assert attrs == {"hw.id": "nvme/Composite", "hw.name": "nvme Composite", "hw.parent": "nvme",
                     "hw.sensor_location": "Composite"}
    assert "hw.sensor_location" not in temps["acpitz/temp1"][1]  # no label: the location is unknown
    assert all("hw.type" not in a for _, a in temps.values())
    assert snap.readings["temperature"]["coretemp/Core 0"] == pytest.approx(43.0)


def test_memory_linux_metrics_from_meminfo(fake_root: Callable[[str], Path]) -> None:
    root = fake_root("host1")
    settings = config.load(env={}, flags={"root_path": str(root),
                                          "metrics.system.memory.linux.hugepages.usage": "true"})
    snap = HostSampler(registry.build(settings.host, HostPaths(str(root)))).refresh()
    assert one(snap, "system.memory.linux.available") == 5000000 * KB
    assert one(snap, "system.memory.linux.shared") == 50000 * KB
    slab = {a["system.memory.linux.slab.state"]: v for v, a in snap.points["system.memory.linux.slab.usage"]}
    assert slab == {"reclaimable": 100000 * KB, "unreclaimable": 100000 * KB}
    assert one(snap, "system.memory.linux.hugepages.limit") == 16
    assert one(snap, "system.memory.linux.hugepages.page_size") == 2048 * KB
    assert one(snap, "system.memory.linux.hugepages.usage", system__memory__linux__hugepages__state="used") == 4
    assert one(snap, "system.memory.linux.hugepages.reserved") == 2


def test_disk_weighted_time_and_pending(host1: tuple[HostSampler, Path]) -> None:
    snap = host1[0].refresh()
    assert one(snap, "system.disk.weighted_io_time", system__device="sdz") == 8.0
    assert one(snap, "system.disk.pending_operations", system__device="sdz") == 3


def test_inodes_per_filesystem(host1: tuple[HostSampler, Path]) -> None:
    sampler, root = host1
    snap = sampler.refresh()
    st = os.statvfs(root / "data dir")
    used = one(snap, "system.filesystem.inodes.usage", system__filesystem__mountpoint="/data dir",
               system__filesystem__state="used")
    free = one(snap, "system.filesystem.inodes.usage", system__filesystem__mountpoint="/data dir",
               system__filesystem__state="free")
    assert used + free == st.f_files
    assert snap.readings["inodes"]["/data dir"] == pytest.approx(100 * used / st.f_files)


def test_pressure_filefd_conntrack_oom(fake_root: Callable[[str], Path]) -> None:
    root = fake_root("host1")
    settings = config.load(env={}, flags={"root_path": str(root), "collectors.conntrack": "true"})
    snap = HostSampler(registry.build(settings.host, HostPaths(str(root)))).refresh()
    stall = {(a["otel_mon.pressure.resource"], a["otel_mon.pressure.stall_type"]): v
             for v, a in snap.points["otel_mon.host.pressure.stall_time"]}
    assert stall == {("cpu", "some"): 12.345678, ("memory", "some"): 2.0, ("memory", "full"): 1.0,
                     ("io", "some"): 30.0, ("io", "full"): 15.0}  # cpu full is undefined system-wide
    assert snap.readings["pressure"] == {"cpu.some": 2.25, "memory.some": 0.2, "memory.full": 0.1,
                                         "io.some": 4.0, "io.full": 1.5}
    assert one(snap, "otel_mon.host.file_descriptor.count") == 3072
    assert one(snap, "otel_mon.host.file_descriptor.limit") == 100000
    assert snap.readings["file_descriptors"][""] == pytest.approx(3.072)
    assert one(snap, "otel_mon.host.conntrack.count") == 1234
    assert one(snap, "otel_mon.host.conntrack.limit") == 65536
    assert one(snap, "otel_mon.host.oom_kills") == 7
    # A kernel without PSI or conntrack: nothing, and no error.
    assert "otel_mon.host.conntrack.count" not in HostSampler(
        registry.build(config.load(env={}, flags={"root_path": str(fake_root("broken")),
                                                  "collectors.conntrack": "true"}).host,
                       HostPaths(str(fake_root("broken"))))).refresh().points


def test_clock_state_from_adjtimex_fields() -> None:
    from otel_mon.host.clock import STA_NANO, STA_UNSYNC, TIME_ERROR, interpret

    assert interpret(0, 0, 1500, 20000) == (True, 0.0015, 0.02)
    assert interpret(0, STA_NANO, 1500, 20000).offset == pytest.approx(1.5e-6)
    assert not interpret(0, STA_UNSYNC, 0, 16_000_000).synchronized
    assert not interpret(TIME_ERROR, 0, 0, 0).synchronized


def test_cpu_counts_and_frequency_from_the_hosts_sysfs(host1: tuple[HostSampler, Path]) -> None:
    snap = host1[0].refresh()
    assert one(snap, "system.cpu.logical.count") == 2  # cpu lines of the fixture's /proc/stat
    assert one(snap, "system.cpu.physical.count") == 1  # two hyperthreads of one core in its topology
    freqs = {a["cpu.logical_number"]: v for v, a in snap.points["system.cpu.frequency"]}
    assert freqs == {0: 2.4e9, 1: 1.8e9}
    assert snap.readings["load"][""] == pytest.approx(0.5 / 2)  # load per online CPU of the host (0-1)


def test_process_states_are_counted_at_most_once_per_interval(fake_root: Callable[[str], Path],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_mon.host import processes

    root = fake_root("host1")
    passes: list[str] = []
    real = processes.count_states
    monkeypatch.setattr(processes, "count_states", lambda d: passes.append(d) or real(d))
    collector = processes.ProcessesCollector(HostPaths(str(root)), processes.ProcessesConfig(interval=30.0))
    first = collector.collect(1000.0)
    again = collector.collect(1010.0)  # within 30 s: the counts of the first pass, no new walk
    assert len(passes) == 1 and again.points["system.process.count"] == first.points["system.process.count"]
    collector.collect(1031.0)
    assert len(passes) == 2
    collector.collect(1060.9)  # due at 1061: a tick slightly early (jitter) still makes the pass
    assert len(passes) == 3
    collector.collect(1075.0)
    assert len(passes) == 3
    assert "system.process.created" in again.points  # /proc/stat's one line is read every collection


def test_connections_by_transport_state_and_interface(fake_root: Callable[[str], Path]) -> None:
    """host1's /proc/net/{tcp,tcp6,udp,udp6}: 127.0.0.1 is loopback's address on any host, wildcards have no
    interface, UDP has no state."""
    root = fake_root("host1")
    settings = config.load(env={}, flags={"root_path": str(root), "collectors.connections": "true"})
    collectors = [c for c in registry.build(settings.host, HostPaths(str(root))) if c.name == "connections"]
    snap = HostSampler(collectors).refresh()
    lo = next(nic for nic, addrs in psutil.net_if_addrs().items()
              if any(a.address == "127.0.0.1" for a in addrs))
    assert points(snap, "system.network.connection.count") == {
        frozenset({("network.transport", "tcp"), ("network.connection.state", "listen"),
                   ("network.interface.name", lo)}): 1,  # 127.0.0.1:631
        frozenset({("network.transport", "tcp"), ("network.connection.state", "listen")}): 1,  # [::]:22
        frozenset({("network.transport", "tcp"), ("network.connection.state", "established"),
                   ("network.interface.name", lo)}): 1,
        frozenset({("network.transport", "tcp"), ("network.connection.state", "time_wait"),
                   ("network.interface.name", lo)}): 1,
        frozenset({("network.transport", "udp")}): 1,  # 0.0.0.0:68
    }
