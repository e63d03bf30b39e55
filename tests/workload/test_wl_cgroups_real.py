"""cgroups the test creates on this machine's hierarchy (v1 per controller here, plus the unified v2 tree where
the host mounts one), read by the collector and held to the kernel's own files.

- memory: a 48 MiB limit, a holder that asks for 256 MiB: the kernel OOM-kills it; our oom_kill count rises
  by exactly the kernel's count.
- cpu: a quota of 10 ms per 100 ms and a burner: throttled periods rise; ours lies between the kernel's
  figures read just before and just after the collection.
- blkio / io: 16 MiB written by dd with oflag=direct (v1 blkio does not see buffered writeback, and keeps
  stats only for a device with a throttle rule: the test sets one far above the disk's speed): ours equals
  the kernel's and is within 16-18 MiB.
- v2: a child of the unified tree with a burner in it: CPU usage between the kernel's before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_mon.host.cgroupfs import layout, parse_blkio, parse_flat
from otel_mon.host.cgroups import CgroupsCollector, CgroupsConfig
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_mounts
from tests.conftest import wait_until

LAYOUT = layout(parse_mounts(Path("/proc/self/mounts").read_text()))
# Joins the cgroup(s) named in argv[1] (cgroup.procs files, comma-separated), then runs the rest of argv.
JOIN = ("import os, sys\nfor f in sys.argv[1].split(','):\n    open(f, 'w').write(str(os.getpid()))\n"
        "os.execvp(sys.argv[2], sys.argv[2:])\n")
HOG = "import sys\nblocks = []\nwhile True: blocks.append(bytearray(4 << 20))\n"
SPIN = "while True: pass\n"


def need(root: str | None) -> str:
    if root is None or os.geteuid() != 0:
        pytest.skip("needs root and this cgroup hierarchy")
    return root


@pytest.fixture
def made() -> Iterator[list[Path]]:
    """cgroup directories the test made: removed afterwards (children first), once their tasks are gone."""
    dirs: list[Path] = []
    yield dirs
    for d in reversed(dirs):
        wait_until(lambda d=d: (not d.exists()) or _rmdir(d), 30, what=f"rmdir {d}")


def _rmdir(d: Path) -> bool:
    try:
        d.rmdir()
        return True
    except OSError:
        return False


def make(made: list[Path], root: str, name: str) -> Path:
    d = Path(root) / name
    d.mkdir()
    made.append(d)
    return d


def one(got: object, name: str, rel: str, **match: str) -> float:
    vals = [v for v, a in got.points.get(name, [])  # type: ignore[attr-defined]
            if a["otel_mon.cgroup.path"] == "/" + rel and all(a.get(k) == w for k, w in match.items())]
    assert len(vals) == 1, (name, rel, vals)
    return vals[0]


def collector(name: str) -> CgroupsCollector:
    return CgroupsCollector(HostPaths("/"), CgroupsConfig(include=(name,)))


def test_oom_kill_rises_by_the_kernels_count(made: list[Path]) -> None:
    kind, root = LAYOUT.source("memory", "memory") or ("", None)
    root = need(root)
    name = f"otelmon-oom-{uuid.uuid4().hex[:8]}"
    d = make(made, root, name)
    limit_file = "memory.max" if kind == "v2" else "memory.limit_in_bytes"
    (d / limit_file).write_text(str(48 << 20))
    events = "memory.events" if kind == "v2" else "memory.oom_control"
    c = collector(name)
    before = one(c.collect(0.0), "otel_mon.cgroup.memory.events", name, **{"otel_mon.cgroup.memory.event": "oom_kill"})
    kernel_before = parse_flat((d / events).read_text())["oom_kill"]
    hog = subprocess.run([sys.executable, "-c", JOIN, str(d / "cgroup.procs"), sys.executable, "-c", HOG],
                         timeout=120)
    assert hog.returncode == -9  # SIGKILL from the OOM killer
    got = c.collect(1.0)
    kernel_after = parse_flat((d / events).read_text())["oom_kill"]
    after = one(got, "otel_mon.cgroup.memory.events", name, **{"otel_mon.cgroup.memory.event": "oom_kill"})
    assert kernel_after - kernel_before >= 1
    assert after - before == kernel_after - kernel_before
    assert one(got, "otel_mon.cgroup.memory.limit", name) == 48 << 20


def test_a_cpu_quota_shows_as_throttled_periods(made: list[Path]) -> None:
    kind, root = LAYOUT.source("cpu", "cpu") or ("", None)
    root = need(root)
    name = f"otelmon-cpu-{uuid.uuid4().hex[:8]}"
    d = make(made, root, name)
    if kind == "v2":
        (d / "cpu.max").write_text("10000 100000")
    else:
        (d / "cpu.cfs_period_us").write_text("100000")
        (d / "cpu.cfs_quota_us").write_text("10000")
    burner = subprocess.Popen([sys.executable, "-c", JOIN, str(d / "cgroup.procs"), sys.executable, "-c", SPIN])
    try:
        wait_until(lambda: parse_flat((d / "cpu.stat").read_text())["nr_throttled"] >= 5, 60,
                   what="the quota to throttle the burner")
        c = collector(name)
        before = parse_flat((d / "cpu.stat").read_text())["nr_throttled"]
        got = c.collect(0.0)
        after = parse_flat((d / "cpu.stat").read_text())["nr_throttled"]
    finally:
        burner.kill()
        burner.wait()
    assert before <= one(got, "otel_mon.cgroup.cpu.throttling.throttled_periods", name) <= after
    assert one(got, "otel_mon.cgroup.cpu.throttling.periods", name) >= before
    assert one(got, "otel_mon.cgroup.cpu.throttling.throttled_time", name) > 0


def test_dd_bytes_match_the_kernels_io_accounting(made: list[Path], tmp_path: Path) -> None:
    kind, root = LAYOUT.source("io", "blkio") or ("", None)
    root = need(root)
    name = f"otelmon-io-{uuid.uuid4().hex[:8]}"
    d = make(made, root, name)
    if kind == "v1":
        # v1 blkio on current kernels keeps per-cgroup stats only for devices with a throttle rule: a rule far
        # above anything dd can do (1 TiB/s) turns the accounting on without limiting anything.
        (d / "blkio.throttle.write_bps_device").write_text(f"{disk_of(tmp_path)} {1 << 40}")
    dd = subprocess.run([sys.executable, "-c", JOIN, str(d / "cgroup.procs"), "dd", "if=/dev/zero",
                         f"of={tmp_path / 'blob'}", "bs=1M", "count=16", "oflag=direct", "status=none"], timeout=120)
    assert dd.returncode == 0
    got = collector(name).collect(0.0)
    written = one(got, "otel_mon.cgroup.io", name, **{"disk.io.direction": "write"})
    if kind == "v1":
        kernel = parse_blkio((d / "blkio.throttle.io_service_bytes").read_bytes())[1]
    else:
        kernel = sum(int(p.split("=")[1]) for line in (d / "io.stat").read_text().splitlines()
                     for p in line.split()[1:] if p.startswith("wbytes="))
    assert written == kernel
    assert 16 << 20 <= written <= 18 << 20
    assert one(got, "otel_mon.cgroup.io.operations", name, **{"disk.io.direction": "write"}) >= 16


def disk_of(path: Path) -> str:
    """major:minor of the whole disk holding ``path`` (a partition's parent)."""
    dev = os.stat(path).st_dev
    node = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
    if (node / "partition").exists():
        return (node.resolve().parent / "dev").read_text().strip()
    return f"{os.major(dev)}:{os.minor(dev)}"


def test_the_real_unified_tree_gives_cpu_usage(made: list[Path]) -> None:
    root = need(LAYOUT.unified)
    name = f"otelmon-v2-{uuid.uuid4().hex[:8]}"
    d = make(made, root, name)
    burner = subprocess.Popen([sys.executable, "-c", JOIN, str(d / "cgroup.procs"), sys.executable, "-c", SPIN])
    try:
        wait_until(lambda: parse_flat((d / "cpu.stat").read_text())["usage_usec"] >= 200_000, 60,
                   what="the burner to use CPU in the v2 cgroup")
        c = collector(name)
        before = parse_flat((d / "cpu.stat").read_text())["usage_usec"]
        got = c.collect(0.0)
        after = parse_flat((d / "cpu.stat").read_text())["usage_usec"]
    finally:
        burner.kill()
        burner.wait()
    assert before / 1e6 <= one(got, "otel_mon.cgroup.cpu.usage", name) <= after / 1e6
    assert one(got, "otel_mon.cgroup.cpu.time", name, **{"cpu.mode": "user"}) > 0
    stalls = [a for _, a in got.points.get("otel_mon.cgroup.pressure.stall_time", [])
              if a["otel_mon.cgroup.path"] == "/" + name]
    assert stalls or not (d / "cpu.pressure").exists()
