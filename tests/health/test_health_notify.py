"""Notifiers against a local server standing in for Discord, Slack and a generic webhook."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from otel_mon.health import HealthConfig, HealthMonitor, RuleConfig, State
from otel_mon.health.config import NotifierConfig, TopProcessesConfig
from otel_mon.health.cooldown import Cooldown
from otel_mon.health.rules import Transition
from otel_mon.health.webhook import retry_after

OK, WARN, CRIT = State.OK, State.WARNING, State.CRITICAL
SECRET = "s3cr3t-t0ken"
NO_TOP = TopProcessesConfig(enabled=False)


def monitor(hook: Any, kind: str, env: dict[str, str] | None = None, **notifier: Any) -> HealthMonitor:
    cfg = HealthConfig(rules=(RuleConfig(reading="cpu", warning=75, critical=90),),  # type: ignore[arg-type]
                       default_for=0, notifiers=(NotifierConfig(kind=kind, url_env="HOOK", **notifier),),
                       top_processes=NO_TOP)  # payloads without context here; with it in test_health_context.py
    return HealthMonitor(cfg, env=env or {"HOOK": hook.url()}, host="web-1")


@pytest.fixture
def started() -> Iterator[list[HealthMonitor]]:
    monitors: list[HealthMonitor] = []
    yield monitors
    for m in monitors:
        m.stop(2.0)


def poll(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll with a deadline (delivery counters have no condition to wait on)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def feed(m: HealthMonitor, *values: float, start: float = 0.0, every: float = 10.0) -> None:
    for i, v in enumerate(values):
        m.update({"cpu": {"": v}}, now=start + i * every)


# --- payload shapes -----------------------------------------------------------------------------------------
def test_discord_payload(hook: Any, started: list[HealthMonitor]) -> None:
    m = monitor(hook, "discord")
    started.append(m)
    m.start()
    feed(m, 50, 95)
    (post,) = hook.wait_posts(1)
    body = post.body
    assert post.path == f"/api/webhooks/123/{SECRET}"
    assert post.headers["Content-Type"] == "application/json"
    assert set(body) == {"content", "embeds", "allowed_mentions"}
    assert body["content"] == "CRITICAL: cpu on web-1: 95 % >= critical threshold 90 %"
    assert body["allowed_mentions"] == {"parse": []}
    (embed,) = body["embeds"]
    assert embed["title"] == "CRITICAL: cpu on web-1"
    assert embed["color"] == 0xE74C3C
    assert embed["timestamp"] == "1970-01-01T00:00:10Z"
    assert {f["name"]: f["value"] for f in embed["fields"]} == {
        "Host": "web-1", "State": "critical (was ok)", "Value": "95 %", "Threshold": "90 %", "Host status": "critical"}


def test_slack_payload(hook: Any, started: list[HealthMonitor]) -> None:
    m = monitor(hook, "slack")
    started.append(m)
    m.start()
    feed(m, 80)
    (post,) = hook.wait_posts(1)
    body = post.body
    assert set(body) == {"text", "blocks"}
    assert body["text"] == "WARNING: cpu on web-1: 80 % &gt;= warning threshold 75 %"
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    assert body["blocks"][0]["text"] == {"type": "plain_text", "text": "WARNING: cpu on web-1"}
    assert body["blocks"][1]["text"]["type"] == "mrkdwn"
    assert body["blocks"][2]["fields"][0] == {"type": "mrkdwn", "text": "*Host*\nweb-1"}


def test_generic_payload_and_bearer_token(hook: Any, started: list[HealthMonitor]) -> None:
    m = monitor(hook, "webhook", env={"HOOK": hook.url(), "TOKEN": "tok-123"}, token_env="TOKEN", cooldown=0)
    started.append(m)
    m.start()
    feed(m, 95, 10)
    first, second = hook.wait_posts(2)
    assert first.headers["Authorization"] == "Bearer tok-123"
    assert first.body == {
        "version": 1, "source": "otel-mon", "event": "health.transition", "host": "web-1", "rule": "cpu",
        "instance": "", "reading": "cpu", "unit": "%", "old_state": "ok", "new_state": "critical",
        "recovered": False, "value": 95, "threshold": 90, "why": "95 % >= critical threshold 90 %",
        "host_status": "critical", "at": "1970-01-01T00:00:00Z",
        "summary": "CRITICAL: cpu on web-1: 95 % >= critical threshold 90 %"}
    assert (second.body["old_state"], second.body["new_state"], second.body["recovered"]) == ("critical", "ok", True)
    assert second.body["summary"].startswith("RESOLVED: cpu on web-1 is ok (was critical)")


# --- one message per transition, cooldown -------------------------------------------------------------------
def test_one_message_per_transition_and_flapping_is_held_by_the_cooldown(hook: Any,
                                                                         started: list[HealthMonitor]) -> None:
    m = monitor(hook, "webhook", cooldown=300)
    started.append(m)
    m.start()
    feed(m, 80, 80, 10, 80, 10, 80, 95)  # warn, (ok, warn, ok, warn held/moot), critical is a rise: at once
    posts = hook.wait_posts(2)
    assert [(p.body["old_state"], p.body["new_state"]) for p in posts] == [("ok", "warning"), ("warning", "critical")]
    feed(m, 10, start=100)  # recovery inside the cooldown of the critical message (t=60): held
    feed(m, 10, 10, start=359)  # t=359: still held; t=369: >= 300 s after t=60 -> the recovery goes out
    posts = hook.wait_posts(3)
    assert [(p.body["old_state"], p.body["new_state"]) for p in posts][2] == ("critical", "ok")
    m.stop(2.0)
    assert len(hook.posts) == 3


def test_cooldown_unit() -> None:
    def t(old: State, new: State, at: float) -> Transition:
        return Transition("r", "", "cpu", old, new, 1.0, 1.0, at, "")

    c = Cooldown(60)
    assert c.offer(t(OK, WARN, 0), 0) is not None
    assert c.offer(t(WARN, OK, 10), 10) is None  # held
    assert c.offer(t(OK, WARN, 20), 20) is None  # back to what was told: the held recovery is dropped
    assert c.due(100) == []
    assert c.offer(t(WARN, OK, 110), 110) is not None  # cooldown over: at once


# --- retries, failures, no URL in logs ----------------------------------------------------------------------
def test_retries_on_5xx_and_429_honouring_retry_after(hook: Any, started: list[HealthMonitor]) -> None:
    hook.script = [(503, {}, b""), (429, {"Retry-After": "0.3"}, b""), (204, {}, b"")]
    m = monitor(hook, "discord", backoff=0.05)
    started.append(m)
    m.start()
    feed(m, 95)
    a, b, c = hook.wait_posts(3)
    assert a.body == b.body == c.body
    assert 0.04 <= b.at - a.at  # first backoff
    assert c.at - b.at >= 0.29  # Retry-After honoured
    assert poll(lambda: m.notifiers[0].counts() == (1, 0))


def test_discord_retry_after_in_the_json_body() -> None:
    assert retry_after(None, b'{"message": "You are being rate limited.", "retry_after": 0.75, "global": false}') \
        == 0.75
    assert retry_after("2", b"") == 2.0
    assert retry_after("Wed, 21 Oct 2015 07:28:02 GMT", b"", now=1445412480.0) == 2.0
    assert retry_after(None, b"not json") is None


def test_failure_is_counted_and_logged_without_the_url(hook: Any, started: list[HealthMonitor],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    hook.script = [(500, {}, b""), (502, {}, b""), (503, {}, b"")]
    m = monitor(hook, "slack", retries=2, backoff=0.01)
    started.append(m)
    m.start()
    with caplog.at_level(logging.DEBUG):
        feed(m, 95)
        hook.wait_posts(3)
        assert poll(lambda: m.notifiers[0].counts() == (0, 1))
    failures = [r for r in caplog.records if r.name == "otel_mon.health.notify"]
    assert [r.getMessage() for r in failures] == [
        "notifier slack failed to deliver cpu after 3 attempt(s): HTTP 503"]
    assert failures[0].__dict__["otel_mon.notifier"] == "slack"
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert SECRET not in text and hook.base not in text


def test_client_errors_are_not_retried(hook: Any, started: list[HealthMonitor]) -> None:
    hook.script = [(400, {}, b'{"message": "Invalid Form Body"}')]
    m = monitor(hook, "discord", retries=3, backoff=0.01)
    started.append(m)
    m.start()
    feed(m, 95)
    hook.wait_posts(1)
    m.stop(2.0)
    assert len(hook.posts) == 1 and m.notifiers[0].counts() == (0, 1)


def test_timeout_is_honoured_and_reported(hook: Any, started: list[HealthMonitor],
                                          caplog: pytest.LogCaptureFixture) -> None:
    hook.hang = True
    m = monitor(hook, "webhook", timeout=0.2, retries=0)
    started.append(m)
    m.start()
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="otel_mon.health.notify"):
        feed(m, 95)
        m.stop(3.0)
    assert time.monotonic() - start < 1.5
    assert m.notifiers[0].counts() == (0, 1)
    assert "timeout after 0.2s" in caplog.records[-1].getMessage()


def test_unreachable_webhook_fails_without_the_url(started: list[HealthMonitor],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/{SECRET}"
    cfg = HealthConfig(rules=(RuleConfig(reading="cpu", critical=90),), default_for=0,  # type: ignore[arg-type]
                       notifiers=(NotifierConfig(kind="webhook", url_env="H", retries=1, backoff=0.01),),
                       top_processes=NO_TOP)
    m = HealthMonitor(cfg, env={"H": url}, host="h")
    started.append(m)
    m.start()
    with caplog.at_level(logging.DEBUG):
        feed(m, 95)
        m.stop(3.0)
    assert m.notifiers[0].counts() == (0, 1)
    assert "connection refused" in caplog.text.lower()
    assert SECRET not in caplog.text and str(port) not in caplog.text


def test_a_full_queue_drops_and_counts(hook: Any) -> None:
    cfg = HealthConfig(rules=(RuleConfig(reading="filesystem", critical=90),), default_for=0,  # type: ignore[arg-type]
                       notifiers=(NotifierConfig(kind="webhook", url_env="HOOK", queue_size=1),))
    m = HealthMonitor(cfg, env={"HOOK": hook.url()}, host="h")  # not started: nothing drains the queue
    m.update({"filesystem": {"/a": 95, "/b": 95, "/c": 95}}, now=0)
    assert m.notifiers[0].counts() == (0, 2) and m.notifiers[0].pending() == 1
    m.start()
    hook.wait_posts(1)
    m.stop(2.0)
    assert m.notifiers[0].counts() == (1, 2)


# --- a whole-attempt timeout --------------------------------------------------------------------------------
@pytest.fixture
def trickler() -> Iterator[tuple[str, list[float]]]:
    """A loopback server answering one byte every 50 ms (for 2 s at most): each read succeeds, the whole never."""
    import threading

    stop = threading.Event()
    accepted: list[float] = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.05)

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                    if len(accepted) and stop.wait(0.05):  # pacing, not synchronisation
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            accepted.append(time.monotonic())
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/hook/{SECRET}", accepted
    stop.set()
    thread.join(2)
    srv.close()


def test_timeout_bounds_the_whole_attempt_against_a_trickling_server(trickler: tuple[str, list[float]]) -> None:
    from otel_mon.health.webhook import post_json

    url, _ = trickler
    start = time.monotonic()
    outcome = post_json(url, b"{}", timeout=0.5)
    assert time.monotonic() - start < 0.5 + 0.4
    assert (outcome.ok, outcome.retry, outcome.reason) == (False, True, "timeout after 0.5s")


def test_trickled_attempts_fail_and_are_retried_per_policy(trickler: tuple[str, list[float]],
                                                           started: list[HealthMonitor],
                                                           caplog: pytest.LogCaptureFixture) -> None:
    url, accepted = trickler
    m = monitor(None, "webhook", env={"HOOK": url}, timeout=0.3, retries=1, backoff=0.05)
    started.append(m)
    m.start()
    with caplog.at_level(logging.WARNING, logger="otel_mon.health.notify"):
        start = time.monotonic()
        feed(m, 95)
        assert poll(lambda: m.notifiers[0].counts() == (0, 1), timeout=1.5)
    took = time.monotonic() - start
    assert len(accepted) == 2 and took < 2 * 0.3 + 0.05 + 0.5
    assert "after 2 attempt(s): timeout after 0.3s" in caplog.records[-1].getMessage()
    assert SECRET not in caplog.text


# --- durations on the monotonic clock -----------------------------------------------------------------------
def test_cooldown_and_actions_run_on_the_monotonic_clock_when_the_wall_clock_steps_back() -> None:
    """The wall clock steps back an hour mid-way: the cooldown and the action's after/cooldown still elapse."""
    import sys

    from otel_mon.health import ActionConfig

    clocks = {"mono": 0.0, "wall": 1_700_000_000.0}
    cfg = HealthConfig(rules=(RuleConfig(reading="cpu", warning=75, critical=90),),  # type: ignore[arg-type]
                       default_for=0, notifiers=(NotifierConfig(kind="webhook", url_env="HOOK", cooldown=60),),  # type: ignore[arg-type]
                       actions=(ActionConfig(name="fix", rules=("cpu",), command=(sys.executable, "-c", "pass"),
                                             after=30, cooldown=100),))  # type: ignore[arg-type]
    m = HealthMonitor(cfg, env={"HOOK": "http://127.0.0.1:9/"}, host="h",  # not started: messages stay queued
                      clock=lambda: clocks["wall"], monotonic=lambda: clocks["mono"])
    trigger, notifier = m.actions[0].trigger, m.notifiers[0]

    def at(mono: float, wall_step: float, value: float) -> None:
        clocks["mono"], clocks["wall"] = mono, clocks["wall"] + wall_step
        m.update({"cpu": {"": value}})

    at(0, 0, 95)  # critical: first message
    assert notifier.pending() == 1
    (row,) = m.status()["rules"]
    assert row["since"] == "2023-11-14T22:13:20Z"  # wall time for people
    at(10, -3600, 20)  # recovery inside the cooldown: held; the wall clock stepped back an hour
    assert notifier.pending() == 1
    at(60, 50, 20)  # 60 s of monotonic time: the held recovery goes out
    assert notifier.pending() == 2
    at(70, 10, 95)  # a new critical episode: a rise goes out at once
    assert notifier.pending() == 3
    assert trigger.due(m._evaluator.rows(), 99) == []  # critical for 29 s of after=30
    (job,) = trigger.due(m._evaluator.rows(), 100)
    assert job.since == clocks["wall"]  # the episode's wall-clock start
    clocks["wall"] -= 3600
    at(130, -3600, 20)
    at(140, 10, 95)
    assert trigger.due(m._evaluator.rows(), 199) == []  # action cooldown (100 s from 100) not over
    assert len(trigger.due(m._evaluator.rows(), 200)) == 1  # over, on time despite two steps back
