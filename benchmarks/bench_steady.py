"""Cost per hour the way an operator pays it: every server at its default cadence, side by side, scraped like
Prometheus, measured by its own PID.

All servers run at the same time on this machine, so load and noise hit them alike; every figure is also
given as a ratio to node_exporter (Debian's ``prometheus-node-exporter``) measured in the same window. A second
node_exporter runs as a control: its ratio to the first is the noise of the run.

Phases, after a warm-up:
1. idle (``--idle`` s, no scrape at all): CPU per hour and wake-ups per minute (voluntary context switches of
   every thread): what the agent costs between collections when nobody asks.
2. scraped (``--window`` s): one kept-alive connection per server, OpenMetrics preferred and gzip accepted
   (what Prometheus 2.x sends), a scrape every ``--cadence`` s, servers staggered across the cadence.
   CPU s/hour, samples per scrape, CPU ms per 1,000 samples delivered (whole-process CPU / samples) and RSS.

Scenarios: node_exporter (Debian's 1.5, the ratio base; a second one as noise control; 1.12.1 built from its
Go module by ``make stack-bin``, 1.13 being refused by the module proxy here); the hostmetrics Collector
(``make bench-bin``: host_metrics receiver at the agent's 15 s, Prometheus exporter); otel-mon with defaults
(spool on, 15 s interval); otel-mon spool off (the Prometheus role); both again at the old 10 s interval (what
the interval bought, apart from the code); otel-mon pushing OTLP (http/protobuf, http/json, grpc) to a local
receiver or Prometheus remote write to a sink; otel-mon with ``compat.node_exporter`` on, scraped on
``/metrics/node_exporter``; the contrib opentelemetry-instrumentation-system-metrics behind the Prometheus
reader (collects on every scrape).

``--markdown FILE`` writes the README table; ``--threads`` prints per-thread CPU of the Python servers.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import procstat  # noqa: E402
from readme_tables import markdown_path  # noqa: E402
from servers import CONTRIB_SERVER, SCRAPE_HEADERS, free_port, node_exporter_binary, wait_http  # noqa: E402
from stamp import header, version_of  # noqa: E402

NODE_EXPORTER = "node_exporter"
SCENARIOS = ("node_exporter", "control", "node_exporter-1.12", "hostmetrics", "defaults", "spool-off", "defaults-10s",
             "spool-off-10s", "otlp", "otlp-grpc", "otlp-json", "remote-write", "compat", "contrib")
# The pinned builds: `make stack-bin` (node_exporter 1.12.1) and `make bench-bin` (the hostmetrics Collector).
BUILT_NODE_EXPORTER = ROOT / "build" / "stack" / "bin" / "node_exporter"
HOSTMETRICS = ROOT / "build" / "bench" / "bin" / "otelcol-hostmetrics"
HOSTMETRICS_CONFIG = HERE / "hostmetrics-collector.yaml"
AGENT_INTERVAL = "15s"  # otel-mon's default, and the hostmetrics Collector's here
# The forwarding scenarios: the protocol each pushes with (remote write to a sink that answers 204).
PUSH = {"otlp": "http/protobuf", "otlp-grpc": "grpc", "otlp-json": "http/json"}
LABELS = {
    "node_exporter": "node_exporter {ne} (Debian)",
    "control": "node_exporter, second instance (noise control)",
    "node_exporter-1.12": "node_exporter 1.12.1 (built from its Go module; 1.13 is refused by the proxy)",
    "hostmetrics": "Collector 0.158.0: host_metrics receiver (15 s) + Prometheus exporter",
    "defaults": "otel-mon, defaults (spool on)",
    "spool-off": "otel-mon, spool off (Prometheus role)",
    "defaults-10s": "otel-mon, defaults but `interval: 10s` (the old default)",
    "spool-off-10s": "otel-mon, spool off, `interval: 10s`",
    "otlp": "otel-mon, spool + OTLP push, http/protobuf (the default protocol)",
    "otlp-grpc": "otel-mon, spool + OTLP push, grpc",
    "otlp-json": "otel-mon, spool + OTLP push, http/json",
    "remote-write": "otel-mon, spool + Prometheus remote write",
    "compat": "otel-mon, defaults + `compat.node_exporter`, scraped on /metrics/node_exporter",
    "contrib": "contrib system-metrics + Prometheus reader",
}


@dataclass
class Server:
    key: str
    argv: list[str]
    port: int
    env: dict[str, str] | None = None
    cwd: Path | None = None
    path: str = "/metrics"
    proc: subprocess.Popen[bytes] | None = None
    conn: http.client.HTTPConnection | None = None
    scrapes: int = 0
    samples: int = 0
    samples_total: int = 0
    body_bytes: int = 0
    marks: dict[str, tuple[float, dict[int, procstat.TaskSample]]] = field(default_factory=dict)
    coarse: set[tuple[str, str]] = field(default_factory=set)  # windows measured in ticks (a thread exited)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def mark(self, name: str) -> None:
        self.marks[name] = (procstat.cpu_seconds(self.pid), procstat.tasks(self.pid))

    def cpu(self, start: str, end: str) -> float:
        """CPU seconds between two marks: nanosecond thread run times when no thread exited in between, else
        the process's utime+stime in 1/CLK_TCK ticks (which include exited threads)."""
        cpu, precise = procstat.cpu_between(self.marks[start], self.marks[end])
        if not precise:
            self.coarse.add((start, end))
        return cpu

    def wakeups(self, start: str, end: str) -> int:
        return procstat.wakeups(self.marks[start][1], self.marks[end][1])

    def scrape(self) -> None:
        try:
            raw, resp = self._get()
        except (http.client.HTTPException, ConnectionError):  # the server closed an idle kept-alive connection
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            raw, resp = self._get()  # Prometheus reconnects the same way
        if resp.status != 200:
            raise RuntimeError(f"{self.key}: {self.path} answered {resp.status}")
        body = (gzip.decompress(raw) if resp.getheader("Content-Encoding") == "gzip" else raw).decode()
        self.samples = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
        self.samples_total += self.samples
        self.body_bytes = len(raw)
        self.scrapes += 1

    def _get(self) -> tuple[bytes, http.client.HTTPResponse]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.conn.request("GET", self.path, headers=SCRAPE_HEADERS)
        resp = self.conn.getresponse()
        return resp.read(), resp

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def build_servers(keys: list[str], work: Path, endpoints: dict[str, str], agent_args: list[str]) -> list[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(ROOT)
    servers = []
    ne = node_exporter_binary()
    for key in keys:
        port = free_port()
        if key in ("node_exporter", "control"):
            if ne is None:
                raise SystemExit("prometheus-node-exporter is not installed (make system-deps)")
            servers.append(Server(key, [ne, f"--web.listen-address=127.0.0.1:{port}"], port))
        elif key == "node_exporter-1.12":
            if not BUILT_NODE_EXPORTER.exists():
                raise SystemExit(f"{BUILT_NODE_EXPORTER} is missing (make stack-bin)")
            servers.append(Server(key, [str(BUILT_NODE_EXPORTER), f"--web.listen-address=127.0.0.1:{port}"], port))
        elif key == "hostmetrics":
            if not HOSTMETRICS.exists():
                raise SystemExit(f"{HOSTMETRICS} is missing (make bench-bin)")
            collector_env = {**env, "HOSTMETRICS_PORT": str(port), "HOSTMETRICS_INTERVAL": AGENT_INTERVAL}
            servers.append(Server(key, [str(HOSTMETRICS), f"--config={HOSTMETRICS_CONFIG}"], port, env=collector_env,
                                  cwd=work))
        elif key == "contrib":
            servers.append(Server(key, [sys.executable, "-c", CONTRIB_SERVER, str(port)], port, env=env, cwd=work))
        else:
            extra: list[str] = []
            if key.startswith("spool-off"):
                extra = ["--set", "spool.enabled=false"]
            if key.endswith("-10s"):
                extra += ["--interval", "10s"]
            elif key in PUSH:
                extra = ["--set", f"otlp.endpoint={endpoints[PUSH[key]]}", "--set", f"otlp.protocol={PUSH[key]}"]
            elif key == "remote-write":
                extra = ["--set", f"remote_write.url={endpoints['remote-write']}"]
            elif key == "compat":
                extra = ["--set", "compat.node_exporter=true"]
            data = work / key
            servers.append(Server(key, [sys.executable, "-m", "otel_mon", "run", "--listen", f"127.0.0.1:{port}",
                                        "--data-dir", str(data), *extra, *agent_args], port, env=env, cwd=work,
                                  path="/metrics/node_exporter" if key == "compat" else "/metrics"))
    return servers


class RemoteWriteSink:
    """A remote write endpoint that reads each request and answers 204 (the benchmark measures the agent)."""

    def __init__(self) -> None:
        import http.server
        import threading

        sink = self
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.requests += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/v1/write"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()


def sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.monotonic()))


