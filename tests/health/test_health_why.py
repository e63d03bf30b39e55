"""The "why" of /health states true inequalities, whichever side of a threshold the value is on."""

from __future__ import annotations

import re

import pytest

from otel_mon.health.rules import Rule, State, Track, why_now

CPU = Rule(name="cpu", reading="cpu", instance=None, warning=75.0, critical=90.0, sustain=120.0, hysteresis=0.05,
           unit="%", counter=False)


def _why(state: State, value: float, pending: dict[State, float] | None = None) -> str:
    return why_now(CPU, Track(since=0.0, state=state, value=value, seen=100.0, pending=pending or {}), 100.0)


def _true(text: str) -> None:
    """Every `a % <op> [label] b %` in the text holds."""
    for a, op, b in re.findall(r"([\d.]+) % (<|>=) (?:\w+ )?([\d.]+) %", text):
        assert (float(a) < float(b)) if op == "<" else (float(a) >= float(b)), text


@pytest.mark.parametrize(("state", "value", "pending", "expected"), [
    (State.OK, 23.06, {}, "23.06 % < warning 75 %"),
    (State.OK, 92.0, {State.WARNING: 90.0, State.CRITICAL: 95.0},
     "92 % >= warning 75 %; critical pending for 5s of 2m"),
    (State.WARNING, 80.0, {}, "80 % >= warning 75 %, clears below 71.25 %"),
    (State.WARNING, 73.0, {}, "73 % < warning 75 % but >= 71.25 %: stays warning until below 71.25 %"),
    (State.CRITICAL, 95.0, {}, "95 % >= critical 90 %, clears below 85.5 %"),
])
def test_why_states_true_inequalities(state: State, value: float, pending: dict[State, float],
                                      expected: str) -> None:
    text = _why(state, value, pending)
    assert text == expected
    _true(text)


AVAILABLE = Rule(name="memory.available", reading="memory.available", instance=None, warning=20.0, critical=10.0,
                 sustain=120.0, hysteresis=0.05, unit="%", counter=False, low_is_bad=True)


@pytest.mark.parametrize(("state", "value", "expected"), [
    (State.OK, 50.0, "50 % > warning 20 %"),
    (State.OK, 15.0, "15 % <= warning 20 %"),
    (State.WARNING, 15.0, "15 % <= warning 20 %, clears above 21 %"),
    (State.WARNING, 20.5, "20.5 % > warning 20 % but <= 21 %: stays warning until above 21 %"),
    (State.CRITICAL, 5.0, "5 % <= critical 10 %, clears above 10.5 %"),
])
def test_why_of_a_reading_whose_low_values_are_the_trouble(state: State, value: float, expected: str) -> None:
    track = Track(since=0.0, state=state, value=value, seen=100.0, pending={})
    assert why_now(AVAILABLE, track, 100.0) == expected
