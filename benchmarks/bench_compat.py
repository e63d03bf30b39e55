"""What /metrics/node_exporter and the systemd domain cost: ``python benchmarks/bench_compat.py [--cycles N]``.

1. The compat endpoint against the collection it renders: CPU (this thread's run time) of N collections of
   this host with the defaults (host read + SDK collection + /metrics render, what every interval costs
   anyway) and of the compat render of each one's snapshot (one render per collection: every later scrape of
   the interval is served from the cache). The ratio is the figure; files opened during compat renders are
   counted with an audit hook (0: no host reads).
2. systemd with 2,000 units: a stand-in of systemd's D-Bus API (tests/compat/systemd_standin.py) on a real
   dbus-daemon; the D-Bus read (off the collection path) and the collection's share (building the points).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from otel_mon import config  # noqa: E402
from otel_mon.compat.node_exporter import NodeExporterView  # noqa: E402
from otel_mon.host import registry  # noqa: E402
from otel_mon.host.paths import HostPaths  # noqa: E402
from otel_mon.host.sampler import HostSampler  # noqa: E402
from otel_mon.resource import build_resource  # noqa: E402
from otel_mon.telemetry import Telemetry  # noqa: E402

OPENS = [0]
COUNTING = [False]


def _audit(event: str, _args: object) -> None:
    if COUNTING[0] and event == "open":
        OPENS[0] += 1


def compat_cost(cycles: int) -> dict[str, float]:
    settings = config.load(env={})
    paths = HostPaths("/")
    telemetry = Telemetry(build_resource(settings.resource, paths), settings.metric_enabled)
    sampler = HostSampler(registry.build(settings.host, paths))
    sampler.register_metrics(telemetry.instruments)
    view = NodeExporterView(lambda: sampler.snapshot, paths)
    sys.addaudithook(_audit)
    base = compat = 0.0
    for _ in range(cycles + 3):
        t0 = time.thread_time()
        snap = sampler.refresh()
        telemetry.export()
        telemetry.registry.render(False)
        t1 = time.thread_time()
        COUNTING[0] = True
        view.render(None, None)
        for _scrape in range(3):  # more scrapes of the same interval: served from the cache
            view.render(None, None)
        COUNTING[0] = False
        t2 = time.thread_time()
        if snap.sequence > 3:  # warm-up collections left out
            base += t1 - t0
            compat += t2 - t1
    telemetry.shutdown()
    return {"collection_ms": 1000 * base / cycles, "compat_ms": 1000 * compat / cycles,
            "ratio": compat / base, "opens": OPENS[0], "renders": view.renders}


def systemd_cost(units: int, runs: int) -> dict[str, float]:
    from otel_mon.host.systemd import SystemdCollector, SystemdConfig, read_units

    with tempfile.TemporaryDirectory() as tmp:
        sock = Path(tmp) / "bus"
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                                f"--address=unix:path={sock}"])
        deadline = time.monotonic() + 20
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        doc = {"system_state": "running", "units": [
            {"name": f"unit-{i:04d}.service", "state": "failed" if i % 100 == 0 else "active", "restarts": i % 3}
            for i in range(units)]}
        (Path(tmp) / "units.json").write_text(json.dumps(doc))
        address = f"unix:path={sock}"
        standin = subprocess.Popen([sys.executable, str(ROOT / "tests/compat/systemd_standin.py"), address,
                                    str(Path(tmp) / "units.json")], stdout=subprocess.PIPE, text=True)
        assert standin.stdout is not None and standin.stdout.readline().strip() == "ready"
        try:
            cfg = SystemdConfig(address=address, max_units=units)
            wall = []
            for _ in range(runs):
                t0 = time.perf_counter()
                got = read_units(address, cfg)
                wall.append(time.perf_counter() - t0)
            assert len(got.units) == units
            collector = SystemdCollector(cfg)
            collector._latest = got  # the finished read the collection takes
            collector._running_since = time.monotonic()  # a read in flight: collect() starts no other
            t0 = time.thread_time()
            out = collector.collect(time.time())
            build_ms = 1000 * (time.thread_time() - t0)
            series = sum(len(p) for p in out.points.values())
        finally:
            standin.terminate()
            bus.terminate()
            standin.wait(10)
            bus.wait(10)
    return {"units": units, "read_ms": 1000 * sorted(wall)[len(wall) // 2], "collect_ms": build_ms,
            "series": series}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--units", type=int, default=2000)
    args = parser.parse_args()
    c = compat_cost(args.cycles)
    s = systemd_cost(args.units, 5)
    print(f"<!-- bench_compat {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"`python benchmarks/bench_compat.py --cycles {args.cycles} --units {args.units}` -->")
    print("| what | figure |\n| --- | --- |")
    print(f"| one collection (host read + SDK + /metrics render), CPU | {c['collection_ms']:.2f} ms |")
    print(f"| compat render of its snapshot + 3 cached scrapes, CPU | {c['compat_ms']:.2f} ms "
          f"(**{100 * c['ratio']:.0f} %** of the collection) |")
    print(f"| files opened by {args.cycles + 3} compat renders | {c['opens']} (renders: {c['renders']}) |")
    print(f"| systemd: D-Bus read of {s['units']} units (own thread, median of 5) | {s['read_ms']:.0f} ms |")
    print(f"| systemd: the collection's part (points of {s['series']} series) | {s['collect_ms']:.1f} ms |")


if __name__ == "__main__":
    main()
