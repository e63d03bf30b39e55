"""One pipeline on one machine, every part a real process: agent -> Collector -> Prometheus 3 / VictoriaLogs.

- the agent: ``otel-mon run`` on a small synthetic host tree (benchmarks/synthhost.py) at a 1 s interval, its
  own spool, pushing OTLP/HTTP to the Collector (or, ``direct``, straight into Prometheus' OTLP receiver);
- the Collector: our distribution (``make stack-bin``) on the shipped collector-config/otelcol.yaml as it is,
  plus a generated overlay (a second ``--config``) that moves its listeners and directories into the test's
  work directory, turns its own telemetry on at a free port and, for the OTLP path, points the metrics
  pipelines at the ``otlp_http/prometheus`` exporter the file ships for that choice;
- Prometheus 3 with the remote-write and OTLP receivers on and an out-of-order window (a drained backlog is
  older than what already arrived);
- VictoriaLogs, the OTLP log store standing in for Loki (which cannot be built here).

Every process keeps its arguments, ports and directories across kill -9 / restart (tests/fleet/fleetkit.Proc).
The question ``Pipeline.count()`` answers: is every collection of the agent's spool in Prometheus, each at its
original timestamp?
"""

from __future__ import annotations

import itertools
import json
import sys
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import yaml

from tests.fleet.fleetkit import (
    PROBE_PROMQL,
    ROOT,
    Proc,
    binary,
    clean_env,
    free_port,
    http_get,
    probe_collections,
    prom_samples,
    wait_until,
)

OTELCOL_YAML = ROOT / "collector-config" / "otelcol.yaml"
DIRECT_EXAMPLE = ROOT / "examples" / "prometheus-otlp.yaml"
Path_ = Literal["remote_write", "otlp"]
PATHS: tuple[Path_, ...] = ("remote_write", "otlp")
# The exporter each metric path ends in, as collector-config/otelcol.yaml names them.
EXPORTER = {"remote_write": "prometheus_remote_write", "otlp": "otlp_http/prometheus"}
INTERVAL = "1s"


class Server(Proc):
    """fleetkit's Proc, except that a process which exits while being waited for fails the wait at once."""

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise AssertionError(f"{self.name} exited ({code}): {self.log_tail()}")
            try:
                if self.ready_url is None or http_get(self.ready_url, 2)[0] == 200:
                    return
            except OSError:
                pass  # not listening yet
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready after {timeout:.0f} s: {self.log_tail()}")


class Prometheus(Server):
    """Prometheus 3 (``make stack-bin``): no scrape jobs; remote write and OTLP in; a 1 h out-of-order window.

    ``promote`` lists the resource attributes its OTLP receiver turns into labels (the agent-direct path has no
    Collector to copy host.name onto each point)."""

    def __init__(self, workdir: Path, promote: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1m"},
            "storage": {"tsdb": {"out_of_order_time_window": "1h"}},
        }
        if promote:
            config["otlp"] = {"promote_resource_attributes": list(promote)}
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        super().__init__("prometheus", [
            binary("prometheus"), f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-remote-write-receiver", "--web.enable-otlp-receiver", "--log.level=warn",
        ], workdir, clean_env(), ready_url=f"http://127.0.0.1:{self.port}/-/ready", http_port=self.port)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str, **params: str) -> Any:
        status, body = http_get(f"{self.base}{path}?{urllib.parse.urlencode(params)}", 30)
        doc = json.loads(body)
        if status != 200 or doc.get("status") != "success":
            raise AssertionError(f"prometheus {path} {params}: {status} {body[:500]!r}")
        return doc["data"]

    def query_at(self, promql: str, at: float) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("/api/v1/query", query=promql, time=f"{at:.3f}")["result"]
        return result

    def counter(self, name: str) -> float:
        status, body = http_get(f"{self.base}/metrics", 10)
        return sum(v for _, v in prom_samples(body.decode(), name)) if status == 200 else 0.0


