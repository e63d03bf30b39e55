"""Spool cost for a host-sized collection: bytes per data point on disk (raw, gzipped) and write time per batch.

Run by hand: ``python benchmarks/bench_spool.py [--dir DIR] [--lines N]``. The batch is built from the real
metric table (``host.table.METRICS``, default-on metrics) with the attribute sets of a mid-size server (8 CPUs,
6 disks, 6 filesystems, 5 interfaces, 12 health rules, 5 probes, 12 sensors), about 380 points, and goes through
the real MeterProvider -> SpoolMetricExporter -> SpoolWriter path. Use ``--dir`` on the disk the agent will use:
on tmpfs fsync costs nothing.
"""

from __future__ import annotations

import argparse
import gzip
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterable
from itertools import product
from pathlib import Path
from typing import Literal

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from readme_tables import markdown_path
from stamp import header

from otel_mon.host.table import HOST_DOMAINS, METRICS
from otel_mon.metric_spec import MetricSpec
from otel_mon.schema import ByteSize, Duration
from otel_mon.spool.config import SpoolConfig
from otel_mon.spool.exporters import SpoolMetricExporter
from otel_mon.spool.writer import SpoolWriter

MOUNTS = [("/", "nvme0n1p2", "ext4"), ("/boot", "nvme0n1p1", "ext4"), ("/boot/efi", "nvme0n1p0", "vfat"),
          ("/home", "nvme1n1p1", "xfs"), ("/var", "sda1", "ext4"), ("/srv/backup", "sdb1", "xfs")]
VALUES: dict[str, list[str | int]] = {
    "cpu.mode": ["user", "nice", "system", "idle", "iowait", "interrupt", "steal"],
    "cpu.logical_number": list(range(8)),
    "system.memory.state": ["used", "free", "buffers", "cached"],
    "system.paging.state": ["used", "free"],
    "system.paging.direction": ["in", "out"],
    "system.paging.fault.type": ["major", "minor"],
    "system.device": ["nvme0n1", "nvme1n1", "sda", "sdb", "sdc", "sdd"],
    "disk.io.direction": ["read", "write"],
    "system.filesystem.state": ["used", "free", "reserved"],
    "network.interface.name": ["lo", "eth0", "eth1", "wlan0", "docker0"],
    "network.io.direction": ["receive", "transmit"],
    "process.state": ["running", "sleeping", "stopped", "defunct"],
    "process.context_switch.type": ["voluntary", "involuntary"],
    "otel_mon.collector": list(HOST_DOMAINS),
    "error.type": ["timeout"],
    "otel_mon.signal": ["metrics", "logs"],
    "otel_mon.reason": ["write_error", "retention"],
    "otel_mon.notifier": ["discord", "webhook"],
    "otel_mon.outcome": ["ok"],
    "otel_mon.rule": ["disk_full"],
}
RULES = [("cpu_busy", ""), ("memory_used", ""), ("load_high", ""), ("swap_used", ""), ("probe_down", "api"),
         ("probe_down", "db")] + [("disk_full", m[0]) for m in MOUNTS]
PROBES = [("api", "http", "api.example.com", 443), ("db", "tcp", "10.0.0.5", 5432), ("dns", "dns", "1.1.1.1", 53),
          ("cache", "tcp", "10.0.0.6", 6379), ("gateway", "icmp", "10.0.0.1", 0)]
SENSORS = [("coretemp_0", "coretemp", "Package id 0")] + [
    (f"coretemp_{i}", "coretemp", f"Core {i}") for i in range(1, 9)] + [
    ("nvme_0", "nvme", "Composite"), ("nvme_1", "nvme", "Composite"), ("acpitz_0", "acpitz", "acpitz")]


def attribute_sets(spec: MetricSpec) -> list[dict[str, str | int]]:
    keys = set(spec.attributes)
    if keys & {"system.filesystem.mountpoint"}:
        states = VALUES["system.filesystem.state"] if "system.filesystem.state" in keys else [None]
        return [{k: v for k, v in {"system.device": dev, "system.filesystem.mountpoint": mount,
                                   "system.filesystem.type": fstype, "system.filesystem.mode": "rw",
                                   "system.filesystem.state": state}.items() if v is not None}
                for (mount, dev, fstype), state in product(MOUNTS, states)]
    if "otel_mon.rule" in keys and "otel_mon.instance" in keys:
        return [{"otel_mon.rule": r, "otel_mon.instance": i} for r, i in RULES]
    if "otel_mon.probe.name" in keys:
        return [{"otel_mon.probe.name": n, "otel_mon.probe.kind": k, "server.address": a, "server.port": p}
                for n, k, a, p in PROBES]
    if "hw.id" in keys:
        return [{"hw.id": i, "hw.parent": p, "hw.name": n} for i, p, n in SENSORS]
    if spec.name == "otel_mon.collector.errors":
        return [{"otel_mon.collector": "filesystem", "error.type": "timeout"}]
    names = list(spec.attributes)
    return [dict(zip(names, combo, strict=True)) for combo in product(*(values_of(spec, n) for n in names))]


def values_of(spec: MetricSpec, key: str) -> list[str | int]:
    """A mid-size server's values of ``key``; for a key not listed above, the row's allowed values."""
    if key in VALUES:
        return VALUES[key]
    allowed = dict(spec.values).get(key)
    return list(allowed) if allowed else [f"{key}-0"]


