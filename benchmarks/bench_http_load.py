"""HTTP under load: 50 concurrent scrapers (Debian ``wrk``) against a real agent, with and without keep-alive.

Run by hand (``make bench`` or ``python benchmarks/bench_http_load.py``); the table goes to the README. For each
mode: requests/s, latency p50 / p99, errors (non-2xx and socket errors), the agent's RSS before and after,
its CPU, and whether collection kept its cadence while HTTP was saturated (spool lines written during the run
against the lines the interval asks for). Scrapes ask for OpenMetrics with gzip, as Prometheus does.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from readme_tables import markdown_path  # noqa: E402
from servers import free_port  # noqa: E402

from otel_mon import __version__  # noqa: E402
from otel_mon.spool.segment_reader import count_lines  # noqa: E402
from otel_mon.spool.segments import list_segments  # noqa: E402

ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


@dataclass
class Run:
    mode: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    rss_before: float
    rss_after: float
    cpu_s: float
    collections: int
    expected: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out: str) -> tuple[float, float, float, int, int]:
    """(requests/s, p50 ms, p99 ms, requests, errors) from ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    return rps, p50, p99, requests, errors


def metric_lines(data: Path) -> int:
    return sum(count_lines(s.path) for s in list_segments(data / "metrics", "metrics"))


def measure(mode: str, keep_alive: bool, args: argparse.Namespace, workdir: Path) -> Run:
    port = free_port()
    data = workdir / f"spool-{mode}"
    agent = subprocess.Popen(
        [sys.executable, "-m", "otel_mon", "run", "--listen", f"127.0.0.1:{port}", "--interval",
         f"{args.interval}s", "--data-dir", str(data)],
        cwd=workdir, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("agent not ready")
            time.sleep(0.1)
        for _ in range(20):  # warm-up: caches, first renders
            urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": ACCEPT}), timeout=5).read()
        proc = psutil.Process(agent.pid)
        rss_before = proc.memory_info().rss / 2**20
        cpu_before = sum(proc.cpu_times()[:2])
        lines_before = metric_lines(data)
        cmd = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s", "--latency",
               "-H", f"Accept: {ACCEPT}", "-H", "Accept-Encoding: gzip"]
        if not keep_alive:
            cmd += ["-H", "Connection: close"]
        out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
        lines_after = metric_lines(data)
        cpu = sum(proc.cpu_times()[:2]) - cpu_before
        rss_after = proc.memory_info().rss / 2**20
    finally:
        agent.terminate()
        agent.wait(15)
    rps, p50, p99, requests, errors = parse_wrk(out)
    return Run(mode, rps, p50, p99, requests, errors, rss_before, rss_after, cpu, lines_after - lines_before,
               int(args.duration / args.interval))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--interval", type=float, default=1.0, help="the agent's collection interval (s)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package wrk; make system-deps)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="otel-mon-bench-http-") as tmp:
        runs = [measure("keep-alive", True, args, Path(tmp)), measure("new connection per request", False, args,
                                                                       Path(tmp))]
    header = ("| mode | requests/s | p50 ms | p99 ms | requests | errors | agent CPU s (cores) | RSS MiB before -> "
              "after | collections held |")
    rows = [header, "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        rows.append(f"| {r.mode} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.requests:,} | "
                    f"{r.errors} | {r.cpu_s:.1f} ({r.cpu_s / args.duration:.2f}) | {r.rss_before:.1f} -> "
                    f"{r.rss_after:.1f} | {r.collections} of {r.expected} |")
    stamp = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} CPUs, "
             f"Linux {platform.release()}; Python {platform.python_version()}, otel-mon {__version__}; the "
             f"load generator shares the machine.\n`python benchmarks/bench_http_load.py --duration {args.duration} "
             f"--connections {args.connections} --threads {args.threads} --interval {args.interval:g}`: "
             f"`wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency` on /metrics (OpenMetrics, "
             f"gzip), the agent collecting every {args.interval:g} s.\n")
    table = stamp + "\n" + "\n".join(rows) + "\n"
    print(table)
    target = markdown_path("http_load")
    if target is not None:
        target.write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
