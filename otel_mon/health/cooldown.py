"""Which transitions a notifier sends: one message per change, at most one per rule instance per cooldown.

Within the cooldown only a rise above the last state people were told about goes out at once; anything
else is held, and when the cooldown ends the latest held state is sent (unless it went back to what was last
sent). So a flapping rule costs one message per cooldown, and a recovery is never lost.
"""

from __future__ import annotations

from dataclasses import replace

from otel_mon.health.rules import State, Transition

Key = tuple[str, str]


class Cooldown:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._sent: dict[Key, tuple[State, float]] = {}  # last state notified and when
        self._held: dict[Key, Transition] = {}

    def offer(self, t: Transition, now: float) -> Transition | None:
        """The transition to send now (its ``old`` is the state last notified), or None if held or moot."""
        key = (t.rule, t.instance)
        told, when = self._sent.get(key, (State.OK, float("-inf")))
        if t.new == told:  # back to what people were last told: nothing to say
            self._held.pop(key, None)
            return None
        if t.new > told or now - when >= self.seconds:
            return self._send(key, t, told, now)
        self._held[key] = t
        return None

    def due(self, now: float) -> list[Transition]:
        """Held transitions whose cooldown has ended, as one message each for the latest state."""
        out: list[Transition] = []
        for key, t in list(self._held.items()):
            told, when = self._sent.get(key, (State.OK, float("-inf")))
            if now - when >= self.seconds:
                out.append(self._send(key, t, told, now))
        return out

    def _send(self, key: Key, t: Transition, told: State, now: float) -> Transition:
        self._held.pop(key, None)
        self._sent[key] = (t.new, now)
        return replace(t, old=told) if t.old != told else t
