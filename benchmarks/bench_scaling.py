"""Scaling curve: time per collection and series count on synthetic hosts, otel-mon beside node_exporter.

For each size of ``synthhost.SIZES`` (2 to 256 CPUs with per-CPU series on, 4 to 128 disks, 4 to 256 NICs,
5 to 200 mounts) a fixture tree is generated and read by both:
- otel-mon, in a child process with ``root_path`` on the tree: one full cycle = host read, SDK collection,
  spool line, /metrics render (OpenMetrics, gzip level 1), as one scrape per collection costs it; CPU time
  (``time.process_time``) per cycle;
- node_exporter (Debian) with ``--path.procfs/--path.sysfs/--path.rootfs`` on the same tree and only the
  collectors reading the same data (cpu, meminfo, diskstats, netdev, filesystem, loadavg, stat, vmstat), its
  own metrics off; CPU per scrape from /proc/PID/stat over many kept-alive gzip scrapes.
Series = samples in one /metrics body. Growth must be linear in series: a least-squares line through the
points, its R², and the per-series cost at each size. ``--plot`` (default benchmarks/results/scaling.png)
draws both curves (matplotlib, from the bench-tools extra).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import procstat  # noqa: E402
import synthhost  # noqa: E402
from bench_steady import Server, free_port, node_exporter_binary, wait_http  # noqa: E402
from readme_tables import markdown_path  # noqa: E402
from stamp import header  # noqa: E402

NE_COLLECTORS = ("cpu", "meminfo", "diskstats", "netdev", "filesystem", "loadavg", "stat", "vmstat")
OM = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3"


def child(root: str, seconds: float) -> None:
    """In the child: build the agent on ``root``, run full cycles for ``seconds`` of CPU, print JSON."""
    from otel_mon import config
    from otel_mon.agent import Agent
    from otel_mon.http.render import render_metrics

    work = tempfile.mkdtemp(prefix="otel-mon-scaling-")
    settings = config.load(env={}, flags={"root_path": root, "cpu.per_logical": "true", "http.enabled": "false",
                                          "collectors.sensors": "false", "spool.dir": work})
    agent = Agent(settings)

    def cycle() -> bytes:
        agent.collect_once()
        return render_metrics(agent.telemetry.registry, OM, "gzip").body

    for _ in range(3):
        cycle()
    import gzip

    body = gzip.decompress(cycle()).decode()
    series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    n, start = 0, time.process_time()
    while time.process_time() - start < seconds or n < 5:
        cycle()
        n += 1
    per = (time.process_time() - start) / n
    read_start = time.process_time()
    for _ in range(n):
        agent.sampler.refresh()
    read = (time.process_time() - read_start) / n
    print(json.dumps({"series": series, "cycle_s": per, "read_s": read, "n": n}))
    shutil.rmtree(work, ignore_errors=True)


def ours(root: Path, seconds: float) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, __file__, "--child", str(root), "--seconds", str(seconds)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def node_exporter(root: Path, cpu_budget: float, max_wall: float) -> dict[str, float]:
    ne = node_exporter_binary()
    if ne is None:
        raise SystemExit("prometheus-node-exporter is not installed (make system-deps)")
    port = free_port()
    argv = [ne, f"--web.listen-address=127.0.0.1:{port}", "--web.disable-exporter-metrics",
            "--collector.disable-defaults", *(f"--collector.{c}" for c in NE_COLLECTORS),
            f"--path.procfs={root / 'proc'}", f"--path.sysfs={root / 'sys'}", f"--path.rootfs={root}"]
    server = Server("node_exporter", argv, port)
    server.start()
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics")
        for _ in range(3):
            server.scrape()
        start_cpu, start_wall, n = procstat.cpu_seconds(server.pid), time.monotonic(), 0
        while (procstat.cpu_seconds(server.pid) - start_cpu < cpu_budget and time.monotonic() - start_wall < max_wall) \
                or n < 5:
            server.scrape()
            n += 1
        return {"series": server.samples, "cycle_s": (procstat.cpu_seconds(server.pid) - start_cpu) / n, "n": n}
    finally:
        server.stop()


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b x: (a, b, R²)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return a, b, 1 - ss_res / ss_tot if ss_tot else 1.0


def plot(rows: list[dict[str, object]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (pip install -e '.[bench-tools]'): no plot", file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for who, style in (("otel-mon", "o-"), ("node_exporter", "s--")):
        xs = [float(r[f"{who}_series"]) for r in rows]  # type: ignore[arg-type]
        ys = [float(r[f"{who}_ms"]) for r in rows]  # type: ignore[arg-type]
        ax.plot(xs, ys, style, label=who)
        for x, y, r in zip(xs, ys, rows, strict=True):
            ax.annotate(f"{r['cpus']} CPU", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("series per scrape")
    ax.set_ylabel("CPU ms per collection + render")
    ax.set_title("Scaling on synthetic hosts (same tree for both)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=3.0, help="CPU seconds spent per size and server")
    ap.add_argument("--plot", type=Path, default=HERE / "results" / "scaling.png")
    ap.add_argument("--markdown", type=Path, help="README table (default: $BENCH_MARKDOWN_DIR/scaling.md)")
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.seconds)
        return 0
    rows: list[dict[str, object]] = []
    base = Path(tempfile.mkdtemp(prefix="otel-mon-synth-"))
    try:
        for size in synthhost.SIZES:
            root = synthhost.generate(base / f"{size.cpus}-{size.disks}-{size.nics}-{size.mounts}", size)
            ne = node_exporter(root, args.seconds, max_wall=60)
            us = ours(root, args.seconds)
            row = {"size": size.label, "cpus": size.cpus, "otel-mon_series": us["series"],
                   "otel-mon_ms": us["cycle_s"] * 1e3, "otel-mon_read_ms": us["read_s"] * 1e3,
                   "node_exporter_series": ne["series"], "node_exporter_ms": ne["cycle_s"] * 1e3}
            rows.append(row)
            print(f"{size.label:45s} otel-mon {us['series']:6.0f} series {us['cycle_s'] * 1e3:8.2f} ms "
                  f"(read {us['read_s'] * 1e3:6.2f})   node_exporter {ne['series']:6.0f} series "
                  f"{ne['cycle_s'] * 1e3:8.2f} ms", flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    lines = [f"{header()} (CPU time per size and server; node_exporter's CPU in 1/{procstat.TICK} s ticks "
             f"over >= {args.seconds:g} s, so under 1 % from ticks; the machine's load adds more).", "",
             "| synthetic host | otel-mon series | otel-mon ms/collection (of which host read) | node_exporter "
             "series | node_exporter ms/scrape | otel-mon µs per series | node_exporter µs per series | ratio |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ours_us = float(r["otel-mon_ms"]) * 1e3 / float(r["otel-mon_series"])  # type: ignore[arg-type]
        ne_us = float(r["node_exporter_ms"]) * 1e3 / float(r["node_exporter_series"])  # type: ignore[arg-type]
        lines.append(f"| {r['size']} | {r['otel-mon_series']:.0f} | {r['otel-mon_ms']:.2f} "
                     f"({r['otel-mon_read_ms']:.2f}) | {r['node_exporter_series']:.0f} | "
                     f"{r['node_exporter_ms']:.2f} | {ours_us:.1f} | {ne_us:.1f} | "
                     f"{float(r['otel-mon_ms']) / float(r['node_exporter_ms']):.2f}x |")  # type: ignore[arg-type]
    for who in ("otel-mon", "node_exporter"):
        a, b, r2 = fit([float(r[f"{who}_series"]) for r in rows],  # type: ignore[arg-type]
                       [float(r[f"{who}_ms"]) for r in rows])  # type: ignore[arg-type]
        per_series = [float(r[f"{who}_ms"]) * 1e3 / float(r[f"{who}_series"]) for r in rows]  # type: ignore[arg-type]
        text = f"\n{who}: linear fit {a:.2f} ms + {b * 1e3:.1f} µs x series, R² = {r2:.4f}"
        if who == "otel-mon":  # the target: linear growth in series
            shape = "grows linearly in series" if r2 >= 0.98 else "is NOT a straight line in series (R² < 0.98)"
            text += (f": the time per collection {shape}, {min(per_series):.1f}-{max(per_series):.1f} µs per "
                     "series from the smallest host to the largest")
        lines.append(text + ".")
    if plot(rows, args.plot):
        lines.append(f"\n![scaling](benchmarks/results/{args.plot.name})")
    table = "\n".join(lines) + "\n"
    print(table)
    out = args.markdown or markdown_path("scaling")
    if out:
        out.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
