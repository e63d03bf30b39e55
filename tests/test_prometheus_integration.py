"""A real Prometheus server (Debian's package) scrapes a real agent; PromQL sees semconv-derived series."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AgentProcess, free_port, stack_binary, wait_until

pytestmark = pytest.mark.integration


class Prometheus:
    def __init__(self, binary: str, target: str, workdir: Path) -> None:
        self.port = free_port()
        cfg = workdir / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
            "scrape_configs:\n  - job_name: otel-mon\n    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        self.log = open(workdir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={cfg}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.loads(resp.read())

    def query(self, promql: str) -> list[dict[str, Any]]:
        doc = self.api("/api/v1/query", query=promql)
        assert doc["status"] == "success", doc
        result: list[dict[str, Any]] = doc["data"]["result"]
        return result

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture
def scraped(start_agent: Callable[..., AgentProcess], tmp_path: Path) -> Iterator[tuple[Prometheus, AgentProcess]]:
    binary = stack_binary("prometheus")
    agent = start_agent("--interval", "1s", "--set", "interfaces.exclude=")
    prom = Prometheus(binary, f"127.0.0.1:{agent.port}", tmp_path)
    try:
        wait_until(lambda: _ready(prom), 60, what="prometheus ready")
        yield prom, agent
    finally:
        prom.stop()


def _ready(prom: Prometheus) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{prom.port}/-/ready", timeout=2) as resp:
        return resp.status == 200


def test_prometheus_sees_semconv_series_and_sane_cpu_rate(scraped: tuple[Prometheus, AgentProcess]) -> None:
    prom, _agent = scraped
    up = wait_until(lambda: [r for r in prom.query('up{job="otel-mon"}') if r["value"][1] == "1"], 30,
                    what="target up")
    assert up
    modes = wait_until(lambda: prom.query("system_cpu_time_seconds_total"), 30, what="cpu series")
    assert {r["metric"]["cpu_mode"] for r in modes} >= {"user", "system", "idle", "iowait"}
    # Every CPU-second is spent in some mode: summed over modes, rate() is the number of CPUs.
    # Scrapes and collections both run every second, so two scrapes can see the same snapshot, and on a loaded
    # machine a scrape can see a snapshot seconds old: judge the rate over a window of many samples.
    wait_until(lambda: [r for r in prom.query('count_over_time(system_cpu_time_seconds_total{cpu_mode="idle"}[40s])')
                        if float(r["value"][1]) >= 35], 90, what="40 s of samples")
    rate = prom.query("sum(rate(system_cpu_time_seconds_total[40s]))")
    ncpu = os.cpu_count() or 1
    assert float(rate[0]["value"][1]) == pytest.approx(ncpu, rel=0.25)
    used = prom.query('system_memory_usage_bytes{system_memory_state="used"}')  # MemTotal - MemAvailable
    limit = prom.query("system_memory_limit_bytes")
    assert 0 < float(used[0]["value"][1]) < float(limit[0]["value"][1])
    fs = prom.query('system_filesystem_usage_bytes{system_filesystem_mountpoint="/"}')
    assert {r["metric"]["system_filesystem_state"] for r in fs} == {"used", "free", "reserved"}
    net = prom.query('rate(system_network_io_bytes_total{network_interface_name="lo"}[5s])')
    assert {r["metric"]["network_io_direction"] for r in net} == {"receive", "transmit"}
    assert all(float(r["value"][1]) >= 0 for r in net)
    # Dashboards filter on host_name: the agent labels its series like the collector path does.
    import socket

    labelled = prom.query(f'system_memory_limit_bytes{{host_name="{socket.gethostname()}", service_name="otel-mon"}}')
    assert len(labelled) == 1
    info = prom.query("target_info")
    assert info and info[0]["metric"]["service_name"] == "otel-mon" and info[0]["metric"]["os_type"] == "linux"
    # No duplicate python process_* series from prometheus_client's default collectors.
    assert prom.query("python_gc_objects_collected_total") == []
    assert prom.query("process_resident_memory_bytes") == []
    assert prom.query("process_memory_usage_bytes")
    agent_ok = prom.query('otel_mon_collector_success{otel_mon_collector="cpu"}')
    assert agent_ok and agent_ok[0]["value"][1] == "1"
