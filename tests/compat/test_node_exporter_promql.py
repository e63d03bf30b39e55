"""A Prometheus scraping node_exporter 1.12.1 (job node) and the agent's /metrics/node_exporter (job agent)
evaluates the usual dashboard and alert expressions to the same results, at the same evaluation time."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from otel_mon.host.disk import DisksConfig
from otel_mon.host.network import InterfacesConfig
from tests.compat.peers import STACK_BIN, NodeExporter, get
from tests.compat.test_node_exporter_side_by_side import FilesystemConfig, glob_regex
from tests.conftest import AgentProcess, free_port, need_binary, stop_process, wait_until

pytestmark = pytest.mark.integration

W = "[20s]"
# expression (with JOB where the job selector goes) -> absolute tolerance between the two jobs' results
EXPRESSIONS: dict[str, float] = {
    # CPU busy, as a fraction of all CPUs (node-mixin's instance:node_cpu_utilisation:rate)
    f'1 - avg without (cpu, mode) (rate(node_cpu_seconds_total{{JOB,mode="idle"}}{W}))': 0.08,
    # memory available, percent
    "100 * node_memory_MemAvailable_bytes{JOB} / node_memory_MemTotal_bytes{JOB}": 3.0,
    # filesystem space available, percent, per mount
    "100 * node_filesystem_avail_bytes{JOB} / node_filesystem_size_bytes{JOB}": 1.0,
    # disk and network rates (bytes/s; the agent's and node_exporter's windows differ by at most a scrape)
    f"rate(node_disk_read_bytes_total{{JOB}}{W})": 4e6,
    f"rate(node_disk_written_bytes_total{{JOB}}{W})": 8e6,
    f"rate(node_disk_io_time_seconds_total{{JOB}}{W})": 0.15,
    f"rate(node_network_receive_bytes_total{{JOB}}{W})": 2e5,
    f"rate(node_network_transmit_bytes_total{{JOB}}{W})": 2e5,
    # load per CPU (node-mixin's NodeLoad alerts)
    'node_load1{JOB} / on (instance) count by (instance) (node_cpu_seconds_total{JOB,mode="idle"})': 0.5,
    # uptime
    "time() - node_boot_time_seconds{JOB}": 2.0,
    # an alert expression: filesystem almost full (no result on a healthy host either way)
    "node_filesystem_avail_bytes{JOB} / node_filesystem_size_bytes{JOB} < 0.05 and node_filesystem_readonly{JOB} == 0":
        0.0,
}


def prometheus_binary() -> str:
    built = STACK_BIN / "prometheus"
    return str(built) if built.is_file() else need_binary("prometheus")


@pytest.fixture
def prometheus(start_agent: Callable[..., AgentProcess], tmp_path: Path) -> Iterator[str]:
    fs = FilesystemConfig()
    exporter = NodeExporter(
        tmp_path,
        f"--collector.diskstats.device-exclude={glob_regex(DisksConfig().exclude)}",
        f"--collector.netdev.device-exclude={glob_regex(InterfacesConfig().exclude)}",
        f"--collector.filesystem.fs-types-exclude={glob_regex(fs.types.exclude)}",
        f"--collector.filesystem.mount-points-exclude={glob_regex(fs.mountpoints.exclude)}",
    )
    agent = start_agent("--interval", "1s", "--set", "compat.node_exporter=true", "--set", "spool.enabled=false")
    port = free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n"
        f"  - job_name: node\n    static_configs: [{{targets: ['127.0.0.1:{exporter.port}']}}]\n"
        "  - job_name: agent\n    metrics_path: /metrics/node_exporter\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{agent.port}']}}]\n")
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([prometheus_binary(), f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
        log.close()
        exporter.stop()
        shutil.rmtree(tmp_path / "tsdb", ignore_errors=True)


def query(base: str, promql: str, at: float) -> dict[str, float]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql, 'time': f'{at:.3f}'})}"
    doc = json.loads(get(url))
    assert doc["status"] == "success", doc
    out = {}
    for r in doc["data"]["result"]:
        labels = {k: v for k, v in r["metric"].items() if k not in ("job", "instance")}
        out[json.dumps(labels, sort_keys=True)] = float(r["value"][1])
    return out


def test_dashboard_and_alert_expressions_agree(prometheus: str) -> None:
    def scraped_long_enough() -> bool:
        both = '(count(up{job=~"node|agent"} == 1) == 2) and on () (min(count_over_time(up[25s])) >= 20)'
        return len(query(prometheus, both, time.time())) == 1

    # both targets up for 20+ scrapes, so every [20s] window is full for both jobs
    wait_until(scraped_long_enough, 120, interval=1.0, what="20 s of scrapes of both targets")
    at = time.time() - 2  # an evaluation time both jobs' last scrapes have passed
    problems = []
    for expression, tolerance in EXPRESSIONS.items():
        node = query(prometheus, expression.replace("JOB", 'job="node"'), at)
        agent = query(prometheus, expression.replace("JOB", 'job="agent"'), at)
        if "<" not in expression:
            assert node, expression  # the host has every one of these
        if node.keys() != agent.keys():
            problems.append(f"{expression}: series differ: node {sorted(node)} agent {sorted(agent)}")
            continue
        for labels, value in node.items():
            if abs(value - agent[labels]) > tolerance:
                problems.append(f"{expression} {labels}: node {value:g}, agent {agent[labels]:g} (+-{tolerance:g})")
    assert problems == [], "\n".join(problems)
