"""Values checked against the kernel's own files, with tolerances that hold on a busy machine."""

from __future__ import annotations

import os

import pytest

from otel_mon import config
from otel_mon.host import registry
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler, Snapshot


@pytest.fixture(scope="module")
def snaps() -> tuple[Snapshot, Snapshot]:
    settings = config.load(env={}, flags={"interfaces.exclude": ""})
    sampler = HostSampler(registry.build(settings.host, HostPaths("/")))
    first = sampler.refresh()
    second = sampler.refresh()
    sampler.close()
    return first, second


def meminfo() -> dict[str, int]:
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":")
            out[key] = int(value.split()[0]) * 1024
    return out


def value(snap: Snapshot, name: str, **attrs: str) -> float:
    want = {k.replace("__", "."): v for k, v in attrs.items()}
    (v,) = [v for v, a in snap.points[name] if all(a.get(k) == x for k, x in want.items())]
    return v


def test_memory_total_and_free_match_meminfo(snaps: tuple[Snapshot, Snapshot]) -> None:
    mem = meminfo()
    assert value(snaps[1], "system.memory.limit") == mem["MemTotal"]
    # Free memory moves while we read: within 5% of total.
    free = value(snaps[1], "system.memory.usage", system__memory__state="free")
    assert abs(free - mem["MemFree"]) < 0.05 * mem["MemTotal"]
    # semconv's Linux used: MemTotal - MemAvailable (moves while we read: within 5% of total).
    used = value(snaps[1], "system.memory.usage", system__memory__state="used")
    assert abs(used - (mem["MemTotal"] - mem["MemAvailable"])) < 0.05 * mem["MemTotal"]


def test_cpu_time_matches_proc_stat(snaps: tuple[Snapshot, Snapshot]) -> None:
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    hz = os.sysconf("SC_CLK_TCK")
    user_after = int(fields[0]) / hz
    ours = value(snaps[1], "system.cpu.time", cpu__mode="user")
    assert ours <= user_after + 0.01
    assert user_after - ours < 5.0  # read moments apart
    utils = [v for v, _ in snaps[1].points.get("system.cpu.utilization", [])]
    if utils:  # the two reads may fall in the same tick: then nothing is emitted, which is right
        assert sum(utils) == pytest.approx(1.0, abs=1e-6)
        assert all(0.0 <= u <= 1.0 for u in utils)


def test_root_filesystem_matches_statvfs(snaps: tuple[Snapshot, Snapshot]) -> None:
    st = os.statvfs("/")
    limit = value(snaps[1], "system.filesystem.limit", system__filesystem__mountpoint="/")
    assert limit == st.f_blocks * st.f_frsize
    free = value(snaps[1], "system.filesystem.usage", system__filesystem__mountpoint="/",
                 system__filesystem__state="free")
    assert abs(free - st.f_bavail * st.f_frsize) < 0.01 * limit


def test_network_counters_match_proc_net_dev(snaps: tuple[Snapshot, Snapshot]) -> None:
    with open("/proc/net/dev") as f:
        rows = {line.split(":")[0].strip(): line.split(":")[1].split() for line in f.readlines()[2:]}
    ours = value(snaps[1], "system.network.io", network__interface__name="lo", network__io__direction="receive")
    after = int(rows["lo"][0])
    assert ours <= after
    assert after - ours < 50_000_000


def test_load_and_uptime(snaps: tuple[Snapshot, Snapshot]) -> None:
    one, _, _ = os.getloadavg()
    assert value(snaps[1], "system.cpu.load_average.1m") == pytest.approx(one, abs=2.0)
    with open("/proc/uptime") as f:
        up = float(f.read().split()[0])
    assert up - 5 < value(snaps[1], "system.uptime") <= up


def test_self_process(snaps: tuple[Snapshot, Snapshot]) -> None:
    import resource

    rss = value(snaps[1], "process.memory.usage")
    assert 5 * 2**20 < rss < 2**31
    assert value(snaps[1], "process.thread.count") >= 1
    assert value(snaps[1], "process.unix.file_descriptor.count") >= 3
    assert value(snaps[1], "process.cpu.time", cpu__mode="user") <= resource.getrusage(resource.RUSAGE_SELF).ru_utime


def test_memory_linux_metrics_match_meminfo(snaps: tuple[Snapshot, Snapshot]) -> None:
    mem = meminfo()
    assert abs(value(snaps[1], "system.memory.linux.available") - mem["MemAvailable"]) < 0.05 * mem["MemTotal"]
    slab = value(snaps[1], "system.memory.linux.slab.usage", system__memory__linux__slab__state="unreclaimable")
    assert abs(slab - mem["SUnreclaim"]) < 0.05 * mem["MemTotal"]


def test_disk_pending_and_weighted_time_match_diskstats(snaps: tuple[Snapshot, Snapshot]) -> None:
    with open("/proc/diskstats") as f:
        rows = {line.split()[2]: line.split()[3:] for line in f}
    for v, attrs in snaps[1].points.get("system.disk.weighted_io_time", []):
        after = int(rows[str(attrs["system.device"])][10]) / 1000
        assert v <= after and after - v < 60


def test_inodes_match_statvfs(snaps: tuple[Snapshot, Snapshot]) -> None:
    st = os.statvfs("/")
    if not st.f_files:
        pytest.skip("the root filesystem has no inode count")
    free = value(snaps[1], "system.filesystem.inodes.usage", system__filesystem__mountpoint="/",
                 system__filesystem__state="free")
    assert abs(free - st.f_ffree) < 0.01 * st.f_files


def test_pressure_filefd_and_oom_match_the_kernel(snaps: tuple[Snapshot, Snapshot]) -> None:
    if os.path.exists("/proc/pressure/io"):
        with open("/proc/pressure/io") as f:
            total = int(f.readline().split("total=")[1]) / 1e6
        ours = value(snaps[1], "otel_mon.host.pressure.stall_time", otel_mon__pressure__resource="io",
                     otel_mon__pressure__stall_type="some")
        assert ours <= total and total - ours < 60
    with open("/proc/sys/fs/file-nr") as f:
        allocated, _, maximum = (int(x) for x in f.read().split())
    assert value(snaps[1], "otel_mon.host.file_descriptor.limit") == maximum
    assert abs(value(snaps[1], "otel_mon.host.file_descriptor.count") - allocated) < 10_000
    with open("/proc/vmstat") as f:
        oom = {k: int(v) for k, v in (line.split() for line in f)}.get("oom_kill")
    if oom is not None:
        assert value(snaps[1], "otel_mon.host.oom_kills") <= oom


def test_process_states_match_proc(snaps: tuple[Snapshot, Snapshot]) -> None:
    total = sum(v for v, _ in snaps[1].points["system.process.count"])
    pids = sum(1 for name in os.listdir("/proc") if name.isdigit())
    assert abs(total - pids) < max(20, 0.2 * pids)
