"""The pure core of health: readings and a time in, transitions out. No clock, no threads, no I/O.

Durations (sustain, ``forget_after``) are measured on ``now``, a monotonic clock, so a wall-clock step (NTP)
neither delays nor hastens an alert; ``wall`` only stamps the ``since``/``at`` times people see.

Each rule expands to one instance per key of its reading (every mountpoint, every probe) unless it names
one. The host state is the worst state of every instance, whatever the order of the rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from otel_mon.health.config import HealthConfig
from otel_mon.health.reading_specs import Readings
from otel_mon.health.rules import Rule, State, Track, Transition, expire, step, why_now

NO_DATA = "no_data"


@dataclass(frozen=True)
class Row:
    """One line of /health: a rule instance and its current state."""

    rule: str
    instance: str
    state: State
    value: float | None
    since: float | None  # when the state began (wall clock); None before any data
    why: str
    began: float | None = None  # when the state began (monotonic clock); None: ``since`` is on that clock

    @property
    def label(self) -> str:
        """``ok`` / ``warning`` / ``critical``, or ``no_data`` for a rule without a value to judge.

        The one no-data state: /health, the page and ``report`` all say it this way, and it is never ok (a
        rule without data has not found the host healthy); a value that stopped arriving keeps the state it
        had until ``forget_after``, and says so in ``why``.
        """
        return NO_DATA if self.value is None else self.state.label


class Evaluator:
    def __init__(self, config: HealthConfig) -> None:
        self.rules = [Rule.from_config(r, config) for r in config.rules]
        self.forget_after = float(config.forget_after)
        self._tracks: dict[str, dict[str, Track]] = {r.name: {} for r in self.rules}
        self._now: float | None = None

    def evaluate(self, readings: Readings, now: float, wall: float | None = None) -> list[Transition]:
        """Feed one collection's readings taken at ``now`` (seconds, monotonic) and ``wall`` (default ``now``)."""
        wall = now if wall is None else wall
        self._now = now
        out: list[Transition] = []
        for rule in self.rules:
            values = readings.get(rule.reading, {})
            tracks = self._tracks[rule.name]
            wanted = [rule.instance] if rule.instance is not None else list(values)
            fresh: set[str] = set()
            for instance in wanted:
                raw = values.get(instance)
                if raw is None or math.isnan(raw):
                    continue
                fresh.add(instance)
                track = tracks.get(instance)
                if track is None:
                    track = tracks[instance] = Track(since=wall, began=now)
                value = self._value(rule, track, float(raw), now)
                if value is not None and (t := step(rule, track, value, now, instance, wall)) is not None:
                    out.append(t)
            for instance in [i for i in tracks if i not in fresh]:
                track = tracks[instance]
                t = expire(rule, track, now, instance, self.forget_after, wall)
                if t is not None:
                    out.append(t)
                if track.seen is not None and now - track.seen >= self.forget_after:
                    del tracks[instance]
        return out

    @staticmethod
    def _value(rule: Rule, track: Track, raw: float, now: float) -> float | None:
        """The value a rule compares: the reading itself, or a counter's increase since the last reading."""
        if not rule.counter:
            return raw
        previous, track.last_raw = track.last_raw, raw
        if previous is None or raw < previous:  # first reading, or the counter restarted
            track.seen = now
            return None
        return raw - previous

    def status(self) -> State:
        """The worst state of any rule instance."""
        return max((t.state for tracks in self._tracks.values() for t in tracks.values()), default=State.OK)

    def rows(self) -> list[Row]:
        """Every rule instance, and one "no data" row for a rule that has none."""
        now = self._now if self._now is not None else 0.0
        out: list[Row] = []
        for rule in self.rules:
            tracks = self._tracks[rule.name]
            if not tracks:
                out.append(Row(rule.name, rule.instance or "", State.OK, None, None, "no data"))
                continue
            for instance in sorted(tracks):
                t = tracks[instance]
                out.append(Row(rule.name, instance, t.state, t.value, t.since, why_now(rule, t, now), t.began))
        return out
