"""The health component the agent runs: the evaluator behind a lock, plus logs, metrics, notifiers, actions.

The agent calls :meth:`HealthMonitor.update` after each collection with that collection's readings; the
monitor adds the readings of its sources (the probe runner), evaluates, logs each transition as an event on
the ``otel_mon.health`` logger, and hands transitions to the notifiers and the host's rows to the actions.
Nothing here blocks on the network or on a child process.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from otel_mon.health.actions import ActionRunner
from otel_mon.health.config import HealthConfig
from otel_mon.health.context import ContextWorker, describe
from otel_mon.health.evaluator import NO_DATA, Evaluator, Row
from otel_mon.health.messages import iso
from otel_mon.health.notifier import Notifier
from otel_mon.health.reading_specs import Readings
from otel_mon.health.rules import State, Transition
from otel_mon.health.secrets import Credentials, resolve_notifiers
from otel_mon.instruments import Instruments, Point
from otel_mon.schema import ConfigError, render

log = logging.getLogger("otel_mon.health")

RECENT = 50  # transitions kept for the status page

_LEVELS = {State.OK: logging.INFO, State.WARNING: logging.WARNING, State.CRITICAL: logging.ERROR}


def transition_event(t: Transition) -> dict[str, Any]:
    """The structured attributes of a transition log record (OTel attribute types only: no None)."""
    attrs: dict[str, Any] = {
        "event.name": "otel_mon.health.transition",
        "otel_mon.rule": t.rule,
        "otel_mon.instance": t.instance,
        "otel_mon.health.old_state": t.old.label,
        "otel_mon.health.new_state": t.new.label,
        "otel_mon.health.why": t.why,
    }
    if t.value is not None:
        attrs["otel_mon.health.value"] = t.value
    if t.threshold is not None:
        attrs["otel_mon.health.threshold"] = t.threshold
    if t.context:
        attrs["otel_mon.health.context"] = describe(t.context)
        processes = t.context.get("processes")
        if processes:
            attrs["otel_mon.health.top_processes.pid"] = [p["pid"] for p in processes]
            attrs["otel_mon.health.top_processes.name"] = [p["name"] for p in processes]
    return attrs


class HealthMonitor:
    def __init__(
        self,
        config: HealthConfig,
        sources: Sequence[Callable[[], Readings]] = (),
        env: Mapping[str, str] | None = None,
        host: str | None = None,
        credentials: Mapping[str, Credentials] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rootfs: Callable[[str], str] = str,
        reasons: Callable[[], Mapping[tuple[str, str], str]] | None = None,
        notes: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        """``clock`` (wall) only stamps the times people see; every duration is measured on ``monotonic``.

        ``credentials`` are the webhooks' secrets as the loader read them (``Settings.credentials``); without
        them (a monitor built directly) they are read here from ``env`` and the files.
        """
        self.config = config
        self.host = host or socket.gethostname()
        self._sources = list(sources)
        # (reading, instance) -> why it is failing (a probe's reason), added to the "why" of a raised state.
        self._reasons = reasons
        self._clock = clock
        self._monotonic = monotonic
        self._evaluator = Evaluator(config)
        self._lock = threading.Lock()
        self._rows: list[Row] = self._evaluator.rows()
        self._status = State.OK
        self._recent: deque[Transition] = deque(maxlen=RECENT)
        self._thresholds = {r.name: (r.warning, r.critical, r.unit) for r in self._evaluator.rules}
        if credentials is None:
            credentials, problems = resolve_notifiers(config.notifiers, os.environ if env is None else env)
            if problems:
                raise ConfigError([render(f"health.{p.field}", p) for p in problems])
        self.notifiers = [Notifier(cfg, credentials[cfg.notifier_name].url, credentials[cfg.notifier_name].token,
                                   self.host) for cfg in config.notifiers if cfg.notifier_name in credentials]
        self.actions = [ActionRunner(cfg) for cfg in config.actions]
        # Rising transitions wait for their context (top processes, filesystem figures) on this thread.
        # ``notes``: what an instance is, for its rising transitions ((reading, instance) -> text: the process
        # group's matchers), handed over by whoever wires the monitor.
        self._context = ContextWorker(config.top_processes, self._announce, rootfs, notes=notes)
        self._context_running = False
        self._contexts: dict[tuple[str, str], Mapping[str, Any]] = {}

    # --- lifecycle -----------------------------------------------------------------------------------------
    def register_metrics(self, instruments: Instruments) -> None:
        instruments.provide("otel_mon.health.state", self._state_points)
        instruments.provide("otel_mon.notify.sent", lambda: self._notify_points(0))
        instruments.provide("otel_mon.notify.failed", lambda: self._notify_points(1))
        instruments.provide("otel_mon.action.runs", self._action_points)

    def start(self) -> None:
        self._context.start()
        self._context_running = True
        for notifier in self.notifiers:
            notifier.start()
        for action in self.actions:
            action.start()

    def stop(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if self._context_running:
            self._context_running = False
            self._context.stop(max(min(timeout / 2, self.config.top_processes.window + 1.0), 0.0))
        for notifier in self.notifiers:
            notifier.stop(max(deadline - time.monotonic(), 0.0))
        for action in self.actions:
            action.stop(max(deadline - time.monotonic(), 0.0))

    # --- the hand-off from the collection loop ------------------------------------------------------------
    def update(self, readings: Readings, now: float | None = None, wall: float | None = None) -> list[Transition]:
        """Evaluate one collection's readings (plus the sources'); returns the transitions it caused.

        ``now`` is the monotonic time durations are measured on; ``wall`` the time shown to people. Both come
        from the monitor's clocks when ``now`` is not given; a ``now`` given alone serves as both.
        """
        merged: dict[str, Mapping[str, float]] = dict(readings)
        for source in self._sources:
            try:
                merged.update(source())
            except Exception:  # a broken source costs its readings ("no data"), not the evaluation
                log.exception("health reading source failed")
        if now is None:
            now, wall = self._monotonic(), self._clock() if wall is None else wall
        reasons = self._failure_reasons()
        with self._lock:
            transitions = self._evaluator.evaluate(merged, now, wall)
            self._status = self._evaluator.status()
            self._rows = self._evaluator.rows()
            if reasons:
                transitions, self._rows = self._explained(transitions, self._rows, reasons)
            rows, status = self._rows, self._status
            self._recent.extend(transitions)
        context = self._context
        if self._context_running and (context.busy() or any(context.wants(t) for t in transitions)) \
                and context.submit(transitions, status, now):
            pass  # announced by the context thread, context attached, in submission order
        else:
            self._announce(transitions, status, now)
        for action in self.actions:
            action.check(rows, now)
        return transitions

    def _failure_reasons(self) -> Mapping[tuple[str, str], str]:
        if self._reasons is None:
            return {}
        try:
            return self._reasons()
        except Exception:  # the reasons are a courtesy: never worth an evaluation
            log.exception("health failure reasons failed")
            return {}

    def _explained(self, transitions: list[Transition], rows: list[Row],
                   reasons: Mapping[tuple[str, str], str]) -> tuple[list[Transition], list[Row]]:
        """Transitions and raised states whose reading has a known explanation say it: a failing probe's target
        and reason (``1 >= critical 1: 127.0.0.1:5432: connection refused``), a recovered one's target
        (``back to 0: 127.0.0.1:5432 answers again``)."""
        reading = {rule.name: rule.reading for rule in self._evaluator.rules}
        transitions = [dataclasses.replace(t, why=f"{t.why}: {reasons[(t.reading, t.instance)]}")
                       if (t.reading, t.instance) in reasons and (t.new > State.OK) == (t.new > t.old) else t
                       for t in transitions]
        rows = [dataclasses.replace(r, why=f"{r.why}: {reasons[(reading.get(r.rule, ''), r.instance)]}")
                if r.state > State.OK and (reading.get(r.rule, ""), r.instance) in reasons else r for r in rows]
        return transitions, rows

    def _announce(self, transitions: list[Transition], status: State, now: float) -> None:
        """Log each transition and hand the batch to the notifiers (from update or the context thread)."""
        with self._lock:
            for t in transitions:
                key = (t.rule, t.instance)
                if t.context:
                    self._contexts[key] = t.context
                elif t.new == State.OK:
                    self._contexts.pop(key, None)
        for t in transitions:
            context = f"; {describe(t.context)}" if t.context else ""
            log.log(_LEVELS[t.new] if t.new > t.old else logging.INFO,
                    "health %s%s: %s -> %s: %s%s", t.rule, f" {t.instance}" if t.instance else "", t.old.label,
                    t.new.label, t.why, context, extra=transition_event(t))
        for notifier in self.notifiers:
            notifier.notify(transitions, status, now)

    # --- what others read ----------------------------------------------------------------------------------
    @property
    def state(self) -> State:
        """The host's overall health state: the worst rule's."""
        with self._lock:
            return self._status

    def status(self) -> dict[str, Any]:
        """The ``health`` section of the status document: overall state, every rule instance with its state,
        value, since and why."""
        with self._lock:
            rows, status, contexts = self._rows, self._status, dict(self._contexts)
        judged = [r for r in rows if r.label != NO_DATA]
        return {
            # Rules that all lack data have not found the host ok: the section says no_data, as each row does.
            "status": status.label if judged or not rows else NO_DATA,
            "rules": [{"rule": r.rule, "instance": r.instance, "state": r.label,
                       "value": None if r.value is None else round(r.value, 3),
                       "since": None if r.since is None else iso(r.since), "why": r.why,
                       **self._limits(r.rule),
                       **({"context": contexts[(r.rule, r.instance)]}
                          if r.state != State.OK and (r.rule, r.instance) in contexts else {})} for r in rows],
        }

    def _limits(self, rule: str) -> dict[str, Any]:
        warning, critical, unit = self._thresholds.get(rule, (None, None, ""))
        return {"warning": warning, "critical": critical, "unit": unit}

    def recent(self) -> list[dict[str, Any]]:
        """The last ``RECENT`` transitions, newest first, for the status page."""
        with self._lock:
            recent = list(self._recent)
        return [{"at": iso(t.at), "rule": t.rule, "instance": t.instance, "old": t.old.label, "new": t.new.label,
                 "value": t.value, "threshold": t.threshold, "why": t.why} for t in reversed(recent)]

    def _state_points(self) -> Iterable[Point]:
        with self._lock:
            rows = self._rows
        # No point for a rule without data (0 would read as ok): the absent series is Prometheus' "no data".
        return [(float(r.state), {"otel_mon.rule": r.rule, "otel_mon.instance": r.instance})
                for r in rows if r.label != NO_DATA]

    def _notify_points(self, index: int) -> Iterable[Point]:
        return [(float(n.counts()[index]), {"otel_mon.notifier": n.name}) for n in self.notifiers]

    def _action_points(self) -> Iterable[Point]:
        return [(float(count), {"otel_mon.rule": rule, "otel_mon.outcome": outcome})
                for action in self.actions for (rule, outcome), count in action.counts().items()]
