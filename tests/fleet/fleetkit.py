"""A fleet on one machine: N real agents -> 2 load-balancing Collectors -> 2-3 backend Collectors -> Thanos Receive.

Every part is a real process on free ports under one work directory:

- agents: ``otel-mon run`` on a synthetic host tree (benchmarks/synthhost.py) each, with its own ``host.name``
  (the tree's etc/hostname), machine id, spool and port, pushing OTLP/gRPC to one load balancer (half to each);
- the load-balancing tier: our Collector with collector-config/fleet/lb.yaml plus a static resolver file that
  the harness writes (and rewrites, then SIGHUP, to add a backend);
- the backend tier: collector-config/fleet/backend.yaml, remote write to the store, logs to VictoriaLogs, plus a
  harness-only second config naming the backend in its resources (``target_info``: which backend carried whom);
- the store: Thanos Receive, one router (hashring, replication factor 3) in front of three ingestors, and a
  Thanos Query in front of those (dedup on the replica label, ``chain``: every sample of every replica merged,
  equal timestamps once). Logs go to VictoriaLogs.

``Fleet.count()`` answers the one question: is every collection of every agent in the store exactly once? The
expected collections are read from each agent's own spool (its write-ahead log), the stored ones through the
store's PromQL API, the rejections from the store's own counters. ``Fleet.count_logs()`` asks the same of the
log records (spool against VictoriaLogs). Used by tests/fleet, ``make fleet`` (benchmarks/fleet_run.py) and
benchmarks/bench_fleet.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tests import polling

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "collector-config" / "fleet"
T = TypeVar("T")

# The metric that stands for "one collection": one point per collection per host, on every host.
PROBE_METRIC = "system.memory.usage"
PROBE_STATE = "free"
PROBE_PROMQL = 'system_memory_usage_bytes{system_memory_state="free"}'
REPLICA_LABEL = "receive_replica"


BACKEND_ATTRIBUTE = "otel_mon.fleet.backend"
BACKEND_LABEL = "otel_mon_fleet_backend"


def backend_probe(name: str) -> dict[str, Any]:
    """A second --config for one backend, in the harness only: its metrics' resources name the backend, so
    target_info tells which backend carried which host when. Not in collector-config/fleet/backend.yaml: a
    label that changes when a host moves would give target_info two series per instance for a lookback, and
    every `on(instance) group_left` join with it would fail meanwhile."""
    return {
        "processors": {"transform/fleet-probe": {"metric_statements": [
            {"context": "resource", "statements": [f'set(attributes["{BACKEND_ATTRIBUTE}"], "{name}")']}]}},
        "service": {"pipelines": {"metrics": {"processors": ["memory_limiter", "transform/fleet-probe"]}}},
    }


class Missing(Exception):
    """A binary the fleet needs is not built (``make stack-bin``)."""


def binary(*names: str) -> str:
    """The first of ``names`` in $OTEL_MON_STACK_BIN, build/stack/bin/ or on PATH."""
    dirs = [os.environ.get("OTEL_MON_STACK_BIN", ""), str(ROOT / "build" / "stack" / "bin")]
    for name in names:
        for d in dirs:
            if d and os.access(os.path.join(d, name), os.X_OK):
                return os.path.join(d, name)
        found = shutil.which(name)
        if found:
            return found
    raise Missing(f"{' or '.join(names)} not built: run `make stack-bin` (build/stack/bin/)")


FLEET_BINARIES = ("otelcol-otel-mon", "thanos", "victoria-logs")


def all_pinned() -> bool:
    """Whether deploy/stack/pins.txt (`make stack-bin`) pins every binary the fleet runs."""
    pins = ROOT / "deploy" / "stack" / "pins.txt"
    names = {line.split()[0] for line in pins.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")} if pins.exists() else set()
    return set(FLEET_BINARIES) <= names


def collector_binary() -> str:
    return binary("otelcol-otel-mon", "otelcol")


_TAKEN: set[int] = set()


def free_port() -> int:
    """A free port below the kernel's ephemeral range: a fleet picks its ports long before its servers bind
    them, and a port from the ephemeral range may meanwhile be taken by any outgoing connection."""
    import random
    import socket

    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(1000):
        port = random.randrange(10000, max(10001, low))
        if port in _TAKEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _TAKEN.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """``tests.polling.wait_until`` with the fleet's argument order (what to wait for before the pace)."""
    return polling.wait_until(predicate, timeout, interval, what)


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read()


