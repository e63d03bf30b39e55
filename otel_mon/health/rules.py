"""One rule instance as a small state machine: thresholds, sustain (``for``) and hysteresis.

Rising needs the value at or above a threshold for the whole sustain time (Prometheus' pending state);
falling is immediate once the value is below the threshold by the hysteresis margin. So a spike does not
alert, a value hovering at the threshold does not flap, and a recovered host always returns to ok. A reading
whose low values are the trouble (``memory.available``) is declared ``low_is_bad``: its thresholds are reached
at or *below* them, and it clears above them by the margin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from otel_mon.health.config import HealthConfig, RuleConfig
from otel_mon.health.reading_specs import READINGS


class State(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Rule:
    """A rule with every default applied."""

    name: str
    reading: str
    instance: str | None
    warning: float | None
    critical: float | None
    sustain: float
    hysteresis: float
    unit: str
    counter: bool
    low_is_bad: bool = False  # the reading's thresholds are reached at or below them (memory.available)

    @classmethod
    def from_config(cls, cfg: RuleConfig, health: HealthConfig) -> Rule:
        spec = READINGS[cfg.reading]
        return cls(
            name=cfg.rule_name, reading=cfg.reading, instance=cfg.instance, warning=cfg.warning,
            critical=cfg.critical,
            sustain=float(health.default_for if cfg.for_ is None else cfg.for_),
            hysteresis=health.default_hysteresis if cfg.hysteresis is None else cfg.hysteresis,
            unit=spec.unit, counter=spec.counter, low_is_bad=spec.low_is_bad,
        )

    def threshold(self, state: State) -> float | None:
        return {State.WARNING: self.warning, State.CRITICAL: self.critical}.get(state)

    def clear_level(self, state: State) -> float | None:
        """The value the reading must fall below (rise above, when low is bad) to leave ``state``."""
        limit = self.threshold(state)
        if limit is None:
            return None
        margin = abs(limit) * self.hysteresis
        return limit + margin if self.low_is_bad else limit - margin

    def reached(self, value: float, limit: float) -> bool:
        """``value`` is at ``limit`` or on its bad side."""
        return value <= limit if self.low_is_bad else value >= limit

    @property
    def at(self) -> str:
        """The comparison that reaches a threshold, as people read it; ``back`` is its negation."""
        return "<=" if self.low_is_bad else ">="

    @property
    def back(self) -> str:
        return ">" if self.low_is_bad else "<"

    @property
    def beyond(self) -> str:
        """The side a value clears to."""
        return "above" if self.low_is_bad else "below"

    def level(self, value: float, current: State) -> State:
        """The state ``value`` calls for, holding ``current`` while the value stays inside its margin."""
        for state in (State.CRITICAL, State.WARNING):
            limit = self.threshold(state)
            if limit is None:
                continue
            if self.reached(value, limit):
                return state
            clear = self.clear_level(state)
            if current >= state and clear is not None and self.reached(value, clear):
                return state
        return State.OK

    def fmt(self, value: float | None) -> str:
        return fmt_value(value, self.unit)


def fmt_value(value: float | None, unit: str) -> str:
    """Four significant digits, never an exponent: ``93.12 %``, ``0.5``, ``12346 ms``."""
    if value is None:
        return "-"
    text = f"{value:.4g}"
    if "e" in text:
        text = f"{value:.0f}"
    return f"{text} {unit}" if unit else text


@dataclass(frozen=True)
class Transition:
    """A rule instance changed state: what the log event, the notifiers and the actions are told."""

    rule: str
    instance: str
    reading: str
    old: State
    new: State
    value: float | None
    threshold: float | None  # the threshold of the higher of the two states
    at: float  # wall clock, shown to people
    why: str
    # Measured after the fact on the context thread (health/context.py): top processes or filesystem figures.
    context: Mapping[str, Any] | None = None


@dataclass
class Track:
    """The mutable state of one rule instance."""

    since: float  # when the current state began (wall clock, shown to people)
    began: float = 0.0  # when the current state began (monotonic clock, for durations)
    state: State = State.OK
    value: float | None = None
    seen: float | None = None  # when the last value arrived
    pending: dict[State, float] = field(default_factory=dict)  # level -> since when the value has called for it
    last_raw: float | None = None  # previous counter value (counter readings only)


def fmt_duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    whole = round(seconds)
    parts = [(whole // 3600, "h"), (whole % 3600 // 60, "m"), (whole % 60, "s")]
    return "".join(f"{n}{u}" for n, u in parts if n) or "0s"


def step(rule: Rule, track: Track, value: float, now: float, instance: str,
         wall: float | None = None) -> Transition | None:
    """Feed one value to an instance; the transition it causes, if any.

    ``now`` measures durations (a monotonic clock); ``wall`` (default ``now``) stamps what people see.
    """
    if math.isnan(value):
        return None
    # Collections come at the interval give or take scheduling: ``for: 10s`` at 5 s means the third bad
    # sample (10 s after the first), even when it arrives a few ms early; a tenth of the spacing absorbs that
    # jitter and never lets a rise fire a whole sample early.
    slack = 0.1 * (now - track.seen) if track.seen is not None and now > track.seen else 0.0
    track.value, track.seen = value, now
    target = rule.level(value, track.state)
    for state in (State.WARNING, State.CRITICAL):
        if target >= state:
            track.pending.setdefault(state, now)
        else:
            track.pending.pop(state, None)
    new = track.state
    if target < track.state:
        new = target
    elif target > track.state:
        for state in (State.CRITICAL, State.WARNING):
            if track.state < state <= target and now - track.pending[state] >= rule.sustain - slack:
                new = state
                break
    if new == track.state:
        return None
    return _move(rule, track, instance, new, now, wall, _why_changed(rule, track.state, new, value, now, track))


def expire(rule: Rule, track: Track, now: float, instance: str, forget_after: float,
           wall: float | None = None) -> Transition | None:
    """An instance without data this round: no rise can be pending; after ``forget_after`` it clears."""
    track.pending.clear()
    if track.seen is None or now - track.seen < forget_after or track.state == State.OK:
        return None
    return _move(rule, track, instance, State.OK, now, wall, f"no data for {fmt_duration(now - track.seen)}")


def _move(rule: Rule, track: Track, instance: str, new: State, now: float, wall: float | None,
          why: str) -> Transition:
    old = track.state
    at = now if wall is None else wall
    track.state, track.since, track.began = new, at, now
    return Transition(rule.name, instance, rule.reading, old, new, track.value, rule.threshold(max(old, new)), at,
                      why)


def _is_flag(rule: Rule, value: float) -> bool:
    """A 0/1 reading (a probe failing, a unit failed, a clock unsynchronised) judged at 1: hysteresis means
    nothing there, so its recovery is said as a value, not as a margin (``0 < 0.95 (clears ... minus 5%)``)."""
    limits = [x for x in (rule.warning, rule.critical) if x is not None]
    return (not rule.counter and not rule.low_is_bad and rule.unit == "" and value in (0.0, 1.0)
            and bool(limits) and all(x == 1 for x in limits))


def _why_changed(rule: Rule, old: State, new: State, value: float, now: float, track: Track) -> str:
    if new < old and _is_flag(rule, value):
        return f"back to {value:g}"
    if new > old:
        held = now - track.pending[new]
        sustain = f" for {fmt_duration(held)}" if rule.sustain > 0 else ""
        return f"{rule.fmt(value)} {rule.at} {new.label} threshold {rule.fmt(rule.threshold(new))}{sustain}"
    return (f"{rule.fmt(value)} {rule.back} {rule.fmt(rule.clear_level(old))} "
            f"(clears {old.label} at {rule.fmt(rule.threshold(old))} {'plus' if rule.low_is_bad else 'minus'} "
            f"{rule.hysteresis * 100:g}%)")


def why_now(rule: Rule, track: Track | None, now: float) -> str:
    """Why an instance is in its state right now (``now``: the last evaluation), for /health."""
    if track is None or track.seen is None:
        return "no data"
    if track.value is None:
        return "waiting for a second reading (the rule compares increases)"
    prefix = f"no data for {fmt_duration(now - track.seen)}; last " if track.seen < now else ""
    value = rule.fmt(track.value)
    if track.state == State.OK:
        # The first threshold, compared the way it really stands: past it while a rise is still pending.
        lowest = State.WARNING if rule.warning is not None else State.CRITICAL
        limit = rule.threshold(lowest)
        text = f"{value} {rule.beyond} every threshold" if limit is None else \
            f"{value} {rule.at if rule.reached(track.value, limit) else rule.back} {lowest.label} {rule.fmt(limit)}"
    else:
        limit = rule.threshold(track.state)
        clear = rule.clear_level(track.state)
        if limit is not None and rule.reached(track.value, limit):
            text = f"{value} {rule.at} {track.state.label} {rule.fmt(limit)}, clears {rule.beyond} {rule.fmt(clear)}"
        else:  # held by the hysteresis margin: short of the threshold, not yet past the clearing level
            text = (f"{value} {rule.back} {track.state.label} {rule.fmt(limit)} but {rule.at} {rule.fmt(clear)}: "
                    f"stays {track.state.label} until {rule.beyond} {rule.fmt(clear)}")
    for state in (State.CRITICAL, State.WARNING):
        if state > track.state and state in track.pending:
            text += (f"; {state.label} pending for {fmt_duration(now - track.pending[state])} of "
                     f"{fmt_duration(rule.sustain)}")
            break
    return prefix + text
