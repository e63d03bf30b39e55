"""Core agent cost, as ratios against baselines measured in the same run on the same machine.

Run by hand (``make bench`` or ``python benchmarks/bench_core.py``); results go to the README. Measures:
1. the sampler's read vs the bare psutil/proc reads of the same data            (target <= 1.3x)
2. a full collection (read + SDK aggregation) vs opentelemetry-instrumentation-system-metrics'
   default collection, with and without its connection count                      (target <= 0.5x)
3. agent CPU per /metrics scrape vs node_exporter (Debian package), and vs the contrib
   instrumentation behind the Prometheus reader; samples per scrape               (target <= 1.0x)
4. the agent's steady-state RSS                                                    (target <= 60 MiB)
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import CONTRIB_SERVER, SCRAPE_HEADERS, free_port, node_exporter_binary, wait_http  # noqa: E402

from otel_mon import config  # noqa: E402
from otel_mon.host import registry  # noqa: E402
from otel_mon.host.paths import HostPaths  # noqa: E402
from otel_mon.host.procfs import parse_mounts  # noqa: E402
from otel_mon.host.sampler import HostSampler  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def per_call(fn: Callable[[], object], n: int) -> float:
    """Median seconds per call over ``n`` calls (after a warm-up)."""
    for _ in range(5):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def compare(subject: Callable[[], object], baseline: Callable[[], object], rounds: int = 40,
            batch: int = 20) -> tuple[float, float, float]:
    """Interleaved batches of both, so drift and noise hit them alike: (subject s, baseline s, median ratio)."""
    for _ in range(5):
        subject()
        baseline()
    ratios, subj, base = [], [], []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(batch):
            baseline()
        b = (time.perf_counter() - t) / batch
        t = time.perf_counter()
        for _ in range(batch):
            subject()
        s = (time.perf_counter() - t) / batch
        ratios.append(s / b)
        subj.append(s)
        base.append(b)
    return statistics.median(subj), statistics.median(base), statistics.median(ratios)


def bare_reads() -> Callable[[], object]:
    """The same sources the sampler reads, called directly with nothing derived."""
    settings = config.load(env={})
    from otel_mon.host.filesystem import select_mounts

    with open("/proc/self/mounts") as f:  # the mounts the sampler reports, chosen once (selection is not a read)
        mountpoints = [m.mountpoint for m in select_mounts(parse_mounts(f.read()), settings.host.filesystem)]

    def read() -> object:
        psutil.cpu_times(percpu=True)
        try:
            psutil.cpu_freq(percpu=True)
        except (OSError, NotImplementedError):
            pass
        psutil.virtual_memory()
        psutil.swap_memory()
        for path in ("/proc/vmstat", "/proc/loadavg", "/proc/uptime", "/proc/stat", "/proc/self/statm",
                     "/proc/self/status"):
            with open(path) as f:
                f.read()
        psutil.disk_io_counters(perdisk=True, nowrap=False)
        psutil.net_io_counters(pernic=True, nowrap=False)
        psutil.disk_partitions(all=True)  # the mount table, parsed by psutil's C code
        for mountpoint in mountpoints:
            os.statvfs(mountpoint)
        psutil.sensors_temperatures()
        resource.getrusage(resource.RUSAGE_SELF)
        os.listdir("/proc/self/fd")
        return None

    return read


def count_points(data: object) -> int:
    n = 0
    for rm in data.resource_metrics:  # type: ignore[attr-defined]
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                n += len(m.data.data_points)
    return n


def ours_full() -> tuple[Callable[[], object], Callable[[], int]]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from otel_mon.config import metric_enabled
    from otel_mon.host.table import METRICS
    from otel_mon.instruments import Instruments

    settings = config.load(env={})
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instruments = Instruments(provider.get_meter("bench"), lambda s: metric_enabled(settings, s), table=METRICS)
    sampler = HostSampler(registry.build(settings.host, HostPaths("/")))
    sampler.register_metrics(instruments)

    def collect() -> object:
        sampler.refresh()
        return reader.get_metrics_data()

    return collect, lambda: count_points(collect())


def contrib_full(with_connections: bool, n: int) -> tuple[float, int]:
    """Median seconds per collection and data points of the contrib instrumentation's default set."""
    from opentelemetry.instrumentation.system_metrics import _DEFAULT_CONFIG, SystemMetricsInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    cfg = dict(_DEFAULT_CONFIG)
    if not with_connections:
        cfg.pop("system.network.connections", None)
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    inst = SystemMetricsInstrumentor(config=cfg)  # a singleton: uninstrumented again below
    inst.instrument(meter_provider=provider)
    try:
        reader.get_metrics_data()
        points = count_points(reader.get_metrics_data())
        return per_call(reader.get_metrics_data, n), points
    finally:
        inst.uninstrument()
        provider.shutdown()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def scrape(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/metrics", headers=SCRAPE_HEADERS)
    resp = conn.getresponse()
    raw = resp.read()
    body = (gzip.decompress(raw) if resp.getheader("Content-Encoding") == "gzip" else raw).decode()
    return sum(1 for line in body.splitlines() if line and not line.startswith("#"))


def scrape_cost(pid: int, url: str, n: int, pace: float) -> tuple[float, int]:
    """CPU seconds the server process spent per scrape, and samples per scrape."""
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=10)
    samples = scrape(conn)
    start = cpu_seconds(pid)
    next_at = time.monotonic()
    for _ in range(n):
        samples = scrape(conn)
        next_at += pace
        time.sleep(max(0.0, next_at - time.monotonic()))
    return (cpu_seconds(pid) - start) / n, samples