class LogStore(Server):
    """VictoriaLogs on a free port: OTLP/HTTP logs in, LogsQL out; its data directory survives restarts."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        super().__init__("victoria-logs", [
            binary("victoria-logs"), f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={workdir / 'data'}", "-loggerLevel=WARN", "-retentionPeriod=1d",
        ], workdir, clean_env(), ready_url=f"http://127.0.0.1:{self.port}/health")

    @property
    def otlp_base(self) -> str:
        """What LOKI_OTLP_URL means to otelcol.yaml: the base the otlp_http exporter appends /v1/logs to."""
        return f"http://127.0.0.1:{self.port}/insert/opentelemetry"

    def records(self) -> Counter[tuple[int, str]]:
        """Every stored record as (time in ns, body), with multiplicity: a duplicate counts twice."""
        status, body = http_get(f"http://127.0.0.1:{self.port}/select/logsql/query?"
                                + urllib.parse.urlencode({"query": "* | fields _time, _msg"}), 30)
        if status != 200:
            raise AssertionError(f"victoria-logs query: {status} {body[:300]!r}")
        out: Counter[tuple[int, str]] = Counter()
        for line in body.decode().splitlines():
            if line.strip():
                row = json.loads(line)
                out[(rfc3339_ns(row["_time"]), row.get("_msg", ""))] += 1
        return out


def rfc3339_ns(text: str) -> int:
    """``2026-12-07T20:30:01.123456789Z`` -> ns since the epoch (datetime keeps only microseconds)."""
    stamp, _, frac = text.rstrip("Z").partition(".")
    whole = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(whole.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9])


class Collector(Server):
    """otelcol-otel-mon on the shipped otelcol.yaml plus an overlay: listeners, directories, telemetry, path."""

    def __init__(self, workdir: Path, path: Path_, prometheus: Prometheus, logs: LogStore) -> None:
        self.otlp_port, self.health_port, self.telemetry_port = free_port(), free_port(), free_port()
        shipped = yaml.safe_load(OTELCOL_YAML.read_text())
        extensions: dict[str, Any] = {"health_check": {"endpoint": f"127.0.0.1:{self.health_port}"}}
        for name, ext in shipped["extensions"].items():
            if name.startswith("file_storage"):
                d = str(workdir / name.replace("/", "-"))
                extensions[name] = {"directory": d, **({"compaction": {"directory": d}} if "compaction" in ext else {})}
        receivers: dict[str, Any] = {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{free_port()}"},
                                                            "http": {"endpoint": f"127.0.0.1:{self.otlp_port}"}}}}
        for name, rec in shipped["receivers"].items():
            if "include" in rec:  # no spool to replay from disk here: an empty directory of ours
                receivers[name] = {"include": [str(workdir / "no-spool" / Path(rec["include"][0]).name)]}
        exporters: dict[str, Any] = {}
        for name, exp in shipped["exporters"].items():
            if "wal" in exp:
                exporters[name] = {"wal": {"directory": str(workdir / "prw-wal")}}
        pipelines = {name: {"exporters": [EXPORTER[path]]} for name, p in shipped["service"]["pipelines"].items()
                     if name.startswith("metrics")}
        overlay = {
            "extensions": extensions, "receivers": receivers, "exporters": exporters,
            "service": {"pipelines": pipelines, "telemetry": {"metrics": {"level": "detailed", "readers": [
                {"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": self.telemetry_port}}}}]}}},
        }
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "overlay.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))
        env = clean_env(PROMETHEUS_REMOTE_WRITE_URL=f"{prometheus.base}/api/v1/write",
                        PROMETHEUS_OTLP_URL=f"{prometheus.base}/api/v1/otlp", LOKI_OTLP_URL=logs.otlp_base)
        super().__init__("otelcol", [binary("otelcol-otel-mon"), f"--config={OTELCOL_YAML}",
                                     f"--config={workdir / 'overlay.yaml'}"],
                         workdir, env, ready_url=f"http://127.0.0.1:{self.health_port}/")

    @property
    def otlp_http(self) -> str:
        return f"http://127.0.0.1:{self.otlp_port}"

    def counter(self, name: str, **match: str) -> float:
        status, body = http_get(f"http://127.0.0.1:{self.telemetry_port}/metrics", 5)
        if status != 200:
            return 0.0
        return sum(v for labels, v in prom_samples(body.decode(), name)
                   if all(labels.get(k) == want for k, want in match.items()))


class Agent(Server):
    """``otel-mon run`` on a small synthetic host, 1 s interval, short back-off, OTLP/HTTP to ``endpoint``."""

    def __init__(self, workdir: Path, env: dict[str, str], args: tuple[str, ...] = ()) -> None:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import synthhost

        self.root = synthhost.generate(workdir / "root", synthhost.Size(2, 2, 2, 3))
        (self.root / "etc" / "hostname").write_text("e2e-host\n")
        self.spool = workdir / "spool"
        self.port = free_port()
        super().__init__("agent", [
            sys.executable, "-m", "otel_mon", "run", "--root-path", str(self.root), "--interval", INTERVAL,
            "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.spool),
            "--set", "otlp.backoff_initial=300ms", "--set", "otlp.backoff_max=2s",
            "--set", "otlp.poll_interval=500ms", "--set", "otlp.timeout=10s", *args,
        ], workdir, clean_env(PYTHONPATH=str(ROOT), **env), ready_url=f"http://127.0.0.1:{self.port}/ready")

    def collections(self, until_ns: int | None = None, acknowledged: bool = False) -> set[int]:
        """The millisecond timestamps of the agent's collections, read from every segment of its spool; with
        ``acknowledged`` only those of lines before the forwarder's cursor (the receiver acknowledged them, the
        agent will not send them again)."""
        from otel_mon.spool.reader import SpoolReader

        cursor: tuple[str, int] | None = None
        if acknowledged:
            doc = json.loads((self.spool / "metrics" / ".cursor-forward.json").read_text())
            cursor = (doc["segment"], int(doc["line"]))
        records = SpoolReader(self.spool, "metrics").records()
        if cursor is not None:
            records = itertools.takewhile(lambda rec: (rec.segment, rec.line) < cursor, records)
        return probe_collections(records, until_ns)

    def log_records(self) -> Counter[tuple[int, str]]:
        """Every record of the agent's logs spool as (time in ns, body)."""
        from otel_mon.spool.reader import SpoolReader

        out: Counter[tuple[int, str]] = Counter()
        for rec in SpoolReader(self.spool, "logs").records():
            for rl in rec.data.get("resourceLogs", []):
                for sl in rl.get("scopeLogs", []):
                    for r in sl.get("logRecords", []):
                        ns = int(r.get("timeUnixNano") or r.get("observedTimeUnixNano") or 0)
                        out[(ns, (r.get("body") or {}).get("stringValue", ""))] += 1
        return out


