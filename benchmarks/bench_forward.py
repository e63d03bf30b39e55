"""Forwarder cost: backlog drain rate (data points/s) and agent CPU per 1,000 data points forwarded.

Run by hand: ``python benchmarks/bench_forward.py [--lines N] [--points P]``. A backlog of N spool lines of
about P data points each (host-sized: the real metric names of ``host.table.METRICS``, encoded by the official
OTLP-JSON encoder) is drained without a rate limit to the test OTLP receiver (``tests/otlp_receiver.py``),
which runs in a separate process on loopback so its CPU is not counted. CPU is this process's
``time.process_time()``: reading, parsing (JSON -> protobuf), compressing and sending.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics.export import AggregationTemporality as Temporality
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from readme_tables import markdown_path  # noqa: E402
from stamp import header  # noqa: E402

from otel_mon import schema  # noqa: E402
from otel_mon.forward import Forwarder, OtlpConfig  # noqa: E402
from otel_mon.host.table import METRICS  # noqa: E402

RECEIVER = """
import sys
from otlp_receiver import OtlpReceiver
receiver = OtlpReceiver().start()
print(receiver.grpc_port, receiver.http_port, flush=True)
sys.stdin.read()
"""


def host_line(points: int, now_ns: int) -> str:
    """One MetricsData line with ``points`` points spread over the default metrics of the table."""
    specs = [s for s in METRICS if s.default and s.instrument != "histogram"]
    per_metric = max(1, points // len(specs))
    metrics = []
    for spec in specs:
        data_points = [
            NumberDataPoint(attributes={key: f"v{i}" for key in spec.attributes}, start_time_unix_nano=now_ns - 10**10,
                            time_unix_nano=now_ns, value=float(i) * 1.5)
            for i in range(per_metric)
        ]
        data: Sum | Gauge
        if spec.instrument in ("counter", "updowncounter"):
            data = Sum(data_points=data_points, aggregation_temporality=Temporality.CUMULATIVE,
                       is_monotonic=spec.instrument == "counter")
        else:
            data = Gauge(data_points=data_points)
        metrics.append(Metric(name=spec.name, description=spec.description, unit=spec.unit, data=data))
    resource = Resource.create({"service.name": "otel-mon", "host.name": "bench-host", "os.type": "linux"})
    scope = InstrumentationScope("otel_mon", "0.1.0")
    payload = MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, metrics, "")], "")])
    return json.dumps(encode_metrics(payload).to_dict(), separators=(",", ":"))


def run(protocol: str, compression: str, lines: list[str], points: int, ports: tuple[int, int]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "metrics"
        directory.mkdir()
        (directory / "metrics-20260101T000000000000Z.jsonl").write_text("".join(f"{line}\n" for line in lines))
        port = ports[0] if protocol == "grpc" else ports[1]
        config = schema.build(OtlpConfig, {"endpoint": f"http://127.0.0.1:{port}", "protocol": protocol,
                                           "compression": compression, "drain_rate": 0, "poll_interval": "10s"})
        forwarder = Forwarder(config, tmp, signals=["metrics"])
        signal = forwarder.signals["metrics"]
        tick = threading.Event()
        cpu, wall = time.process_time(), time.perf_counter()
        forwarder.start()
        while signal.counters.sent < len(lines):
            tick.wait(0.002)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        forwarder.stop(2.0)
    total = len(lines) * points
    return {"points_per_s": total / wall, "lines_per_s": len(lines) / wall, "cpu_ms_per_1k": cpu * 1000 / total * 1000,
            "points_per_cpu_s": total / cpu}  # the drain rate one core sustains


def encoding_baseline(line: str, rounds: int = 60) -> list[tuple[str, float]]:
    """CPU ms per 1,000 points of turning one line into a request body, in this run: the old path
    (``json_format.ParseDict`` + ``SerializeToString``, what the forwarder did before) beside the agent's."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    from otel_mon.forward.requests import parse_json_line, parse_line

    raw = line.encode()
    points = line.count('"timeUnixNano"')

    def old() -> None:
        json_format.ParseDict(json.loads(raw), ExportMetricsServiceRequest(),
                              ignore_unknown_fields=True).SerializeToString()

    out = []
    for name, step in (("json_format (before)", old), ("otlp_wire (http/protobuf, grpc)", lambda: parse_line(
            "metrics", raw)), ("the line's text (http/json)", lambda: parse_json_line("metrics", raw))):
        step()
        cpu = time.process_time()
        for _ in range(rounds):
            step()
        out.append((name, (time.process_time() - cpu) / rounds / points * 1e6))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300, help="backlog size in spool lines")
    parser.add_argument("--points", type=int, default=300, help="data points per line")
    args = parser.parse_args()
    line = host_line(args.points, time.time_ns())
    points = json.dumps(json.loads(line)).count('"timeUnixNano"')
    lines = [line] * args.lines
    child = subprocess.Popen([sys.executable, "-c", RECEIVER], cwd=ROOT / "tests", stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    grpc_port, http_port = (int(p) for p in child.stdout.readline().split())
    try:
        backlog = f"{args.lines} lines x {points} points ({len(line) / 1024:.0f} KiB of JSON per line)"
        print(f"backlog: {backlog}")
        print(f"{'protocol':<14} {'compression':<11} {'points/s':>10} {'lines/s':>8} {'CPU ms / 1k points':>19} "
              f"{'points/CPU-s':>13}")
        table = [f"{header(node_exporter=False)}: a backlog of {backlog} drained to a receiver in another process. "
                 "Points per CPU-second is the drain rate one core sustains (points / the agent's CPU time).",
                 "", "| protocol | compression | data points/s | lines/s | agent CPU ms per 1k points "
                 "| points per CPU-second (one core) |", "|---|---|---|---|---|---|"]
        for protocol in ("grpc", "http/protobuf", "http/json"):
            for compression in ("gzip", "none"):
                result = run(protocol, compression, lines, points, (grpc_port, http_port))
                print(f"{protocol:<14} {compression:<11} {result['points_per_s']:>10,.0f} "
                      f"{result['lines_per_s']:>8.1f} {result['cpu_ms_per_1k']:>19.2f} "
                      f"{result['points_per_cpu_s']:>13,.0f}")
                table.append(f"| {protocol} | {compression} | {result['points_per_s']:,.0f} | "
                             f"{result['lines_per_s']:.1f} | {result['cpu_ms_per_1k']:.1f} | "
                             f"{result['points_per_cpu_s']:,.0f} |")
        baseline = encoding_baseline(line)
        table += ["", "Encoding one line alone, same run (CPU ms per 1k points; ratio to the old path):", "",
                  "| line -> request body | CPU ms per 1k points | x json_format |", "|---|---|---|"]
        for name, cost in baseline:
            print(f"{name:<34} {cost:>8.2f} ms / 1k points  {cost / baseline[0][1]:.2f}x")
            table.append(f"| {name} | {cost:.2f} | {cost / baseline[0][1]:.2f} |")
        out = markdown_path("forward")
        if out:
            out.write_text("\n".join(table) + "\n")
    finally:
        child.kill()
        child.wait()


if __name__ == "__main__":
    main()
