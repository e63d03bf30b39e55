"""One number per reading, dashboard included: a real agent on this host, Prometheus 3 scraping it, and the
dashboard's "CPU busy", "Memory used" and "Filesystem used" PromQL evaluated for one collection give the numbers
/health and ``otel-mon report`` give for that collection.

The collection is found in the TSDB by its uptime reading (it changes every collection). The gauges are read at
the first scrape that saw it. CPU busy needs a pair of collections: the dashboard's rate() window is set to span
from the last scrape of the previous collection to the first scrape of this one, so rate() sees those two
samples and nothing else, which is the delta the agent computes. Tolerances only cover
rounding (/health rounds to 3 decimals, 2 for filesystems).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, AgentProcess, agent_env, wait_until
from tests.stack.stackkit import DASHBOARD, Prometheus

pytestmark = pytest.mark.integration

INTERVAL = 2.0  # the agent's collection interval here; the scrape runs four times as often


def _panel_expr(title: str) -> str:
    panel = next(p for p in json.loads(DASHBOARD.read_text())["panels"] if p["title"] == title)
    expr: str = panel["targets"][0]["expr"]
    assert panel["fieldConfig"]["defaults"]["unit"] == "percent", f"{title}: /health speaks percent"
    return expr


def _concrete(expr: str, window_ms: int | None = None) -> str:
    """Grafana's variables as 'All' selects them; $__rate_interval as the given window."""
    if window_ms is not None:
        expr = expr.replace("$__rate_interval", f"{window_ms}ms")
    assert "$__" not in expr, expr
    return re.sub(r"\$\{?(\w+)\}?", ".*", expr)


def _collection_pair(prom: Prometheus, uptime: float) -> tuple[float, float] | None:
    """(last scrape of the previous collection, first scrape of the one whose uptime reading is ``uptime``)."""
    result = prom.query('system_uptime_seconds{job="otel-mon"}[5m]')
    if not result:
        return None
    samples = [(float(t), float(v)) for t, v in result[0]["values"]]
    for i, (t, v) in enumerate(samples):
        if abs(v - uptime) < 0.0015:
            if i == 0:
                return None
            previous_t, previous_v = samples[i - 1]
            # the sample before must be the collection just before (a missed scrape would pair c0 with c2)
            assert 0 < uptime - previous_v < 1.5 * INTERVAL, (previous_v, uptime)
            return previous_t, t
    return None


def _report(data_dir: Path, collected_at: float) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "otel_mon", "report", "--data-dir", str(data_dir), "--json",
         "--from", f"{collected_at - INTERVAL / 2:.3f}", "--to", f"{collected_at + INTERVAL / 2:.3f}"],
        capture_output=True, text=True, timeout=60, env=agent_env(PYTHONPATH=str(ROOT)), cwd=data_dir.parent)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["metrics"]
    assert all(r["samples"] == 1 for r in rows if r["label"] in ("cpu", "memory")), rows
    return {r["label"]: r["avg"] for r in rows}


@pytest.mark.parametrize("per_logical", [False, True], ids=["all-cpus", "per-logical-cpu"])
def test_dashboard_health_and_report_give_one_number(start_agent: Callable[..., AgentProcess], tmp_path: Path,
                                                     per_logical: bool) -> None:
    """With cpu.per_logical the agent averages each CPU's busy share: the panel averages the same way."""
    prom = Prometheus(tmp_path / "prom", {})
    data_dir = tmp_path / "data"
    config = tmp_path / "agent.yaml"
    config.write_text(json.dumps({"cpu": {"per_logical": per_logical}}))
    try:
        agent = start_agent("--interval", f"{INTERVAL:g}s", "--data-dir", str(data_dir), "--config", str(config))
        prom.config_file.write_text(json.dumps({
            "global": {"scrape_interval": "500ms", "scrape_timeout": "400ms"},
            "scrape_configs": [{"job_name": "otel-mon",
                                "static_configs": [{"targets": [f"127.0.0.1:{agent.port}"]}]}],
        }))
        prom.start()

        def health() -> dict[str, Any] | None:
            status, body = agent.get("/health")
            doc: dict[str, Any] = json.loads(body)
            return doc if status == 200 and doc["host"]["cpu_percent"] is not None else None

        wait_until(lambda: health() is not None, 30, interval=0.2, what="a collection with CPU utilisation")
        # Wait for the scrape of at least one collection before the one compared.
        wait_until(lambda: prom.query('count_over_time(system_uptime_seconds{job="otel-mon"}[5m]) >= 4'), 60,
                   interval=0.25, what="scrapes of two collections")
        asked = time.time()
        doc = health()
        assert doc is not None
        host = doc["host"]
        collected_at = asked - doc["snapshot_age_seconds"]
        pair: list[tuple[float, float]] = []
        wait_until(lambda: pair.append(p) is None if (p := _collection_pair(prom, host["uptime_seconds"])) else False,
                   30, interval=0.25, what="the scrape of the compared collection")
        before, at = pair[0]

        memory = prom.query(_concrete(_panel_expr("Memory used")), time=at)
        assert len(memory) == 1
        assert float(memory[0]["value"][1]) == pytest.approx(host["memory_percent"], abs=1.5e-3)

        filesystems = {r["metric"]["system_filesystem_mountpoint"]: float(r["value"][1])
                       for r in prom.query(_concrete(_panel_expr("Filesystem used")), time=at)}
        assert host["filesystems_percent"], "no filesystem on this host?"
        for mount, percent in host["filesystems_percent"].items():
            assert filesystems[mount] == pytest.approx(percent, abs=0.006), mount

        # Prometheus 3's range is left-open, (at - window, at]: 1 ms more than the pair's distance takes in the
        # earlier sample and nothing before it (the scrape before that is 500 ms earlier). The extrapolation over
        # that 1 ms is the same factor for every series of the ratio, so it cancels.
        window_ms = round((at - before) * 1000) + 1
        cpu = prom.query(_concrete(_panel_expr("CPU busy"), window_ms), time=at)
        assert len(cpu) == 1
        assert float(cpu[0]["value"][1]) == pytest.approx(host["cpu_percent"], abs=1.5e-3)

        report: dict[str, float] = {}
        wait_until(lambda: report.update(_report(data_dir, collected_at)) or "cpu" in report, 30, interval=0.5,
                   what="the collection in the spool")
        assert report["memory"] == pytest.approx(host["memory_percent"], abs=1e-3)
        assert report["cpu"] == pytest.approx(host["cpu_percent"], abs=1e-3)
        for mount, percent in host["filesystems_percent"].items():
            assert report[f"filesystem {mount}"] == pytest.approx(percent, abs=0.006), mount
    finally:
        prom.stop()
