"""Real servers for the stack tests: Prometheus 3 and Alertmanager 0.35 from `make stack-bin`, on free ports.

A Prometheus keeps its port and TSDB directory across ``stop()`` / ``start()``, so a test can take it down
for an outage and bring the same server back. Every wait polls with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT, free_port, stack_binary, stop_process, wait_until

COMPOSE = ROOT / "compose"
RULES_DIR = COMPOSE / "prometheus" / "rules"
ALERTMANAGER_CONFIG = COMPOSE / "alertmanager" / "alertmanager.yml"
DASHBOARD = COMPOSE / "grafana" / "provisioning" / "dashboards" / "otel-mon.json"


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


class Prometheus:
    """``prometheus`` with a generated config; remote-write and OTLP receivers on, an out-of-order window set.

    ``flags`` replaces the default command-line flags (config, TSDB path and listen address are always added);
    ``config_file`` runs an existing file (the shipped one) instead of writing ``config``."""

    DEFAULT_FLAGS = ("--web.enable-remote-write-receiver", "--web.enable-otlp-receiver", "--web.enable-lifecycle")

    def __init__(
        self, workdir: Path, config: dict[str, Any], ooo_window: str = "30m", binary: str | None = None,
        flags: tuple[str, ...] | None = None, config_file: Path | None = None,
    ) -> None:
        self.binary = binary or stack_binary("prometheus")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.flags = self.DEFAULT_FLAGS if flags is None else flags
        if config_file is None:
            config = dict(config)
            config.setdefault("storage", {"tsdb": {"out_of_order_time_window": ooo_window}})
            config_file = workdir / "prometheus.yml"
            config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        self.config_file = config_file
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def write_url(self) -> str:
        return f"{self.base}/api/v1/write"

    @property
    def otlp_url(self) -> str:
        """The OTLP/HTTP base (an exporter or the agent appends /v1/metrics)."""
        return f"{self.base}/api/v1/otlp"

    def otlp(self, body: bytes, content_type: str = "application/x-protobuf") -> int:
        """POST one OTLP metrics request; the HTTP status."""
        request = urllib.request.Request(f"{self.otlp_url}/v1/metrics", data=body, method="POST",
                                         headers={"Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)

    def start(self, timeout: float = 60.0) -> None:
        self.starts += 1
        log = open(self.workdir / f"prometheus-{self.starts}.log", "wb")
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={self.config_file}", f"--storage.tsdb.path={self.workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", *self.flags],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until(self.ready, timeout, interval=0.2, what="prometheus /-/ready")

    def ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited with {self.proc.returncode}: {self.log_text()[-2000:]}")
        return http_get(f"{self.base}/-/ready", 2)[0] == 200

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("prometheus-*.log")))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def api(self, path: str, **params: str) -> Any:
        status, body = http_get(f"{self.base}{path}?{urllib.parse.urlencode(params)}", 10)
        doc = json.loads(body)
        assert status == 200 and doc["status"] == "success", (status, doc)
        return doc["data"]

    def query(self, promql: str, time: float | None = None) -> list[dict[str, Any]]:
        params = {"query": promql}
        if time is not None:
            params["time"] = f"{time:.3f}"
        data = self.api("/api/v1/query", **params)
        result: list[dict[str, Any]] = data["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.api("/api/v1/alerts")["alerts"]
        return alerts


class Alertmanager:
    """``prometheus-alertmanager`` with a given config, no clustering, on a free port."""

    def __init__(self, workdir: Path, config_file: Path) -> None:
        self.binary = stack_binary("alertmanager")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / "alertmanager.log", "wb")
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={config_file}", f"--storage.path={workdir / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ},
        )
        wait_until(self.ready, 60, interval=0.2, what="alertmanager /-/ready")

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"alertmanager exited: {(self.workdir / 'alertmanager.log').read_text()[-2000:]}")
        return http_get(f"{self.base}/-/ready", 2)[0] == 200

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()