@dataclass
class Count:
    """Collections in the window: expected (the spool), present at their own timestamps, and what is off."""

    expected: int
    present: int
    series: int
    count_over_time: int
    missing: list[int] = field(default_factory=list)
    unexpected: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.present == self.expected == self.count_over_time and not self.unexpected
                and self.series == 1)

    def line(self) -> str:
        return (f"expected={self.expected} present={self.present} count_over_time={self.count_over_time} "
                f"series={self.series} missing={self.missing[:10]}{'...' if len(self.missing) > 10 else ''} "
                f"unexpected={self.unexpected[:10]}")


class Pipeline:
    """The agent, the Collector on one metric path (or none: ``direct``), Prometheus 3 and VictoriaLogs."""

    def __init__(self, workdir: Path, path: Path_ | Literal["direct"]) -> None:
        self.workdir = workdir
        self.path = path
        self.prometheus = Prometheus(workdir / "prometheus", promote=("host.name",) if path == "direct" else ())
        self.logs: LogStore | None = None
        self.collector: Collector | None = None
        args: tuple[str, ...] = ()
        env: dict[str, str] = {}
        if path == "direct":  # the shipped example, with its endpoint moved to this Prometheus
            args = ("--config", str(DIRECT_EXAMPLE),
                    "--set", f"otlp.metrics.endpoint={self.prometheus.base}/api/v1/otlp/v1/metrics")
        else:
            self.logs = LogStore(workdir / "victoria-logs")
            self.collector = Collector(workdir / "otelcol", path, self.prometheus, self.logs)
            env = {"OTEL_EXPORTER_OTLP_ENDPOINT": self.collector.otlp_http}
        self.agent = Agent(workdir / "agent", env, args)
        self.started_at = time.time()

    def procs(self) -> list[Server]:
        return [p for p in (self.prometheus, self.logs, self.collector, self.agent) if p is not None]

    def start(self) -> Pipeline:
        for p in self.procs():
            p.start()
            p.wait_ready(120)
        self.started_at = time.time()
        return self

    def stop(self) -> None:
        for p in reversed(self.procs()):
            p.stop()

    def wait_collections(self, n: int, timeout: float = 60.0) -> int:
        """Wait until the spool holds at least ``n`` collections; how many it holds then."""
        return len(wait_until(lambda: (c := self.agent.collections()) and len(c) >= n and c, timeout,
                              f"{n} collections in the agent's spool"))

    def count(self, until: float) -> Count:
        """Collections up to ``until`` (epoch s): expected from the spool, stored from Prometheus (PromQL)."""
        window = int(until - self.started_at + 300)
        want = self.agent.collections(until_ns=int(until * 1e9))
        series = self.prometheus.query_at(f"{PROBE_PROMQL}[{window}s]", until)
        got = [round(float(t) * 1000) for s in series for t, _ in s["values"]]
        over = self.prometheus.query_at(f"count_over_time({PROBE_PROMQL}[{window}s])", until)
        stored = set(got)
        return Count(expected=len(want), present=len(want & stored), series=len(series),
                     count_over_time=sum(int(float(s["value"][1])) for s in over),
                     missing=sorted(want - stored), unexpected=sorted(stored - want))

    def settle(self, timeout: float = 120.0, lag: float = 2.0) -> Count:
        """Wait until every collection taken up to now (less ``lag``) is in Prometheus; the count then (or at
        the deadline, for the caller to report)."""
        until = time.time() - lag
        last: list[Count] = []

        def complete() -> bool:
            last[:] = [self.count(until)]
            return last[0].present >= last[0].expected and last[0].count_over_time >= last[0].expected

        try:
            wait_until(complete, timeout, "every collection in Prometheus", interval=1.0)
        except AssertionError:
            pass
        return last[-1] if last else self.count(until)

    def stored(self, at: float) -> set[int]:
        """The millisecond timestamps Prometheus holds for the probe series, up to ``at``."""
        window = int(at - self.started_at + 300)
        return {round(float(t) * 1000) for s in self.prometheus.query_at(f"{PROBE_PROMQL}[{window}s]", at)
                for t, _ in s["values"]}

    def behind(self, lag: float = 4.0) -> int:
        """How many collections older than ``lag`` seconds are not in Prometheus yet (the fault bites)."""
        return len(self.count(time.time() - lag).missing)

    def logs_settle(self, timeout: float = 90.0) -> tuple[Counter[tuple[int, str]], Counter[tuple[int, str]]]:
        """(stored, spooled) once they are equal, or at the deadline. The agent keeps logging meanwhile: each
        poll compares the store with what the spool holds at that moment."""
        assert self.logs is not None
        seen: list[tuple[Counter[tuple[int, str]], Counter[tuple[int, str]]]] = []
        logs = self.logs

        def equal() -> bool:
            spooled = self.agent.log_records()
            seen[:] = [(logs.records(), spooled)]
            return seen[0][0] == spooled

        try:
            wait_until(equal, timeout, "every spooled log record in VictoriaLogs, once", interval=2.0)
        except AssertionError:
            pass
        return seen[-1] if seen else (logs.records(), self.agent.log_records())