def prom_samples(text: str, name: str) -> Iterator[tuple[dict[str, str], float]]:
    """The samples of one metric family in Prometheus text (enough for counters; no escapes in our labels)."""
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        yield labels, float(m.group(4))


def probe_collections(records: Iterable[Any], until_ns: int | None = None) -> set[int]:
    """The millisecond timestamps of the probe series' points in spooled metric records (one per collection),
    up to ``until_ns`` when given: what the store is expected to hold."""
    out: set[int] = set()
    for rec in records:
        for rm in rec.data.get("resourceMetrics", []):
            for sm in rm.get("scopeMetrics", []):
                for metric in sm.get("metrics", []):
                    if metric.get("name") != PROBE_METRIC:
                        continue
                    for kind in ("gauge", "sum"):
                        for p in (metric.get(kind) or {}).get("dataPoints", []):
                            attrs = {a["key"]: a["value"].get("stringValue") for a in p.get("attributes", [])}
                            ns = int(p["timeUnixNano"])
                            if attrs.get("system.memory.state") == PROBE_STATE and (
                                    until_ns is None or ns <= until_ns):
                                out.add(ns // 1_000_000)
    return out


class Proc:
    """One server process: started, killed with SIGKILL, started again with the same arguments and ports."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None,
                 ready_url: str | None = None, http_port: int = 0) -> None:
        self.name = name
        self.http_port = http_port
        self.argv = argv
        self.workdir = workdir
        self.env = env
        self.ready_url = ready_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def start(self) -> Proc:
        self.starts += 1
        with open(self.workdir / f"{self.name}.log", "ab") as log:
            log.write(f"--- start {self.starts} at {time.time():.3f}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv, cwd=self.workdir, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        def ready() -> bool:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise AssertionError(f"{self.name} exited ({code}): {self.log_tail()}")
            return self.ready_url is None or http_get(self.ready_url, 2)[0] == 200

        try:
            wait_until(ready, timeout, f"{self.name} ready", interval=0.2)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{self.log_tail()}") from None

    def log_tail(self, n: int = 3000) -> str:
        path = self.workdir / f"{self.name}.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else ""

    def kill9(self) -> None:
        """SIGKILL: no shutdown, no flush; whatever the process held in memory is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(extra)
    return env


class Collector(Proc):
    """Our Collector distribution with one of collector-config/fleet/*.yaml and the environment it names."""

    def __init__(self, name: str, config: Path, workdir: Path, extra_configs: tuple[Path, ...] = (),
                 env: dict[str, str] | None = None) -> None:
        self.otlp_port, self.health_port, self.telemetry_port = free_port(), free_port(), free_port()
        argv = [collector_binary(), f"--config={config}", *(f"--config={p}" for p in extra_configs)]
        full_env = clean_env(
            OTLP_GRPC_ENDPOINT=f"127.0.0.1:{self.otlp_port}",
            HEALTH_ENDPOINT=f"127.0.0.1:{self.health_port}",
            TELEMETRY_HOST="127.0.0.1",
            TELEMETRY_PORT=str(self.telemetry_port),
            **(env or {}),
        )
        super().__init__(name, argv, workdir, full_env, ready_url=f"http://127.0.0.1:{self.health_port}/")

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.otlp_port}"

    def telemetry(self) -> str:
        status, body = http_get(f"http://127.0.0.1:{self.telemetry_port}/metrics", 5)
        return body.decode() if status == 200 else ""

    def counter(self, name: str, **match: str) -> float:
        text = self.telemetry()
        return sum(v for labels, v in prom_samples(text, name)
                   if all(labels.get(k) == want for k, want in match.items()))


