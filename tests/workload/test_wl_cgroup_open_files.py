"""cgroup files kept open between collections (``cgroups.open_files``) on this machine's real hierarchy: a
kept file read again gives the kernel's current figure, a removed cgroup's files are closed and its series go,
the bound holds, and the series are those of a collector that opens every file each time."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from otel_mon import config
from otel_mon.host.cgroupfs import parse_flat
from otel_mon.host.cgroups import CgroupsCollector, CgroupsConfig
from otel_mon.host.paths import HostPaths
from otel_mon.schema import ConfigError
from tests.conftest import wait_until
from tests.workload.test_wl_cgroups_real import JOIN, LAYOUT, SPIN, made, make, need, one

__all__ = ["made"]  # the fixture, imported for its use here


def cpu_root() -> tuple[str, str, str]:
    """(hierarchy root, file with the usage, key or "" for a one-number file) of this machine's CPU usage."""
    kind, root = LAYOUT.source("cpu", "cpuacct") or ("", None)
    if kind == "v2":
        return need(root), "cpu.stat", "usage_usec"
    return need(root), "cpuacct.usage", ""


def usage(d: Path, file: str, key: str) -> float:
    text = (d / file).read_text()
    return parse_flat(text)[key] / 1e6 if key else int(text) / 1e9


def test_a_kept_file_reads_the_current_figure(made: list[Path]) -> None:
    root, file, key = cpu_root()
    name = f"otelmon-keep-{uuid.uuid4().hex[:8]}"
    d = make(made, root, name)
    c = CgroupsCollector(HostPaths("/"), CgroupsConfig(include=(name,)))
    first = one(c.collect(0.0), "otel_mon.cgroup.cpu.usage", name)
    assert c.files_open > 0
    burner = subprocess.Popen([sys.executable, "-c", JOIN, str(d / "cgroup.procs"), sys.executable, "-c", SPIN])
    try:
        wait_until(lambda: usage(d, file, key) >= first + 0.2, 60, what="the burner to use CPU in the cgroup")
        before = usage(d, file, key)
        got = c.collect(1.0)
        after = usage(d, file, key)
    finally:
        burner.kill()
        burner.wait()
    assert before <= one(got, "otel_mon.cgroup.cpu.usage", name) <= after


def test_a_removed_cgroup_is_closed_and_its_series_go(made: list[Path]) -> None:
    root, _file, _key = cpu_root()
    name = f"otelmon-gone-{uuid.uuid4().hex[:8]}"
    d = make(made, root, name)
    c = CgroupsCollector(HostPaths("/"), CgroupsConfig(include=(name,)))
    one(c.collect(0.0), "otel_mon.cgroup.cpu.usage", name)
    held = c.files_open
    assert held > 0
    d.rmdir()  # its files are open in the collector: the kernel still lets it go
    got = c.collect(1.0)  # the listing is still the old one: the kept files answer ENODEV, then are gone
    assert not [a for _, a in got.points.get("otel_mon.cgroup.cpu.usage", [])
                if a["otel_mon.cgroup.path"] == "/" + name]
    assert c.files_open < held
    c.collect(100.0)  # the next listing
    assert c.files_open == 0


def test_close_closes_the_kept_files(made: list[Path]) -> None:
    root, _file, _key = cpu_root()
    name = f"otelmon-close-{uuid.uuid4().hex[:8]}"
    make(made, root, name)
    c = CgroupsCollector(HostPaths("/"), CgroupsConfig(include=(name,)))
    before = len(os.listdir("/proc/self/fd"))
    c.collect(0.0)
    assert c.files_open > 0 and len(os.listdir("/proc/self/fd")) >= before + c.files_open
    c.close()
    assert c.files_open == 0 and len(os.listdir("/proc/self/fd")) <= before


def test_the_bound_holds_and_the_series_match_opening_every_time(made: list[Path]) -> None:
    names = [f"otelmon-bound-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for root in LAYOUT.roots():
        need(root)
        for name in names:
            make(made, root, name)
    include = tuple(names)
    bounded = CgroupsCollector(HostPaths("/"), CgroupsConfig(include=include, open_files=4))
    reopen = CgroupsCollector(HostPaths("/"), CgroupsConfig(include=include, open_files=0))
    for now in (0.0, 1.0):
        a, b = bounded.collect(now), reopen.collect(now)
        assert {k: sorted(tuple(sorted(x.items())) for _, x in v) for k, v in a.points.items()} == \
               {k: sorted(tuple(sorted(x.items())) for _, x in v) for k, v in b.points.items()}
        assert len(a.points["otel_mon.cgroup.memory.usage"]) == 3
    assert bounded.files_open == 4
    assert reopen.files_open == 0


def test_a_bad_open_files_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("cgroups: {open_files: -1}\n")
    with pytest.raises(ConfigError) as err:
        config.load(path=str(path), env={}, flags={})
    assert err.value.problems == ["cgroups.open_files: invalid value -1: expected 0 to 65536"]
