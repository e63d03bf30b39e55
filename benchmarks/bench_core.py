"""Per-operation costs, as ratios against baselines measured in the same run on the same machine (not the
headline: that is bench_steady.py, the cost per hour at default cadences).

Run by ``make bench`` or ``python benchmarks/bench_core.py``; writes ``$BENCH_MARKDOWN_DIR/core.md``. Measures:
1. the sampler's read vs the bare psutil/proc reads of the same data            (target <= 1.3x)
2. a full collection (read + the agent's SDK aggregation) vs opentelemetry-instrumentation-system-metrics'
   default collection, with and without its connection count                      (target <= 0.5x)
3. CPU per **uncached** scrape: every server scraped once per ``--pace`` s side by side, the agent collecting
   at the same pace, so each scrape renders a fresh collection (what a scrape costs when nothing is reused)
4. CPU per **cached** scrape: the agent collects once an hour and is scraped every 0.1 s, so each scrape is
   the kept /metrics body of one collection (a second scraper, an HA pair); node_exporter has no cache (its
   uncached figure is the comparison)
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
from collections.abc import Callable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import procstat  # noqa: E402
from readme_tables import markdown_path  # noqa: E402
from servers import CONTRIB_SERVER, SCRAPE_HEADERS, free_port, node_exporter_binary, wait_http  # noqa: E402
from stamp import header  # noqa: E402

from otel_mon import config  # noqa: E402
from otel_mon.host import registry  # noqa: E402
from otel_mon.host.paths import HostPaths  # noqa: E402
from otel_mon.host.procfs import parse_mounts  # noqa: E402
from otel_mon.host.sampler import HostSampler  # noqa: E402


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
    """The agent's collection without its exporters: host read, then the SDK as the agent configures it."""
    from otel_mon.config import metric_enabled
    from otel_mon.resource import build_resource
    from otel_mon.telemetry import Telemetry

    settings = config.load(env={})
    paths = HostPaths("/")
    telemetry = Telemetry(build_resource(settings.resource, paths), lambda s: metric_enabled(settings, s))
    sampler = HostSampler(registry.build(settings.host, paths))
    sampler.register_metrics(telemetry.instruments)

    def collect() -> object:
        sampler.refresh()
        telemetry.export()
        return telemetry.batches.latest

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