class Store:
    """Thanos Receive (router + 3 ingestors, replication factor 3) and Thanos Query, all on free ports."""

    def __init__(self, workdir: Path, ingestors: int = 3, replication: int = 3) -> None:
        self.thanos = binary("thanos")
        self.workdir = workdir
        self.ingestors: list[Proc] = []
        grpc_endpoints: list[str] = []
        ring: list[dict[str, str]] = []
        for i in range(ingestors):
            http, grpc, rw, capnp = free_port(), free_port(), free_port(), free_port()
            d = workdir / f"ingestor-{i}"
            grpc_endpoints.append(f"127.0.0.1:{grpc}")
            ring.append({"address": f"127.0.0.1:{grpc}", "capnproto_address": f"127.0.0.1:{capnp}"})
            self.ingestors.append(Proc(f"ingestor-{i}", [
                self.thanos, "receive", f"--http-address=127.0.0.1:{http}", f"--grpc-address=127.0.0.1:{grpc}",
                f"--remote-write.address=127.0.0.1:{rw}", f"--tsdb.path={d / 'tsdb'}",
                f"--receive.capnproto-address=127.0.0.1:{capnp}",
                f'--label={REPLICA_LABEL}="{i}"', "--tsdb.retention=1d", "--log.level=warn",
            ], d, clean_env(), ready_url=f"http://127.0.0.1:{http}/-/ready", http_port=http))
        hashring = workdir / "router" / "hashrings.json"
        hashring.parent.mkdir(parents=True, exist_ok=True)
        hashring.write_text(json.dumps([{"hashring": "default", "endpoints": ring}]))
        self.router_http, self.router_rw = free_port(), free_port()
        self.router = Proc("router", [
            self.thanos, "receive", f"--http-address=127.0.0.1:{self.router_http}",
            f"--grpc-address=127.0.0.1:{free_port()}", f"--remote-write.address=127.0.0.1:{self.router_rw}",
            f"--receive.hashrings-file={hashring}", f"--receive.replication-factor={replication}",
            f"--receive.capnproto-address=127.0.0.1:{free_port()}", "--receive.replication-protocol=capnproto",
            "--receive.hashrings-algorithm=ketama", f"--tsdb.path={workdir / 'router' / 'tsdb'}",
            f'--label={REPLICA_LABEL}="router"', "--log.level=warn",
        ], workdir / "router", clean_env(), ready_url=f"http://127.0.0.1:{self.router_http}/-/ready")
        self._counts: dict[tuple[str, int], dict[str, float]] = {}
        self.query_http = free_port()
        self.query = Proc("query", [
            self.thanos, "query", f"--http-address=127.0.0.1:{self.query_http}",
            f"--grpc-address=127.0.0.1:{free_port()}", f"--query.replica-label={REPLICA_LABEL}",
            "--deduplication.func=chain", "--log.level=warn",
            *(f"--endpoint={e}" for e in grpc_endpoints),
        ], workdir / "query", clean_env(), ready_url=f"http://127.0.0.1:{self.query_http}/-/ready")

    @property
    def write_url(self) -> str:
        return f"http://127.0.0.1:{self.router_rw}/api/v1/receive"

    def procs(self) -> list[Proc]:
        return [*self.ingestors, self.router, self.query]

    def start(self) -> None:
        for p in self.procs():
            p.start()
        for p in self.procs():
            p.wait_ready()
        wait_until(lambda: self.stores_up() == len(self.ingestors), 60, "thanos query sees every ingestor")

    def stores_up(self) -> int:
        status, body = http_get(f"http://127.0.0.1:{self.query_http}/api/v1/stores", 5)
        if status != 200:
            return 0
        groups = json.loads(body).get("data") or {}
        return sum(1 for entries in groups.values() for e in entries if not e.get("lastError"))

    def api(self, path: str, **params: str) -> Any:
        status, body = http_get(f"http://127.0.0.1:{self.query_http}{path}?{urllib.parse.urlencode(params)}", 30)
        doc = json.loads(body)
        if status != 200 or doc.get("status") != "success":
            raise AssertionError(f"thanos query {path} {params}: {status} {body[:500]!r}")
        return doc["data"]

    def query_at(self, promql: str, at: float) -> list[dict[str, Any]]:
        data = self.api("/api/v1/query", query=promql, time=f"{at:.3f}", dedup="true", partial_response="false")
        result: list[dict[str, Any]] = data["result"]
        return result

    def rejected(self) -> dict[str, float]:
        """The store's own counts of samples it refused: out of order, out of bounds, too old, conflicting
        (each ingestor's TSDB), and the samples of remote-write requests the router refused (4xx: a conflict, a
        sample out of order or a duplicate with another value)."""
        names = ("prometheus_tsdb_out_of_order_samples_total", "prometheus_tsdb_out_of_bound_samples_total",
                 "prometheus_tsdb_too_old_samples_total")
        for ing in self.ingestors:
            if ing.pid is None:  # down: its counts until the kill are kept below
                continue
            status, body = http_get(f"http://127.0.0.1:{ing.http_port}/metrics", 10)
            if status != 200:
                continue
            text = body.decode()
            # counters start from 0 in each run of a process: keep each run's last reading
            self._counts[(ing.name, ing.starts)] = {n: sum(v for _, v in prom_samples(text, n)) for n in names}
        out: dict[str, float] = dict.fromkeys(names, 0.0)
        for counts in self._counts.values():
            for n, v in counts.items():
                out[n] += v
        _, body = http_get(f"http://127.0.0.1:{self.router_http}/metrics", 10)
        out["router: samples in 4xx-answered writes"] = sum(
            v for labels, v in prom_samples(body.decode(), "thanos_receive_write_samples_sum")
            if labels.get("code", "").startswith("4"))
        return out

    def forward_errors(self) -> float:
        """Writes the router could not hand to an ingestor (the quorum may still have been met)."""
        _, body = http_get(f"http://127.0.0.1:{self.router_http}/metrics", 10)
        return sum(v for labels, v in prom_samples(body.decode(), "thanos_receive_forward_requests_total")
                   if labels.get("result") == "error")

    def stop(self) -> None:
        for p in reversed(self.procs()):
            p.stop()


