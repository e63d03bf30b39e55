"""What a host domain collector returns, and the small helpers they share."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from otel_mon.host.filters import Filter, allowed
from otel_mon.instruments import Point

__all__ = ["Collected", "Collector", "Filter", "Readings", "allowed", "frozen_attrs", "rate",
           "read_text"]

Readings = dict[str, dict[str, float]]
_NO_ATTRS: Mapping[str, str | int] = MappingProxyType({})  # shared by every attribute-less point


@dataclass
class Collected:
    """Points per metric name, plus headline readings (human units) for /health and the health rules."""

    points: dict[str, list[Point]] = field(default_factory=dict)
    readings: Readings = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (error.type, message), partial failures
    # The parsed sources as read (``meminfo``: its dict), for other views of the same read (the node_exporter
    # endpoint): keeping a reference costs nothing, reading the file again would cost a second host read.
    native: dict[str, object] = field(default_factory=dict)

    def add(self, name: str, value: float, attrs: Mapping[str, str | int] = _NO_ATTRS) -> None:
        self.points.setdefault(name, []).append((value, attrs))

    def add_each(self, names: Sequence[str], values: Sequence[float], attrs: Mapping[str, str | int]) -> None:
        """One point per metric of ``names`` with the value at the same place in ``values``, all with ``attrs``
        (a device's counters for one direction: the domain's table says which column feeds which metric)."""
        for name, value in zip(names, values, strict=True):
            self.add(name, value, attrs)

    def reading(self, name: str, instance: str, value: float) -> None:
        self.readings.setdefault(name, {})[instance] = value


class Collector(Protocol):
    """One host domain. ``collect`` reads each of its sources once and returns everything derived from them."""

    name: str

    def collect(self, now: float) -> Collected: ...


@functools.lru_cache(maxsize=4096)
def frozen_attrs(*pairs: tuple[str, str | int]) -> Mapping[str, str | int]:
    """One shared, read-only attribute mapping per distinct set: built once, reused every collection."""
    return MappingProxyType(dict(pairs))


def read_text(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def rate(cur: float, prev: float | None, dt: float) -> float | None:
    """Per-second rate of a counter; None on the first sample, after a reset, or without elapsed time."""
    if prev is None or dt <= 0 or cur < prev:
        return None
    return (cur - prev) / dt

