"""Where one agent cycle's CPU goes: a collection, one /metrics render and one spool write, stage by stage.

Run by hand (not part of ``make bench``): ``python benchmarks/profile_cycle.py [--rounds N] [--cprofile]``.
A real ``Agent`` with the default settings (spool in a temporary directory, no HTTP server) collects the host
once per call; each stage is timed alone, interleaved with the others over ``--rounds`` rounds of 20 calls
(CPU time, median and minimum). The SDK collection is split with cProfile into the agent's own callbacks
(``otel_mon/instruments.py`` and the sampler's point lookups) and the SDK's per-measurement work.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import gzip
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from otel_mon import config  # noqa: E402
from otel_mon.agent import Agent  # noqa: E402
from otel_mon.host.processes import count_states  # noqa: E402
from otel_mon.spool.encoder import LineEncoder  # noqa: E402


def ours_share(collect: Callable[[], object], n: int = 200) -> float:
    """Share of the SDK collection's own time spent in otel-mon's code (callbacks, point lookups)."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(n):
        collect()
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    ours = sum(v[2] for k, v in stats.items() if "/otel_mon/" in k[0])
    return float(ours / total) if total else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--cprofile", action="store_true", help="also print cProfile's top functions of a cycle")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="otel-mon-profile-")
    agent = Agent(config.load(env={}, flags={"http.enabled": "false", "spool.dir": work}))
    try:
        for _ in range(5):
            agent.collect_once()
        gc.collect()
        gc.freeze()  # as the agent does after start-up
        gc.set_threshold(10_000, 20, 20)
        consumer = agent.telemetry.meter_provider._measurement_consumer  # the SDK collection alone
        push = agent.telemetry.reader
        data = consumer.collect(push)
        assert data is not None
        points = sum(len(m.data.data_points) for rm in data.resource_metrics for sm in rm.scope_metrics
                     for m in sm.metrics)
        exposition = agent.telemetry.registry.exposition
        encoder = LineEncoder()
        line = encoder.encode_lines(data, 1 << 20) or []
        body = exposition.render(data, True)
        assert agent.spool is not None and agent.sampler.snapshot is not None
        spool, snapshot = agent.spool, agent.sampler.snapshot

        def render() -> None:
            exposition._rendered = None  # a fresh batch, not the reuse
            exposition.render(data, True)

        stages: dict[str, Callable[[], object]] = {
            "host read (every domain; process states skipped)": agent.sampler.refresh,
            "process-state pass (every processes.interval)": lambda: count_states("/proc"),
            "SDK collection (callbacks + aggregation)": lambda: consumer.collect(push),
            "spool line: encode": lambda: encoder.encode_lines(data, 1 << 20),
            "spool line: append + fdatasync": lambda: spool.append("metrics", line),
            "/metrics render (OpenMetrics)": render,
            "/metrics gzip (level 1)": lambda: gzip.compress(body, compresslevel=1),
            "health rules": lambda: agent.monitor.update(snapshot.readings),
            "whole collection (collect_once)": agent.collect_once,
        }
        times: dict[str, list[float]] = {k: [] for k in stages}
        for _ in range(args.rounds):
            for name, fn in stages.items():
                start = time.process_time()
                for _ in range(20):
                    fn()
                times[name].append((time.process_time() - start) / 20 * 1e3)
        share = ours_share(lambda: consumer.collect(push))
        print(f"{points} data points per collection, /metrics body {len(body):,} bytes before gzip")
        print(f"{'stage':52s} {'median ms':>10s} {'min ms':>8s}")
        for name in stages:
            print(f"{name:52s} {statistics.median(times[name]):10.3f} {min(times[name]):8.3f}")
        sdk = statistics.median(times["SDK collection (callbacks + aggregation)"])
        print(f"SDK collection: {share:.0%} in otel-mon's callbacks, {1 - share:.0%} in the SDK "
              f"({sdk * (1 - share) / points * 1e3:.1f} µs of SDK work per data point)")
        if args.cprofile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(100):
                agent.collect_once()
                render()
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    finally:
        agent.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