class LogStore(Proc):
    """VictoriaLogs on a free port: OTLP/HTTP logs in, LogsQL out."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        super().__init__("victoria-logs", [
            binary("victoria-logs", "victoria-logs-prod"), f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={workdir / 'data'}", "-loggerLevel=WARN", "-retentionPeriod=1d",
        ], workdir, clean_env(), ready_url=f"http://127.0.0.1:{self.port}/health")

    @property
    def otlp_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/insert/opentelemetry/v1/logs"

    def counts_by_host(self) -> dict[str, tuple[int, int]]:
        """Per host.name: (records stored, distinct records). A record is told apart by its time (ns) and
        message, so a record delivered twice counts twice in the first and once in the second."""
        query = '* | stats by ("host.name") count() as n, count_uniq(_time, _msg) as u'
        status, body = http_get(f"http://127.0.0.1:{self.port}/select/logsql/query?"
                                + urllib.parse.urlencode({"query": query}), 30)
        if status != 200:
            raise AssertionError(f"victoria-logs query: {status} {body[:300]!r}")
        counts = {}
        for line in body.decode().splitlines():
            if line.strip():
                row = json.loads(line)
                counts[row.get("host.name", "")] = (int(row["n"]), int(row["u"]))
        return counts


@dataclass
class Agent:
    """One agent on its own synthetic host: its tree, spool, port, and the load balancer it sends to."""

    host: str
    root: Path
    spool: Path
    port: int
    proc: Proc

    def ready(self) -> bool:
        return http_get(f"http://127.0.0.1:{self.port}/ready", 2)[0] == 200

    def collections(self, until_ns: int | None = None) -> set[int]:
        """The millisecond timestamps of this agent's collections, read from its spool (every segment)."""
        from otel_mon.spool.reader import SpoolReader

        return probe_collections(SpoolReader(self.spool, "metrics").records(), until_ns)

    def log_records(self) -> int:
        from otel_mon.spool.reader import SpoolReader

        return sum(len(sl.get("logRecords", [])) for rec in SpoolReader(self.spool, "logs").records()
                   for rl in rec.data.get("resourceLogs", []) for sl in rl.get("scopeLogs", []))


@dataclass
class Count:
    """The fleet's one line: every expected collection, how many are in the store, how many twice."""

    agents: int
    expected: int
    present: int
    duplicates: int
    rejected: int
    missing: dict[str, int] = field(default_factory=dict)
    rejections: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.present == self.expected and self.duplicates == 0 and self.rejected == 0

    def line(self) -> str:
        return (f"fleet: agents={self.agents} expected={self.expected} present={self.present} "
                f"duplicates={self.duplicates} rejected={self.rejected}")


@dataclass
class LogCount:
    """The logs' line: every record in the agents' log spools, how many are in VictoriaLogs, how many twice."""

    expected: int
    present: int
    duplicates: int
    extra: int = 0  # distinct records stored beyond the spool as read just before: written meanwhile
    per_host: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # spooled, stored, distinct

    @property
    def complete(self) -> bool:
        return self.present == self.expected and self.extra == 0

    @property
    def ok(self) -> bool:
        return self.complete and self.duplicates == 0

    def line(self) -> str:
        return f"fleet logs: expected={self.expected} present={self.present} duplicates={self.duplicates}"


