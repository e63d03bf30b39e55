"""The fleet at the README's default interval: what each tier costs per point, and how long a point takes.

One fleet (tests/fleet/fleetkit.py) of N agents at 15 s (default 100), 2 load balancers, 2 backends, Thanos
Receive (router + 3 ingestors, replication factor 3) and Thanos Query; after a warm-up, a steady window in
which the harness reads, per tier, CPU seconds and RSS from /proc and the points the tier took (the
Collectors' own ``otelcol_receiver_accepted_metric_points``; for the store, the points the router was given
times the replication factor it writes). It also polls the store for each host's newest sample
(``timestamp()`` of the probe series) twice a second: the delay from a collection's timestamp to its first
answer is the collection-to-queryable delay. At the end every collection must be in the store exactly once
(the same count as ``make fleet``) and the store's ingestion errors must be 0.

    python benchmarks/bench_fleet.py [--agents 100] [--interval 15s] [--window 300] [--markdown FILE]

Figures are ratios within the run (points per CPU second of the same tier in the same window); the machine
is shared by every process of the fleet, so per-core figures are lower bounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from procstat import cpu_seconds, rss_mib  # noqa: E402

from tests.fleet.fleetkit import PROBE_PROMQL, Fleet, Proc, wait_until  # noqa: E402


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def tier_cpu(procs: list[Proc]) -> float:
    return sum(cpu_seconds(p.pid) for p in procs if p.pid)


def tier_rss(procs: list[Proc]) -> list[float]:
    return [rss_mib(p.pid) for p in procs if p.pid]


def accepted(fleet: Fleet, tier: str) -> float:
    procs = fleet.load_balancers if tier == "lb" else fleet.backends
    return sum(c.counter("otelcol_receiver_accepted_metric_points") for c in procs)


def parse_interval(text: str) -> float:
    return float(text[:-2]) / 1000 if text.endswith("ms") else float(text.rstrip("s"))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=100)
    ap.add_argument("--interval", default="15s")
    ap.add_argument("--warmup", type=float, default=60.0)
    ap.add_argument("--window", type=float, default=300.0)
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args(argv)
    interval = parse_interval(args.interval)
    with tempfile.TemporaryDirectory(prefix="otel-mon-bench-fleet-") as tmp:
        work = args.keep or Path(tmp)
        fleet = Fleet(work, agents=args.agents, interval=args.interval)
        try:
            t0 = time.monotonic()
            say(f"starting a fleet of {args.agents} agents at {args.interval} in {work}")
            fleet.start()
            say(f"started in {time.monotonic() - t0:.0f} s; warm-up {args.warmup:.0f} s")
            end = time.monotonic() + args.warmup
            wait_until(lambda: time.monotonic() >= end, args.warmup + 30, "warm-up", interval=1.0)
            result = measure(fleet, args.window, interval)
            say("waiting for every collection to reach the store")
            count = fleet.settle(timeout=300)
            result["count"] = count.line()
            result["count_ok"] = count.ok
            result["rejections"] = count.rejections
        finally:
            fleet.stop()
    text = render(result, args)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["count_ok"] else 1


def measure(fleet: Fleet, window: float, interval: float) -> dict[str, object]:
    tiers: dict[str, list[Proc]] = {
        "agents": [a.proc for a in fleet.agents],
        "load balancers": list(fleet.load_balancers),
        "backends": list(fleet.backends),
        "store (Thanos Receive router + 3 ingestors)": [fleet.store.router, *fleet.store.ingestors],
        "store query (Thanos Query)": [fleet.store.query],
        "log store (VictoriaLogs)": [fleet.logs],
    }
    by_instance = {fleet.instance_of(a): a.host for a in fleet.agents}
    cpu0 = {k: tier_cpu(v) for k, v in tiers.items()}
    pts0 = {"lb": accepted(fleet, "lb"), "backend": accepted(fleet, "backend")}
    forwarded0 = router_samples(fleet)
    started = time.monotonic()
    wall0 = time.time()
    newest: dict[str, float] = {}
    delays: list[float] = []
    rss_peak: dict[str, list[float]] = {k: [] for k in tiers}
    while time.monotonic() - started < window:
        now = time.time()
        for s in fleet.store.query_at(f"timestamp({PROBE_PROMQL})", now):
            host = by_instance.get(s["metric"].get("instance", ""))
            ts = float(s["value"][1])
            if host is None:
                continue
            if host in newest and ts > newest[host]:
                delays.append(now - ts)
            newest[host] = max(ts, newest.get(host, 0.0))
        for k, v in tiers.items():
            rss = tier_rss(v)
            if rss:
                rss_peak[k] = [max(a, b) for a, b in zip(rss_peak[k] or [0.0] * len(rss), rss, strict=False)]
        time.sleep(0.5)  # the sampling period of the delay probe, not a synchronisation
    elapsed = time.monotonic() - started
    cpu = {k: tier_cpu(v) - cpu0[k] for k, v in tiers.items()}
    points = {"lb": accepted(fleet, "lb") - pts0["lb"], "backend": accepted(fleet, "backend") - pts0["backend"]}
    stored = router_samples(fleet) - forwarded0
    per_collection = points["backend"] / max(1, len(fleet.agents) * elapsed / interval)
    delays.sort()
    return {
        "agents": len(fleet.agents), "interval_s": interval, "window_s": round(elapsed, 1), "start": wall0,
        "points_per_s": {"load balancers": points["lb"] / elapsed, "backends": points["backend"] / elapsed,
                         "store (Thanos Receive router + 3 ingestors)": stored / elapsed},
        "points_per_collection": round(per_collection, 1),
        "cpu_cores": {k: v / elapsed for k, v in cpu.items()},
        "rss_mib": {k: v for k, v in rss_peak.items()},
        "delay_s": {"n": len(delays), "p50": quantile(delays, 0.5), "p99": quantile(delays, 0.99),
                    "max": delays[-1] if delays else None},
        "backend_send_failed": sum(b.counter("otelcol_exporter_send_failed_metric_points")
                                   for b in fleet.backends),
    }


def router_samples(fleet: Fleet) -> float:
    """Samples the router took in (its remote-write requests' samples), from its own counters."""
    from tests.fleet.fleetkit import http_get, prom_samples

    _, body = http_get(f"http://127.0.0.1:{fleet.store.router_http}/metrics", 10)
    return sum(v for labels, v in prom_samples(body.decode(), "thanos_receive_write_samples_sum")
               if labels.get("code", "200") == "200")


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(q * 100) - 1))]


