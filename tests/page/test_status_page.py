"""The live status page in headless Chromium against a real agent: no outside requests, no console errors,
numbers that match /health, the token flow, and the README's screenshot."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pagekit import Page, save_screenshot

from tests.conftest import ROOT, AgentProcess, agent_env, free_port, wait_until

TOKEN = "page-t0ken"


@pytest.fixture
def listening() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel completes them from the backlog)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield int(s.getsockname()[1])


def config(tmp_path: Path, interval: str, up_port: int) -> Path:
    """Default rules plus two probes: a port that answers (up) and a port nobody listens on (down)."""
    closed = free_port()
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(f"""
interval: {interval}
probes:
  - {{name: web, kind: tcp, host: 127.0.0.1, port: {up_port}, interval: 1s, timeout: 500ms}}
  - {{name: postgres, kind: tcp, host: 127.0.0.1, port: {closed}, interval: 1s, timeout: 500ms}}
health:
  default_for: 2s
  rules:
    - {{reading: cpu, warning: 75, critical: 90}}
    - {{reading: memory, warning: 75, critical: 90}}
    - {{reading: load, warning: 1.5, critical: 4}}
    - {{reading: filesystem, warning: 80, critical: 95}}
    - {{reading: temperature, warning: 70, critical: 85}}
    - {{reading: probe.latency, warning: 100, critical: 250}}
    - {{reading: probe.failure, warning: 1}}
""")
    return cfg


def start(tmp_path: Path, start_agent: Callable[..., AgentProcess], up_port: int, interval: str = "500ms",
          **env: str) -> AgentProcess:
    token = env.get("OTEL_MON_HTTP__TOKEN")
    agent = start_agent("--config", str(config(tmp_path, interval, up_port)), "--data-dir", str(tmp_path / "spool"),
                        env=agent_env(PYTHONPATH=str(ROOT), **env), ready=token is None)
    if token is not None:
        wait_until(lambda: agent.get("/ready", {"Authorization": f"Bearer {token}"})[0] == 200, 30, what="ready")
    return agent


def health(agent: AgentProcess, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    code, body = agent.get("/health", headers)
    assert code in (200, 503), body
    doc: dict[str, Any] = json.loads(body)
    return doc


def collection(doc: dict[str, Any]) -> float:
    """When the collection behind a /health document ran, in seconds after the agent started."""
    return float(doc["agent_uptime_seconds"]) - float(doc["snapshot_age_seconds"])


def outside(agent: AgentProcess, urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(agent.base + "/")]


DOM = """JSON.stringify({
  cpu: document.getElementById('cpu-value').dataset.value,
  cpuText: document.getElementById('cpu-value').textContent,
  memory: document.getElementById('memory-value').dataset.value,
  memoryText: document.getElementById('memory-value').textContent,
  state: document.getElementById('state').dataset.value,
  rules: document.querySelectorAll('#rules tbody tr').length,
})"""


def dom(page: Page) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(page.evaluate(DOM))
    return out


def matching_collection(page: Page, agent: AgentProcess, token: str | None = None) -> tuple[dict[str, Any], Any]:
    """A /health document and the DOM drawn from the same collection: /health before and after a refresh of
    the page agree on the collection, so the page's own fetch in between saw that collection too."""
    def attempt() -> tuple[dict[str, Any], dict[str, Any]] | None:
        before = health(agent, token)
        if before.get("host", {}).get("cpu_percent") is None:
            return None  # the first collection has no CPU % yet (it needs two)
        page.evaluate("window.otelMon.refresh()", await_promise=True)
        shown = dom(page)
        after = health(agent, token)
        if abs(collection(before) - collection(after)) > 0.01:
            return None  # a collection ran in between: try again
        return before, shown

    found = wait_until(attempt, 30, interval=0.05, what="a refresh inside one collection")
    return found


def test_page_matches_health_and_fetches_nothing_else(
        page: Page, start_agent: Callable[..., AgentProcess], tmp_path: Path,
        listening: int) -> None:
    agent = start(tmp_path, start_agent, listening, interval="2s")
    page.navigate(agent.base + "/")
    page.wait_for("document.body.dataset.rendered === 'true'")
    doc, shown = matching_collection(page, agent)
    host = doc["host"]
    assert float(shown["cpu"]) == host["cpu_percent"] and shown["cpuText"] == f"{host['cpu_percent']:.1f} %"
    assert float(shown["memory"]) == host["memory_percent"]
    assert shown["memoryText"] == f"{host['memory_percent']:.1f} %"
    assert shown["state"] == doc["health"]["status"]
    assert shown["rules"] == len(doc["health"]["rules"])
    page.pump(0.5)
    requests = page.requests()
    assert agent.base + "/static/app.js" in requests and agent.base + "/api/status" in requests
    assert outside(agent, requests) == []
    assert page.problems() == []