class HostLike:
    """Observable instruments for every default metric, values drifting like a live host's."""

    def __init__(self, provider: MeterProvider, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.tick = 0
        meter = provider.get_meter("otel_mon", "0.1.0")
        self.points = 0
        for spec in METRICS:
            if not spec.default:
                continue
            sets = attribute_sets(spec)
            self.points += len(sets)
            if spec.instrument == "histogram":
                self.histogram = meter.create_histogram(spec.name, unit=spec.unit, description=spec.description)
                self.probe_sets = sets
                continue
            cb = self._callback(spec, sets)
            create = {"counter": meter.create_observable_counter, "updowncounter":
                      meter.create_observable_up_down_counter, "gauge": meter.create_observable_gauge}
            create[spec.instrument](spec.name, callbacks=[cb], unit=spec.unit, description=spec.description)

    def _callback(self, spec: MetricSpec, sets: list[dict[str, str | int]]):  # type: ignore[no-untyped-def]
        monotonic = spec.instrument == "counter"

        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            out = []
            for i, attrs in enumerate(sets):
                if monotonic:
                    value: float = (i + 1) * 1000.0 * self.tick + self.rng.random() * 100
                elif spec.unit == "1":
                    value = self.rng.random()
                else:
                    value = float(self.rng.randrange(0, 1 << 34))
                out.append(Observation(value, attrs))
            return out

        return observe

    def step(self) -> None:
        self.tick += 1
        for attrs in self.probe_sets:
            self.histogram.record(self.rng.uniform(0.001, 0.2), attrs)


def fs_type(path: Path) -> str:
    result = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, check=False)
    return result.stdout.strip() or "?"


def unlimited(spool_dir: Path, fsync: Literal["batch", "never"]) -> SpoolConfig:
    return SpoolConfig(dir=str(spool_dir), fsync=fsync, compress=False, max_bytes=ByteSize(0), max_files=0,
                       max_age=Duration(0))


def produce(spool_dir: Path, lines: int) -> tuple[list[bytes], int, float]:
    """Collections through MeterProvider -> SpoolMetricExporter -> SpoolWriter; (lines, points, s per export)."""
    writer = SpoolWriter(unlimited(spool_dir, "batch"))
    reader = PeriodicExportingMetricReader(SpoolMetricExporter(writer), export_interval_millis=float("inf"))
    resource = Resource.create({"service.name": "otel-mon", "host.name": "web-01.example.com", "os.type": "linux",
                                "host.arch": "amd64", "service.version": "0.1.0"})
    provider = MeterProvider(metric_readers=[reader], resource=resource)
    host = HostLike(provider)
    t0 = time.perf_counter()
    for _ in range(lines):
        host.step()
        reader.force_flush()
    export_s = (time.perf_counter() - t0) / lines
    provider.shutdown()
    writer.close()
    segment = next((spool_dir / "metrics").glob("*.jsonl"))
    return segment.read_bytes().splitlines(keepends=True), host.points, export_s


def append_cost(spool_dir: Path, lines: list[bytes], fsync: Literal["batch", "never"]) -> float:
    """Median seconds to append one collection's line."""
    writer = SpoolWriter(unlimited(spool_dir, fsync))
    times = []
    try:
        for line in lines:
            t0 = time.perf_counter()
            writer.append("metrics", [line])
            times.append(time.perf_counter() - t0)
    finally:
        writer.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dir", help="where to write (default: a temp dir under the current directory)")
    parser.add_argument("--lines", type=int, default=240, help="collections to write (default 240 = 1 h at 15 s)")
    parser.add_argument("--interval", type=float, default=15.0, help="collection interval for the per-day figures")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-spool-", dir=args.dir or "."))
    try:
        lines, points, export_s = produce(base / "produce", args.lines)
        t_batch = append_cost(base / "batch", lines, "batch")
        t_never = append_cost(base / "never", lines, "never")
        raw = sum(len(line) for line in lines)
        gz_bytes = len(gzip.compress(b"".join(lines), compresslevel=6))
        per_line, gz_line = raw / len(lines), gz_bytes / len(lines)
        per_day = 86400 / args.interval
        rows = [
            ("raw bytes per line", f"{per_line:,.0f}"),
            ("raw bytes per point", f"{per_line / points:.1f}"),
            ("gzip bytes per line (in segment)", f"{gz_line:,.0f}"),
            ("gzip bytes per point", f"{gz_line / points:.1f}"),
            ("gzip ratio", f"{raw / gz_bytes:.1f}"),
            (f"gzip MB per day at {args.interval:g} s", f"{per_day * gz_line / 1e6:.1f}"),
            (f"gzip MB per 7 days at {args.interval:g} s", f"{7 * per_day * gz_line / 1e6:.0f}"),
            ("raw MB per hour (active segment)", f"{per_day / 24 * per_line / 1e6:.1f}"),
            ("export ms/batch (encode+append)", f"{export_s * 1e3:.2f}"),
            ("append ms/batch, fsync=batch", f"{t_batch * 1e3:.3f}"),
            ("append ms/batch, fsync=never", f"{t_never * 1e3:.3f}"),
            ("ratio batch/never", f"{t_batch / t_never:.1f}x"),
        ]
        where = f"{len(lines)} lines of {points} points on {fs_type(base)}"
        print(f"spool benchmark in {base}: {where}")
        for name, value in rows:
            print(f"  {name:<36}{value:>12}")
        out = markdown_path("spool")
        if out:
            table = [f"{header(node_exporter=False)}: {where}.", "", "| what | value |", "|---|---|"]
            out.write_text("\n".join(table + [f"| {name} | {value} |" for name, value in rows]) + "\n")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
