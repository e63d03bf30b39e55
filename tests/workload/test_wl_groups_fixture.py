"""Process groups over a fake /proc read through root_path: first match wins, templates, children folding,
the group limit, and the one-line config errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from otel_mon import config
from otel_mon.host.paths import HostPaths
from otel_mon.host.process_groups import ProcessGroupsCollector, ProcessGroupsConfig
from otel_mon.schema import ConfigError
from tests.conftest import ROOT
from tests.workload.fakeproc import FakeProc

TICK = 100  # SC_CLK_TCK on Linux


def load(tmp_path: Path, yaml: str) -> ProcessGroupsConfig:
    path = tmp_path / "agent.yaml"
    path.write_text(yaml)
    return config.load(path=str(path), env={}, flags={}).host.section(ProcessGroupsConfig)


def values(collected: Any, name: str, **match: str) -> dict[str, float]:
    """group -> value of ``name`` for points whose attributes include ``match``."""
    return {dict(a)["otel_mon.process.group"]: v for v, a in collected.points.get(name, [])
            if all(dict(a).get(k) == w for k, w in match.items())}


@pytest.fixture
def host(tmp_path: Path) -> FakeProc:
    fake = FakeProc(tmp_path / "root")
    fake.add(1, "systemd", 0, utime=50)
    fake.add(100, "nginx", 1, uid=33, utime=200, stime=100, rss=1000, fds=4, io=(4096, 8192),
             exe="/usr/sbin/nginx", cmdline="nginx: master process", unit="nginx.service")
    fake.add(101, "nginx", 100, uid=33, utime=300, stime=50, rss=500, threads=2, exe="/usr/sbin/nginx",
             cmdline="nginx: worker process", unit="nginx.service")
    fake.add(200, "bash", 1, utime=10, cutime=90, exe="/usr/bin/bash")
    fake.add(201, "python3", 200, utime=700, exe="/usr/bin/python3.11", cmdline="python3 -m http.server")
    fake.add(300, "postgres", 1, uid=33, utime=5, exe="/usr/lib/postgresql/bin/postgres", unit="pg.service")
    return fake


def test_first_match_wins_and_sums_follow_the_files(tmp_path: Path, host: FakeProc) -> None:
    cfg = load(tmp_path, """
process_groups:
  - {name: web, comm: "^nginx$"}
  - {name: "www-{exe}", user: www-data}
  - {name: http, cmdline: "http\\\\.server"}
  - {name: "unit-{unit}", exe: "postgres$"}
  - {name: nothing-yet, comm: "^redis"}
""")
    got = ProcessGroupsCollector(HostPaths(str(host.root)), cfg).collect(1000.0)
    count = values(got, "otel_mon.process.group.count")
    assert count == {"web": 2, "www-postgres": 1, "http": 1, "nothing-yet": 0}
    assert values(got, "process.cpu.time", **{"cpu.mode": "user"})["web"] == (200 + 300) / TICK
    assert values(got, "process.cpu.time", **{"cpu.mode": "system"})["web"] == (100 + 50) / TICK
    assert values(got, "process.memory.usage")["web"] == 1500 * 4096
    assert values(got, "process.thread.count")["web"] == 3
    assert values(got, "process.unix.file_descriptor.count")["web"] == 4 + 2
    assert values(got, "process.disk.io", **{"disk.io.direction": "write"})["web"] == 8192
    assert values(got, "otel_mon.process.group.oldest_start_time")["web"] == 1700000000 + 100 / TICK
    assert "nothing-yet" not in values(got, "otel_mon.process.group.oldest_start_time")
    assert got.readings["process_group.count"] == count
    assert got.readings["process_group.memory"]["web"] == 1500 * 4096 / (1 << 20)


def test_children_fold_into_the_group_of_a_matched_ancestor(tmp_path: Path, host: FakeProc) -> None:
    cfg = load(tmp_path, """
process_groups:
  - {name: py, comm: "^python"}
  - {name: shell, comm: "^bash$", children: true}