def render(r: dict[str, object], args: argparse.Namespace) -> str:
    from stamp import machine

    pps: dict[str, float] = r["points_per_s"]  # type: ignore[assignment]
    cores: dict[str, float] = r["cpu_cores"]  # type: ignore[assignment]
    rss: dict[str, list[float]] = r["rss_mib"]  # type: ignore[assignment]
    delay: dict[str, float | None] = r["delay_s"]  # type: ignore[assignment]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(float(r['start'])))} on {machine()}; "  # type: ignore[arg-type]
        f"`python benchmarks/bench_fleet.py --agents {args.agents} --interval {args.interval} "
        f"--window {args.window:.0f}`; {r['agents']} agents, {r['points_per_collection']} points a collection, "
        f"{r['window_s']} s window.",
        "",
        "| tier | processes | points/s in | CPU (cores) | points/s per core | RSS MiB each (max) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    rate_of = {"agents": pps["backends"], "load balancers": pps["load balancers"], "backends": pps["backends"],
               "store (Thanos Receive router + 3 ingestors)": pps["store (Thanos Receive router + 3 ingestors)"]}
    for tier, c in cores.items():
        rate = rate_of.get(tier)
        per_core = f"{rate / c:,.0f}" if rate and c > 0 else "-"
        sizes = rss.get(tier) or []
        rss_text = f"{max(sizes):.0f}" if sizes else "-"
        lines.append(f"| {tier} | {len(sizes)} | {f'{rate:,.0f}' if rate else '-'} | {c:.3f} | {per_core} | "
                     f"{rss_text} |")
    p50, p99 = delay["p50"], delay["p99"]
    lines += [
        "",
        f"Collection-to-queryable delay over {delay['n']} collections: p50 {p50:.2f} s, p99 {p99:.2f} s "
        f"(max {delay['max']:.2f} s)." if p50 is not None and p99 is not None and delay["max"] is not None
        else "Collection-to-queryable delay: no samples.",
        f"Store: {r['count']}; ingestion errors {r['rejections']}; backends' failed points "
        f"{r['backend_send_failed']:.0f}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