def scrape_window(servers: list[Server], window: float, cadence: float) -> None:
    """Scrape each server every ``cadence`` s for ``window`` s, staggered so scrapes never coincide."""
    start = time.monotonic()
    end = start + window
    plan = [(start + cadence * i / len(servers), s) for i, s in enumerate(servers)]
    while plan:
        plan.sort(key=lambda item: item[0])
        at, server = plan.pop(0)
        if at >= end:
            continue
        sleep_until(at)
        server.scrape()
        plan.append((at + cadence, server))
    sleep_until(end)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    cpu_hour: float
    ratio: float
    ratio_built: float  # to node_exporter 1.12.1, when it ran
    ratio_agent: float  # to otel-mon's defaults (the spool-only agent), when it ran
    samples: int
    ms_per_1k: float
    rss: float
    idle_cpu_hour: float
    idle_wakeups_min: float
    coarse: bool = False  # the scraped window's CPU read in ticks (a thread exited, or one came and went)


def markdown(rows: list[Row], args: argparse.Namespace, noise: float | None) -> str:
    head = (f"{header()}: all servers side by side, scraped every {args.cadence:g} s for {args.window:g} s; "
            f"idle = {args.idle:g} s with no scrape.")
    if noise is not None:
        head += f" Noise: a second node_exporter in the same run measured {noise:.2f}x the first."
    head += (" CPU is the sum of the threads' run times in nanoseconds (`/proc/PID/task/*/schedstat`) where "
             f"every thread lived through the window, else utime+stime in 1/{procstat.TICK} s ticks "
             "(`/proc/PID/stat`)" + ("; rows marked * are in ticks." if any(r.coarse for r in rows) else "."))
    lines = [head, "",
             "| server | CPU s/hour | x node_exporter 1.5 | x node_exporter 1.12.1 | x otel-mon defaults "
             "| samples/scrape | CPU ms per 1k samples | RSS MiB | idle CPU s/hour | idle wake-ups/min |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def ratio(value: float) -> str:
        return "-" if value != value else f"{value:.2f}"  # NaN: that baseline did not run

    for r in rows:
        lines.append(f"| {r.label}{' *' if r.coarse else ''} | {r.cpu_hour:.2f} | {ratio(r.ratio)} | "
                     f"{ratio(r.ratio_built)} | {ratio(r.ratio_agent)} | {r.samples} | "
                     f"{r.ms_per_1k:.0f} | {r.rss:.1f} | {r.idle_cpu_hour:.2f} | {r.idle_wakeups_min:.0f} |")
    return "\n".join(lines) + "\n"


def thread_table(server: Server, idle: float, window: float) -> list[str]:
    names = procstat.thread_names(server.pid)
    out = []
    for tid in sorted(server.marks["end"][1]):
        after = server.marks["end"][1][tid]

        def delta(start: str, end: str, tid: int = tid) -> tuple[float, int]:
            a, b = server.marks[start][1].get(tid), server.marks[end][1].get(tid)
            if b is None:
                return 0.0, 0
            return b.cpu - (a.cpu if a else 0.0), b.voluntary - (a.voluntary if a else 0)

        icpu, iwake = delta("idle0", "idle1")
        scpu, _ = delta("win0", "end")
        if after.cpu == 0 and iwake == 0:
            continue
        out.append(f"    {names.get(tid, '?'):28s} idle {icpu / idle * 3600:6.2f} CPU s/h {iwake / idle * 60:6.0f} "
                   f"wake-ups/min   scraped {scpu / window * 3600:6.2f} CPU s/h")
    return out


def run(args: argparse.Namespace) -> tuple[list[Row], float | None, str]:
    keys = [k.strip() for k in args.scenarios.split(",") if k.strip()]
    unknown = set(keys) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}")
    work = Path(tempfile.mkdtemp(prefix="otel-mon-steady-"))
    receiver: object | None = None
    sink: RemoteWriteSink | None = None
    endpoints: dict[str, str] = {}
    if set(keys) & set(PUSH):
        from tests.otlp_receiver import OtlpReceiver

        rx = OtlpReceiver().start()  # in this process: its CPU is not the agent's
        receiver = rx
        endpoints = {protocol: rx.endpoint(protocol) for protocol in PUSH.values()}
    if "remote-write" in keys:
        sink = RemoteWriteSink()
        endpoints["remote-write"] = sink.url
    servers = build_servers(keys, work, endpoints, args.agent_arg)
    report: list[str] = []
    try:
        for s in servers:
            s.start()
        for s in servers:
            wait_http(f"http://127.0.0.1:{s.port}{s.path}")
            s.scrape()
        time.sleep(args.warmup)
        for s in servers:
            s.mark("idle0")
        time.sleep(args.idle)
        for s in servers:
            s.mark("idle1")
            s.scrape()  # first scrape after idling pays for any render left pending: not counted
            s.scrapes, s.samples_total = 0, 0
        for s in servers:
            s.mark("win0")
        scrape_window(servers, args.window, args.cadence)
        for s in servers:
            s.mark("end")
        rss = {s.key: procstat.rss_mib(s.pid) for s in servers}
        if args.threads:
            for s in servers:
                if s.key not in ("node_exporter", "control", "node_exporter-1.12", "hostmetrics"):
                    report.append(f"  {LABELS[s.key]} (pid {s.pid}):")
                    report.extend(thread_table(s, args.idle, args.window))
    finally:
        for s in servers:
            s.stop()
        if receiver is not None:
            receiver.stop()  # type: ignore[attr-defined]
        if sink is not None:
            report.append(f"  remote write sink: {sink.requests} requests received")
            sink.stop()
        shutil.rmtree(work, ignore_errors=True)
    by_key = {s.key: s for s in servers}
    base = by_key.get("node_exporter")
    base_cpu = base.cpu("win0", "end") if base else None
    built_cpu = by_key["node_exporter-1.12"].cpu("win0", "end") if "node_exporter-1.12" in by_key else None
    agent_cpu = by_key["defaults"].cpu("win0", "end") if "defaults" in by_key else None
    ne_version = version_of([node_exporter_binary() or "false", "--version"])
    rows = []
    for s in servers:
        cpu = s.cpu("win0", "end")
        samples = max(s.samples_total, 1)
        rows.append(Row(
            key=s.key, label=LABELS[s.key].format(ne=ne_version), cpu_hour=cpu / args.window * 3600,
            ratio=cpu / base_cpu if base_cpu else float("nan"),
            ratio_built=cpu / built_cpu if built_cpu else float("nan"),
            ratio_agent=cpu / agent_cpu if agent_cpu else float("nan"), samples=s.samples,
            ms_per_1k=cpu / samples * 1e6, rss=rss[s.key],
            idle_cpu_hour=s.cpu("idle0", "idle1") / args.idle * 3600,
            idle_wakeups_min=s.wakeups("idle0", "idle1") / args.idle * 60, coarse=("win0", "end") in s.coarse))
    noise = by_key["control"].cpu("win0", "end") / base_cpu if "control" in by_key and base_cpu else None
    return rows, noise, "\n".join(report)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--window", type=float, default=300.0, help="scraped window, seconds (default 300)")
    ap.add_argument("--cadence", type=float, default=15.0, help="seconds between scrapes of a server (default 15)")
    ap.add_argument("--idle", type=float, default=120.0, help="idle window with no scrape, seconds (default 120)")
    ap.add_argument("--warmup", type=float, default=20.0, help="seconds after start-up before measuring")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma list of {', '.join(SCENARIOS)}")
    ap.add_argument("--agent-arg", action="append", default=[], help="extra argument for every otel-mon run")
    ap.add_argument("--threads", action="store_true", help="per-thread CPU and wake-ups of the Python servers")
    ap.add_argument("--markdown", type=Path, help="README table (default: $BENCH_MARKDOWN_DIR/steady.md)")
    ap.add_argument("--json", type=Path, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    rows, noise, threads = run(args)
    table = markdown(rows, args, noise)
    print(table)
    if threads:
        print("per thread:\n" + threads)
    out = args.markdown or markdown_path("steady")
    if out:
        out.write_text(table)
    if args.json:
        args.json.write_text(json.dumps({"noise": noise, "rows": [vars(r) for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
