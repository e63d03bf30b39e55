"""Cost of the process groups and the cgroups domain (run by hand, as root: it makes processes and cgroups).

1. 1,000 processes (``sleep 9000.<g><nnn>``) in 10 groups matched by cmdline: the agent's collection (its
   collector, in this process: thread CPU per collection after a warm-up) beside process-exporter configured
   with the same 10 groups (its CPU per scrape of /metrics, from its /proc/<pid>/stat). Target: <= 2x.
2. 200 cgroups made under every mounted hierarchy (v1 controllers and the unified tree): thread CPU time of
   one collection of the cgroups domain (wall time on a loaded machine is mostly waiting for a core). Target:
   < 10 ms. Baseline in the same run: the same collection with ``cgroups.open_files: 0`` (every file opened
   and closed each time), the two taken in turn.

``python benchmarks/bench_workload.py [--exporter PATH] [--rounds N] [--only cgroups]``; prints one Markdown
table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.servers import free_port
from otel_mon.host.cgroupfs import layout
from otel_mon.host.cgroups import CgroupsCollector, CgroupsConfig
from otel_mon.host.group_match import GroupConfig
from otel_mon.host.paths import HostPaths
from otel_mon.host.process_groups import ProcessGroupsCollector, ProcessGroupsConfig
from otel_mon.host.procfs import parse_mounts

GROUPS, PER_GROUP, CGROUPS = 10, 100, 200
TICK = os.sysconf("SC_CLK_TCK")


def ticks(pid: int) -> int:
    data = Path(f"/proc/{pid}/stat").read_bytes()
    f = data[data.rfind(b")") + 2:].split()
    return int(f[11]) + int(f[12])


def spawn_sleepers() -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(["sleep", f"9000.{g}{i:03d}"]) for g in range(GROUPS) for i in range(PER_GROUP)]


def agent_cost(rounds: int) -> float:
    """Seconds of CPU per collection of the process groups domain (10 groups, 1,000 processes)."""
    cfg = ProcessGroupsConfig(process_groups=tuple(
        GroupConfig(name=f"g{g}", cmdline=rf"^sleep 9000\.{g}") for g in range(GROUPS)))
    c = ProcessGroupsCollector(HostPaths("/"), cfg)
    c.collect(time.time())  # warm-up: matches cached, as process-exporter's after its first scrape
    costs = []
    for _ in range(rounds):
        t = time.thread_time()
        c.collect(time.time())
        costs.append(time.thread_time() - t)
    return statistics.median(costs)


def exporter_cost(binary: str, rounds: int) -> float:
    """Seconds of CPU per scrape of process-exporter with the same groups."""
    tmp = Path(tempfile.mkdtemp())
    conf = tmp / "pe.yaml"
    conf.write_text("process_names:\n" + "".join(
        f"  - name: g{g}\n    cmdline: ['^sleep 9000\\.{g}']\n" for g in range(GROUPS)))
    port = free_port()
    proc = subprocess.Popen([binary, "-config.path", str(conf), "-web.listen-address", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        urllib.request.urlopen(url, timeout=30).read()  # warm-up
        before = ticks(proc.pid)
        for _ in range(rounds):
            urllib.request.urlopen(url, timeout=30).read()
        return (ticks(proc.pid) - before) / TICK / rounds
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def cgroups_cost(rounds: int) -> tuple[float, float, float, int]:
    """(kept files, every file opened: CPU time; listing: wall time) and the number of cgroups read."""
    lay = layout(parse_mounts(Path("/proc/self/mounts").read_text()))
    made = []
    try:
        for root in lay.roots():
            base = Path(root) / "otelmon-bench"
            base.mkdir()
            made.append(base)
            for i in range(CGROUPS):
                (base / f"c{i:03d}").mkdir()
                made.append(base / f"c{i:03d}")
        c = CgroupsCollector(HostPaths("/"), CgroupsConfig(include=("otelmon-bench/*",), max_count=CGROUPS))
        reopen = CgroupsCollector(HostPaths("/"), CgroupsConfig(include=("otelmon-bench/*",), max_count=CGROUPS,
                                                                open_files=0))
        t = time.perf_counter()
        got = c.collect(0.0)  # lists the tree (then again every cgroups.rescan, 30 s)
        listing = time.perf_counter() - t
        reopen.collect(0.0)
        n = int(got.points["otel_mon.cgroup.count"][0][0])
        walls, baseline = [], []
        for _ in range(rounds):
            t = time.thread_time()  # CPU time: on a loaded machine wall time is mostly waiting for a core
            c.collect(0.0)
            walls.append(time.thread_time() - t)
            t = time.thread_time()
            reopen.collect(0.0)
            baseline.append(time.thread_time() - t)
        del c, reopen  # their kept files close with them
        return statistics.median(walls), statistics.median(baseline), listing, n
    finally:
        for d in reversed(made):
            d.rmdir()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", default=shutil.which("process-exporter") or "build/stack/bin/process-exporter")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--only", choices=("cgroups",), help="measure only the cgroups domain")
    args = ap.parse_args()
    agent = exporter = None
    if args.only is None:
        sleepers = spawn_sleepers()
        try:
            time.sleep(1)
            agent = agent_cost(args.rounds)
            exporter = exporter_cost(args.exporter, args.rounds) if os.path.exists(args.exporter) else None
        finally:
            for p in sleepers:
                p.kill()
            for p in sleepers:
                p.wait()
    wall, baseline, listing, n = cgroups_cost(args.rounds)
    only = f" --only {args.only}" if args.only else ""
    print(f"<!-- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}, `python benchmarks/bench_workload.py --rounds {args.rounds}{only}` -->")
    print("| measurement | figure | target |")
    print("|---|---|---|")
    if agent is not None:
        print(f"| agent: process groups collection, {GROUPS} groups over {GROUPS * PER_GROUP} processes (CPU) "
              f"| {agent * 1000:.1f} ms | |")
    if agent is not None and exporter is not None:
        print(f"| process-exporter v0.8.7, same groups, per scrape (CPU) | {exporter * 1000:.1f} ms | |")
        print(f"| ratio agent / process-exporter | {agent / exporter:.2f}x | <= 2x |")
    print(f"| cgroups domain: {n} cgroups read (CPU, median of {args.rounds}) | {wall * 1000:.1f} ms | < 10 ms |")
    print(f"| the same, every file opened and closed each time (`open_files: 0`) | {baseline * 1000:.1f} ms | |")
    print(f"| ratio kept files / opened each time | {wall / baseline:.2f}x | |")
    print(f"| cgroups domain: the first collection, the tree listed (every cgroups.rescan) | {listing * 1000:.1f} ms "
          "| |")


if __name__ == "__main__":
    main()