class Fleet:
    """N agents, 2 load balancers, 2 backends (a third one can be added), the store and the log store."""

    def __init__(self, workdir: Path, agents: int = 10, interval: str = "2s", backends: int = 2,
                 load_balancers: int = 2, host_size: tuple[int, int, int, int] = (2, 2, 2, 3)) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.interval = interval
        self.started_at = time.time()
        self.store = Store(workdir / "store")
        self.logs = LogStore(workdir / "victoria-logs")
        self.backends: list[Collector] = []
        for _ in range(backends):
            self._new_backend()
        self.resolver = workdir / "resolver.yaml"
        self._write_resolver()
        self.load_balancers = [
            Collector(f"lb-{i}", CONFIGS / "lb.yaml", workdir / f"lb-{i}", extra_configs=(self.resolver,))
            for i in range(load_balancers)]
        self.host_size = host_size
        self.n_agents = agents
        self.agents: list[Agent] = []  # made in start(): a port taken long before its server binds may be gone

    # --- building -------------------------------------------------------------------------------------------
    def _new_backend(self) -> Collector:
        i = len(self.backends)
        d = self.workdir / f"backend-{i}"
        d.mkdir(parents=True, exist_ok=True)
        probe = d / "backend-probe.yaml"
        probe.write_text(yaml.safe_dump(backend_probe(f"backend-{i}"), sort_keys=False))
        backend = Collector(f"backend-{i}", CONFIGS / "backend.yaml", d, extra_configs=(probe,), env={
            "REMOTE_WRITE_URL": self.store.write_url, "LOGS_URL": self.logs.otlp_url, "QUEUE_DIR": str(d / "queue")})
        self.backends.append(backend)
        return backend

    def _write_resolver(self) -> None:
        """The static resolver, in the shape of collector-config/fleet/resolver-dns.yaml; rewritten atomically."""
        hostnames = [b.endpoint for b in self.backends]
        doc = {"exporters": {name: {"resolver": {"static": {"hostnames": hostnames}}}
                             for name in ("load_balancing/metrics", "load_balancing/logs")}}
        tmp = self.resolver.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
        tmp.replace(self.resolver)

    def _agent(self, i: int, size: tuple[int, int, int, int]) -> Agent:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import synthhost

        host = f"fleet-host-{i:03d}"
        d = self.workdir / "agents" / host
        root = synthhost.generate(d / "root", synthhost.Size(*size))
        (root / "etc" / "hostname").write_text(host + "\n")
        (root / "etc" / "machine-id").write_text(f"{i + 1:032x}\n")
        port = free_port()
        lb = self.load_balancers[i % len(self.load_balancers)]
        argv = [sys.executable, "-m", "otel_mon", "run", "--root-path", str(root), "--interval", self.interval,
                "--listen", f"127.0.0.1:{port}", "--data-dir", str(d / "spool"),
                "--set", "otlp.backoff_initial=500ms", "--set", "otlp.backoff_max=3s",
                "--set", "otlp.poll_interval=1s", "--set", "otlp.timeout=15s"]
        env = clean_env(PYTHONPATH=str(ROOT), OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{lb.endpoint}",
                        OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
        proc = Proc("agent", argv, d, env, ready_url=f"http://127.0.0.1:{port}/ready")
        return Agent(host, root, d / "spool", port, proc)

    # --- running --------------------------------------------------------------------------------------------
    def start(self) -> Fleet:
        self.store.start()
        self.logs.start()
        for c in [*self.backends, *self.load_balancers]:
            c.start()
        self.logs.wait_ready()
        for c in [*self.backends, *self.load_balancers]:
            c.wait_ready()
        for i in range(self.n_agents):
            agent = self._agent(i, self.host_size)
            self.agents.append(agent)
            agent.proc.start()
        for a in self.agents:
            a.proc.wait_ready(120)
        self.started_at = time.time()
        return self

    def stop(self) -> None:
        for a in self.agents:
            a.proc.stop()
        for c in [*self.load_balancers, *self.backends]:
            c.stop()
        self.logs.stop()
        self.store.stop()

    def add_backend(self) -> Collector:
        """Start one more backend, then give every load balancer the longer static list (SIGHUP reloads it)."""
        backend = self._new_backend()
        backend.start()
        backend.wait_ready()
        self._write_resolver()
        for lb in self.load_balancers:
            lb.signal(signal.SIGHUP)
        for lb in self.load_balancers:
            lb.wait_ready()
        return backend

    # --- counting -------------------------------------------------------------------------------------------
    def instance_of(self, agent: Agent) -> str:
        from otel_mon.resource import instance_id

        machine_id = (agent.root / "etc" / "machine-id").read_text().strip()
        return instance_id(machine_id, "otel-mon")

    def count(self, until: float) -> Count:
        """Collections up to ``until`` (epoch seconds): expected from the spools, stored through PromQL."""
        window = int(until - self.started_at + 120)
        series = self.store.query_at(f"{PROBE_PROMQL}[{window}s]", until)
        stored: dict[str, list[int]] = {}
        for s in series:
            stored.setdefault(s["metric"].get("instance", ""), []).extend(
                round(float(t) * 1000) for t, _ in s["values"])
        expected = present = duplicates = 0
        missing: dict[str, int] = {}
        for agent in self.agents:
            want = agent.collections(until_ns=int(until * 1e9))
            got = stored.get(self.instance_of(agent), [])
            hit = want & set(got)
            expected += len(want)
            present += len(hit)
            duplicates += len(got) - len(set(got) & want)
            if len(hit) < len(want):
                missing[agent.host] = len(want) - len(hit)
        rejections = self.store.rejected()
        return Count(len(self.agents), expected, present, duplicates, int(sum(rejections.values())), missing,
                     rejections)

    def settle(self, timeout: float = 240.0, lag: float = 1.0) -> Count:
        """Wait until every collection taken up to now (less ``lag``) is in the store; the count at that point
        (or at the deadline, for the caller to report)."""
        until = time.time() - lag
        last: list[Count] = []

        def complete() -> bool:
            last[:] = [self.count(until)]
            return last[0].present >= last[0].expected

        try:
            wait_until(complete, timeout, "every collection in the store", interval=2.0)
        except AssertionError:
            pass
        return last[-1] if last else self.count(until)

    def wait_collections(self, n: int, timeout: float = 120.0) -> None:
        """Wait until every agent has written at least ``n`` collections since the fleet started."""
        wait_until(lambda: all(len(a.collections()) >= n for a in self.agents), timeout,
                   f"{n} collections per agent")

    def count_logs(self) -> LogCount:
        """Every agent's log records, from its spool (read first: a record is spooled before it is sent), against
        VictoriaLogs: present counts distinct records, duplicates the copies beyond the first."""
        want = {a.host: a.log_records() for a in self.agents}
        got = self.logs.counts_by_host()
        expected = present = duplicates = extra = 0
        per_host: dict[str, tuple[int, int, int]] = {}
        for host, n in want.items():
            stored, distinct = got.get(host, (0, 0))
            per_host[host] = (n, stored, distinct)
            expected += n
            present += min(distinct, n)
            extra += max(distinct - n, 0)
            duplicates += stored - distinct
        return LogCount(expected, present, duplicates, extra, per_host)

    def settle_logs(self, timeout: float = 120.0) -> LogCount:
        """Wait until every spooled log record is in VictoriaLogs (the agents keep logging: each poll reads the
        spools again); the count at that point, or at the deadline."""
        last: list[LogCount] = []

        def complete() -> bool:
            last[:] = [self.count_logs()]
            return last[0].complete

        try:
            wait_until(complete, timeout, "every log record in VictoriaLogs", interval=2.0)
        except AssertionError:
            pass
        return last[-1] if last else self.count_logs()

    def backends_of_hosts(self, until: float) -> dict[str, list[tuple[int, str]]]:
        """Per host: (millisecond timestamp, backend) of every target_info sample up to ``until``, in time
        order: which backend carried the host's batches when (the harness' backend-probe.yaml)."""
        window = int(until - self.started_at + 120)
        series = self.store.query_at(f"target_info[{window}s]", until)
        by_instance: dict[str, list[tuple[int, str]]] = {}
        for s in series:
            backend = s["metric"].get(BACKEND_LABEL, "")
            by_instance.setdefault(s["metric"].get("instance", ""), []).extend(
                (round(float(t) * 1000), backend) for t, _ in s["values"])
        return {a.host: sorted(by_instance.get(self.instance_of(a), [])) for a in self.agents}
