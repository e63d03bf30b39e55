"""The status page at 3 a.m. (issue 24 item 11, issue 21): the state in the first HTML before any script, with
scripts off in Chromium, the clock, iowait, pressure, inodes and failed units shown, one no-data badge, load
labels that say which load is which, and a two-point sparkline that is no ramp."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pagekit import Page

from tests.conftest import ROOT, AgentProcess, agent_env, wait_until

RULES = """
interval: 500ms
health:
  rules:
    - {reading: cpu, warning: 75, critical: 90}
    - {reading: filesystem, instance: /no/such/mount, warning: 80}
    - {reading: clock.max_error, warning: 1, for: 0s}
"""


def agent_with_rules(tmp_path: Path, start_agent: Callable[..., AgentProcess], **env: str) -> AgentProcess:
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(RULES)
    token = env.get("OTEL_MON_HTTP__TOKEN")
    agent = start_agent("--config", str(cfg), "--data-dir", str(tmp_path / "spool"),
                        env=agent_env(PYTHONPATH=str(ROOT), **env), ready=token is None)
    if token:
        wait_until(lambda: agent.get("/ready", {"Authorization": f"Bearer {token}"})[0] == 200, 30, what="ready")
    return agent


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        body: bytes = resp.read()
    return body.decode()


def health(agent: AgentProcess) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(agent.get("/health")[1])
    return doc


def first_view(html: str) -> dict[str, str]:
    return dict(re.findall(r'<dd id="fv-([^"]+)">([^<]*)</dd>', html))


def test_the_first_html_already_holds_the_host_state(start_agent: Callable[..., AgentProcess],
                                                    tmp_path: Path) -> None:
    agent = agent_with_rules(tmp_path, start_agent)

    def settled() -> tuple[dict[str, Any], str] | None:
        before = health(agent)
        html = fetch(agent.base + "/")
        after = health(agent)
        if before.get("host", {}).get("cpu_percent") is None or \
                before["snapshot_age_seconds"] > after["snapshot_age_seconds"]:
            return None  # no CPU % yet, or a collection ran in between
        return after, html

    doc, html = wait_until(settled, 30, interval=0.05, what="/ and /health from one collection")
    assert "connecting…" not in html
    figures = first_view(html)
    state = doc["health"]["status"]
    # The clock rule warns above 1 s of max error: this machine's clock (unsynchronised, 16 s) does.
    assert state == ("warning" if doc["host"]["clock"]["max_error_seconds"] > 1 else "ok")
    assert figures["health"] == state
    assert figures["cpu"] == f"{doc['host']['cpu_percent']:.1f} %"
    assert figures["memory"] == f"{doc['host']['memory_percent']:.1f} %"
    assert re.match(r"^1m \d+\.\d\d · 5m \d+\.\d\d · 15m \d+\.\d\d$", figures["load-raw"])
    assert figures["fs-/"].endswith("%") and "inodes" in figures["fs-/"]
    clock = doc["host"]["clock"]
    assert figures["clock"].startswith("synchronised" if clock["synchronized"] else "NOT synchronised")
    badge = re.search(r'<span id="state" class="badge" data-state="([^"]+)"[^>]*>([^<]*)</span>', html)
    assert badge is not None and badge.groups() == (state, state)
    host = re.search(r'<h1 id="host">([^<]*)</h1>', html)
    assert host is not None and host[1] and host[1] != "otel-mon"


def test_with_a_token_the_public_shell_holds_no_host_state(start_agent: Callable[..., AgentProcess],
                                                          tmp_path: Path) -> None:
    agent = agent_with_rules(tmp_path, start_agent, OTEL_MON_HTTP__TOKEN="t0ken-first-view")
    html = fetch(agent.base + "/")
    assert 'data-auth="bearer"' in html and 'id="first-view"' not in html and "connecting…" in html


@contextmanager
def scripts_off(page: Page) -> Iterator[None]:
    page.send("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        yield
    finally:
        page.send("Emulation.setScriptExecutionDisabled", {"value": False})


def test_chromium_without_scripts_shows_the_state(page: Page, start_agent: Callable[..., AgentProcess],
                                                  tmp_path: Path) -> None:
    agent = agent_with_rules(tmp_path, start_agent)
    with scripts_off(page):
        page.navigate(agent.base + "/")
        shown = json.loads(page.evaluate("""JSON.stringify({
          visible: document.getElementById('first-view').offsetHeight > 0,
          main: document.getElementById('main').hidden,
          health: document.getElementById('fv-health').textContent,
          state: document.getElementById('state').textContent,
          rendered: document.body.dataset.rendered || null})"""))
    assert shown["visible"] and shown["main"] and shown["rendered"] is None  # the script did not run
    assert shown["health"] == shown["state"] == health(agent)["health"]["status"]


def test_chromium_with_scripts_shows_clock_no_data_and_load_labels(
        page: Page, start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    agent = agent_with_rules(tmp_path, start_agent)
    page.navigate(agent.base + "/")
    page.wait_for("document.body.dataset.rendered === 'true' && !!document.getElementById('cpu-value').dataset.value")
    doc = health(agent)
    shown = json.loads(page.evaluate("""JSON.stringify({
      firstHidden: document.getElementById('first-view').hidden,
      clock: document.getElementById('clock-value').textContent,
      clockSub: document.querySelector('#card-clock .sub').textContent,
      clockState: document.getElementById('card-clock').dataset.state,
      loadLabel: document.querySelector('#card-load .label').textContent,
      loadSub: document.querySelector('#card-load .sub').textContent,
      fsSub: document.querySelector('[id="card-fs-/"] .sub').textContent,
      iowait: !!document.getElementById('iowait-value'),
      noData: [...document.querySelectorAll('#rules tbody tr')].filter((tr) =>
        tr.dataset.rule === 'filesystem:/no/such/mount').map((tr) => {
          const b = tr.querySelector('.badge'); return [b.dataset.state, b.textContent]; }),
    })"""))
    assert shown["firstHidden"]
    synced = doc["host"]["clock"]["synchronized"]
    assert shown["clock"] == ("synchronised" if synced else "NOT synchronised")
    assert shown["clockSub"].startswith("max error ") and "warn 1 s" in shown["clockSub"]
    (clock_rule,) = [r for r in doc["health"]["rules"] if r["rule"] == "clock.max_error"]
    assert shown["clockState"] == clock_rule["state"]
    assert shown["loadLabel"] == "Load per CPU (1m)" and shown["loadSub"].startswith("load (all CPUs) 1m ")
    assert " · inodes " in shown["fsSub"] and shown["iowait"]
    (row,) = [r for r in doc["health"]["rules"] if r["rule"] == "filesystem:/no/such/mount"]
    assert row["state"] == "no_data" and shown["noData"] == [["no_data", "no data"]]
    assert page.problems() == []


def test_failed_units_and_a_two_point_sparkline(page: Page) -> None:
    """A stand-in document: two failed units (the systemd domain's readings), and two CPU samples."""
    from prometheus_client import CollectorRegistry

    from otel_mon.config import HttpConfig
    from otel_mon.http import HttpServer
    from otel_mon.web import PUBLIC, History, StatusPage

    units: list[str] = ["backup.service", "nginx.service"]
    measured = "2026-12-07T20:31:02.120Z"

    def status() -> tuple[int, dict[str, Any]]:
        return 200, {"status": "ok", "interval_seconds": 10, "agent_uptime_seconds": 5, "snapshot_age_seconds": 1,
                     "host": {"cpu_percent": 30.0, "memory_percent": 2.0, "load": [0.1, 0.1, 0.1],
                              "failed_units": list(units)},
                     "health": {"status": "warning", "rules": [{
                         "rule": "cpu", "instance": "", "state": "warning", "value": 80.0, "since": measured,
                         "why": "80 % >= warning 75 %", "warning": 75, "critical": 90, "unit": "%",
                         "context": {"by": "cpu", "measured_at": measured, "processes": [
                             {"pid": 4242, "name": "stress", "user": "root", "cpu_percent": 99.1}]}}]}}

    history = History(10.0)
    history.add(1000.0, {"cpu": 10.0})
    history.add(1010.0, {"cpu": 30.0})
    page_routes = StatusPage({"host": "box"}, status, history, list)
    server = HttpServer(HttpConfig(port=0), CollectorRegistry(), status, lambda: True, pages=page_routes.routes(),
                        public=PUBLIC)
    with server:
        html = fetch(f"http://127.0.0.1:{server.port}/")
        assert first_view(html)["failed-units"] == "backup.service, nginx.service"
        page.navigate(f"http://127.0.0.1:{server.port}/")
        page.wait_for("document.body.dataset.rendered === 'true'")
        shown = json.loads(page.evaluate("""JSON.stringify({
          hidden: document.getElementById('units-panel').hidden,
          units: [...document.querySelectorAll('#failed-units li')].map((li) => li.textContent),
          line: document.querySelector('#card-cpu svg path.line').getAttribute('d'),
          context: document.querySelector('#rules .context').textContent})"""))
        # The culprit may have exited long since: the context says when it was measured.
        assert shown["context"].startswith("top by CPU (% of one core) at 20:31:02 UTC (")
        assert shown["context"].endswith(" ago): 4242 stress (root) 99.1 %"), shown["context"]
        assert not shown["hidden"] and shown["units"] == units
        # Two samples: two level ticks (each M x y L x' y at one height), not a line from one to the other.
        segments = re.findall(r"M([\d.]+) ([\d.]+)L([\d.]+) ([\d.]+)", shown["line"])
        assert len(segments) == 2 and all(y0 == y1 for _x0, y0, _x1, y1 in segments), shown["line"]
        assert segments[0][1] != segments[1][1]  # 10 % and 30 % at their own heights
        units.clear()
        page.evaluate("window.otelMon.refresh()", await_promise=True)
        none = page.evaluate("document.getElementById('no-failed-units').hidden")
        assert none is False and page.evaluate("document.querySelectorAll('#failed-units li').length") == 0
        assert page.problems() == []
