"""cgroups from a v2 (unified) fixture tree read through root_path: values, attributes, and the selection."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from otel_mon import config
from otel_mon.host.cgroupfs import (
    container_id,
    layout,
    parse_blkio,
    parse_io_stat,
    parse_limit,
    parse_psi_totals,
    systemd_unit,
)
from otel_mon.host.cgroups import METRICS, CgroupsCollector, CgroupsConfig
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_mounts
from otel_mon.schema import ConfigError

CID = "4f1c" + "0" * 56 + "beef"


def cgroup(root: Path, rel: str, **files: str) -> None:
    d = root / "sys" / "fs" / "cgroup" / rel
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name.replace("_", ".", 1)).write_text(text)


def v2_files(usage: int, throttled: int, current: int, limit: str, oom_kill: int, rbytes: int) -> dict[str, str]:
    return {
        "cpu_stat": f"usage_usec {usage}\nuser_usec {usage // 4 * 3}\nsystem_usec {usage // 4}\n"
                    f"nr_periods 100\nnr_throttled {throttled}\nthrottled_usec 2500000\n",
        "memory_current": f"{current}\n", "memory_max": f"{limit}\n",
        "memory_events": f"low 0\nhigh 0\nmax 3\noom 2\noom_kill {oom_kill}\noom_group_kill 0\n",
        "io_stat": f"8:0 rbytes={rbytes} wbytes=4096 rios=3 wios=1 dbytes=0 dios=0\n"
                   "8:16 rbytes=1000 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
        "cpu_pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\n"
                        "full avg10=0.00 avg60=0.00 avg300=0.00 total=500000\n",
    }


@pytest.fixture
def v2host(tmp_path: Path) -> Path:
    root = tmp_path / "host"
    (root / "proc" / "1").mkdir(parents=True)
    (root / "proc" / "1" / "mounts").write_text(
        "/dev/vda / ext4 rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec 0 0\n")
    (root / "proc" / "stat").write_text("cpu 1 2 3\n")
    cgroup(root, "", cgroup_controllers="cpuset cpu io memory pids\n")
    cgroup(root, "system.slice/nginx.service", **v2_files(4_000_000, 7, 50 << 20, str(256 << 20), 1, 8192))
    cgroup(root, f"system.slice/docker-{CID}.scope", **v2_files(1_000_000, 0, 10 << 20, "max", 0, 0))
    cgroup(root, "system.slice/cron.service/deeper", **v2_files(5, 0, 1, "max", 0, 0))
    cgroup(root, "user.slice/user-1000.slice", **v2_files(9, 0, 1, "max", 0, 0))
    return root


def by_path(got: Any, name: str, **match: str) -> dict[str, float]:
    return {a["otel_mon.cgroup.path"]: v for v, a in got.points.get(name, [])
            if all(a.get(k) == w for k, w in match.items())}


def test_v2_readings_and_attributes(v2host: Path) -> None:
    got = CgroupsCollector(HostPaths(str(v2host))).collect(0.0)
    nginx, docker = "/system.slice/nginx.service", f"/system.slice/docker-{CID}.scope"
    assert set(by_path(got, "otel_mon.cgroup.cpu.usage")) == {nginx, docker}  # cron.service: selected, no files
    assert by_path(got, "otel_mon.cgroup.cpu.usage")[nginx] == 4.0
    assert by_path(got, "otel_mon.cgroup.cpu.time", **{"cpu.mode": "user"})[nginx] == 3.0
    assert by_path(got, "otel_mon.cgroup.cpu.throttling.throttled_periods")[nginx] == 7
    assert by_path(got, "otel_mon.cgroup.cpu.throttling.periods")[nginx] == 100
    assert by_path(got, "otel_mon.cgroup.cpu.throttling.throttled_time")[nginx] == 2.5
    assert by_path(got, "otel_mon.cgroup.memory.usage")[nginx] == 50 << 20
    assert by_path(got, "otel_mon.cgroup.memory.limit") == {nginx: 256 << 20}  # docker's "max": no limit
    assert by_path(got, "otel_mon.cgroup.memory.events", **{"otel_mon.cgroup.memory.event": "oom_kill"})[nginx] == 1
    assert by_path(got, "otel_mon.cgroup.memory.events", **{"otel_mon.cgroup.memory.event": "oom"})[nginx] == 2
    assert by_path(got, "otel_mon.cgroup.io", **{"disk.io.direction": "read"})[nginx] == 8192 + 1000
    assert by_path(got, "otel_mon.cgroup.io.operations", **{"disk.io.direction": "read"})[nginx] == 4
    some = by_path(got, "otel_mon.cgroup.pressure.stall_time", **{"otel_mon.pressure.resource": "cpu",
                                                                   "otel_mon.pressure.stall_type": "some"})
    assert some[nginx] == 1.5
    attrs = {a["otel_mon.cgroup.path"]: dict(a) for _, a in got.points["otel_mon.cgroup.memory.usage"]}
    assert attrs[nginx]["otel_mon.systemd.unit"] == "nginx.service" and "container.id" not in attrs[nginx]
    assert attrs[docker]["container.id"] == CID
    assert got.points["otel_mon.cgroup.count"] == [(3, {})]


def test_include_exclude_depth_and_count(v2host: Path) -> None:
    paths = HostPaths(str(v2host))
    only = CgroupsCollector(paths, CgroupsConfig(include=("user.slice/*",), max_depth=2)).collect(0.0)
    assert set(by_path(only, "otel_mon.cgroup.memory.usage")) == {"/user.slice/user-1000.slice"}
    shallow = CgroupsCollector(paths, CgroupsConfig(include=("*",), max_depth=1)).collect(0.0)
    assert shallow.points["otel_mon.cgroup.count"] == [(2, {})]  # system.slice and user.slice only
    deep = CgroupsCollector(paths, CgroupsConfig(include=("*",), exclude=("*docker*",))).collect(0.0)
    assert "/system.slice/cron.service/deeper" in by_path(deep, "otel_mon.cgroup.memory.usage")
    assert not any("docker" in p for p in by_path(deep, "otel_mon.cgroup.memory.usage"))
    capped = CgroupsCollector(paths, CgroupsConfig(include=("*",), max_count=2)).collect(0.0)
    assert capped.points["otel_mon.cgroup.count"] == [(2, {})]
    assert capped.points["otel_mon.cgroup.dropped"][0][0] >= 4


def test_parsers_on_kernel_text() -> None:
    mounts = parse_mounts("cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0\n"
                          "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
                          "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n")
    lay = layout(mounts, "/", controllers_text="")
    assert lay.v1 == {"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
                      "memory": "/sys/fs/cgroup/memory"}
    assert lay.unified == "/sys/fs/cgroup/unified" and lay.source("memory", "memory") == ("v1", "/sys/fs/cgroup/memory")
    assert parse_limit(b"max\n") is None and parse_limit(b"9223372036854771712\n") is None
    assert parse_limit(b"67108864\n") == 64 << 20
    assert parse_io_stat(b"253:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n"
                         b"8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n") == (11, 22, 4, 6)
    assert parse_blkio(b"8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\n8:0 Async 2\n8:0 Total 12288\n"
                       b"253:0 Read 1\nTotal 12289\n") == (4097, 8192)
    assert parse_psi_totals(b"some avg10=0.00 avg60=0.00 avg300=0.00 total=15\n") == (15, None)
    assert parse_psi_totals(b"some avg10=1.00 avg60=0.00 avg300=0.00 total=15\n"
                            b"full avg10=0.50 avg60=0.00 avg300=0.00 total=7\n") == (15, 7)
    assert container_id(f"kubepods.slice/kubepods-pod1.slice/cri-containerd-{CID}.scope") == CID
    assert container_id(f"docker/{CID}") == CID and container_id("system.slice/nginx.service") == ""
    assert systemd_unit("system.slice/nginx.service") == "nginx.service" and systemd_unit("docker/abc") == ""


def test_a_bad_cgroups_option_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("cgroups: {max_depth: 0}\n")
    with pytest.raises(ConfigError) as err:
        config.load(path=str(path), env={}, flags={})
    assert err.value.problems == ["cgroups.max_depth: invalid value 0: expected 1 to 16"]


def _target(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except FileNotFoundError:  # the listing's own descriptor
        return ""


def test_a_disabled_metrics_file_is_never_opened(v2host: Path) -> None:
    """metrics: {memory.limit: off, pressure: off} -> memory.max and *.pressure are not in the plan, never
    opened (the kept descriptors name exactly the files read), and their series are absent."""
    off = {"otel_mon.cgroup.memory.limit", "otel_mon.cgroup.pressure.stall_time"}
    c = CgroupsCollector(HostPaths(str(v2host)), enabled=[m.name for m in METRICS if m.name not in off])
    got = c.collect(0.0)
    plan = c.plan
    assert plan is not None
    names = {p.rsplit("/", 1)[1] for p in plan.files()}
    assert names == {"cpu.stat", "memory.current", "memory.events", "io.stat"}
    held = {t for t in map(_target, os.listdir("/proc/self/fd")) if t.startswith(str(v2host))}
    assert held == set(plan.files()) and len(held) == 4 * 2  # nginx and docker (cron.service has no files)
    assert not off & set(got.points)
    assert by_path(got, "otel_mon.cgroup.memory.usage")["/system.slice/nginx.service"] == 50 << 20
    c.close()