def test_page_asks_for_the_token_and_then_works(
        page: Page, start_agent: Callable[..., AgentProcess], tmp_path: Path,
        listening: int) -> None:
    agent = start(tmp_path, start_agent, listening, interval="1s", OTEL_MON_HTTP__TOKEN=TOKEN)
    assert agent.get("/api/status")[0] == 401  # the data needs the token; the page's shell does not
    assert agent.get("/")[0] == 200 and agent.get("/health")[0] == 401
    page.navigate(agent.base + "/")
    page.wait_for("!document.getElementById('login').hidden")
    assert page.evaluate("document.getElementById('main').hidden") is True
    page.evaluate(f"document.getElementById('token').value = {json.dumps(TOKEN)};"
                  "document.getElementById('login').requestSubmit()")
    page.wait_for("document.body.dataset.rendered === 'true'")
    assert page.evaluate("sessionStorage.getItem('otel-mon-token')") == TOKEN
    doc, shown = matching_collection(page, agent, TOKEN)
    assert float(shown["cpu"]) == doc["host"]["cpu_percent"]
    assert float(shown["memory"]) == doc["host"]["memory_percent"]
    assert outside(agent, page.requests()) == []
    assert page.problems() == []  # the page never sent a request that could only be refused
    # A reload keeps the token for this tab; a wrong one is refused and the prompt comes back.
    page.navigate(agent.base + "/")
    page.wait_for("document.body.dataset.rendered === 'true'")
    page.evaluate("sessionStorage.setItem('otel-mon-token', 'wrong'); window.otelMon.refresh()", await_promise=True)
    page.wait_for("!document.getElementById('login').hidden")
    assert "refused" in page.evaluate("document.getElementById('login-error').textContent")


def test_page_pauses_while_hidden(page: Page, start_agent: Callable[..., AgentProcess], tmp_path: Path,
        listening: int) -> None:
    agent = start(tmp_path, start_agent, listening, interval="500ms")
    page.navigate(agent.base + "/")
    page.wait_for("document.body.dataset.rendered === 'true'")

    def api_calls() -> int:
        page.pump(0.05)
        return sum(1 for u in page.requests() if u.endswith("/api/status"))

    wait_until(lambda: api_calls() >= 2, 20, what="a refresh while visible")
    # Headless Chromium has no window to minimise: the tab is hidden the way the page observes it.
    page.evaluate("window.__hidden = true; Object.defineProperty(document, 'hidden', "
                  "{configurable: true, get: () => window.__hidden});"
                  "document.dispatchEvent(new Event('visibilitychange'))")
    page.pump(0.5)  # a fetch already on the wire may still land
    hidden_at = api_calls()
    page.pump(3.0)  # six collections, at least one refresh period
    assert api_calls() == hidden_at
    page.evaluate("window.__hidden = false; document.dispatchEvent(new Event('visibilitychange'))")
    wait_until(lambda: api_calls() > hidden_at, 5, what="a refresh as soon as the tab is visible again")


def test_screenshot_for_the_readme(page: Page, start_agent: Callable[..., AgentProcess], tmp_path: Path,
        listening: int) -> None:
    agent = start(tmp_path, start_agent, listening, interval="500ms")
    # Some history for the sparklines: ~20 s of collections.
    wait_until(lambda: health(agent)["agent_uptime_seconds"] > 20, 60, interval=0.5, what="20 s of history")
    page.navigate(agent.base + "/")
    page.wait_for("document.body.dataset.rendered === 'true'")
    page.wait_for("document.querySelectorAll('#probes tbody tr').length === 2")
    desktop = page.screenshot(1280)
    path = save_screenshot(desktop, "status-page.png", tmp_path)
    assert path.stat().st_size > 20_000 and desktop[:8] == b"\x89PNG\r\n\x1a\n"
    page.send("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    dark = page.screenshot(1280)
    save_screenshot(dark, "status-page-dark.png", tmp_path)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(14, 17, 23)"
    page.send("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
    phone = page.screenshot(390, mobile=True, scale=2.0)
    save_screenshot(phone, "status-page-phone.png", tmp_path)
    # Readable on a phone: nothing wider than the screen but the tables' own scroll boxes.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.problems() == []


def test_page_lists_a_remote_write_backlog(page: Page) -> None:
    """Remote write brings its own /health section; the page shows any section that has a backlog."""
    from prometheus_client import CollectorRegistry

    from otel_mon.config import HttpConfig
    from otel_mon.http import HttpServer
    from otel_mon.web import PUBLIC, History, StatusPage

    def health() -> tuple[int, dict[str, Any]]:
        return 200, {"status": "ok", "interval_seconds": 10, "agent_uptime_seconds": 5, "snapshot_age_seconds": 1,
                     "host": {"cpu_percent": 1.0, "memory_percent": 2.0, "load": [0.1, 0.1, 0.1]},
                     "health": {"status": "ok", "rules": []},
                     "remote_write": {"status": "ok", "degraded": True, "backlog_records": 42, "lag_seconds": 90}}

    status = StatusPage({"host": "box"}, health, History(10.0), list)
    server = HttpServer(HttpConfig(port=0), CollectorRegistry(), health, lambda: True, pages=status.routes(),
                        public=PUBLIC)
    with server:
        page.navigate(f"http://127.0.0.1:{server.port}/")
        page.wait_for("document.body.dataset.rendered === 'true'")
        text = page.evaluate("document.getElementById('pipeline').textContent")
        assert "remote write" in text and "degraded · backlog 42 lines, lag 1m 30s" in text
        assert page.problems() == []
