"""Opt-in remediation: run a command once per sustained critical episode of a rule instance.

The command is an argv list run without a shell, in its own session so a timeout kills everything it
started, with a minimal environment (no webhook secrets leak into it) plus ALERT_* variables describing
the alert. Runs happen on the action's own thread; the exit code and the tail of the output are logged.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess  # nosec B404  # actions run the operator's configured program: an argv list, no shell
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from otel_mon.health.config import ActionConfig
from otel_mon.health.evaluator import Row
from otel_mon.health.rules import State

log = logging.getLogger("otel_mon.health.action")

OUTPUT_TAIL = 2000  # characters of combined stdout+stderr kept for the log
_PASSED_ENV = ("PATH", "LANG", "LC_ALL", "HOME", "TZ")


@dataclass(frozen=True)
class Job:
    rule: str
    instance: str
    value: float | None
    since: float  # wall clock: when the critical state began


@dataclass(frozen=True)
class RunResult:
    outcome: str  # success | failure | timeout | error
    exit_code: int | None
    output_tail: str
    duration: float


class ActionTrigger:
    """Decides when an action runs; pure (time passed in), so sequences are tested without processes."""

    def __init__(self, cfg: ActionConfig) -> None:
        self.cfg = cfg
        self._episodes: dict[tuple[str, str], float] = {}  # rule instance -> start of the episode already handled
        self._last_run = float("-inf")

    def due(self, rows: Iterable[Row], now: float) -> list[Job]:
        """Jobs to run now; ``now`` and each row's ``began`` are monotonic (``since`` when ``began`` is unset)."""
        out: list[Job] = []
        for row in rows:
            key = (row.rule, row.instance)
            began = row.since if row.began is None else row.began
            if row.rule not in self.cfg.rules or row.state != State.CRITICAL or began is None \
                    or row.since is None:
                self._episodes.pop(key, None)
                continue
            if self._episodes.get(key) == began or now - began < self.cfg.after:
                continue
            if now - self._last_run < self.cfg.cooldown:
                continue  # retried on a later evaluation while the episode lasts
            self._episodes[key] = began
            self._last_run = now
            out.append(Job(row.rule, row.instance, row.value, row.since))
        return out


def run_command(cfg: ActionConfig, job: Job) -> RunResult:
    """Run the command for one job and wait for it, killing its whole process group at the timeout."""
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env.update({"ALERT_ACTION": cfg.name, "ALERT_RULE": job.rule, "ALERT_INSTANCE": job.instance,
                "ALERT_STATE": "critical", "ALERT_VALUE": "" if job.value is None else f"{job.value:g}"})
    start = time.monotonic()
    try:
        proc = subprocess.Popen(  # nosec B603  # the configured argv (the operator's), no shell
            list(cfg.command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    except OSError as exc:
        return RunResult("error", None, f"cannot start {cfg.command[0]!r}: {exc.strerror or exc}", 0.0)
    try:
        output, _ = proc.communicate(timeout=cfg.timeout)
        outcome = "success" if proc.returncode == 0 else "failure"
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            output, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # something escaped the group and holds the pipe
            proc.kill()
            output = b""
        outcome = "timeout"
    text = output.decode("utf-8", "replace")[-OUTPUT_TAIL:]
    return RunResult(outcome, proc.returncode, text, time.monotonic() - start)


class ActionRunner:
    """One action: its trigger, a small queue and the thread that runs the command."""

    def __init__(self, cfg: ActionConfig) -> None:
        self.cfg = cfg
        self.trigger = ActionTrigger(cfg)
        self._queue: queue.Queue[Job | None] = queue.Queue(8)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.runs: dict[tuple[str, str], int] = {}  # (rule, outcome) -> count
        self.done = threading.Condition(self._lock)

    def check(self, rows: Iterable[Row], now: float) -> None:
        for job in self.trigger.due(rows, now):
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                self._record(job.rule, "skipped")
                log.warning("action %s skipped for %s: earlier runs are still queued", self.cfg.name, job.rule,
                            extra={"otel_mon.action": self.cfg.name, "otel_mon.rule": job.rule})

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name=f"otel-mon-action-{self.cfg.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Run nothing new; a command already running is waited for until ``timeout`` (then left to its own)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                self._run(job)
            except Exception:  # keep the thread alive for the next episode
                log.exception("action %s crashed", self.cfg.name)

    def _run(self, job: Job) -> None:
        result = run_command(self.cfg, job)
        level = logging.INFO if result.outcome == "success" else logging.WARNING
        log.log(level, "action %s for %s %s: %s (exit code %s) in %.1fs", self.cfg.name, job.rule, job.instance,
                result.outcome, result.exit_code, result.duration,
                extra={"otel_mon.action": self.cfg.name, "otel_mon.rule": job.rule,
                       "otel_mon.instance": job.instance, "otel_mon.outcome": result.outcome,
                       "otel_mon.action.exit_code": -1 if result.exit_code is None else result.exit_code,
                       "otel_mon.action.output_tail": result.output_tail})
        self._record(job.rule, result.outcome)

    def _record(self, rule: str, outcome: str) -> None:
        with self.done:
            self.runs[(rule, outcome)] = self.runs.get((rule, outcome), 0) + 1
            self.done.notify_all()

    def counts(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self.runs)