def agent(port: int, work: Path, interval: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "otel_mon", "run", "--listen", f"127.0.0.1:{port}", "--interval", interval,
         "--data-dir", str(work), "--log-level", "warning", *extra], env=env, cwd=work.parent,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def scrape_servers(servers: list[tuple[str, list[str] | Callable[[int], subprocess.Popen[bytes]]]], n: int,
                   pace: float) -> list[tuple[str, float, int, float]]:
    """Start every server, scrape each once per ``pace`` s side by side (``n`` times), stop them: per server
    (name, CPU s per scrape, samples per scrape, RSS MiB)."""
    procs: list[tuple[str, subprocess.Popen[bytes], http.client.HTTPConnection]] = []
    try:
        for name, how in servers:
            port = free_port()
            proc = how(port) if callable(how) else subprocess.Popen(
                [*how, f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            procs.append((name, proc, http.client.HTTPConnection("127.0.0.1", port, timeout=10)))
        for _, _, conn in procs:
            wait_http(f"http://127.0.0.1:{conn.port}/metrics", timeout=60)
        samples = {name: scrape(conn) for name, _, conn in procs}
        time.sleep(min(pace, 2.0))
        start = {name: procstat.mark(proc.pid) for name, proc, _ in procs}
        next_at = time.monotonic()
        for _ in range(n):
            for name, _, conn in procs:
                samples[name] = scrape(conn)
            next_at += pace
            time.sleep(max(0.0, next_at - time.monotonic()))
        return [(name, procstat.cpu_between(start[name], procstat.mark(proc.pid))[0] / n, samples[name],
                 rss_bytes(proc.pid) / 2**20) for name, proc, _ in procs]
    finally:
        for _, proc, conn in procs:
            conn.close()
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=300, help="calls per in-process measurement")
    ap.add_argument("--scrapes", type=int, default=40, help="uncached scrapes per server (side by side)")
    ap.add_argument("--pace", type=float, default=1.0,
                    help="seconds between uncached scrapes (the agent collects at the same interval)")
    ap.add_argument("--cached-scrapes", type=int, default=200, help="cached scrapes of the agent, 0.1 s apart")
    ap.add_argument("--markdown", type=Path, help="README table (default: $BENCH_MARKDOWN_DIR/core.md)")
    args = ap.parse_args()
    HostPaths("/").activate()
    rows: list[tuple[str, str, str, str, str]] = []  # what, baseline, otel-mon, ratio, target

    settings = config.load(env={})
    sampler = HostSampler(registry.build(settings.host, HostPaths("/")))
    t_sampler, t_bare, ratio = compare(sampler.refresh, bare_reads(), rounds=max(args.n // 10, 10))
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, psutil {psutil.__version__}")
    print("\n1. read: sampler vs bare psutil reads of the same data (interleaved batches, median)")
    print(f"   bare psutil {t_bare * 1e3:.3f} ms   sampler {t_sampler * 1e3:.3f} ms   ratio {ratio:.2f}x"
          "   (target <= 1.3x)")
    rows.append(("host read: sampler vs bare psutil reads of the same data", f"{t_bare * 1e3:.2f} ms",
                 f"{t_sampler * 1e3:.2f} ms", f"{ratio:.2f}x", "<= 1.3x"))

    ours, ours_points = ours_full()
    t_ours = per_call(ours, args.n)
    points = ours_points()
    t_contrib, contrib_points = contrib_full(True, max(args.n // 5, 20))
    t_contrib_nc, contrib_nc_points = contrib_full(False, args.n)
    print("\n2. full collection (read + SDK aggregation)")
    print(f"   otel-mon            {t_ours * 1e3:7.3f} ms  {points:4d} points")
    print(f"   contrib (default)   {t_contrib * 1e3:7.3f} ms  {contrib_points:4d} points   "
          f"ratio {t_ours / t_contrib:.2f}x   (target <= 0.5x)")
    print(f"   contrib (no conns)  {t_contrib_nc * 1e3:7.3f} ms  {contrib_nc_points:4d} points   "
          f"ratio {t_ours / t_contrib_nc:.2f}x")
    rows.append(("collection (read + SDK aggregation) vs contrib system-metrics, default set",
                 f"{t_contrib * 1e3:.2f} ms, {contrib_points} points", f"{t_ours * 1e3:.2f} ms, {points} points",
                 f"{t_ours / t_contrib:.2f}x", "<= 0.5x"))
    rows.append(("... vs contrib without its connection count", f"{t_contrib_nc * 1e3:.2f} ms, "
                 f"{contrib_nc_points} points", "same", f"{t_ours / t_contrib_nc:.2f}x", ""))

    work = Path(tempfile.mkdtemp(prefix="otel-mon-bench-"))
    try:
        every = f"{args.pace:g}s"
        servers: list[tuple[str, list[str] | Callable[[int], subprocess.Popen[bytes]]]] = [
            ("otel-mon, spool on", lambda port: agent(port, work / "on", every)),
            ("otel-mon, spool off", lambda port: agent(port, work / "off", every, "--set", "spool.enabled=false")),
            ("contrib + Prometheus reader", lambda port: subprocess.Popen(
                [sys.executable, "-c", CONTRIB_SERVER, str(port)], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)),
        ]
        ne = node_exporter_binary()
        if ne:
            servers.insert(0, ("node_exporter", [ne]))
        uncached = scrape_servers(servers, args.scrapes, args.pace)
        cached = scrape_servers([("otel-mon, spool on", lambda port: agent(port, work / "cached", "1h"))],
                                args.cached_scrapes, 0.1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = {name: cost for name, cost, _, _ in uncached}.get("node_exporter")
    print(f"\n3. CPU per uncached scrape ({args.scrapes} scrapes every {args.pace:g} s, side by side; the agent "
          f"collects every {args.pace:g} s)")
    for name, cost, samples, rss in uncached:
        ratio_text = f"{cost / base:.2f}x" if base else ""
        print(f"   {name:28s} {cost * 1e3:7.2f} ms CPU  {samples:5d} samples  RSS {rss:6.1f} MiB  {ratio_text}")
        if name != "node_exporter":
            rows.append((f"CPU per uncached scrape (a fresh collection each), {name}",
                         f"{base * 1e3:.2f} ms" if base else "", f"{cost * 1e3:.2f} ms, {samples} samples",
                         ratio_text, ""))
    name, cost, samples, rss = cached[0]
    ratio_text = f"{cost / base:.2f}x" if base else ""
    print(f"\n4. CPU per cached scrape ({args.cached_scrapes} scrapes 0.1 s apart, one collection an hour)")
    print(f"   {name:28s} {cost * 1e3:7.2f} ms CPU  {samples:5d} samples  RSS {rss:6.1f} MiB  {ratio_text}")
    rows.append((f"CPU per cached scrape (the kept body of one collection), {name}",
                 f"{base * 1e3:.2f} ms (uncached)" if base else "", f"{cost * 1e3:.2f} ms", ratio_text, ""))

    table = [f"{header()}. Baselines measured in the same run; node_exporter's scrape is always uncached.", "",
             "| what | baseline | otel-mon | ratio | target |", "|---|---|---|---|---|"]
    table += [f"| {' | '.join(row)} |" for row in rows]
    text = "\n".join(table) + "\n"
    print("\n" + text)
    out = args.markdown or markdown_path("core")
    if out:
        out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
