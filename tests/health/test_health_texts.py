"""Notification texts as an on-call engineer reads them (issue 24 item 5): exact texts from real parts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from otel_mon.health import Evaluator, HealthConfig, HealthMonitor, RuleConfig, State
from otel_mon.health.context import describe, top_by_cpu
from otel_mon.health.messages import discord, generic
from otel_mon.probes.config import ProbeConfig
from otel_mon.probes.runner import ProbeRunner


def test_a_probe_failure_names_its_target_and_its_recovery_is_no_arithmetic() -> None:
    """Was: ``1 >= critical threshold 1: connection refused``, then ``0 < 0.95 (clears critical at 1 minus 5%)``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    probes = ProbeRunner([ProbeConfig(name="db", kind="tcp", host="127.0.0.1", port=port, timeout=1.0)])
    monitor = HealthMonitor(HealthConfig(rules=(RuleConfig(reading="probe.failure", critical=1),), default_for=0),
                            sources=[probes.readings], env={}, host="h", reasons=probes.reasons)
    assert not probes.run_once("db").ok
    (down,) = monitor.update({}, now=10.0)
    assert down.why == f"1 >= critical threshold 1: 127.0.0.1:{port}: connection refused"
    with socket.socket() as listener:  # the port answers now
        listener.bind(("127.0.0.1", port))
        listener.listen(4)
        assert probes.run_once("db").ok
    (up,) = monitor.update({}, now=20.0)
    assert (up.old, up.new, up.why) == (State.CRITICAL, State.OK, f"back to 0: 127.0.0.1:{port} answers again")
    assert discord(up, "h", State.OK)["content"] == \
        f"RESOLVED: probe.failure db on h is ok (was critical): back to 0: 127.0.0.1:{port} answers again"
    (row,) = monitor.status()["rules"]
    assert row["why"] == "0 < critical 1"  # the ok row: no stale reason, no margin


def test_a_percentage_recovery_still_says_its_margin() -> None:
    ev = Evaluator(HealthConfig(rules=(RuleConfig(reading="cpu", warning=80),), default_for=0))
    ev.evaluate({"cpu": {"": 90.0}}, 0.0)
    (t,) = ev.evaluate({"cpu": {"": 70.0}}, 10.0)
    assert t.why == "70 % < 76 % (clears warning at 80 % minus 5%)"


@pytest.mark.parametrize(("every", "times", "fires_at"), [
    (5.0, [0.0, 5.0, 9.998, 15.0], 9.998),  # the third sample, though a few ms early, is "10 s"
    (5.0, [0.0, 5.0, 10.0, 15.0], 10.0),
    (3.0, [0.0, 3.0, 6.0, 9.0, 12.0], 12.0),  # never a whole sample early: 9 s is not 10 s
])
def test_for_fires_at_the_first_evaluation_at_or_after_it(every: float, times: list[float], fires_at: float) -> None:
    """``for: 10s`` at a 5 s interval fired after 15 s: it is measured from the first bad sample."""
    ev = Evaluator(HealthConfig(rules=(RuleConfig(reading="cpu", warning=80),), default_for=10.0))
    fired = [now for now in times if ev.evaluate({"cpu": {"": 95.0}}, now)]
    assert fired[:1] == [fires_at]
    (row,) = ev.rows()
    assert row.why.startswith("95 % >= warning 80 %")


@pytest.fixture
def burner() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_the_top_list_has_no_idle_padding_and_one_thread_stays_within_one_core(
        burner: subprocess.Popen[bytes]) -> None:
    time.sleep(0.3)  # not a synchronisation: the burner only needs to be running; the window measures it
    rows = top_by_cpu(20, 0.5)
    assert rows and all(r["cpu_percent"] >= 0.1 for r in rows), rows  # nothing idle padding the list
    mine = [r for r in rows if r["pid"] == burner.pid]
    assert mine and 0 < mine[0]["cpu_percent"] <= 100.0, rows  # one thread: at most one core
    text = describe({"by": "cpu", "processes": rows})
    assert text.startswith("top by CPU (% of one core): ") and " 0 %" not in text


def test_an_idle_list_says_so() -> None:
    assert describe({"by": "cpu", "processes": []}) == "top by CPU: no process used any"


def test_the_context_says_when_it_was_measured() -> None:
    from otel_mon.health.config import TopProcessesConfig
    from otel_mon.health.context import ContextWorker
    from otel_mon.health.rules import Transition

    worker = ContextWorker(TopProcessesConfig(enabled=True, count=3, window=0.2), lambda *a: None)
    t = Transition("memory", "", "memory", State.OK, State.WARNING, 80.0, 75.0, time.time(), "80 % >= 75 %")
    (out,) = worker.attach([t])
    assert out.context is not None and out.context["by"] == "memory"
    at = out.context["measured_at"]
    from datetime import datetime
    assert at.endswith("Z") and abs(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() - time.time()) < 60
    assert json.dumps(generic(out, "h", State.WARNING)["context"])
