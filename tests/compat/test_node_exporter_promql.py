"""One Prometheus 3 (the pinned build) scraping node_exporter 1.12.1 (job node), the agent's /metrics/node_exporter
(job agent) and the agent's own /metrics (job otel) at once: the usual dashboard and alert expressions give
the same series and close values on both node_* jobs at the same evaluation time, and every PromQL rewrite in
docs/migrating-from-node-exporter.md parses and runs there (both sides of each table row, and the guide's rule
file through `promtool check rules`), each returning series where this host has the data."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.compat.peers import get, node_exporter_as_the_agent
from tests.conftest import ROOT, AgentProcess, free_port, stack_binary, stop_process, wait_until

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
    path = stack_binary("prometheus")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    assert "prometheus, version 3." in out.stdout + out.stderr, out.stdout + out.stderr
    return path


@pytest.fixture
def prometheus(start_agent: Callable[..., AgentProcess], tmp_path: Path) -> Iterator[str]:
    exporter = node_exporter_as_the_agent(tmp_path)
    # conntrack is opt-in on the agent (node_exporter's is on by default): on, so both sides have it
    agent = start_agent("--interval", "1s", "--set", "compat.node_exporter=true", "--set", "spool.enabled=false",
                        "--set", "collectors.conntrack=true")
    port = free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n"
        f"  - job_name: node\n    static_configs: [{{targets: ['127.0.0.1:{exporter.port}']}}]\n"
        "  - job_name: agent\n    metrics_path: /metrics/node_exporter\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{agent.port}']}}]\n"
        f"  - job_name: otel\n    static_configs: [{{targets: ['127.0.0.1:{agent.port}']}}]\n")
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


def scraped_long_enough(prometheus: str) -> bool:
    every = '(count(up{job=~"node|agent|otel"} == 1) == 3) and on () (min(count_over_time(up[25s])) >= 20)'
    return len(query(prometheus, every, time.time())) == 1


def test_dashboard_and_alert_expressions_agree(prometheus: str) -> None:
    # every target up for 20+ scrapes, so every [20s] window is full for both jobs
    wait_until(lambda: scraped_long_enough(prometheus), 120, interval=1.0, what="20 s of scrapes of the targets")
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


GUIDE = ROOT / "docs" / "migrating-from-node-exporter.md"
# Rewrites this host cannot give data for, either side (checked against the host, so they can still fail).
NO_DATA_HERE: dict[str, Callable[[], bool]] = {
    "temperature": lambda: not any(Path("/sys/class/hwmon").glob("hwmon*/temp*_input")),
    "PSI io stalled": lambda: not Path("/proc/pressure/io").exists(),
    "conntrack %": lambda: not Path("/proc/sys/net/netfilter/nf_conntrack_count").exists(),
    "OOM kills": lambda: "oom_kill " not in Path("/proc/vmstat").read_text(),
    "swap used": lambda: len(Path("/proc/swaps").read_text().splitlines()) < 2,  # no swap device: no paging usage
}
# The series a rewrite that filters reads, when the filter rightly selects nothing here (no read-only mount
# among the agent's filesystems on a healthy host).
PRESENCE = {"system_filesystem_limit_bytes{system_filesystem_mode=\"ro\"}": "system_filesystem_limit_bytes"}


def _rewrites() -> list[tuple[str, str, str]]:
    """(panel, node_exporter expression, OpenTelemetry expression) of the guide's rewrite table."""
    text = GUIDE.read_text()
    table = text[text.index("## PromQL rewrites"):text.index("## node-mixin-style alerts")]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 3 or not cells[1].startswith("`"):
            continue
        left, right = (re.match(r"`([^`]+)`", c) for c in cells[1:])
        assert left and right, line
        rows.append((cells[0], left.group(1), right.group(1)))
    return rows


def _presence(expr: str) -> str:
    """The expression without its trailing comparison (an alert condition is rightly empty on a healthy host)."""
    bare = re.sub(r"\s*(==|!=|<|>)\s*[\d.]+\s*$", "", expr)
    return PRESENCE.get(bare, bare)


def test_every_rewrite_in_the_migration_guide_parses_and_runs(prometheus: str, tmp_path: Path) -> None:
    rows = _rewrites()
    assert len(rows) >= 20, rows
    wait_until(lambda: scraped_long_enough(prometheus), 120, interval=1.0, what="20 s of scrapes of the targets")
    at = time.time() - 2
    problems = []
    for panel, node_expr, otel_expr in rows:
        skip = NO_DATA_HERE.get(panel, lambda: False)()
        for side, expr, jobs in (("node_exporter", node_expr, {"node", "agent"}), ("otel", otel_expr, {"otel"})):
            url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr, 'time': f'{at:.3f}'})}"
            try:
                doc = json.loads(get(url))  # a PromQL error is a 400 with the parser's message
            except urllib.error.HTTPError as err:
                problems.append(f"{panel} ({side}): {expr}: {err.read().decode(errors='replace')}")
                continue
            if skip:
                continue
            present = query(prometheus, _presence(expr), at)
            raw = json.loads(get(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode(
                {"query": f"count by (job) ({_presence(expr)})", "time": f"{at:.3f}"})))["data"]["result"]
            seen = {r["metric"].get("job") for r in raw}
            if not present:
                problems.append(f"{panel} ({side}): no data: {_presence(expr)}")
            elif None not in seen and not jobs <= seen:
                problems.append(f"{panel} ({side}): data only from {sorted(seen)}")
            assert doc["status"] == "success"
    assert problems == [], "\n".join(problems)


def test_the_guides_rule_file_passes_promtool(tmp_path: Path) -> None:
    text = GUIDE.read_text()
    block = re.search(r"```yaml  # prometheus rules\n(.*?)```", text, re.S)
    assert block, "the guide's rule file"
    rules = tmp_path / "node-otel.yml"
    rules.write_text(block.group(1))
    out = subprocess.run([stack_binary("promtool"), "check", "rules", str(rules)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 8 rules found" in out.stdout + out.stderr
