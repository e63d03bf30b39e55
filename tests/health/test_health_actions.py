"""Actions: when they trigger (pure, on rows), and real commands with exit codes, output tails and timeouts."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import pytest

from otel_mon.health import ActionConfig, HealthConfig, HealthMonitor, RuleConfig, State
from otel_mon.health.actions import ActionTrigger, Job, run_command
from otel_mon.health.evaluator import Row

PY = sys.executable


def action(**kw: Any) -> ActionConfig:
    kw.setdefault("name", "fix")
    kw.setdefault("rules", ("disk",))
    kw.setdefault("command", (PY, "-c", "pass"))
    return ActionConfig(**kw)


def row(state: State, since: float, rule: str = "disk", instance: str = "/") -> Row:
    return Row(rule, instance, state, 99.0, since, "")


def test_trigger_runs_once_per_critical_episode_after_the_delay_and_cooldown() -> None:
    trig = ActionTrigger(action(after=30, cooldown=100))
    assert trig.due([row(State.WARNING, 0)], 0) == []
    assert trig.due([row(State.CRITICAL, 10)], 20) == []  # critical for 10 s of 30
    assert trig.due([row(State.CRITICAL, 10)], 40) == [Job("disk", "/", 99.0, 10)]
    assert trig.due([row(State.CRITICAL, 10)], 50) == []  # same episode: never twice
    assert trig.due([row(State.OK, 60)], 60) == []
    assert trig.due([row(State.CRITICAL, 70)], 110) == []  # new episode, but inside the cooldown (40 + 100)
    assert trig.due([row(State.CRITICAL, 70)], 140) == [Job("disk", "/", 99.0, 70)]  # cooldown over, still critical
    assert trig.due([row(State.CRITICAL, 0, rule="cpu")], 1000) == []  # not one of its rules


def test_run_command_success_output_tail_and_environment() -> None:
    script = "import os,sys; print('x' * 3000); print(os.environ['ALERT_RULE'], os.environ['ALERT_VALUE']); " \
             "print('WEBHOOK' in os.environ)"
    result = run_command(action(command=(PY, "-c", script)), Job("disk", "/", 97.5, 0))
    assert (result.outcome, result.exit_code) == ("success", 0)
    assert len(result.output_tail) == 2000
    assert result.output_tail.endswith("disk 97.5\nFalse\n")


def test_run_command_failure_and_missing_program() -> None:
    failed = run_command(action(command=(PY, "-c", "import sys; print('nope', file=sys.stderr); sys.exit(3)")),
                         Job("disk", "/", None, 0))
    assert (failed.outcome, failed.exit_code, failed.output_tail) == ("failure", 3, "nope\n")
    missing = run_command(action(command=("/nonexistent/fixer",)), Job("disk", "/", None, 0))
    assert missing.outcome == "error" and "No such file" in missing.output_tail


def test_run_command_timeout_kills_the_whole_group() -> None:
    # the child starts a grandchild that would keep the output pipe open: both must die at the timeout
    script = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']);"
              " print('started', flush=True); time.sleep(30)")
    start = time.monotonic()
    result = run_command(action(command=(PY, "-c", script), timeout=0.5), Job("disk", "/", None, 0))
    assert result.outcome == "timeout" and result.output_tail == "started\n"
    assert time.monotonic() - start < 3


def test_monitor_runs_the_action_on_sustained_critical(caplog: pytest.LogCaptureFixture) -> None:
    cfg = HealthConfig(rules=(RuleConfig(reading="filesystem", name="disk", critical=95),),  # type: ignore[arg-type]
                       default_for=20, actions=(action(command=(PY, "-c", "print('cleaned')")),))
    m = HealthMonitor(cfg, env={}, host="h")
    m.start()
    try:
        with caplog.at_level(logging.INFO, logger="otel_mon.health.action"):
            for now in (0, 10):
                m.update({"filesystem": {"/": 99.0}}, now=now)
            assert m.actions[0].counts() == {}  # critical not yet sustained
            for now in (20, 30, 40):
                m.update({"filesystem": {"/": 99.0}}, now=now)
            runner = m.actions[0]
            with runner.done:
                assert runner.done.wait_for(lambda: runner.runs.get(("disk", "success")) == 1, 10)
    finally:
        m.stop(5.0)
    assert m.actions[0].counts() == {("disk", "success"): 1}
    (record,) = [r for r in caplog.records if r.name == "otel_mon.health.action"]
    assert record.__dict__["otel_mon.action.exit_code"] == 0
    assert record.__dict__["otel_mon.action.output_tail"] == "cleaned\n"
    assert record.getMessage().startswith("action fix for disk /: success (exit code 0)")
