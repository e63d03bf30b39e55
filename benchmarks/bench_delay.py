"""Collection-to-queryable delay into Prometheus 3 on each metric path: p50 / p99 / max in milliseconds.

Run by hand (it needs ``make stack-bin``): ``python benchmarks/bench_delay.py [--seconds S] [--poll-ms P]``.
Each path runs the real pipeline of tests/e2e (tests/e2e/e2ekit.py) one after the other, the agent collecting
every second:

- remote write: agent -> Collector (collector-config/otelcol.yaml as shipped) -> prometheus_remote_write (WAL)
- Collector OTLP: the same Collector with the metrics pipelines on otlp_http/prometheus (persistent queue)
- agent direct: the agent on examples/prometheus-otlp.yaml straight into Prometheus 3's OTLP receiver

The delay of one collection is the first poll of Prometheus (a range query every ``--poll-ms``) that returns its
sample, minus the sample's own timestamp (when the agent read the host): collecting, the spool write, the
forwarder, the Collector and Prometheus' ingestion all count. The poll period bounds the error (the figure is
late by at most one period plus one query). Collections still missing ``--grace`` seconds after the window are
counted as lost.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from readme_tables import markdown_path  # noqa: E402
from stamp import header  # noqa: E402

from tests.e2e.e2ekit import Pipeline  # noqa: E402
from tests.fleet.fleetkit import PROBE_PROMQL  # noqa: E402

PATHS = (("remote write (Collector, WAL)", "remote_write"), ("OTLP (Collector, persistent queue)", "otlp"),
         ("agent direct OTLP", "direct"))


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def measure(path: str, seconds: float, poll: float, grace: float, workdir: Path) -> dict[str, float]:
    p = Pipeline(workdir, path)  # type: ignore[arg-type]
    try:
        p.start()
        p.wait_collections(3)
        begin = time.time()
        seen: dict[int, float] = {}
        end = begin + seconds
        while time.time() < end + grace:
            for series in p.prometheus.query_at(f"{PROBE_PROMQL}[60s]", time.time()):
                for t, _ in series["values"]:
                    ms = round(float(t) * 1000)
                    if ms not in seen and ms / 1000 >= begin:
                        seen[ms] = time.time()
            taken = {ms for ms in p.agent.collections() if begin <= ms / 1000 <= end}
            if time.time() >= end and taken <= set(seen):
                break
            time.sleep(poll)
        taken = {ms for ms in p.agent.collections() if begin <= ms / 1000 <= end}
        delays = [(seen[ms] - ms / 1000) * 1000 for ms in taken if ms in seen]
        return {"collections": len(taken), "lost": len(taken - set(seen)), "p50": percentile(delays, 50),
                "p99": percentile(delays, 99), "max": max(delays), "load": os.getloadavg()[0]}
    finally:
        p.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="measured window per path")
    parser.add_argument("--poll-ms", type=float, default=100.0, help="how often Prometheus is asked")
    parser.add_argument("--grace", type=float, default=30.0, help="wait after the window for late samples")
    args = parser.parse_args()
    rows = []
    print(f"{'path':<36} {'collections':>11} {'lost':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'load':>5}")
    with tempfile.TemporaryDirectory(prefix="bench-delay-") as tmp:
        for label, path in PATHS:
            r = measure(path, args.seconds, args.poll_ms / 1000, args.grace, Path(tmp) / path)
            print(f"{label:<36} {r['collections']:>11.0f} {r['lost']:>4.0f} {r['p50']:>8.0f} {r['p99']:>8.0f} "
                  f"{r['max']:>8.0f} {r['load']:>5.1f}")
            rows.append(f"| {label} | {r['collections']:.0f} | {r['lost']:.0f} | {r['p50']:.0f} | {r['p99']:.0f} | "
                        f"{r['max']:.0f} | {r['load']:.1f} |")
    table = [f"{header(node_exporter=False)}: each path {args.seconds:.0f} s, one collection per second, "
             f"Prometheus polled every {args.poll_ms:.0f} ms (the figures are late by up to one poll).", "",
             "| path | collections | lost | p50 ms | p99 ms | max ms | load (1 min) |", "|---|---|---|---|---|---|---|",
             *rows]
    out = markdown_path("delay")
    if out:
        out.write_text("\n".join(table) + "\n")
    else:
        print("\n".join(table))


if __name__ == "__main__":
    main()