""")
    got = ProcessGroupsCollector(HostPaths(str(host.root)), cfg).collect(1000.0)
    assert values(got, "otel_mon.process.group.count") == {"py": 0, "shell": 2}
    # the shell's reaped children (cutime 90) count too
    assert values(got, "process.cpu.time", **{"cpu.mode": "user"})["shell"] == (10 + 90 + 700) / TICK


def test_groups_beyond_the_limit_are_counted_as_dropped(tmp_path: Path, host: FakeProc,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    cfg = load(tmp_path, "process_groups: [{name: '{comm}', user: root}]\nmax_process_groups: 2\n")
    collector = ProcessGroupsCollector(HostPaths(str(host.root)), cfg)
    got = collector.collect(1000.0)
    assert len(values(got, "otel_mon.process.group.count")) == 2
    assert got.points["otel_mon.process.group.dropped"] == [(1, {})]  # root runs systemd, bash, python3
    collector.collect(1015.0)
    assert sum("max_process_groups" in r.getMessage() for r in caplog.records) == 1


def test_a_counter_keeps_what_exited_processes_used(tmp_path: Path, host: FakeProc) -> None:
    cfg = load(tmp_path, "process_groups: [{name: web, comm: '^nginx$'}]\n")
    collector = ProcessGroupsCollector(HostPaths(str(host.root)), cfg)
    first = values(collector.collect(1000.0), "process.cpu.time", **{"cpu.mode": "user"})["web"]
    host.remove(101)  # a worker exits; its parent is not told (ignores SIGCHLD): nothing absorbed
    later = collector.collect(1015.0)
    assert values(later, "process.cpu.time", **{"cpu.mode": "user"})["web"] == first
    assert values(later, "otel_mon.process.group.count")["web"] == 1
    host.add(102, "nginx", 100, uid=33, utime=7, start=500)  # a new worker
    again = values(collector.collect(1030.0), "process.cpu.time", **{"cpu.mode": "user"})["web"]
    assert again == first + 7 / TICK


def test_group_cpu_reading_is_percent_of_one_cpu(tmp_path: Path, host: FakeProc) -> None:
    cfg = load(tmp_path, "process_groups: [{name: web, comm: '^nginx$'}]\n")
    collector = ProcessGroupsCollector(HostPaths(str(host.root)), cfg)
    assert "process_group.cpu" not in collector.collect(1000.0).readings  # first pass: no interval yet
    host.add(101, "nginx", 100, uid=33, utime=300 + 1000, stime=50)  # 10 s of CPU in 20 s
    assert collector.collect(1020.0).readings["process_group.cpu"]["web"] == pytest.approx(50.0)


@pytest.mark.parametrize(("yaml", "line"), [
    ("process_groups: [{name: web}]",
     "process_groups[0].comm: invalid value None: a process group needs at least one matcher"),
    ("process_groups: [{name: web, comm: '(unclosed'}]",
     "process_groups[0].comm: invalid value '(unclosed': not a regular expression"),
    ("process_groups: [{name: '{host}', comm: x}]",
     "process_groups[0].name: invalid value '{host}': unknown template field {host}"),
    ("process_groups: [{name: a, comm: x}, {name: a, comm: y}]",
     "process_groups[1].name: invalid value 'a': another process group has this name"),
    ("max_process_groups: 0", "max_process_groups: invalid value 0: expected 1 to 1000"),
    ("top_processes: {enabled: true, count: 50}", "top_processes.count: invalid value 50: expected 1 to 20"),
    ("process_groups: [{name: a, command: x}]", "process_groups[0].command: unknown key"),
])
def test_a_bad_entry_is_one_line_naming_the_field_and_value(tmp_path: Path, yaml: str, line: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, yaml + "\n")
    assert err.value.problems[0].startswith(line), err.value.problems
    assert all("\n" not in p for p in err.value.problems)


def test_check_config_exits_2_on_a_bad_group(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("process_groups:\n  - {name: web, exe: '*nginx'}\n")
    proc = subprocess.run([sys.executable, "-m", "otel_mon", "check-config", "--config", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if "process_groups" in ln]
    assert len(lines) == 1 and "process_groups[0].exe: invalid value '*nginx'" in lines[0], proc.stderr
