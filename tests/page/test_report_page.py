"""``otel-mon report --html`` from a real agent's spool, opened in headless Chromium: self-contained, no
script, gaps drawn as gaps, the same figures as the text report, and the README's screenshot."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pagekit import Page, save_screenshot

from otel_mon.report.html import fmt
from tests.conftest import ROOT, AgentProcess, agent_env, free_port, wait_until


def run_agent(start_agent: Callable[..., AgentProcess], cfg: Path, spool: Path, seconds: float) -> None:
    agent = start_agent("--config", str(cfg), "--data-dir", str(spool), env=agent_env(PYTHONPATH=str(ROOT)))
    began = json.loads(agent.get("/health")[1])["agent_uptime_seconds"]
    wait_until(lambda: json.loads(agent.get("/health")[1])["agent_uptime_seconds"] > began + seconds,
               seconds + 30, interval=0.2, what=f"{seconds}s of collections")
    assert agent.stop() == 0


def report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "otel_mon", "report", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=agent_env(PYTHONPATH=str(ROOT)))


def test_html_report_in_chromium(page: Page, start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    closed = free_port()
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(f"""
interval: 250ms
probes:
  - {{name: postgres, kind: tcp, host: 127.0.0.1, port: {closed}, interval: 1s, timeout: 500ms}}
health:
  default_for: 0s
  rules:
    - {{reading: cpu, warning: 75, critical: 90}}
    - {{reading: memory, warning: 75, critical: 90}}
    - {{reading: filesystem, warning: 80, critical: 95}}
    - {{reading: probe.failure, warning: 1}}
""")
    spool = tmp_path / "spool"
    began = time.time()
    run_agent(start_agent, cfg, spool, 12)
    time.sleep(6)  # the agent is down: this stretch must show as a gap, not as zeros
    run_agent(start_agent, cfg, spool, 12)
    window = ("--from", f"{began - 2:.3f}", "--to", f"{time.time() + 1:.3f}")
    out = tmp_path / "report.html"
    done = report("--data-dir", str(spool), "--html", str(out), "--bucket", "2s", *window)
    assert done.returncode == 0, done.stderr
    table = report("--data-dir", str(spool), "--json", *window)
    figures: dict[str, Any] = {m["label"]: m for m in json.loads(table.stdout)["metrics"]}

    html = out.read_text()
    assert "<script" not in html and "://" not in html.replace("http://www.w3.org/2000/svg", "")
    page.navigate(out.as_uri())
    page.pump(0.3)
    assert page.requests() == [out.as_uri()]  # nothing fetched but the file itself
    assert page.problems() == []
    charts = page.evaluate("document.querySelectorAll('section.card svg').length")
    assert charts >= 4
    gaps = page.evaluate("Array.from(document.querySelectorAll('section.card')).find("
                         "s => s.querySelector('h3').textContent === 'CPU').querySelectorAll('rect.gap').length")
    assert gaps >= 2  # six seconds without data: at least two 2-second buckets
    rows = page.evaluate("Array.from(document.querySelectorAll('h2')).find(h => h.textContent === 'Transitions')"
                         ".nextElementSibling.querySelectorAll('tbody tr').length")
    assert rows >= 2  # the probe failure rose to warning in each run
    summary = json.loads(page.evaluate(
        "JSON.stringify(Array.from(document.querySelectorAll('h2')).find(h => h.textContent === 'Summary')"
        ".nextElementSibling.querySelector('tbody tr').textContent)"))
    assert summary.startswith("CPU") and fmt(figures["cpu"]["avg"], "%") in summary  # the text report's figure
    png = page.screenshot(1280)
    assert save_screenshot(png, "report.png", tmp_path).stat().st_size > 20_000