def servers_bench(
    n: int, pace: float, interval: float, extra: tuple[str, ...] = ()
) -> list[tuple[str, float, int, int]]:
    """CPU per scrape of each server, scraped every ``pace`` s; the agent collects every ``interval`` s."""
    rows = []
    work = Path(tempfile.mkdtemp(prefix="otel-mon-bench-"))
    procs: list[tuple[str, subprocess.Popen[bytes], str]] = []
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(ROOT)
    procs.append(("otel-mon", subprocess.Popen(
        [sys.executable, "-m", "otel_mon", "run", "--listen", f"127.0.0.1:{port}", "--interval", f"{interval}s",
         "--data-dir", str(work / "data"), "--log-level", "warning", *extra], env=env, cwd=work,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), f"http://127.0.0.1:{port}/metrics"))
    ne = node_exporter_binary()
    if ne:
        port = free_port()
        procs.append(("node_exporter", subprocess.Popen(
            [ne, f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL), f"http://127.0.0.1:{port}/metrics"))
    port = free_port()
    procs.append(("contrib+prometheus reader", subprocess.Popen(
        [sys.executable, "-c", CONTRIB_SERVER, str(port)], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL), f"http://127.0.0.1:{port}/metrics"))
    try:
        for name, proc, url in procs:
            wait_http(url, timeout=30)
            cost, samples = scrape_cost(proc.pid, url, n, pace)
            rows.append((name, cost, samples, rss_bytes(proc.pid)))
    finally:
        for _, proc, _ in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=300, help="calls per in-process measurement")
    ap.add_argument("--scrapes", type=int, default=60, help="scrapes per server")
    ap.add_argument("--pace", type=float, default=1.0,
                    help="seconds between scrapes (the agent collects at the same interval)")
    args = ap.parse_args()
    HostPaths("/").activate()

    settings = config.load(env={})
    sampler = HostSampler(registry.build(settings.host, HostPaths("/")))
    t_sampler, t_bare, ratio = compare(sampler.refresh, bare_reads(), rounds=max(args.n // 10, 10))
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, psutil {psutil.__version__}")
    print("\n1. read: sampler vs bare psutil reads of the same data (interleaved batches, median)")
    print(f"   bare psutil {t_bare * 1e3:.3f} ms   sampler {t_sampler * 1e3:.3f} ms   ratio {ratio:.2f}x"
          "   (target <= 1.3x)")

    ours, ours_points = ours_full()
    t_ours = per_call(ours, args.n)
    t_contrib, contrib_points = contrib_full(True, max(args.n // 5, 20))
    t_contrib_nc, contrib_nc_points = contrib_full(False, args.n)
    print("\n2. full collection (read + SDK aggregation)")
    print(f"   otel-mon            {t_ours * 1e3:7.3f} ms  {ours_points():4d} points")
    print(f"   contrib (default)   {t_contrib * 1e3:7.3f} ms  {contrib_points:4d} points   "
          f"ratio {t_ours / t_contrib:.2f}x   (target <= 0.5x)")
    print(f"   contrib (no conns)  {t_contrib_nc * 1e3:7.3f} ms  {contrib_nc_points:4d} points   "
          f"ratio {t_ours / t_contrib_nc:.2f}x")

    scenarios: tuple[tuple[str, float, float, tuple[str, ...]], ...] = (
        ("equal cadence: the agent collects (and spools) once per scrape", args.pace, args.pace, ()),
        ("equal cadence, Prometheus role only (spool off)", args.pace, args.pace, ("--set", "spool.enabled=false")),
        ("default cadence, time-scaled: collection every 10 units, scrape every 15", args.pace * 1.5, args.pace, ()),
    )
    for title, pace, interval, extra in scenarios:
        rows = servers_bench(args.scrapes, pace, interval, extra)
        base = {name: cost for name, cost, _, _ in rows}
        print(f"\n3./4. CPU per scrape, {title} ({args.scrapes} scrapes every {pace:g}s, agent interval {interval:g}s)")
        for name, cost, samples, rss in rows:
            ratio = f"{cost / base['node_exporter']:.2f}x node_exporter" if base.get("node_exporter") else ""
            print(f"   {name:28s} {cost * 1e3:7.2f} ms CPU  {samples:5d} samples  RSS {rss / 2**20:6.1f} MiB  {ratio}")
    print("   targets: otel-mon <= 1.0x node_exporter CPU per scrape; RSS <= 60 MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
